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
    /// With a key, access and refresh tokens are self-contained (HMAC-signed), so they
    /// stay valid across restarts of the sandbox: what the app's embedded demo district
    /// needs for "quit, reopen, still signed in". Without one, tokens live in memory.
    #[serde(skip)]
    pub token_key: Option<[u8; 32]>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: 2026,
            size: Size::Tiny,
            today: None,
            port: 0,
            knobs: Knobs::default(),
            token_key: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Knobs {
    pub quirks: Quirks,
    pub faults: Faults,
    pub tokens: TokenPolicy,
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
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            access_token_seconds: 3_600,
            refresh_tokens: true,
            rotate_refresh_tokens: true,
            code_seconds: 300,
            sourced_id_claim: None,
        }
    }
}
