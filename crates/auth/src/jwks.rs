//! The provider's signing keys, cached. An unknown `kid`, or a token without a `kid`
//! that no cached key verifies, triggers a refetch, at most once a minute, so a stream of
//! forged tokens cannot hammer the provider.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, PublicKeyUse};
use tokio::sync::Mutex;
use url::Url;

use crate::http::get_json;
use crate::{AuthError, Clock};

const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Cached {
    keys: Option<JwkSet>,
    last_unknown_kid_refetch: Option<SystemTime>,
}

/// A JWKS fetched from `jwks_uri` and kept for the life of the provider.
#[derive(Debug)]
pub struct JwksCache {
    uri: Url,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cached: Mutex<Cached>,
}

impl JwksCache {
    pub fn new(uri: Url, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        Self {
            uri,
            http,
            clock,
            cached: Mutex::new(Cached::default()),
        }
    }

    /// A cache that starts with `keys`, for the fuzz targets (its refetches go nowhere).
    #[cfg(feature = "fuzzing")]
    pub fn with_keys(keys: JwkSet, clock: Arc<dyn Clock>) -> Self {
        let cache = Self::new(
            Url::parse("http://127.0.0.1:9/jwks").unwrap_or_else(|_| unreachable!()),
            reqwest::Client::new(),
            clock,
        );
        if let Ok(mut cached) = cache.cached.try_lock() {
            cached.keys = Some(keys);
        }
        cache
    }

    /// The keys that could have signed a token with this header, refetching once when
    /// none fit and the rate limit allows.
    pub async fn candidates(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<Jwk>, AuthError> {
        let mut cached = self.cached.lock().await;
        if cached.keys.is_none() {
            cached.keys = Some(self.fetch().await?);
        }
        let found = matching(cached.keys.as_ref(), kid, alg);
        if !found.is_empty() {
            return Ok(found);
        }
        tracing::debug!(kid, "no cached key fits; refetching the JWKS");
        Ok(self
            .refetch_if_allowed(&mut cached, kid, alg)
            .await?
            .unwrap_or_default())
    }

    /// After every cached candidate failed to verify a token: the keys as the provider
    /// publishes them now, if the once-a-minute limit allows asking (`None` if not). A
    /// token without a `kid` matches any cached key, so without this a provider's key
    /// rotation would fail every such token until restart.
    pub async fn refetched_candidates(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Option<Vec<Jwk>>, AuthError> {
        let mut cached = self.cached.lock().await;
        tracing::debug!(kid, "no cached key verified the token; refetching the JWKS");
        self.refetch_if_allowed(&mut cached, kid, alg).await
    }

    /// Fetches the keys now, whatever the once-a-minute limit says: for the one check
    /// of a refreshed ID token (see `Provider::refresh`), never for tokens from outside.
    pub(crate) async fn refetch_now(&self) -> Result<(), AuthError> {
        let keys = self.fetch().await?;
        let mut cached = self.cached.lock().await;
        cached.keys = Some(keys);
        cached.last_unknown_kid_refetch = Some(self.clock.now());
        Ok(())
    }

    async fn refetch_if_allowed(
        &self,
        cached: &mut Cached,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Option<Vec<Jwk>>, AuthError> {
        let now = self.clock.now();
        let may_refetch = cached.last_unknown_kid_refetch.is_none_or(|last| {
            now.duration_since(last)
                .is_ok_and(|age| age >= UNKNOWN_KID_REFETCH_INTERVAL)
        });
        if !may_refetch {
            return Ok(None);
        }
        cached.last_unknown_kid_refetch = Some(now);
        cached.keys = Some(self.fetch().await?);
        Ok(Some(matching(cached.keys.as_ref(), kid, alg)))
    }

    async fn fetch(&self) -> Result<JwkSet, AuthError> {
        // Parse leniently: one key of a type we do not know must not hide the others.
        let raw: serde_json::Value = get_json(&self.http, "JWKS", &self.uri).await?;
        let keys = raw
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or_else(|| AuthError::ProviderBadResponse {
                what: "JWKS",
                detail: "no `keys` array".to_owned(),
            })?
            .iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
            .collect();
        Ok(JwkSet { keys })
    }
}

fn matching(keys: Option<&JwkSet>, kid: Option<&str>, alg: Algorithm) -> Vec<Jwk> {
    let Some(keys) = keys else {
        return Vec::new();
    };
    keys.keys
        .iter()
        .filter(|key| match kid {
            Some(kid) => key.common.key_id.as_deref() == Some(kid),
            None => true,
        })
        .filter(|key| fits(key, alg))
        .cloned()
        .collect()
}

/// Whether a key may verify a token of algorithm `alg`: right key type, meant for
/// signatures, and no conflicting `alg` of its own.
fn fits(key: &Jwk, alg: Algorithm) -> bool {
    if matches!(key.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return false;
    }
    if let Some(key_alg) = key.common.key_algorithm
        && key_alg.to_string() != format!("{alg:?}")
    {
        return false;
    }
    matches!(
        (&key.algorithm, alg),
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512,
        ) | (
            AlgorithmParameters::EllipticCurve(_),
            Algorithm::ES256 | Algorithm::ES384
        ) | (AlgorithmParameters::OctetKeyPair(_), Algorithm::EdDSA)
    )
}
