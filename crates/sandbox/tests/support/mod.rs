//! Driving the demo district's pages the way a browser would, for tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code, clippy::panic)]

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rollbook_auth::{
    AuthorizationOptions, ClientConfig, HttpSettings, IssuerUrl, Provider, RedirectUri, SignedIn,
    SystemClock, build_http_client,
};
use rollbook_sandbox::{DEMO_CLIENT_ID, Knobs, Sandbox, SandboxConfig, Size};
use sha2::{Digest, Sha256};
use url::Url;

pub const LOOPBACK: &str = "http://127.0.0.1:50123/callback";

pub async fn sandbox(size: Size, knobs: Knobs) -> Sandbox {
    // This suite reads the OneRoster API with teachers' own tokens, as a plain
    // OneRoster server allows (the demo's default answers the application only).
    let mut knobs = knobs;
    knobs.access.accept_teacher_tokens = true;
    Sandbox::start(SandboxConfig {
        seed: 7,
        size,
        today: Some("2026-11-27".into()),
        knobs,
        test_controls: true,
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Follows the sandbox's pages from `start`: picks `login` (or the first person
/// offered), allows or denies, and returns the final redirect to the app.
pub async fn browse(start: &Url, login: Option<&str>, allow: bool) -> Url {
    let client = browser();
    let mut url = start.clone();
    let mut form: Option<Vec<(String, String)>> = None;
    for _ in 0..10 {
        let response = match form.take() {
            Some(fields) => client.post(url.clone()).form(&fields).send().await,
            None => client.get(url.clone()).send().await,
        }
        .unwrap();
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            let next = url.join(&location).unwrap();
            if next.origin() != start.origin() {
                return next;
            }
            url = next;
            continue;
        }
        let status = response.status();
        let page = response.text().await.unwrap();
        assert!(
            page.contains("Demo district: not a real school"),
            "banner missing: {page}"
        );
        let action = page
            .split("method=\"post\" action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{status}: no form in {page}"));
        url = url.join(action).unwrap();
        if page.contains("name=\"teacher\"") {
            let first = page
                .split("name=\"teacher\" value=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap()
                .to_owned();
            form = Some(vec![("teacher".into(), login.map_or(first, str::to_owned))]);
        } else if page.contains("name=\"decision\"") {
            let decision = if allow { "allow" } else { "deny" };
            form = Some(vec![("decision".into(), decision.into())]);
        } else {
            panic!("unexpected page: {page}");
        }
    }
    panic!("too many steps");
}

pub async fn provider(sandbox: &Sandbox) -> Provider {
    let http = build_http_client(&HttpSettings::default()).unwrap();
    Provider::discover(
        ClientConfig {
            issuer: IssuerUrl::new(sandbox.issuer().to_owned()).unwrap(),
            client_id: DEMO_CLIENT_ID.into(),
            client_secret: None,
        },
        http,
        Arc::new(SystemClock),
    )
    .await
    .unwrap()
}

pub fn options(scopes: &[&str]) -> AuthorizationOptions {
    AuthorizationOptions {
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        prompt: vec!["consent".into()],
        login_hint: None,
    }
}

/// A full sign-in through Rollbook's own engine.
pub async fn sign_in(sandbox: &Sandbox, login: Option<&str>, scopes: &[&str]) -> SignedIn {
    let provider = provider(sandbox).await;
    let pending = provider
        .begin(
            RedirectUri::Loopback(Url::parse(LOOPBACK).unwrap()),
            &options(scopes),
        )
        .unwrap();
    let callback = browse(pending.authorization_url(), login, true).await;
    provider.complete(pending, &callback).await.unwrap()
}

/// A hand-made PKCE pair, for requests the engine would never send.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn authorize_url(sandbox: &Sandbox, extra: &[(&str, &str)]) -> Url {
    let mut url = Url::parse(&format!("{}/oauth2/v2/auth", sandbox.issuer())).unwrap();
    url.query_pairs_mut().extend_pairs(extra);
    url
}

/// Gets a code by hand (PKCE pair from [`pkce`]).
pub async fn code(sandbox: &Sandbox, scope: &str) -> String {
    let (_, challenge) = pkce();
    let start = authorize_url(
        sandbox,
        &[
            ("client_id", DEMO_CLIENT_ID),
            ("redirect_uri", LOOPBACK),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "s1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let back = browse(&start, None, true).await;
    back.query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

pub async fn token_request(sandbox: &Sandbox, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let response = browser()
        .post(format!("{}/oauth2/v2/token", sandbox.issuer()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

pub async fn get_json(
    sandbox: &Sandbox,
    path: &str,
    token: &str,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let response = browser()
        .get(format!("{}{path}", sandbox.issuer()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap_or_default())
}
