//! What the sandbox serves and how it misbehaves: set at start and changeable while it
//! runs (by the embedding API, or `POST /__sandbox/knobs`).

use serde::{Deserialize, Serialize};

use crate::district::Size;

/// The app's registration at the demo district.
pub const DEMO_CLIENT_ID: &str = "rollbook-desktop";
/// The custom-scheme redirect the app registers (RFC 8252 §7.1).
pub const SCHEME_REDIRECT_URI: &str = "org.rollbook.desktop:/oauth/callback";
/// The port the standalone sandbox listens on unless told otherwise, so
/// `rollbook login --demo` finds it.
pub const DEFAULT_PORT: u16 = 47600;

/// The demo OneRoster application's credentials, as ClassLink hands a vendor's
/// application its district credentials. **Published, demo-only:** they open nothing
/// but this made-up district on 127.0.0.1, and are written here so a roster gateway can
/// be pointed at the demo (`rollbook-gateway --demo-district URL`). See
/// docs/demo-district.md.
pub mod demo_credentials {
    /// The partner API's developer key (`GET /applications`).
    pub const DEVELOPER_API_KEY: &str = "demo-developer-api-key-not-a-secret";
    /// The district's `oneroster_application_id`.
    pub const ONEROSTER_APPLICATION_ID: &str = "demo-oneroster-app-2718";
    /// OAuth 1.0a consumer key and secret (HMAC-SHA256), also good for OAuth 2 client
    /// credentials at `/oauth2/v2/token`.
    pub const ONEROSTER_CLIENT_ID: &str = "demo-oneroster-client";
    pub const ONEROSTER_CLIENT_SECRET: &str = "demo-oneroster-secret-not-a-secret";
    /// The proxy-style bearer (ClassLink's OneRoster proxy: per district, no expiry).
    pub const PROXY_BEARER: &str = "demo-proxy-bearer-not-a-secret";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxConfig {
    pub seed: u64,
    pub size: Size,
    /// The day the school year is built around (`YYYY-MM-DD`); today when absent.
    #[serde(default)]
    pub today: Option<String>,
    /// 0 picks a free port.
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub knobs: Knobs,
    /// ClassLink's `TenantId` for this district (`/v2/my/info`, `/applications`);
    /// tests run two districts with different tenants.
    #[serde(default = "default_tenant_id")]
    pub tenant_id: u64,
    /// Serve `/__sandbox/*` (knobs, stats, key rotation). The standalone server does;
    /// the app's embedded district does not.
    #[serde(default)]
    pub test_controls: bool,
    /// The roster gateway in front of this district (its OneRoster base), published at
    /// `/.well-known/rollbook-demo` from the first request on.
    #[serde(default)]
    pub roster_gateway_url: Option<String>,
    /// The address clients reach this district at, when that is not where it listens
    /// (behind a proxy: the fault soak's flapping one, or a demo's reverse proxy). It is
    /// the issuer and the base of every advertised URL.
    #[serde(default)]
    pub public_url: Option<String>,
    /// With a key, access and refresh tokens are self-contained (HMAC-signed), so they
    /// stay valid across restarts of the sandbox: what the app's embedded demo district
    /// needs for "quit, reopen, still signed in". Without one, tokens live in memory.
    #[serde(skip)]
    pub token_key: Option<[u8; 32]>,
    /// Where the district keeps what `PUT` and `DELETE` wrote, so a restart serves it
    /// again (the app's embedded district: its data folder; the standalone one:
    /// `--data-dir`). `None` keeps writes in memory only (tests, benchmarks).
    #[serde(default)]
    pub writes_file: Option<std::path::PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: 2026,
            size: Size::Tiny,
            today: None,
            port: 0,
            knobs: Knobs::default(),
            tenant_id: default_tenant_id(),
            test_controls: false,
            roster_gateway_url: None,
            public_url: None,
            token_key: None,
            writes_file: None,
        }
    }
}

fn default_tenant_id() -> u64 {
    crate::district::TENANT_ID.parse().unwrap_or(2718)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Knobs {
    pub access: RosterAccess,
    pub quirks: Quirks,
    pub faults: Faults,
    pub tokens: TokenPolicy,
}

/// Who the OneRoster server answers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RosterAccess {
    /// Also answer a teacher's own access token (a teacher sees their classes, a
    /// principal their school), as a plain OneRoster server that trusts the provider
    /// would. Off by default: like a ClassLink district, the server answers only the
    /// demo application's credentials, which a roster gateway holds.
    pub accept_teacher_tokens: bool,
    /// Refuse every gradebook write (403, imsx `unsupported`), as districts whose SIS
    /// takes no grades from other applications do.
    pub refuse_writes: bool,
}

/// Shapes real OneRoster servers send that the spec does not (see ../shared/DESIGN.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Quirks {
    /// `"true"`/`"false"` instead of JSON booleans.
    pub string_booleans: bool,
    /// OneRoster 1.2's `roles[]` instead of 1.1's `role`.
    pub roles_array: bool,
    /// Envelopes named after the path (`{"students":[…]}`) instead of the resource.
    pub path_named_envelopes: bool,
    /// No `X-Total-Count` header.
    pub no_total_count: bool,
    /// Empty `classCode` and `periods` on about a third of the classes.
    pub empty_class_codes: bool,
    /// `href`s point at this base URL on another host instead of the sandbox.
    pub foreign_href_base: Option<String>,
}

/// Failures and slowness, applied to the roster API and `/v2/my/info`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every response.
    pub latency_ms: u64,
    /// Share of requests answered 429 (deterministically spread: 0.5 is every other).
    pub rate_limit_rate: f64,
    pub retry_after_seconds: u64,
    /// Share of requests answered 503 with an `imsx_` envelope.
    pub server_error_rate: f64,
    /// Share of requests held for `slow_ms` before answering.
    pub slow_rate: f64,
    pub slow_ms: u64,
    /// The largest page served, whatever `limit` asks for.
    pub max_page_size: usize,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            rate_limit_rate: 0.0,
            retry_after_seconds: 1,
            server_error_rate: 0.0,
            slow_rate: 0.0,
            slow_ms: 0,
            max_page_size: 1_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenPolicy {
    pub access_token_seconds: u64,
    /// ClassLink documents no refresh token; the demo issues them unless this is off.
    pub refresh_tokens: bool,
    /// A new refresh token on every refresh; reuse of an old one revokes the family.
    pub rotate_refresh_tokens: bool,
    pub code_seconds: u64,
    /// Also put the teacher's OneRoster `sourcedId` in the ID token and userinfo under
    /// this claim name.
    pub sourced_id_claim: Option<String>,
    /// Say `email_verified: false`, as a provider that lets people type any address.
    pub unverified_emails: bool,
    /// Lengthen every refresh token issued by this many characters (`~` and filler, which
    /// the token endpoint and revocation ignore), as providers with large self-contained
    /// tokens do: a saved session then outgrows one Windows Credential Manager entry
    /// (2,560 bytes). 0: plain tokens.
    pub refresh_token_padding: usize,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            access_token_seconds: 3_600,
            refresh_tokens: true,
            rotate_refresh_tokens: true,
            code_seconds: 300,
            sourced_id_claim: None,
            unverified_emails: false,
            refresh_token_padding: 0,
        }
    }
}
