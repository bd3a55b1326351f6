//! The districts' OneRoster servers, reached with the gateway's own credentials: a
//! proxy bearer, OAuth 1.0a HMAC-SHA256 signatures, or OAuth 2 client credentials. The
//! teacher's token never goes upstream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::HeaderValue;
use rollbook_oauth1::ConsumerCredentials;
use rollbook_oneroster::{
    AuthorizationFuture, Authorize, ClientSettings, RetryPolicy, RosterClient, RosterError,
};
use serde::Deserialize;
use url::Url;

use crate::config::{Creates, Limits, Secret, TenantConfig, UpstreamAuth};

/// One tenant's upstream: its name and a client that signs as the gateway.
#[derive(Debug)]
pub struct Upstream {
    pub tenant: String,
    pub name: String,
    pub roster: RosterClient,
    /// The same server for PUT and DELETE: never retried after a 5xx or a timeout (the
    /// district may have acted on it; the app decides whether to send it again).
    pub writer: RosterClient,
    pub creates: Creates,
    /// Set when the district answered a create with something else: from then on this
    /// instance creates nothing more in the district until it is restarted or reloaded.
    pub creates_stopped: AtomicBool,
    /// Whether the district was seen to read a record by id, per collection: `Some(false)`
    /// when a record it listed (or just created) was not found by id.
    reads_by_id: Mutex<HashMap<&'static str, bool>>,
    /// The OAuth 2 token cache, to drop after the district refuses the token.
    client_credentials: Option<Arc<ClientCredentials>>,
    /// The last reachability probe (for `/readyz`) and when it was made.
    probed: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
    /// What the client was built from, so a refresh of the tenant list can keep it.
    fingerprint: String,
}

impl Upstream {
    pub fn new(http: &reqwest::Client, tenant: &TenantConfig, limits: &Limits) -> Self {
        let mut client_credentials = None;
        let auth: Arc<dyn Authorize> = match &tenant.auth {
            UpstreamAuth::Bearer(token) => Arc::new(ProxyBearer(token.clone())),
            UpstreamAuth::OAuth1 {
                client_id,
                client_secret,
            } => Arc::new(OAuth1Signer(ConsumerCredentials::new(
                client_id.clone(),
                client_secret.expose(),
            ))),
            UpstreamAuth::OAuth2 {
                token_url,
                client_id,
                client_secret,
                scopes,
            } => {
                let credentials = Arc::new(ClientCredentials {
                    http: http.clone(),
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    scopes: scopes.join(" "),
                    cached: tokio::sync::Mutex::new(None),
                });
                client_credentials = Some(Arc::clone(&credentials));
                credentials
            }
        };
        let settings = ClientSettings {
            page_size: 1_000,
            concurrency: limits.upstream_concurrency,
            request_timeout: Duration::from_secs(limits.upstream_timeout_seconds),
            retry: RetryPolicy {
                // A longer Retry-After is passed on to the app rather than held here.
                max_retry_after: Duration::from_secs(2),
                max_total_wait: Duration::from_secs(limits.request_timeout_seconds / 2),
                ..RetryPolicy::default()
            },
            max_body_bytes: 64 << 20,
        };
        let mut write_settings = settings.clone();
        write_settings.retry.max_transient_retries = 0;
        Self {
            tenant: tenant.id.clone(),
            name: tenant.name.clone(),
            roster: RosterClient::with_auth(
                http.clone(),
                tenant.oneroster_url.clone(),
                Arc::clone(&auth),
            )
            .with_settings(settings),
            writer: RosterClient::with_auth(http.clone(), tenant.oneroster_url.clone(), auth)
                .with_settings(write_settings),
            creates: tenant.creates,
            creates_stopped: AtomicBool::new(false),
            reads_by_id: Mutex::new(HashMap::new()),
            client_credentials,
            probed: tokio::sync::Mutex::new(None),
            fingerprint: fingerprint(tenant),
        }
    }

    pub fn same_as(&self, tenant: &TenantConfig) -> bool {
        self.fingerprint == fingerprint(tenant)
    }

    /// What is known of the district reading `collection` records by id.
    pub fn reads_by_id(&self, collection: &'static str) -> Option<bool> {
        self.reads_by_id
            .lock()
            .ok()
            .and_then(|m| m.get(collection).copied())
    }

    /// Records whether a record known to exist was found by id. A failure is final.
    pub fn saw_read_by_id(&self, collection: &'static str, found: bool) {
        if let Ok(mut m) = self.reads_by_id.lock() {
            let known = m.entry(collection).or_insert(found);
            *known &= found;
        }
    }

    /// Whether the district's server answers (any HTTP status), reusing a recent answer.
    /// A failure is logged at warn with its causes (a certificate problem is named).
    pub async fn reachable(&self, http: &reqwest::Client) -> Result<(), String> {
        let mut probed = self.probed.lock().await;
        if let Some((at, result)) = probed.as_ref()
            && at.elapsed() < crate::tenants::PROBE_EVERY
        {
            return result.clone();
        }
        let result = match tokio::time::timeout(
            Duration::from_secs(5),
            http.get(self.roster.base().clone()).send(),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(crate::bearer_json::error_chain(&e)),
            Err(_) => Err("no answer within 5 s".to_owned()),
        };
        if let Err(why) = &result {
            tracing::warn!(tenant = %self.tenant, error = %why, "the district's roster server cannot be reached");
        }
        *probed = Some((Instant::now(), result.clone()));
        result
    }

    /// The district answered 401: a cached OAuth 2 token is not used again.
    pub fn credentials_refused(&self) {
        if let Some(c) = &self.client_credentials
            && let Ok(mut cached) = c.cached.try_lock()
        {
            *cached = None;
        }
    }

    pub fn creates_stopped(&self) -> bool {
        self.creates_stopped.load(Ordering::SeqCst)
    }

    pub fn stop_creates(&self) {
        self.creates_stopped.store(true, Ordering::SeqCst);
    }
}

fn fingerprint(tenant: &TenantConfig) -> String {
    use sha2::{Digest, Sha256};
    let secret = match &tenant.auth {
        UpstreamAuth::Bearer(s) => s.expose().to_owned(),
        UpstreamAuth::OAuth1 {
            client_id,
            client_secret,
        } => format!("{client_id}\n{}", client_secret.expose()),
        UpstreamAuth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scopes,
        } => format!(
            "{token_url}\n{client_id}\n{}\n{}",
            client_secret.expose(),
            scopes.join(" ")
        ),
    };
    let digest = Sha256::digest(format!(
        "{}\n{}\n{:?}\n{secret}",
        tenant.oneroster_url,
        tenant.auth.kind(),
        tenant.creates
    ));
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn sensitive(value: &str) -> Result<HeaderValue, RosterError> {
    let mut header = HeaderValue::from_str(value)
        .map_err(|_| RosterError::Malformed("a credential is not a header value".into()))?;
    header.set_sensitive(true);
    Ok(header)
}

/// ClassLink's OneRoster proxy: a per-district bearer that does not expire.
#[derive(Debug)]
struct ProxyBearer(Secret);

impl Authorize for ProxyBearer {
    fn authorization<'a>(&'a self, _: &'a Method, _: &'a Url) -> AuthorizationFuture<'a> {
        Box::pin(std::future::ready(sensitive(&format!(
            "Bearer {}",
            self.0.expose()
        ))))
    }
}

/// OAuth 1.0a with HMAC-SHA256 in the `Authorization` header (OneRoster 1.1).
#[derive(Debug)]
struct OAuth1Signer(ConsumerCredentials);

impl Authorize for OAuth1Signer {
    fn authorization<'a>(&'a self, method: &'a Method, url: &'a Url) -> AuthorizationFuture<'a> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = rollbook_oauth1::sign(method.as_str(), url, &self.0, now);
        Box::pin(std::future::ready(sensitive(&header)))
    }
}

/// OAuth 2 client credentials (RFC 6749 §4.4), the token cached and renewed a minute
/// before it expires.
struct ClientCredentials {
    http: reqwest::Client,
    token_url: Url,
    client_id: String,
    client_secret: Secret,
    scopes: String,
    cached: tokio::sync::Mutex<Option<(Secret, Instant)>>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Renew this long before the token's stated expiry.
const RENEW_EARLY: Duration = Duration::from_secs(60);

impl ClientCredentials {
    async fn token(&self) -> Result<String, RosterError> {
        // Held across the fetch: concurrent requests wait for one renewal.
        let mut cached = self.cached.lock().await;
        if let Some((token, renew_at)) = cached.as_ref()
            && Instant::now() < *renew_at
        {
            return Ok(token.expose().to_owned());
        }
        // RFC 6749 §2.3.1: id and secret are form-encoded before Basic auth.
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let mut form = vec![("grant_type", "client_credentials")];
        if !self.scopes.is_empty() {
            form.push(("scope", self.scopes.as_str()));
        }
        let response = self
            .http
            .post(self.token_url.clone())
            .basic_auth(
                encode(&self.client_id),
                Some(encode(self.client_secret.expose())),
            )
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    RosterError::TimedOut
                } else {
                    RosterError::Unreachable("the token endpoint did not answer".into())
                }
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|_| RosterError::Unreachable("the token answer broke off".into()))?;
        if !status.is_success() {
            tracing::warn!(
                token_url = %self.token_url,
                status = status.as_u16(),
                "the district's token endpoint refused the gateway's client credentials"
            );
            return Err(RosterError::Unauthorized { status: None });
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            RosterError::Malformed("the token endpoint's answer is not a token".into())
        })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3_600));
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_EARLY);
        *cached = Some((Secret::new(answer.access_token.clone()), renew_at));
        Ok(answer.access_token)
    }
}

impl Authorize for ClientCredentials {
    fn authorization<'a>(&'a self, _: &'a Method, _: &'a Url) -> AuthorizationFuture<'a> {
        Box::pin(async move { sensitive(&format!("Bearer {}", self.token().await?)) })
    }
}
