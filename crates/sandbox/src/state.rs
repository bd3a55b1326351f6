//! The sandbox's in-memory state: data, knobs, keys, pending sign-ins and grants.
//! Tokens are kept only as SHA-256 digests.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;
use axum::Json;
use axum::Router;
use axum::extract::State as Extract;
use axum::http::StatusCode;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::district::District;
use crate::keys::KeySet;
use crate::{Knobs, SandboxError};

/// Who a token speaks for: a member of staff (teacher or administrator), or, for
/// tests of who may not read rosters, a student.
#[derive(Debug, Clone)]
pub struct Grant {
    pub staff: usize,
    /// Set for a student's token (`staff` is then meaningless).
    pub student: Option<usize>,
    pub scopes: Vec<String>,
    pub expires: Instant,
}

impl Grant {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// An authorization request waiting for the teacher to pick themselves and consent.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub scopes: Vec<String>,
    pub staff: Option<usize>,
    pub created: Instant,
}

#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub staff: usize,
    pub scopes: Vec<String>,
    pub expires: Instant,
    /// Set once redeemed; a second redemption revokes what the first one issued.
    pub issued: Option<Vec<String>>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RefreshGrant {
    pub staff: usize,
    pub scopes: Vec<String>,
    pub family: u64,
}

/// Why a refresh token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRefused {
    Unknown,
    /// An already rotated token came back: its family is now ended.
    Reused,
}

/// What a self-contained token carries (see [`crate::SandboxConfig::token_key`]).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Claims {
    /// `at` or `rt`.
    t: String,
    s: usize,
    sc: Vec<String>,
    /// Access tokens: expiry, unix seconds. Refresh tokens: family.
    n: u64,
    /// Random, so two tokens are never equal.
    r: String,
    /// Issued at, unix milliseconds (access tokens; see `revoke_all_access_tokens`).
    #[serde(default)]
    i: u64,
}

#[derive(Debug, Default)]
pub struct Stats(Mutex<BTreeMap<String, u64>>);

impl Stats {
    pub fn hit(&self, what: &str) {
        if let Ok(mut map) = self.0.lock() {
            *map.entry(what.to_owned()).or_default() += 1;
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct State {
    pub district: Arc<District>,
    pub issuer: String,
    knobs: RwLock<Knobs>,
    keys: RwLock<KeySet>,
    pub interactions: Mutex<HashMap<String, Interaction>>,
    pub codes: Mutex<HashMap<String, CodeGrant>>,
    pub access: Mutex<HashMap<String, Grant>>,
    refresh: Mutex<HashMap<String, RefreshGrant>>,
    /// Digests of rotated refresh tokens, and families ended by reuse or revocation.
    used_refresh: Mutex<HashSet<String>>,
    ended_families: Mutex<HashSet<u64>>,
    /// Digests of revoked self-contained access tokens.
    revoked_access: Mutex<HashSet<String>>,
    /// Self-contained access tokens issued before this (unix ms) are refused.
    access_cutoff_ms: AtomicU64,
    token_key: Option<hmac::Key>,
    /// What `PUT` and `DELETE` did to the gradebook.
    pub writes: RwLock<crate::writes::Written>,
    pub stats: Stats,
    pub fault_counters: [AtomicU64; 3],
    families: AtomicU64,
    /// ClassLink's `TenantId` of this district.
    pub tenant_id: u64,
    /// Digests of the demo application's client-credentials tokens, with their expiry.
    app_tokens: Mutex<HashMap<String, Instant>>,
    /// OAuth 1.0a nonces seen inside the timestamp window, with their timestamps.
    oauth_nonces: Mutex<HashMap<String, u64>>,
    /// The roster gateway in front of this district, when the standalone server runs one.
    pub roster_gateway: RwLock<Option<String>>,
    /// Users whose records say `tobedeleted` (a teacher who left).
    pub inactive_users: RwLock<Vec<String>>,
}

/// How far an OAuth 1.0a timestamp may be from our clock.
pub const OAUTH_TIMESTAMP_WINDOW_SECONDS: u64 = 300;

/// Why an OAuth 1.0a request was refused after its signature checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceRefused {
    Stale,
    Replayed,
}

impl State {
    pub fn new(
        district: Arc<District>,
        issuer: String,
        knobs: Knobs,
        token_key: Option<[u8; 32]>,
        tenant_id: u64,
    ) -> Result<Self, SandboxError> {
        Ok(Self {
            district,
            issuer,
            knobs: RwLock::new(knobs),
            keys: RwLock::new(KeySet::generate()?),
            interactions: Mutex::default(),
            codes: Mutex::default(),
            access: Mutex::default(),
            refresh: Mutex::default(),
            used_refresh: Mutex::default(),
            ended_families: Mutex::default(),
            revoked_access: Mutex::default(),
            access_cutoff_ms: AtomicU64::new(0),
            token_key: token_key.map(|k: [u8; 32]| hmac::Key::new(hmac::HMAC_SHA256, &k)),
            writes: RwLock::default(),
            stats: Stats::default(),
            fault_counters: Default::default(),
            // Families must not collide across restarts when tokens outlive the process.
            families: AtomicU64::new(rand::rng().next_u64() >> 12),
            tenant_id,
            app_tokens: Mutex::default(),
            oauth_nonces: Mutex::default(),
            roster_gateway: RwLock::default(),
            inactive_users: RwLock::default(),
        })
    }

    pub fn knobs(&self) -> Knobs {
        self.knobs.read().map(|k| k.clone()).unwrap_or_default()
    }

    pub fn set_knobs(&self, knobs: Knobs) {
        if let Ok(mut k) = self.knobs.write() {
            *k = knobs;
        }
    }

    pub fn rotate_keys(&self) -> Result<(), SandboxError> {
        self.keys
            .write()
            .map_err(|_| SandboxError::Crypto("key lock poisoned".into()))?
            .rotate()
    }

    pub fn jwks(&self) -> serde_json::Value {
        self.keys
            .read()
            .map(|k| k.jwks())
            .unwrap_or_else(|_| serde_json::json!({ "keys": [] }))
    }

    pub fn sign<T: serde::Serialize>(&self, claims: &T) -> Result<String, SandboxError> {
        self.keys
            .read()
            .map_err(|_| SandboxError::Crypto("key lock poisoned".into()))?
            .sign(claims)
    }

    pub fn new_family(&self) -> u64 {
        self.families.fetch_add(1, Ordering::Relaxed)
    }

    fn seal(&self, key: &hmac::Key, claims: &Claims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let tag = hmac::sign(key, payload.as_bytes());
        format!("rb1.{payload}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    fn open(&self, token: &str, kind: &str) -> Option<Claims> {
        let key = self.token_key.as_ref()?;
        let rest = token.strip_prefix("rb1.")?;
        let (payload, tag) = rest.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(key, payload.as_bytes(), &tag).ok()?;
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (claims.t == kind).then_some(claims)
    }

    /// The grant behind a bearer token, if it is known and unexpired.
    pub fn grant_for(&self, token: &str) -> Option<Grant> {
        if let Some(claims) = self.open(token, "at") {
            let left = claims.n.checked_sub(unix_now()).filter(|s| *s > 0)?;
            if claims.i < self.access_cutoff_ms.load(Ordering::SeqCst)
                || self.revoked_access.lock().ok()?.contains(&digest(token))
            {
                return None;
            }
            return Some(Grant {
                staff: claims.s,
                student: None,
                scopes: claims.sc,
                expires: Instant::now() + Duration::from_secs(left),
            });
        }
        let grants = self.access.lock().ok()?;
        grants
            .get(&digest(token))
            .filter(|g| g.expires > Instant::now())
            .cloned()
    }

    pub fn issue_access_token(
        &self,
        staff: usize,
        scopes: &[String],
        lifetime: Duration,
    ) -> String {
        if let Some(key) = &self.token_key {
            let claims = Claims {
                t: "at".into(),
                s: staff,
                sc: scopes.to_vec(),
                n: unix_now() + lifetime.as_secs(),
                r: random_token(),
                i: unix_now_ms(),
            };
            return self.seal(key, &claims);
        }
        let token = random_token();
        if let Ok(mut grants) = self.access.lock() {
            grants.insert(
                digest(&token),
                Grant {
                    staff,
                    student: None,
                    scopes: scopes.to_vec(),
                    expires: Instant::now() + lifetime,
                },
            );
        }
        token
    }

    /// A student's access token (kept in memory whatever the token mode): students
    /// cannot sign in to the demo, but tests need one to show a student is refused.
    pub fn issue_student_access_token(&self, student: usize, lifetime: Duration) -> String {
        let token = random_token();
        if let Ok(mut grants) = self.access.lock() {
            grants.insert(
                digest(&token),
                Grant {
                    staff: 0,
                    student: Some(student),
                    scopes: vec!["openid".into(), "oneroster".into()],
                    expires: Instant::now() + lifetime,
                },
            );
        }
        token
    }

    /// A client-credentials token for the demo OneRoster application.
    pub fn issue_app_token(&self, lifetime: Duration) -> String {
        let token = random_token();
        if let Ok(mut tokens) = self.app_tokens.lock() {
            let now = Instant::now();
            tokens.retain(|_, expires| *expires > now);
            tokens.insert(digest(&token), now + lifetime);
        }
        token
    }

    pub fn is_app_token(&self, token: &str) -> bool {
        self.app_tokens
            .lock()
            .map(|t| {
                t.get(&digest(token))
                    .is_some_and(|expires| *expires > Instant::now())
            })
            .unwrap_or(false)
    }

    /// Accepts an OAuth 1.0a nonce once inside the timestamp window (RFC 5849 §3.3).
    pub fn accept_oauth_nonce(&self, nonce: &str, timestamp: u64) -> Result<(), NonceRefused> {
        let now = unix_now();
        if now.abs_diff(timestamp) > OAUTH_TIMESTAMP_WINDOW_SECONDS {
            return Err(NonceRefused::Stale);
        }
        let mut seen = self
            .oauth_nonces
            .lock()
            .map_err(|_| NonceRefused::Replayed)?;
        if seen.len() > 10_000 {
            seen.retain(|_, t| now.abs_diff(*t) <= OAUTH_TIMESTAMP_WINDOW_SECONDS);
        }
        if seen.insert(nonce.to_owned(), timestamp).is_some() {
            return Err(NonceRefused::Replayed);
        }
        Ok(())
    }

    /// Refuses every access token issued so far, as a provider does when an
    /// administrator ends all sessions or its signing secret changes. Refresh tokens
    /// stay valid, so clients that refresh carry on.
    pub fn revoke_all_access_tokens(&self) {
        self.access_cutoff_ms.store(unix_now_ms(), Ordering::SeqCst);
        if let Ok(mut grants) = self.access.lock() {
            grants.clear();
        }
    }

    pub fn revoke_access_token(&self, token: &str) -> bool {
        if self.open(token, "at").is_some() {
            return self
                .revoked_access
                .lock()
                .map(|mut r| r.insert(digest(token)))
                .unwrap_or(false);
        }
        self.access
            .lock()
            .map(|mut g| g.remove(&digest(token)).is_some())
            .unwrap_or(false)
    }

    pub fn issue_refresh_token(&self, staff: usize, scopes: &[String], family: u64) -> String {
        if let Some(key) = &self.token_key {
            let claims = Claims {
                t: "rt".into(),
                s: staff,
                sc: scopes.to_vec(),
                n: family,
                r: random_token(),
                i: unix_now_ms(),
            };
            return self.seal(key, &claims);
        }
        let token = random_token();
        if let Ok(mut rts) = self.refresh.lock() {
            rts.insert(
                digest(&token),
                RefreshGrant {
                    staff,
                    scopes: scopes.to_vec(),
                    family,
                },
            );
        }
        token
    }

    fn refresh_grant(&self, token: &str) -> Option<RefreshGrant> {
        if let Some(claims) = self.open(token, "rt") {
            return Some(RefreshGrant {
                staff: claims.s,
                scopes: claims.sc,
                family: claims.n,
            });
        }
        self.refresh.lock().ok()?.get(&digest(token)).cloned()
    }

    fn family_ended(&self, family: u64) -> bool {
        self.ended_families
            .lock()
            .map(|f| f.contains(&family))
            .unwrap_or(true)
    }

    /// Accepts a refresh token once when rotating; a rotated token coming back ends
    /// its whole family (reuse detection).
    pub fn redeem_refresh_token(
        &self,
        token: &str,
        rotate: bool,
    ) -> Result<RefreshGrant, RefreshRefused> {
        let grant = self.refresh_grant(token).ok_or(RefreshRefused::Unknown)?;
        if self.family_ended(grant.family) {
            return Err(RefreshRefused::Unknown);
        }
        let mut used = self
            .used_refresh
            .lock()
            .map_err(|_| RefreshRefused::Unknown)?;
        if used.contains(&digest(token)) {
            drop(used);
            self.end_family(grant.family);
            return Err(RefreshRefused::Reused);
        }
        if rotate {
            used.insert(digest(token));
        }
        Ok(grant)
    }

    fn end_family(&self, family: u64) {
        if let Ok(mut ended) = self.ended_families.lock() {
            ended.insert(family);
        }
        if let Ok(mut rts) = self.refresh.lock() {
            rts.retain(|_, g| g.family != family);
        }
    }

    /// Ends the family of a refresh token (revocation, code replay). `false` when the
    /// token is not a known refresh token.
    pub fn revoke_refresh_family(&self, token: &str) -> bool {
        match self.refresh_grant(token) {
            Some(grant) => {
                self.end_family(grant.family);
                true
            }
            None => false,
        }
    }
}

fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 256 random bits from the OS generator, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Test and tooling endpoints. The sandbox only listens on loopback.
pub fn admin_routes() -> Router<Arc<State>> {
    Router::new()
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/knobs", get(get_knobs).post(set_knobs))
        .route("/__sandbox/rotate-keys", post(rotate_keys))
        .route(
            "/__sandbox/revoke-access-tokens",
            post(revoke_access_tokens),
        )
}

async fn revoke_access_tokens(Extract(state): Extract<Arc<State>>) -> StatusCode {
    state.revoke_all_access_tokens();
    StatusCode::NO_CONTENT
}

async fn stats(Extract(state): Extract<Arc<State>>) -> Json<BTreeMap<String, u64>> {
    Json(state.stats.snapshot())
}

async fn get_knobs(Extract(state): Extract<Arc<State>>) -> Json<Knobs> {
    Json(state.knobs())
}

async fn set_knobs(Extract(state): Extract<Arc<State>>, Json(knobs): Json<Knobs>) -> StatusCode {
    state.set_knobs(knobs);
    StatusCode::NO_CONTENT
}

async fn rotate_keys(Extract(state): Extract<Arc<State>>) -> StatusCode {
    match state.rotate_keys() {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
