//! The ClassLink-shaped OpenID provider: discovery, `/oauth2/v2/auth` (teacher picker
//! and consent), `/oauth2/v2/token`, `/oauth2/v2/jwks`, userinfo, revocation and
//! ClassLink's `/v2/my/info`.
//!
//! The one client is the public native app `rollbook-desktop`: PKCE S256 is required,
//! the redirect URI must be the registered custom scheme or a loopback
//! `http://127.0.0.1:{any port}/callback` (RFC 8252 §7.3), codes are single-use and
//! short-lived, and refresh tokens rotate with reuse detection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::extract::{Form, Path, Query, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::district::{DISTRICT_NAME, Person, Role};
use crate::state::{CodeGrant, Interaction, RefreshRefused, State, digest, random_token};
use crate::{DEMO_CLIENT_ID, SCHEME_REDIRECT_URI, pages};

const SUPPORTED_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "oneroster",
    "full",
    "offline_access",
];
const INTERACTION_LIFETIME: Duration = Duration::from_secs(600);

pub fn routes() -> Router<Arc<State>> {
    Router::new()
        .route("/", get(home))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth2/v2/jwks", get(jwks))
        .route("/oauth2/v2/auth", get(authorize))
        .route("/oauth2/v2/auth/interaction/{id}", get(picker))
        .route("/oauth2/v2/auth/interaction/{id}/login", post(login))
        .route(
            "/oauth2/v2/auth/interaction/{id}/consent",
            get(consent_page).post(consent),
        )
        .route("/oauth2/v2/token", post(token))
        .route("/oauth2/v2/userinfo", get(userinfo))
        .route("/oauth2/v2/revoke", post(revoke))
}

/// ClassLink's API; the roster router puts it behind the same fault layer.
pub fn my_info_routes() -> Router<Arc<State>> {
    Router::new().route("/v2/my/info", get(my_info))
}

async fn home(Extract(state): Extract<Arc<State>>) -> Html<String> {
    Html(pages::home(&state.district, &state.issuer))
}

async fn discovery(Extract(state): Extract<Arc<State>>) -> Json<Value> {
    state.stats.hit("discovery");
    let issuer = &state.issuer;
    let refresh = state.knobs().tokens.refresh_tokens;
    let scopes: Vec<&str> = SUPPORTED_SCOPES
        .iter()
        .copied()
        .filter(|s| refresh || *s != "offline_access")
        .collect();
    let mut grants = vec!["authorization_code"];
    if refresh {
        grants.push("refresh_token");
    }
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/v2/auth"),
        "token_endpoint": format!("{issuer}/oauth2/v2/token"),
        "jwks_uri": format!("{issuer}/oauth2/v2/jwks"),
        "userinfo_endpoint": format!("{issuer}/oauth2/v2/userinfo"),
        "revocation_endpoint": format!("{issuer}/oauth2/v2/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": scopes,
        "claims_supported": ["sub", "name", "given_name", "family_name", "email", "preferred_username"],
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{issuer}/"),
    }))
}

async fn jwks(Extract(state): Extract<Arc<State>>) -> Json<Value> {
    state.stats.hit("jwks");
    Json(state.jwks())
}

/// Whether `uri` is one of the registered redirect URIs.
fn redirect_allowed(uri: &str) -> bool {
    if uri == SCHEME_REDIRECT_URI {
        return true;
    }
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    url.scheme() == "http"
        && matches!(url.host_str(), Some("127.0.0.1" | "[::1]"))
        && url.path() == "/callback"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
}

fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Bad redirect",
            "The redirect address is not valid.",
        );
    };
    url.query_pairs_mut().extend_pairs(params);
    Redirect::to(url.as_str()).into_response()
}

fn redirect_error(
    interaction_redirect: &str,
    state: Option<&str>,
    issuer: &str,
    error: &str,
    description: &str,
) -> Response {
    let mut params = vec![
        ("error", error),
        ("error_description", description),
        ("iss", issuer),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect_with(interaction_redirect, &params)
}

fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    (status, Html(pages::error(title, detail))).into_response()
}

async fn authorize(
    Extract(state): Extract<Arc<State>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    state.stats.hit("authorize");
    let get = |k: &str| q.get(k).map(String::as_str);
    // Errors about the client or the redirect URI are shown here, never redirected.
    if get("client_id") != Some(DEMO_CLIENT_ID) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Unknown app",
            "This app is not registered with the demo district.",
        );
    }
    let Some(redirect_uri) = get("redirect_uri").filter(|u| redirect_allowed(u)) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Unregistered redirect",
            "The redirect address is not registered for this app.",
        );
    };
    let st = get("state");
    let issuer = state.issuer.as_str();
    if get("response_type") != Some("code") {
        return redirect_error(
            redirect_uri,
            st,
            issuer,
            "unsupported_response_type",
            "only response_type=code",
        );
    }
    let Some(challenge) = get("code_challenge").filter(|c| c.len() == 43) else {
        return redirect_error(
            redirect_uri,
            st,
            issuer,
            "invalid_request",
            "PKCE is required: send an S256 code_challenge",
        );
    };
    if get("code_challenge_method") != Some("S256") {
        return redirect_error(
            redirect_uri,
            st,
            issuer,
            "invalid_request",
            "code_challenge_method must be S256",
        );
    }
    let requested: Vec<String> = get("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !requested.iter().any(|s| s == "openid") {
        return redirect_error(
            redirect_uri,
            st,
            issuer,
            "invalid_scope",
            "the openid scope is required",
        );
    }
    let refresh = state.knobs().tokens.refresh_tokens;
    let scopes: Vec<String> = requested
        .into_iter()
        .filter(|s| SUPPORTED_SCOPES.contains(&s.as_str()))
        .filter(|s| refresh || s != "offline_access")
        .collect();
    if get("prompt").is_some_and(|p| p.split_whitespace().any(|p| p == "none")) {
        return redirect_error(
            redirect_uri,
            st,
            issuer,
            "login_required",
            "the demo district always asks",
        );
    }
    let id = random_token();
    if let Ok(mut interactions) = state.interactions.lock() {
        interactions.retain(|_, i| i.created.elapsed() < INTERACTION_LIFETIME);
        interactions.insert(
            id.clone(),
            Interaction {
                redirect_uri: redirect_uri.to_owned(),
                state: st.map(str::to_owned),
                nonce: get("nonce").map(str::to_owned),
                code_challenge: challenge.to_owned(),
                scopes,
                staff: get("login_hint").and_then(|h| state.district.staff_by_login(h)),
                created: Instant::now(),
            },
        );
    }
    Redirect::to(&format!("/oauth2/v2/auth/interaction/{id}")).into_response()
}

fn interaction(state: &State, id: &str) -> Option<Interaction> {
    state
        .interactions
        .lock()
        .ok()?
        .get(id)
        .filter(|i| i.created.elapsed() < INTERACTION_LIFETIME)
        .cloned()
}

fn expired() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in has expired",
        "The sign-in page is too old or was already used.",
    )
}

async fn picker(
    Extract(state): Extract<Arc<State>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if interaction(&state, &id).is_none() {
        return expired();
    }
    let search = q.get("q").map(String::as_str).unwrap_or_default();
    let action = format!("/oauth2/v2/auth/interaction/{id}/login");
    Html(pages::picker(&state.district, &action, search, None)).into_response()
}

async fn login(
    Extract(state): Extract<Arc<State>>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if interaction(&state, &id).is_none() {
        return expired();
    }
    let chosen = form
        .get("teacher")
        .and_then(|t| state.district.staff_by_login(t));
    let Some(staff) = chosen else {
        let action = format!("/oauth2/v2/auth/interaction/{id}/login");
        let page = pages::picker(
            &state.district,
            &action,
            "",
            Some("Pick someone from the list."),
        );
        return (StatusCode::BAD_REQUEST, Html(page)).into_response();
    };
    if let Ok(mut interactions) = state.interactions.lock()
        && let Some(i) = interactions.get_mut(&id)
    {
        i.staff = Some(staff);
    }
    Redirect::to(&format!("/oauth2/v2/auth/interaction/{id}/consent")).into_response()
}

async fn consent_page(Extract(state): Extract<Arc<State>>, Path(id): Path<String>) -> Response {
    let Some(pending) = interaction(&state, &id) else {
        return expired();
    };
    let Some(staff) = pending.staff else {
        return Redirect::to(&format!("/oauth2/v2/auth/interaction/{id}")).into_response();
    };
    let action = format!("/oauth2/v2/auth/interaction/{id}/consent");
    Html(pages::consent(
        &state.district.staff[staff],
        &pending.scopes,
        &action,
    ))
    .into_response()
}

async fn consent(
    Extract(state): Extract<Arc<State>>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    // The interaction is used up whatever the answer.
    let pending = state
        .interactions
        .lock()
        .ok()
        .and_then(|mut i| i.remove(&id));
    let Some(pending) = pending.filter(|i| i.created.elapsed() < INTERACTION_LIFETIME) else {
        return expired();
    };
    let Some(staff) = pending.staff else {
        return expired();
    };
    let issuer = state.issuer.clone();
    if form.get("decision").map(String::as_str) != Some("allow") {
        return redirect_error(
            &pending.redirect_uri,
            pending.state.as_deref(),
            &issuer,
            "access_denied",
            "the teacher did not allow access",
        );
    }
    let code = random_token();
    let lifetime = Duration::from_secs(state.knobs().tokens.code_seconds);
    if let Ok(mut codes) = state.codes.lock() {
        codes.retain(|_, c| c.expires > Instant::now() || c.issued.is_some());
        codes.insert(
            digest(&code),
            CodeGrant {
                redirect_uri: pending.redirect_uri.clone(),
                code_challenge: pending.code_challenge,
                nonce: pending.nonce,
                staff,
                scopes: pending.scopes,
                expires: Instant::now() + lifetime,
                issued: None,
            },
        );
    }
    let mut params = vec![("code", code.as_str()), ("iss", issuer.as_str())];
    if let Some(st) = pending.state.as_deref() {
        params.push(("state", st));
    }
    redirect_with(&pending.redirect_uri, &params)
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The client id from the form or HTTP Basic; a secret is refused (public client).
fn client_of(headers: &HeaderMap, form: &HashMap<String, String>) -> Result<String, Response> {
    let invalid = || {
        token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "rollbook-desktop is a public client: PKCE, no secret",
        )
    };
    if form.contains_key("client_secret") {
        return Err(invalid());
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let client = match basic {
        Some(pair) => {
            let (id, secret) = pair.split_once(':').unwrap_or((&pair, ""));
            if !secret.is_empty() {
                return Err(invalid());
            }
            id.to_owned()
        }
        None => form.get("client_id").cloned().unwrap_or_default(),
    };
    if client == DEMO_CLIENT_ID {
        Ok(client)
    } else {
        Err(invalid())
    }
}

async fn token(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    state.stats.hit("token");
    if form.get("grant_type").map(String::as_str) == Some("client_credentials") {
        return app_token(&state, &headers, &form);
    }
    if let Err(response) = client_of(&headers, &form) {
        return response;
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => exchange_code(&state, &form),
        Some("refresh_token") if state.knobs().tokens.refresh_tokens => refresh(&state, &form),
        _ => token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "authorization_code or refresh_token",
        ),
    }
}

/// OAuth 2 client credentials (RFC 6749 §4.4) for the demo OneRoster application, as
/// OneRoster 1.2 servers grant a vendor: Basic auth with the published demo credentials.
fn app_token(state: &State, headers: &HeaderMap, form: &HashMap<String, String>) -> Response {
    use crate::config::demo_credentials::{ONEROSTER_CLIENT_ID, ONEROSTER_CLIENT_SECRET};
    state.stats.hit("token_client_credentials");
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = basic.as_deref().and_then(|p| p.split_once(':')) else {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client credentials go in HTTP Basic auth",
        );
    };
    if id != ONEROSTER_CLIENT_ID || secret != ONEROSTER_CLIENT_SECRET {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    }
    let seconds = state.knobs().tokens.access_token_seconds;
    let token = state.issue_app_token(std::time::Duration::from_secs(seconds));
    let scope = form
        .get("scope")
        .cloned()
        .unwrap_or_else(|| "roster.readonly".into());
    Json(json!({ "access_token": token, "token_type": "Bearer", "expires_in": seconds, "scope": scope }))
        .into_response()
}

fn exchange_code(state: &State, form: &HashMap<String, String>) -> Response {
    let bad = |d: &str| token_error(StatusCode::BAD_REQUEST, "invalid_grant", d);
    let Some(code) = form.get("code") else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is missing",
        );
    };
    let key = digest(code);
    let grant = {
        let Ok(mut codes) = state.codes.lock() else {
            return bad("try again");
        };
        let Some(grant) = codes.get_mut(&key) else {
            return bad("unknown or expired code");
        };
        if let Some(issued) = grant.issued.take() {
            // A second redemption: revoke what the first one got (RFC 6749 §4.1.2).
            drop(codes);
            for token in issued {
                state.revoke_access_token(&token);
                state.revoke_refresh_family(&token);
            }
            state.stats.hit("code_reuse");
            return bad("the code was already used; its tokens are revoked");
        }
        grant.issued = Some(Vec::new());
        grant.clone()
    };
    if grant.expires <= Instant::now() {
        return bad("the code has expired");
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return bad("redirect_uri does not match the authorization request");
    }
    let Some(verifier) = form
        .get("code_verifier")
        .filter(|v| (43..=128).contains(&v.len()))
    else {
        return bad("PKCE code_verifier is missing or malformed");
    };
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != grant.code_challenge {
        return bad("PKCE verification failed");
    }
    let response = issue(
        state,
        grant.staff,
        &grant.scopes,
        grant.nonce.as_deref(),
        None,
    );
    if let (Ok(mut codes), Some(issued)) = (state.codes.lock(), response.1)
        && let Some(g) = codes.get_mut(&key)
    {
        g.issued = Some(issued);
    }
    response.0
}

fn refresh(state: &State, form: &HashMap<String, String>) -> Response {
    let bad = |d: &str| token_error(StatusCode::BAD_REQUEST, "invalid_grant", d);
    let Some(presented) = form.get("refresh_token") else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is missing",
        );
    };
    let rotate = state.knobs().tokens.rotate_refresh_tokens;
    let grant = match state.redeem_refresh_token(unpadded(presented), rotate) {
        Ok(grant) => grant,
        Err(RefreshRefused::Unknown) => return bad("unknown or revoked refresh token"),
        Err(RefreshRefused::Reused) => {
            // Reuse of a rotated token: someone has a copy. The family has ended.
            state.stats.hit("refresh_reuse");
            return bad("refresh token reuse detected; sign in again");
        }
    };
    let keep = (!rotate).then_some(presented.as_str());
    issue(
        state,
        grant.staff,
        &grant.scopes,
        None,
        Some((grant.family, keep)),
    )
    .0
}

/// Issues tokens. `refresh_family` is set on refresh: the family to continue, and the
/// presented token when it stays valid (no rotation).
fn issue(
    state: &State,
    staff: usize,
    scopes: &[String],
    nonce: Option<&str>,
    refresh_family: Option<(u64, Option<&str>)>,
) -> (Response, Option<Vec<String>>) {
    let policy = state.knobs().tokens;
    let person = &state.district.staff[staff];
    let lifetime = Duration::from_secs(policy.access_token_seconds);
    let access_token = state.issue_access_token(staff, scopes, lifetime);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut claims = profile_claims(person, staff, scopes, &policy);
    claims["iss"] = json!(state.issuer);
    claims["aud"] = json!(DEMO_CLIENT_ID);
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 600);
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    let id_token = match state.sign(&claims) {
        Ok(t) => t,
        Err(_) => {
            return (
                token_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "signing failed",
                ),
                None,
            );
        }
    };
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": policy.access_token_seconds,
        "id_token": id_token,
        "scope": scopes.join(" "),
    });
    let mut issued = vec![access_token];
    let wants_refresh = policy.refresh_tokens && scopes.iter().any(|s| s == "offline_access");
    if wants_refresh {
        let refresh_token = match refresh_family {
            Some((_, Some(kept))) => kept.to_owned(),
            _ => {
                let family = refresh_family.map_or_else(|| state.new_family(), |(f, _)| f);
                state.issue_refresh_token(staff, scopes, family)
            }
        };
        issued.push(unpadded(&refresh_token).to_owned());
        body["refresh_token"] = json!(padded(refresh_token, policy.refresh_token_padding));
    }
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (response, Some(issued))
}

/// A refresh token lengthened by `chars` characters (see
/// [`crate::TokenPolicy::refresh_token_padding`]); a token kept across a refresh is
/// padded already.
fn padded(token: String, chars: usize) -> String {
    if chars == 0 || token.contains('~') {
        return token;
    }
    format!("{token}~{}", "x".repeat(chars.saturating_sub(1)))
}

/// The token without its padding: what the grant is recorded under.
fn unpadded(token: &str) -> &str {
    token.split_once('~').map_or(token, |(token, _)| token)
}

/// ClassLink-style numeric user id, used as `sub`.
fn user_id(staff: usize) -> u64 {
    1_084_000 + staff as u64
}

fn profile_claims(
    person: &Person,
    staff: usize,
    scopes: &[String],
    policy: &crate::TokenPolicy,
) -> Value {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let mut claims = json!({ "sub": user_id(staff).to_string() });
    if has("profile") {
        claims["name"] = json!(person.display_name());
        claims["given_name"] = json!(person.given);
        claims["family_name"] = json!(person.family);
        claims["preferred_username"] = json!(person.username);
    }
    if has("email") {
        claims["email"] = json!(person.email);
        claims["email_verified"] = json!(!policy.unverified_emails);
    }
    if let Some(name) = policy.sourced_id_claim.as_deref() {
        claims[name] = json!(person.id);
    }
    claims
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

async fn userinfo(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    state.stats.hit("userinfo");
    let Some(grant) = bearer(&headers).and_then(|t| state.grant_for(t)) else {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return response;
    };
    if grant.student.is_some() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let policy = state.knobs().tokens;
    let person = &state.district.staff[grant.staff];
    Json(profile_claims(person, grant.staff, &grant.scopes, &policy)).into_response()
}

/// ClassLink's `/v2/my/info`, PascalCase as the real one.
async fn my_info(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    state.stats.hit("my_info");
    let Some(grant) = bearer(&headers).and_then(|t| state.grant_for(t)) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "message": "Invalid or expired access token", "status": 0 })),
        )
            .into_response();
    };
    let district = &state.district;
    let person = match grant.student {
        Some(st) => &district.students[st],
        None => &district.staff[grant.staff],
    };
    let school = &district.schools[person.school];
    let (role, level, org_id) = match person.role {
        Role::Administrator => ("Tenant Administrator", 3, json!([school.identifier, "1"])),
        Role::Student => ("Student", 1, json!(school.identifier)),
        Role::Teacher => ("Teacher", 2, json!(school.identifier)),
    };
    let user = grant
        .student
        .map_or(grant.staff, |st| st + district.staff.len());
    Json(json!({
        "UserId": user_id(user),
        "TenantId": state.tenant_id,
        "StateId": 44,
        "BuildingId": school.identifier.parse::<u64>().unwrap_or(0),
        "DisplayName": person.display_name(),
        "FirstName": person.given,
        "LastName": person.family,
        "Email": person.email,
        "LoginId": person.username,
        "ImagePath": "",
        "LanguageId": 1,
        "Language": "en",
        "DefaultTimeFormat": 0,
        "Profile": "Demo",
        "ProfileId": 1,
        "Tenant": DISTRICT_NAME,
        "Building": school.name,
        "Role": role,
        "Role_Level": level,
        "LastAccessTime": "",
        "OrgId": org_id,
        "SourcedId": person.id,
    }))
    .into_response()
}

async fn revoke(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    state.stats.hit("revoke");
    if let Err(response) = client_of(&headers, &form) {
        return response;
    }
    if let Some(token) = form.get("token").map(|t| unpadded(t))
        && !state.revoke_access_token(token)
        && state.revoke_refresh_family(token)
    {
        state.stats.hit("revoked_refresh_token");
    }
    // RFC 7009 §2.2: 200 whether or not the token was known.
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_registered_redirects() {
        use super::redirect_allowed;
        assert!(redirect_allowed("http://127.0.0.1:51234/callback"));
        assert!(redirect_allowed("http://127.0.0.1/callback"));
        assert!(redirect_allowed("org.rollbook.desktop:/oauth/callback"));
        assert!(
            !redirect_allowed("http://localhost:51234/callback"),
            "names are not loopback literals"
        );
        assert!(!redirect_allowed("http://127.0.0.1:51234/other"));
        assert!(!redirect_allowed("http://127.0.0.1:51234/callback?x=1"));
        assert!(!redirect_allowed("https://evil.example/callback"));
        assert!(!redirect_allowed(
            "org.rollbook.desktop:/oauth/callback/extra"
        ));
        assert!(!redirect_allowed("http://user@127.0.0.1:5/callback"));
    }
}
