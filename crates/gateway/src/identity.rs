//! Who is calling: the teacher's bearer becomes a tenant, a OneRoster `sourcedId` and a
//! role, by asking the provider (ClassLink's `/v2/my/info`, or an OIDC userinfo
//! endpoint). Answers are cached in memory by a SHA-256 of the token, for at most the
//! configured TTL and never past the token's own `exp` when it is a JWT; concurrent
//! requests with one token share one lookup.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use moka::Expiry;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::bearer_json::{BearerJsonError, get_json, json_text};
use crate::config::IdentityConfig;
use crate::ops::Metrics;

/// The longest bearer we accept; real access tokens are a few KiB at most.
const MAX_TOKEN_LEN: usize = 8 * 1024;
/// The largest my/info or userinfo answer we read.
const MAX_IDENTITY_BODY: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Teacher,
    Student,
    Administrator,
    Other,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Teacher => "teacher",
            Self::Student => "student",
            Self::Administrator => "administrator",
            Self::Other => "other",
        }
    }

    fn from_classlink(role: &str) -> Self {
        match role.trim().to_ascii_lowercase().as_str() {
            "teacher" => Self::Teacher,
            "student" => Self::Student,
            "tenant administrator" | "administrator" => Self::Administrator,
            _ => Self::Other,
        }
    }
}

/// The caller, as the provider describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: String,
    /// The OneRoster `sourcedId`, unique only within the tenant.
    pub sourced_id: String,
    pub role: Role,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum IdentityError {
    /// Missing, malformed, expired or refused by the provider.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// The provider could not be asked (down, slow, 5xx, garbage).
    #[error("the sign-in provider could not confirm who you are right now ({0})")]
    Unavailable(String),
}

/// A cached answer and how long it may live.
#[derive(Debug)]
struct Resolved {
    caller: Arc<Caller>,
    ttl: Duration,
}

struct LifetimeOfEach;

impl Expiry<[u8; 32], Arc<Resolved>> for LifetimeOfEach {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Resolved>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Resolves bearers to callers, with the cache.
pub struct Identities {
    config: IdentityConfig,
    http: reqwest::Client,
    cache: moka::future::Cache<[u8; 32], Arc<Resolved>>,
    /// Tokens the provider refused, by digest, briefly: a client retrying a bad token
    /// costs no further provider call (each one counts against the gateway's own limit
    /// at the provider).
    refused: moka::future::Cache<[u8; 32], &'static str>,
    metrics: Arc<Metrics>,
}

/// How long a refused token is answered from memory.
pub const REFUSED_TTL: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("config", &self.config)
            .field("cached", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl Identities {
    pub fn new(config: IdentityConfig, http: reqwest::Client, metrics: Arc<Metrics>) -> Self {
        let cache = moka::future::Cache::builder()
            .max_capacity(200_000)
            .expire_after(LifetimeOfEach)
            .build();
        Self {
            config,
            http,
            cache,
            refused: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(REFUSED_TTL)
                .build(),
            metrics,
        }
    }

    /// Whether the caller behind `authorization` is already known (answered from memory,
    /// with no call to the provider): lookups that would call it are the ones limited
    /// per client address.
    pub async fn is_known(&self, authorization: Option<&str>) -> bool {
        let Ok(token) = bearer_token(authorization) else {
            return true;
        };
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.cache.contains_key(&key) || self.refused.contains_key(&key)
    }

    /// The caller behind `Authorization: Bearer …`.
    pub async fn caller(&self, authorization: Option<&str>) -> Result<Arc<Caller>, IdentityError> {
        let token = bearer_token(authorization)?;
        let now = unix_now();
        let mut ttl = self.config.cache_ttl();
        if let Some(exp) = jwt_expiry(token) {
            let left = exp
                .checked_sub(now)
                .filter(|s| *s > 0)
                .ok_or(IdentityError::InvalidToken("the access token has expired"))?;
            ttl = ttl.min(Duration::from_secs(left));
        }
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = self.cache.get(&key).await {
            self.metrics.identity_lookup("hit");
            return Ok(Arc::clone(&hit.caller));
        }
        if let Some(why) = self.refused.get(&key).await {
            self.metrics.identity_lookup("refused_hit");
            return Err(IdentityError::InvalidToken(why));
        }
        let resolved = self
            .cache
            .try_get_with(key, async {
                self.metrics.identity_lookup("miss");
                let caller = self.ask_provider(token).await?;
                Ok::<_, IdentityError>(Arc::new(Resolved {
                    caller: Arc::new(caller),
                    ttl,
                }))
            })
            .await
            .map_err(|e| (*e).clone());
        match resolved {
            Ok(resolved) => Ok(Arc::clone(&resolved.caller)),
            Err(IdentityError::InvalidToken(why)) => {
                self.refused.insert(key, why).await;
                Err(IdentityError::InvalidToken(why))
            }
            Err(e) => Err(e),
        }
    }

    async fn ask_provider(&self, token: &str) -> Result<Caller, IdentityError> {
        let url = match &self.config {
            IdentityConfig::ClassLink { api_url, .. } => api_url
                .join("v2/my/info")
                .map_err(|e| IdentityError::Unavailable(e.to_string()))?,
            IdentityConfig::Oidc { userinfo_url, .. } => userinfo_url.clone(),
        };
        self.metrics.identity_call();
        let json = get_json(&self.http, url, token, MAX_IDENTITY_BODY)
            .await
            .map_err(|e| match e {
                BearerJsonError::Refused(_) => IdentityError::InvalidToken(
                    "the sign-in provider did not accept the access token",
                ),
                BearerJsonError::Unavailable(why) => IdentityError::Unavailable(why),
            })?;
        match &self.config {
            IdentityConfig::ClassLink { .. } => classlink_caller(&json),
            IdentityConfig::Oidc {
                teacher_id_claim,
                role_claim,
                tenant,
                ..
            } => oidc_caller(&json, teacher_id_claim, role_claim.as_deref(), tenant),
        }
    }
}

/// ClassLink's my/info: `TenantId`, `SourcedId`, `Role`. An answer without them is
/// ClassLink's way of refusing a token (`{"message":"Invalid or expired access token"}`).
pub fn classlink_caller(json: &Value) -> Result<Caller, IdentityError> {
    let (Some(tenant), Some(sourced_id)) = (
        json.get("TenantId").and_then(json_text),
        json.get("SourcedId").and_then(json_text),
    ) else {
        return Err(IdentityError::InvalidToken(
            "the sign-in provider did not accept the access token",
        ));
    };
    let role = json
        .get("Role")
        .and_then(Value::as_str)
        .map_or(Role::Other, Role::from_classlink);
    Ok(Caller {
        tenant,
        sourced_id,
        role,
    })
}

fn oidc_caller(
    json: &Value,
    id_claim: &str,
    role_claim: Option<&str>,
    tenant: &str,
) -> Result<Caller, IdentityError> {
    let Some(sourced_id) = json
        .get(id_claim)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
    else {
        return Err(IdentityError::InvalidToken(
            "the sign-in carries no OneRoster id for this user",
        ));
    };
    let role = match role_claim {
        None => Role::Teacher,
        Some(claim) => {
            let is = |want: &str| match json.get(claim) {
                Some(Value::String(s)) => s.eq_ignore_ascii_case(want),
                Some(Value::Array(a)) => a
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(want))),
                _ => false,
            };
            if is("teacher") {
                Role::Teacher
            } else if is("student") {
                Role::Student
            } else {
                Role::Other
            }
        }
    };
    Ok(Caller {
        tenant: tenant.to_owned(),
        sourced_id: sourced_id.trim().to_owned(),
        role,
    })
}

/// The token of `Bearer <token>`, refusing what no provider issues.
fn bearer_token(authorization: Option<&str>) -> Result<&str, IdentityError> {
    let header = authorization.ok_or(IdentityError::InvalidToken(
        "sign in: the request carries no access token",
    ))?;
    let (scheme, token) = header.split_once(' ').ok_or(IdentityError::InvalidToken(
        "the Authorization header is not a bearer token",
    ))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(IdentityError::InvalidToken(
            "the Authorization header is not a bearer token",
        ));
    }
    let token = token.trim();
    // RFC 6750 §2.1 b64token characters.
    let well_formed = !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
    if well_formed {
        Ok(token)
    } else {
        Err(IdentityError::InvalidToken("the access token is malformed"))
    }
}

/// A JWT's `exp`, read without checking the signature: used only to *shorten* how long
/// an answer is cached, never to accept a token.
fn jwt_expiry(token: &str) -> Option<u64> {
    let mut parts = token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("exp")?.as_u64()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classlink_answers_become_callers() {
        let teacher =
            classlink_caller(&json!({"TenantId": 2718, "SourcedId": "tch-1", "Role": "Teacher"}))
                .unwrap();
        assert_eq!(
            (teacher.tenant.as_str(), teacher.role),
            ("2718", Role::Teacher)
        );
        let admin = classlink_caller(
            &json!({"TenantId": "9", "SourcedId": "a", "Role": "Tenant Administrator"}),
        )
        .unwrap();
        assert_eq!(admin.role, Role::Administrator);
        let student =
            classlink_caller(&json!({"TenantId": 9, "SourcedId": "s", "Role": "Student"})).unwrap();
        assert_eq!(student.role, Role::Student);
        assert!(
            classlink_caller(&json!({"message": "Invalid or expired access token", "status": 0}))
                .is_err()
        );
        assert!(
            classlink_caller(&json!({"TenantId": 9, "SourcedId": "", "Role": "Teacher"})).is_err()
        );
    }

    #[test]
    fn malformed_bearers_never_reach_the_provider() {
        for bad in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic abc"),
            Some("Bearer a b"),
            Some("Bearer tok\u{0}en"),
            Some("Bearer <script>"),
        ] {
            assert!(bearer_token(bad).is_err(), "{bad:?}");
        }
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1));
        assert!(bearer_token(Some(&long)).is_err());
        assert_eq!(
            bearer_token(Some("bearer abc.def-_~+/=")).unwrap(),
            "abc.def-_~+/="
        );
    }

    #[test]
    fn jwt_expiry_is_read_only_from_three_part_tokens() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp": 1700000000}"#);
        assert_eq!(jwt_expiry(&format!("h.{payload}.s")), Some(1_700_000_000));
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry(&format!("h.{payload}.s.x")), None);
    }
}
