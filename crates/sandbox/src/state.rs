//! The sandbox's in-memory state: data, knobs, keys, pending sign-ins and grants.
//! Tokens are kept only as SHA-256 digests.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

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

/// Who a token speaks for: a member of staff (teacher or administrator).
#[derive(Debug, Clone)]
pub struct Grant {
    pub staff: usize,
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

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub staff: usize,
    pub scopes: Vec<String>,
    pub family: u64,
    pub used: bool,
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
    pub refresh: Mutex<HashMap<String, RefreshGrant>>,
    /// Records written by `PUT`, by sourcedId.
    pub writes: RwLock<HashMap<String, serde_json::Value>>,
    pub stats: Stats,
    pub fault_counters: [AtomicU64; 3],
    families: AtomicU64,
}

impl State {
    pub fn new(
        district: Arc<District>,
        issuer: String,
        knobs: Knobs,
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
            writes: RwLock::default(),
            stats: Stats::default(),
            fault_counters: Default::default(),
            families: AtomicU64::new(1),
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

    /// The grant behind a bearer token, if it is known and unexpired.
    pub fn grant_for(&self, token: &str) -> Option<Grant> {
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
        let token = random_token();
        if let Ok(mut grants) = self.access.lock() {
            grants.insert(
                digest(&token),
                Grant {
                    staff,
                    scopes: scopes.to_vec(),
                    expires: Instant::now() + lifetime,
                },
            );
        }
        token
    }

    pub fn revoke_access_token(&self, token: &str) -> bool {
        self.access
            .lock()
            .map(|mut g| g.remove(&digest(token)).is_some())
            .unwrap_or(false)
    }
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
