//! The gateway's configuration: one typed struct, read once from a TOML file plus
//! environment variables, validated at start-up with errors that name the key.
//! Secrets are read from files or environment variables, never from arguments, and
//! never printed ([`Secret`]'s `Debug` is redacted).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

pub use crate::client_address::{AddressRange, TrustedProxies};

/// Environment variables that override the file (for containers).
pub const ENV_LISTEN: &str = "ROLLBOOK_GATEWAY_LISTEN";
pub const ENV_METRICS_LISTEN: &str = "ROLLBOOK_GATEWAY_METRICS_LISTEN";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the configuration file is not valid TOML: {0}")]
    Syntax(String),
    /// Valid TOML, but a key the gateway does not know or a value of the wrong type.
    #[error("`{key}`: {problem}{at}")]
    Shape {
        key: String,
        problem: String,
        /// ` (line N)` when the place is known.
        at: String,
    },
    #[error("`{key}`: {problem}")]
    Invalid { key: String, problem: String },
}

impl ConfigError {
    /// The key the problem is with, where one is known.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Shape { key, .. } | Self::Invalid { key, .. } => Some(key),
            Self::Read { .. } | Self::Syntax(_) => None,
        }
    }
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

/// A secret value: shown as `[redacted]`, read with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Where a secret comes from: `{ file = "…" }` or `{ env = "VAR" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    #[serde(default)]
    pub file: Option<PathBuf>,
    #[serde(default)]
    pub env: Option<String>,
}

impl SecretSource {
    fn load(&self, key: &str) -> Result<Secret, ConfigError> {
        let value = match (&self.file, &self.env) {
            (Some(path), None) => std::fs::read_to_string(path)
                .map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))?,
            (None, Some(var)) => std::env::var(var)
                .map_err(|_| invalid(key, format!("the environment variable {var} is not set")))?,
            _ => return Err(invalid(key, "give exactly one of `file` or `env`")),
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(invalid(key, "the secret is empty"));
        }
        Ok(Secret::new(value))
    }
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    listen: Option<String>,
    #[serde(default)]
    metrics_listen: Option<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    identity: FileIdentity,
    #[serde(default)]
    tenants: Vec<FileTenant>,
    #[serde(default)]
    classlink_partner: Option<FilePartner>,
    #[serde(default)]
    limits: Limits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "profile", rename_all = "lowercase")]
enum FileIdentity {
    #[serde(rename = "classlink")]
    ClassLink {
        #[serde(default = "default_classlink_api")]
        classlink_api_url: String,
        #[serde(default)]
        cache_ttl_seconds: Option<u64>,
    },
    Oidc {
        userinfo_url: String,
        teacher_id_claim: String,
        /// The tenant every user of this provider belongs to.
        tenant: String,
        /// A claim whose value is the user's role; roles other than teacher are refused.
        #[serde(default)]
        role_claim: Option<String>,
        #[serde(default)]
        cache_ttl_seconds: Option<u64>,
    },
}

fn default_classlink_api() -> String {
    "https://nodeapi.classlink.com".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTenant {
    id: String,
    #[serde(default)]
    name: Option<String>,
    oneroster_url: String,
    auth: FileUpstreamAuth,
    #[serde(default)]
    creates: Creates,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
enum FileUpstreamAuth {
    /// ClassLink's OneRoster proxy: a per-district bearer.
    Bearer { token: SecretSource },
    /// OAuth 1.0a, HMAC-SHA256 (OneRoster 1.1 servers).
    OAuth1 {
        client_id: String,
        client_secret: SecretSource,
    },
    /// OAuth 2 client credentials (OneRoster 1.2 SIS servers).
    OAuth2 {
        token_url: String,
        client_id: String,
        client_secret: SecretSource,
        #[serde(default)]
        scopes: Vec<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePartner {
    #[serde(default = "default_partner_api")]
    api_url: String,
    developer_api_key: SecretSource,
    #[serde(default = "default_refresh_seconds")]
    refresh_seconds: u64,
}

fn default_partner_api() -> String {
    "https://oneroster-proxy.classlink.io".into()
}

fn default_refresh_seconds() -> u64 {
    900
}

/// Cross-cutting limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Requests per minute one teacher may make (bursts up to a fifth of it).
    pub requests_per_minute_per_teacher: u32,
    pub max_body_bytes: usize,
    /// One upstream attempt's deadline.
    pub upstream_timeout_seconds: u64,
    /// A whole request's deadline, retries included.
    pub request_timeout_seconds: u64,
    /// Upstream requests in flight at once, per tenant.
    pub upstream_concurrency: usize,
    /// Requests this instance serves at once. Each holds about 54 KB at a morning rush's
    /// peak (measured: docs/benchmarks.md), so the default, 4,096, keeps an instance
    /// under 250 MB while 500 teachers' apps have 6 requests each in flight.
    pub max_in_flight: usize,
    /// Requests one teacher may have in flight at once (the app keeps 6); past it, 429.
    /// One teacher's burst must not hold every upstream slot of their district.
    pub max_in_flight_per_teacher: usize,
    /// How long a teacher's list of classes (and a class's students) is reused.
    pub scope_ttl_seconds: u64,
    /// Sign-in checks (calls to my/info or userinfo for a token not already known) one
    /// client address may cause per minute; 0 turns the limit off. Behind a load
    /// balancer, list it in `trusted_proxies` so each client is counted by its own
    /// address rather than all by the balancer's.
    pub identity_lookups_per_minute_per_address: u32,
    /// How long a connection may take to send a request's head, and how long an idle
    /// kept-alive connection stays open. Connections are capped at twice
    /// `max_in_flight` (as started; a reload does not change it).
    pub header_read_timeout_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            requests_per_minute_per_teacher: 1_200,
            max_body_bytes: 64 * 1024,
            upstream_timeout_seconds: 20,
            request_timeout_seconds: 60,
            upstream_concurrency: 64,
            max_in_flight: 4_096,
            max_in_flight_per_teacher: 16,
            scope_ttl_seconds: 60,
            identity_lookups_per_minute_per_address: 600,
            header_read_timeout_seconds: 30,
        }
    }
}

/// Who the callers are: how a teacher's bearer becomes a tenant and a OneRoster id.
#[derive(Debug, Clone)]
pub enum IdentityConfig {
    /// `GET {api}/v2/my/info` with the teacher's token.
    ClassLink { api_url: Url, cache_ttl: Duration },
    /// `GET userinfo` with the teacher's token; `teacher_id_claim` names the OneRoster id.
    Oidc {
        userinfo_url: Url,
        teacher_id_claim: String,
        role_claim: Option<String>,
        tenant: String,
        cache_ttl: Duration,
    },
}

impl IdentityConfig {
    pub fn cache_ttl(&self) -> Duration {
        match self {
            Self::ClassLink { cache_ttl, .. } | Self::Oidc { cache_ttl, .. } => *cache_ttl,
        }
    }
}

/// How the gateway proves itself upstream, per tenant.
#[derive(Debug, Clone)]
pub enum UpstreamAuth {
    Bearer(Secret),
    OAuth1 {
        client_id: String,
        client_secret: Secret,
    },
    OAuth2 {
        token_url: Url,
        client_id: String,
        client_secret: Secret,
        scopes: Vec<String>,
    },
}

impl UpstreamAuth {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Bearer(_) => "bearer",
            Self::OAuth1 { .. } => "oauth1",
            Self::OAuth2 { .. } => "oauth2",
        }
    }
}

/// A district whose OneRoster server the gateway reads for its teachers.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    pub id: String,
    pub name: String,
    pub oneroster_url: Url,
    pub auth: UpstreamAuth,
    pub creates: Creates,
}

/// What the gateway does with a PUT to a record the district says is not there (a
/// create). Whether it really is a create is the district's word alone: a server that
/// answers 404 for an ungraded cell but then updates that cell, or that cannot read a
/// record by id at all, would let a teacher write into another class. So by default
/// only ids that cannot be another record's alias are created. See docs/gateway.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Creates {
    /// Creates only at ids the gateway can tie to the body: a UUID (the app's own new
    /// ids) or, for a grade, `{lineItem}.{student}` of its own references; and only once
    /// the district has been seen to read records by id. The district's answer must be
    /// a create (201) with the body's references, or creates stop for the tenant.
    #[default]
    Checked,
    /// Any id: the operator vouches that this district's 404 means "no such record".
    Trusted,
    /// No creates through the gateway for this district.
    Refused,
}

/// ClassLink's partner API, which lists the districts that granted access.
#[derive(Debug, Clone)]
pub struct PartnerConfig {
    pub api_url: Url,
    pub developer_api_key: Secret,
    pub refresh: Duration,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// A second listener for `/metrics` only; when set, the public port does not serve
    /// `/metrics` (its answer there is the ordinary 404).
    pub metrics_listen: Option<SocketAddr>,
    /// Load balancers whose `X-Forwarded-For` names the client (empty: trust nobody's).
    pub trusted_proxies: TrustedProxies,
    pub identity: IdentityConfig,
    pub tenants: Vec<TenantConfig>,
    pub classlink_partner: Option<PartnerConfig>,
    pub limits: Limits,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:0";
const DEFAULT_IDENTITY_TTL: Duration = Duration::from_secs(300);

impl Config {
    /// Reads `path`, then applies the environment ([`ENV_LISTEN`]).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text)
    }

    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let file = parse(text)?;
        let listen = std::env::var(ENV_LISTEN)
            .ok()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = address("listen", &listen)?;
        let metrics_listen = std::env::var(ENV_METRICS_LISTEN)
            .ok()
            .or(file.metrics_listen)
            .map(|a| address("metrics_listen", &a))
            .transpose()?;
        if metrics_listen.is_some_and(|m| m == listen && m.port() != 0) {
            return Err(invalid(
                "metrics_listen",
                "must differ from `listen` (leave it out to serve /metrics on the public port)",
            ));
        }
        let trusted_proxies = TrustedProxies::new(
            file.trusted_proxies
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    AddressRange::parse(r).map_err(|e| invalid(format!("trusted_proxies[{i}]"), e))
                })
                .collect::<Result<_, _>>()?,
        );
        let identity = identity(file.identity)?;
        let mut tenants: Vec<TenantConfig> = Vec::new();
        for (i, t) in file.tenants.into_iter().enumerate() {
            let t = tenant(i, t)?;
            if tenants.iter().any(|x| x.id == t.id) {
                return Err(invalid(
                    format!("tenants[{i}].id"),
                    format!("tenant `{}` is listed twice", t.id),
                ));
            }
            tenants.push(t);
        }
        let classlink_partner = file
            .classlink_partner
            .map(|p| -> Result<PartnerConfig, ConfigError> {
                if p.refresh_seconds < 10 {
                    return Err(invalid(
                        "classlink_partner.refresh_seconds",
                        "must be at least 10",
                    ));
                }
                Ok(PartnerConfig {
                    api_url: https_url("classlink_partner.api_url", &p.api_url)?,
                    developer_api_key: p
                        .developer_api_key
                        .load("classlink_partner.developer_api_key")?,
                    refresh: Duration::from_secs(p.refresh_seconds),
                })
            })
            .transpose()?;
        if tenants.is_empty() && classlink_partner.is_none() {
            return Err(invalid(
                "tenants",
                "list at least one tenant, or configure [classlink_partner] to discover them",
            ));
        }
        let limits = file.limits;
        check_limits(&limits)?;
        Ok(Self {
            listen,
            metrics_listen,
            trusted_proxies,
            identity,
            tenants,
            classlink_partner,
            limits,
        })
    }

    /// What the gateway will do, for a person (`--check-config`): every setting that
    /// matters, secrets shown only as where they come from being loaded, `[redacted]`.
    pub fn redacted(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "listen          {}", self.listen);
        let _ = match self.metrics_listen {
            Some(m) => writeln!(
                out,
                "metrics         {m} (/metrics only there, not on the public port)"
            ),
            None => writeln!(
                out,
                "metrics         on the public port at /metrics (set metrics_listen to move it)"
            ),
        };
        let _ = if self.trusted_proxies.ranges().is_empty() {
            writeln!(
                out,
                "client address  the TCP peer (X-Forwarded-For ignored: no trusted_proxies)"
            )
        } else {
            writeln!(
                out,
                "client address  X-Forwarded-For from {} only, else the TCP peer",
                self.trusted_proxies
                    .ranges()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        for warning in self.trusted_proxies.too_broad() {
            let _ = writeln!(out, "  warning: {warning}");
        }
        let _ = match &self.identity {
            IdentityConfig::ClassLink { api_url, cache_ttl } => writeln!(
                out,
                "identity        ClassLink, {api_url} (v2/my/info); a sign-in is trusted for {} s",
                cache_ttl.as_secs()
            ),
            IdentityConfig::Oidc {
                userinfo_url,
                teacher_id_claim,
                role_claim,
                tenant,
                cache_ttl,
            } => writeln!(
                out,
                "identity        OpenID userinfo, {userinfo_url}; OneRoster id from claim `{teacher_id_claim}`; role from {}; every user in tenant {tenant}; a sign-in is trusted for {} s",
                role_claim.as_ref().map_or_else(
                    || "the user record".to_owned(),
                    |c| format!("claim `{c}` and the user record")
                ),
                cache_ttl.as_secs()
            ),
        };
        let _ = writeln!(out, "tenants         {} listed", self.tenants.len());
        for t in &self.tenants {
            let auth = match &t.auth {
                UpstreamAuth::Bearer(_) => "bearer token [redacted]".to_owned(),
                UpstreamAuth::OAuth1 { client_id, .. } => {
                    format!("OAuth 1.0a, client id {client_id}, secret [redacted]")
                }
                UpstreamAuth::OAuth2 {
                    token_url,
                    client_id,
                    scopes,
                    ..
                } => format!(
                    "OAuth 2 client credentials at {token_url}, client id {client_id}, secret [redacted], scopes [{}]",
                    scopes.join(" ")
                ),
            };
            let creates = match t.creates {
                Creates::Checked => "checked",
                Creates::Trusted => "trusted",
                Creates::Refused => "refused",
            };
            let named = if t.name == t.id {
                String::new()
            } else {
                format!(" ({})", t.name)
            };
            let _ = writeln!(
                out,
                "  {}{named}: {}\n    {auth}; creates {creates}",
                t.id, t.oneroster_url
            );
        }
        let _ = match &self.classlink_partner {
            Some(p) => writeln!(
                out,
                "discovery       ClassLink partner API {}, developer key [redacted], every {} s",
                p.api_url,
                p.refresh.as_secs()
            ),
            None => writeln!(out, "discovery       off (only the tenants listed)"),
        };
        let l = &self.limits;
        let _ = writeln!(
            out,
            "limits          {} requests/min per teacher; {} sign-in checks/min per address{}; body {} bytes; upstream timeout {} s; request timeout {} s; {} upstream calls at once per tenant; {} requests in flight ({} per teacher); request heads within {} s; scopes reused {} s",
            l.requests_per_minute_per_teacher,
            l.identity_lookups_per_minute_per_address,
            if l.identity_lookups_per_minute_per_address == 0 {
                " (off)"
            } else {
                ""
            },
            l.max_body_bytes,
            l.upstream_timeout_seconds,
            l.request_timeout_seconds,
            l.upstream_concurrency,
            l.max_in_flight,
            l.max_in_flight_per_teacher,
            l.header_read_timeout_seconds,
            l.scope_ttl_seconds
        );
        out
    }
}

/// The `[identity]` table, checked.
fn identity(file: FileIdentity) -> Result<IdentityConfig, ConfigError> {
    Ok(match file {
        FileIdentity::ClassLink {
            classlink_api_url,
            cache_ttl_seconds,
        } => IdentityConfig::ClassLink {
            api_url: https_url("identity.classlink_api_url", &classlink_api_url)?,
            cache_ttl: ttl(cache_ttl_seconds)?,
        },
        FileIdentity::Oidc {
            userinfo_url,
            teacher_id_claim,
            tenant,
            role_claim,
            cache_ttl_seconds,
        } => IdentityConfig::Oidc {
            userinfo_url: https_url("identity.userinfo_url", &userinfo_url)?,
            teacher_id_claim: non_empty("identity.teacher_id_claim", teacher_id_claim)?,
            tenant: non_empty("identity.tenant", tenant)?,
            role_claim,
            cache_ttl: ttl(cache_ttl_seconds)?,
        },
    })
}

/// `tenants[i]`, checked (a repeated id is checked by the caller).
fn tenant(i: usize, t: FileTenant) -> Result<TenantConfig, ConfigError> {
    let key = |k: &str| format!("tenants[{i}].{k}");
    let auth = match t.auth {
        FileUpstreamAuth::Bearer { token } => UpstreamAuth::Bearer(token.load(&key("auth.token"))?),
        FileUpstreamAuth::OAuth1 {
            client_id,
            client_secret,
        } => UpstreamAuth::OAuth1 {
            client_id: non_empty(&key("auth.client_id"), client_id)?,
            client_secret: client_secret.load(&key("auth.client_secret"))?,
        },
        FileUpstreamAuth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scopes,
        } => UpstreamAuth::OAuth2 {
            token_url: https_url(&key("auth.token_url"), &token_url)?,
            client_id: non_empty(&key("auth.client_id"), client_id)?,
            client_secret: client_secret.load(&key("auth.client_secret"))?,
            scopes,
        },
    };
    let id = non_empty(&key("id"), t.id)?;
    Ok(TenantConfig {
        name: t.name.unwrap_or_else(|| id.clone()),
        id,
        oneroster_url: https_url(&key("oneroster_url"), &t.oneroster_url)?,
        auth,
        creates: t.creates,
    })
}

/// The file into its shape, an error naming the key that does not fit (serde's own
/// message names only the field, not where it sits: `tenants[1].auth`, not `auth`).
fn parse(text: &str) -> Result<FileConfig, ConfigError> {
    let deserializer = toml::de::Deserializer::parse(text)
        .map_err(|e| ConfigError::Syntax(format!("{}{}", e.message(), at_line(text, e.span()))))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let at = at_line(text, inner.span());
        if key.is_empty() || key == "." {
            // A missing top-level table or a top-level unknown key: serde's message
            // names it.
            ConfigError::Syntax(format!("{}{at}", inner.message()))
        } else {
            ConfigError::Shape {
                key,
                problem: inner.message().to_owned(),
                at,
            }
        }
    })
}

fn at_line(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.and_then(|s| text.get(..s.start))
        .map(|before| format!(" (line {})", before.matches('\n').count() + 1))
        .unwrap_or_default()
}

fn address(key: &str, text: &str) -> Result<SocketAddr, ConfigError> {
    text.trim()
        .parse()
        .map_err(|_| invalid(key, format!("`{text}` is not an address:port")))
}

fn check_limits(limits: &Limits) -> Result<(), ConfigError> {
    let positive = [
        (
            "limits.requests_per_minute_per_teacher",
            u64::from(limits.requests_per_minute_per_teacher),
        ),
        (
            "limits.max_body_bytes",
            u64::try_from(limits.max_body_bytes).unwrap_or(u64::MAX),
        ),
        (
            "limits.upstream_timeout_seconds",
            limits.upstream_timeout_seconds,
        ),
        (
            "limits.request_timeout_seconds",
            limits.request_timeout_seconds,
        ),
        (
            "limits.upstream_concurrency",
            u64::try_from(limits.upstream_concurrency).unwrap_or(u64::MAX),
        ),
        (
            "limits.max_in_flight",
            u64::try_from(limits.max_in_flight).unwrap_or(u64::MAX),
        ),
        (
            "limits.max_in_flight_per_teacher",
            u64::try_from(limits.max_in_flight_per_teacher).unwrap_or(u64::MAX),
        ),
        (
            "limits.header_read_timeout_seconds",
            limits.header_read_timeout_seconds,
        ),
    ];
    for (key, value) in positive {
        if value == 0 {
            return Err(invalid(key, "must be greater than 0"));
        }
    }
    Ok(())
}

fn ttl(seconds: Option<u64>) -> Result<Duration, ConfigError> {
    match seconds {
        None => Ok(DEFAULT_IDENTITY_TTL),
        Some(0) => Err(invalid("identity.cache_ttl_seconds", "must be at least 1")),
        Some(s) => Ok(Duration::from_secs(s)),
    }
}

fn non_empty(key: &str, value: String) -> Result<String, ConfigError> {
    if value.trim().is_empty() {
        Err(invalid(key, "must not be empty"))
    } else {
        Ok(value.trim().to_owned())
    }
}

/// https, or plain http to a loopback address (tests and the demo district).
pub fn https_url(key: &str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text.trim()).map_err(|e| invalid(key, format!("`{text}`: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(invalid(
            key,
            format!("`{text}` must be https (plain http only on 127.0.0.1 or [::1])"),
        )),
    }
}

#[cfg(test)]
mod tests;
