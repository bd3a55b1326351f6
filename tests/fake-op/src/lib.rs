//! A small OpenID provider that misbehaves on purpose.
//!
//! A certified OP cannot be made to send broken tokens, so the negative cases of the RP
//! checklist (`shared/DESIGN.md`) run against this one. It behaves correctly unless a
//! [`Misbehavior`] says otherwise, and counts every call so tests can prove that the
//! client stopped at the point of failure. Loopback only; test keys only.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

/// The scripted test browser (`src/bin/test_browser.rs`) in the cargo output folder
/// that holds `beside` (any file in that folder, such as another built binary), built
/// first when it is missing, so a single test can run without a workspace build.
pub fn test_browser_bin(beside: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let path = beside.with_file_name("rollbook-test-browser");
    if path.exists() {
        return Ok(path);
    }
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "rollbook-fake-op",
            "--bin",
            "rollbook-test-browser",
        ])
        .current_dir(workspace)
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the test browser failed ({status})"));
    }
    Ok(path)
}

pub const CLIENT_ID: &str = "rollbook-test";
pub const SUBJECT: &str = "teacher-0042";

/// One deliberate deviation from correct behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Misbehavior {
    #[default]
    None,
    // Positive variations a client must accept.
    NoKidSingleKey,
    AudAsArray,
    LowercaseTokenType,
    NoExpiresIn,
    SignWithEs256,
    // Negative cases.
    IdTokenWrongIssuer,
    IdTokenNoSub,
    IdTokenWrongAud,
    IdTokenNoAud,
    IdTokenExtraAudNoAzp,
    IdTokenNoIat,
    IdTokenIatInFuture,
    IdTokenExpired,
    BadSignatureRs256,
    BadSignatureEs256,
    AlgNone,
    Hs256WithPublicKey,
    NonceWrong,
    NonceMissing,
    NoKidSeveralKeysNoneVerify,
    UserinfoSubMismatch,
    DiscoveryIssuerMismatch,
    ResponseIssWrong,
    ResponseIssMissing,
    StateMissing,
    StateWrong,
    RefreshIdTokenOtherSub,
    RefreshIdTokenOtherIss,
    AuthorizationDenied,
    TokenEndpointServerError,
    TokenEndpointSlow,
    TokenEndpointGarbage,
}

/// How many times each endpoint was called.
#[derive(Debug, Default)]
pub struct Calls {
    pub discovery: AtomicUsize,
    pub authorize: AtomicUsize,
    pub token_code: AtomicUsize,
    pub token_refresh: AtomicUsize,
    pub userinfo: AtomicUsize,
    pub jwks: AtomicUsize,
    pub revoke: AtomicUsize,
}

struct SigningKey {
    kid: &'static str,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Jwk,
}

fn load_key(kid: &'static str, pem: &str, alg: Algorithm) -> SigningKey {
    let encoding = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
    }
    .unwrap_or_else(|e| panic!("test key {kid}: {e}"));
    let mut jwk =
        Jwk::from_encoding_key(&encoding, alg).unwrap_or_else(|e| panic!("jwk {kid}: {e}"));
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(match alg {
        Algorithm::ES256 => KeyAlgorithm::ES256,
        _ => KeyAlgorithm::RS256,
    });
    SigningKey {
        kid,
        alg,
        encoding,
        jwk,
    }
}

struct CodeGrant {
    challenge: String,
    redirect_uri: String,
    nonce: Option<String>,
}

#[derive(Default)]
struct Mutable {
    misbehavior: Misbehavior,
    /// Index into `keys` of the key that signs; the JWKS publishes `published`.
    signing: usize,
    published: Vec<usize>,
    codes: HashMap<String, CodeGrant>,
    refresh_tokens: HashSet<String>,
    revoked: HashSet<String>,
    access_token_lifetime: Option<u64>,
    issue_refresh_tokens: bool,
    nonce_by_refresh: HashMap<String, Option<String>>,
    /// The JWKS answers 503 (a blip at the provider's key endpoint).
    jwks_down: bool,
}

struct Inner {
    issuer: String,
    keys: Vec<SigningKey>,
    calls: Calls,
    state: Mutex<Mutable>,
    counter: AtomicUsize,
    issued: Mutex<Vec<String>>,
}

impl Inner {
    fn remember(&self, secret: &str) {
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(secret.to_owned());
    }

    fn state(&self) -> MutexGuard<'_, Mutable> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        format!("{prefix}-{n}-{:016x}", rand::random::<u64>())
    }
}

/// A running fake OP. Dropping it stops the server.
pub struct FakeOp {
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOp")
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeOp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeOp {
    /// Starts on `127.0.0.1` with an ephemeral port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let keys = vec![
            load_key("rsa-a", include_str!("../keys/rsa-a.pem"), Algorithm::RS256),
            load_key("rsa-b", include_str!("../keys/rsa-b.pem"), Algorithm::RS256),
            load_key("ec-a", include_str!("../keys/ec-a.pem"), Algorithm::ES256),
        ];
        let inner = Arc::new(Inner {
            issuer: format!("http://{addr}"),
            keys,
            calls: Calls::default(),
            state: Mutex::new(Mutable {
                signing: 0,
                published: vec![0],
                access_token_lifetime: Some(3600),
                issue_refresh_tokens: true,
                ..Mutable::default()
            }),
            counter: AtomicUsize::new(0),
            issued: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .route("/userinfo", get(userinfo))
            .route("/revoke", post(revoke))
            .with_state(Arc::clone(&inner));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { inner, server }
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    pub fn calls(&self) -> &Calls {
        &self.inner.calls
    }

    pub fn misbehave(&self, misbehavior: Misbehavior) {
        let mut state = self.inner.state();
        state.misbehavior = misbehavior;
        match misbehavior {
            Misbehavior::SignWithEs256 | Misbehavior::BadSignatureEs256 => {
                state.signing = 2;
                state.published = vec![2];
            }
            Misbehavior::NoKidSeveralKeysNoneVerify => {
                // Signs with rsa-b but publishes rsa-a and ec-a only.
                state.signing = 1;
                state.published = vec![0, 2];
            }
            _ => {}
        }
    }

    /// Access-token lifetime in seconds (`None`: no `expires_in` at all).
    pub fn set_access_token_lifetime(&self, seconds: Option<u64>) {
        self.inner.state().access_token_lifetime = seconds;
    }

    pub fn set_refresh_tokens(&self, issue: bool) {
        self.inner.state().issue_refresh_tokens = issue;
    }

    /// Rotates the signing key: the next key signs, and the JWKS publishes only it.
    pub fn rotate_keys(&self) {
        let mut state = self.inner.state();
        state.signing = if state.signing == 0 { 1 } else { 0 };
        state.published = vec![state.signing];
    }

    /// Revokes every refresh token, as an admin or a reuse detector would.
    pub fn revoke_all_refresh_tokens(&self) {
        let mut state = self.inner.state();
        let all: Vec<String> = state.refresh_tokens.drain().collect();
        state.revoked.extend(all);
    }

    /// Publishes every test key in the JWKS (benchmarks verify RS256 and ES256 tokens).
    pub fn publish_all_keys(&self) {
        self.inner.state().published = (0..self.inner.keys.len()).collect();
    }

    /// A correct ID token signed with RS256 (`rsa-a`) or ES256 (`ec-a`), for benchmarks.
    pub fn signed_id_token(&self, es256: bool, nonce: &str) -> String {
        let key = &self.inner.keys[if es256 { 2 } else { 0 }];
        let now = now();
        let claims = json!({"iss": self.inner.issuer, "sub": SUBJECT, "aud": CLIENT_ID, "exp": now + 3600, "iat": now, "nonce": nonce});
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.to_owned());
        jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap_or_default()
    }

    /// The public JWK of the RS256 (`false`) or ES256 (`true`) test key.
    pub fn public_jwk(&self, es256: bool) -> Jwk {
        self.inner.keys[if es256 { 2 } else { 0 }].jwk.clone()
    }

    /// Every code and token this OP has handed out, for "no secret leaked" greps.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.inner
            .issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Takes the key endpoint down (503) or brings it back.
    pub fn set_jwks_down(&self, down: bool) {
        self.inner.state().jwks_down = down;
    }

    pub fn was_revoked(&self, token: &str) -> bool {
        self.inner.state().revoked.contains(token)
    }
}

async fn discovery(State(op): State<Arc<Inner>>) -> Json<Value> {
    op.calls.discovery.fetch_add(1, Ordering::SeqCst);
    let state = op.state();
    let issuer = if state.misbehavior == Misbehavior::DiscoveryIssuerMismatch {
        format!("{}/other", op.issuer)
    } else {
        op.issuer.clone()
    };
    // Advertised always, so a missing `iss` in the response must be refused.
    let iss_param = true;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{}/authorize", op.issuer),
        "token_endpoint": format!("{}/token", op.issuer),
        "jwks_uri": format!("{}/jwks", op.issuer),
        "userinfo_endpoint": format!("{}/userinfo", op.issuer),
        "revocation_endpoint": format!("{}/revoke", op.issuer),
        "end_session_endpoint": format!("{}/logout", op.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "authorization_response_iss_parameter_supported": iss_param,
    }))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn authorize(State(op): State<Arc<Inner>>, Query(q): Query<AuthorizeQuery>) -> Response {
    op.calls.authorize.fetch_add(1, Ordering::SeqCst);
    let redirect_ok = q.redirect_uri.starts_with("http://127.0.0.1:")
        || q.redirect_uri.starts_with("http://[::1]:")
        || q.redirect_uri == "org.rollbook.desktop:/oauth/callback";
    if q.client_id != CLIENT_ID || !redirect_ok || q.response_type != "code" {
        return (
            StatusCode::BAD_REQUEST,
            "bad client, redirect_uri or response_type",
        )
            .into_response();
    }
    let (Some(challenge), Some("S256")) = (q.code_challenge, q.code_challenge_method.as_deref())
    else {
        return (StatusCode::BAD_REQUEST, "PKCE S256 required").into_response();
    };
    let misbehavior = op.state().misbehavior;
    let Ok(mut target) = Url::parse(&q.redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response();
    };
    {
        let mut pairs = target.query_pairs_mut();
        if misbehavior == Misbehavior::AuthorizationDenied {
            pairs.append_pair("error", "access_denied");
            pairs.append_pair("error_description", "The teacher said <no>");
        } else {
            let code = op.fresh("code");
            op.state().codes.insert(
                code.clone(),
                CodeGrant {
                    challenge,
                    redirect_uri: q.redirect_uri.clone(),
                    nonce: q.nonce.clone(),
                },
            );
            op.remember(&code);
            pairs.append_pair("code", &code);
        }
        match (misbehavior, q.state) {
            (Misbehavior::StateMissing, _) => {}
            (Misbehavior::StateWrong, _) => {
                pairs.append_pair("state", "not-the-state-you-sent");
            }
            (_, Some(state)) => {
                pairs.append_pair("state", &state);
            }
            (_, None) => {}
        }
        match misbehavior {
            Misbehavior::ResponseIssMissing => {}
            Misbehavior::ResponseIssWrong => {
                pairs.append_pair("iss", "http://127.0.0.1:1");
            }
            _ => {
                pairs.append_pair("iss", &op.issuer);
            }
        }
    }
    Redirect::to(target.as_str()).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    refresh_token: Option<String>,
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": format!("fake OP says {code}")})),
    )
        .into_response()
}

async fn token(State(op): State<Arc<Inner>>, Form(form): Form<TokenForm>) -> Response {
    let misbehavior = op.state().misbehavior;
    if form.client_id.as_deref() != Some(CLIENT_ID) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match form.grant_type.as_str() {
        "authorization_code" => {
            op.calls.token_code.fetch_add(1, Ordering::SeqCst);
            match misbehavior {
                Misbehavior::TokenEndpointServerError => {
                    return (StatusCode::INTERNAL_SERVER_ERROR, "<html>oops</html>")
                        .into_response();
                }
                Misbehavior::TokenEndpointGarbage => {
                    return (StatusCode::OK, "\u{0}\u{1}not json").into_response();
                }
                Misbehavior::TokenEndpointSlow => {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                }
                _ => {}
            }
            let Some(grant) = form.code.and_then(|c| op.state().codes.remove(&c)) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let verifier = form.code_verifier.unwrap_or_default();
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed != grant.challenge
                || form.redirect_uri.as_deref() != Some(&grant.redirect_uri)
            {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            issue_tokens(&op, grant.nonce, false)
        }
        "refresh_token" => {
            op.calls.token_refresh.fetch_add(1, Ordering::SeqCst);
            if misbehavior == Misbehavior::TokenEndpointServerError {
                return (StatusCode::INTERNAL_SERVER_ERROR, "<html>oops</html>").into_response();
            }
            let presented = form.refresh_token.unwrap_or_default();
            let nonce = {
                let mut state = op.state();
                if !state.refresh_tokens.remove(&presented) {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
                }
                state.revoked.insert(presented.clone());
                state.nonce_by_refresh.remove(&presented).flatten()
            };
            issue_tokens(&op, nonce, true)
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn issue_tokens(op: &Inner, nonce: Option<String>, refreshing: bool) -> Response {
    let (misbehavior, lifetime, issue_refresh, signing) = {
        let s = op.state();
        (
            s.misbehavior,
            s.access_token_lifetime,
            s.issue_refresh_tokens,
            s.signing,
        )
    };
    let now = now();
    let mut claims = json!({
        "iss": op.issuer, "sub": SUBJECT, "aud": CLIENT_ID,
        "exp": now + 600, "iat": now, "auth_time": now,
        "name": "Ms. Alma Rivera", "email": "alma.rivera@school.example",
    });
    if let Some(nonce) = &nonce {
        claims["nonce"] = json!(nonce);
    }
    if let Some(map) = claims.as_object_mut() {
        match misbehavior {
            Misbehavior::IdTokenWrongIssuer => {
                map.insert("iss".into(), json!("https://evil.example"));
            }
            Misbehavior::IdTokenNoSub => {
                map.remove("sub");
            }
            Misbehavior::IdTokenWrongAud => {
                map.insert("aud".into(), json!("someone-else"));
            }
            Misbehavior::IdTokenNoAud => {
                map.remove("aud");
            }
            Misbehavior::AudAsArray => {
                map.insert("aud".into(), json!([CLIENT_ID]));
            }
            Misbehavior::IdTokenExtraAudNoAzp => {
                map.insert("aud".into(), json!([CLIENT_ID, "another-app"]));
            }
            Misbehavior::IdTokenNoIat => {
                map.remove("iat");
            }
            Misbehavior::IdTokenIatInFuture => {
                map.insert("iat".into(), json!(now + 3600));
            }
            Misbehavior::IdTokenExpired => {
                map.insert("exp".into(), json!(now - 3600));
                map.insert("iat".into(), json!(now - 4000));
            }
            Misbehavior::NonceWrong => {
                map.insert("nonce".into(), json!("a-nonce-from-elsewhere"));
            }
            Misbehavior::NonceMissing => {
                map.remove("nonce");
            }
            Misbehavior::RefreshIdTokenOtherSub if refreshing => {
                map.insert("sub".into(), json!("someone-else"));
            }
            Misbehavior::RefreshIdTokenOtherIss if refreshing => {
                map.insert("iss".into(), json!("https://evil.example"));
            }
            _ => {}
        }
    }
    let key = &op.keys[signing];
    let id_token = match misbehavior {
        Misbehavior::AlgNone => {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, key.kid));
            let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
            format!("{header}.{payload}.")
        }
        Misbehavior::Hs256WithPublicKey => {
            // The classic key-confusion attack: HMAC keyed with the RSA public key.
            let public = serde_json::to_vec(&key.jwk).unwrap_or_default();
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(key.kid.to_owned());
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&public))
                .unwrap_or_default()
        }
        _ => {
            let mut header = Header::new(key.alg);
            if !matches!(
                misbehavior,
                Misbehavior::NoKidSingleKey | Misbehavior::NoKidSeveralKeysNoneVerify
            ) {
                header.kid = Some(key.kid.to_owned());
            }
            let signed = jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap_or_default();
            if matches!(
                misbehavior,
                Misbehavior::BadSignatureRs256 | Misbehavior::BadSignatureEs256
            ) {
                tamper_signature(&signed)
            } else {
                signed
            }
        }
    };
    let access_token = op.fresh("at");
    op.remember(&access_token);
    op.remember(&id_token);
    let mut body = json!({
        "access_token": access_token,
        "token_type": if misbehavior == Misbehavior::LowercaseTokenType { "bearer" } else { "Bearer" },
        "id_token": id_token,
    });
    if let (Some(lifetime), false) = (lifetime, misbehavior == Misbehavior::NoExpiresIn) {
        body["expires_in"] = json!(lifetime);
    }
    if issue_refresh {
        let refresh = op.fresh("rt");
        op.remember(&refresh);
        let mut state = op.state();
        state.refresh_tokens.insert(refresh.clone());
        state.nonce_by_refresh.insert(refresh.clone(), nonce);
        body["refresh_token"] = json!(refresh);
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    (StatusCode::OK, headers, Json(body)).into_response()
}

fn tamper_signature(jwt: &str) -> String {
    let Some((signed, signature)) = jwt.rsplit_once('.') else {
        return jwt.to_owned();
    };
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    if let Some(first) = bytes.first_mut() {
        *first ^= 0x01;
    }
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

async fn jwks(State(op): State<Arc<Inner>>) -> Response {
    op.calls.jwks.fetch_add(1, Ordering::SeqCst);
    let state = op.state();
    if state.jwks_down {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let mut keys: Vec<Jwk> = state
        .published
        .iter()
        .map(|&i| op.keys[i].jwk.clone())
        .collect();
    if matches!(
        state.misbehavior,
        Misbehavior::NoKidSingleKey | Misbehavior::NoKidSeveralKeysNoneVerify
    ) {
        for key in &mut keys {
            key.common.key_id = None;
        }
    }
    Json(JwkSet { keys }).into_response()
}

async fn userinfo(State(op): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    op.calls.userinfo.fetch_add(1, Ordering::SeqCst);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_none_or(|t| !t.starts_with("at-")) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token"})),
        )
            .into_response();
    }
    let sub = if op.state().misbehavior == Misbehavior::UserinfoSubMismatch {
        "someone-else"
    } else {
        SUBJECT
    };
    Json(json!({"sub": sub, "name": "Ms. Alma Rivera", "email": "alma.rivera@school.example", "given_name": "Alma", "family_name": "Rivera"})).into_response()
}

#[derive(Deserialize)]
struct RevokeForm {
    token: String,
}

async fn revoke(State(op): State<Arc<Inner>>, Form(form): Form<RevokeForm>) -> StatusCode {
    op.calls.revoke.fetch_add(1, Ordering::SeqCst);
    let mut state = op.state();
    state.refresh_tokens.remove(&form.token);
    state.revoked.insert(form.token);
    StatusCode::OK
}
