//! The demo district's sign-in, tested with Rollbook's own engine and with requests the
//! engine would never send: PKCE required, exact redirect URIs, single-use short-lived
//! codes, refresh rotation with reuse detection, key rotation, ClassLink's my/info.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use rollbook_auth::{NonceRule, RedirectUri};
use rollbook_sandbox::{DEMO_CLIENT_ID, Knobs, Size, TokenPolicy};
use support::*;
use url::Url;

fn param(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn rollbooks_engine_signs_in_and_verifies_the_id_token() {
    let sandbox = sandbox(Size::School, Knobs::default()).await;
    let teacher = sandbox.district().staff[3].clone();
    let signed_in = sign_in(
        &sandbox,
        Some(&teacher.id),
        &["profile", "email", "oneroster", "offline_access"],
    )
    .await;
    assert_eq!(
        signed_in.identity.email.as_deref(),
        Some(teacher.email.as_str())
    );
    assert_eq!(signed_in.identity.issuer, sandbox.issuer());
    assert!(signed_in.tokens.refresh_token.is_some());
    let stats = sandbox.stats();
    assert_eq!(stats["authorize"], 1);
    assert_eq!(stats["token"], 1);
}

#[tokio::test]
async fn the_picker_also_takes_a_username_and_the_callback_carries_iss_and_state() {
    let sandbox = sandbox(Size::Tiny, Knobs::default()).await;
    let teacher = sandbox.district().staff[0].clone();
    let provider = provider(&sandbox).await;
    let pending = provider
        .begin(
            RedirectUri::Loopback(Url::parse(LOOPBACK).unwrap()),
            &options(&["profile"]),
        )
        .unwrap();
    let back = browse(pending.authorization_url(), Some(&teacher.username), true).await;
    assert_eq!(param(&back, "iss").as_deref(), Some(sandbox.issuer()));
    assert!(pending.state_matches(&param(&back, "state").unwrap()));
    let signed_in = provider.complete(pending, &back).await.unwrap();
    assert_eq!(
        signed_in.identity.preferred_username.as_deref(),
        Some(teacher.username.as_str())
    );
    assert_eq!(
        signed_in.identity.email, None,
        "no email claim without the email scope"
    );
}

#[tokio::test]
async fn denied_consent_redirects_access_denied_with_state() {
    let sandbox = sandbox(Size::Tiny, Knobs::default()).await;
    let provider = provider(&sandbox).await;
    let pending = provider
        .begin(RedirectUri::Scheme, &options(&["profile"]))
        .unwrap();
    let back = browse(pending.authorization_url(), None, false).await;
    assert!(
        back.as_str()
            .starts_with("org.rollbook.desktop:/oauth/callback?")
    );
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    let error = provider.complete(pending, &back).await.unwrap_err();
    assert_eq!(error.code(), "authorization_access_denied");
}

#[tokio::test]
async fn pkce_s256_is_required() {
    let sandbox = sandbox(Size::Tiny, Knobs::default()).await;
    let (_, challenge) = pkce();
    let base = [
        ("client_id", DEMO_CLIENT_ID),
        ("redirect_uri", LOOPBACK),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
    ];
    for extra in [
        vec![],
        vec![
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "plain"),
        ],
        vec![("code_challenge", challenge.as_str())],
    ] {
        let mut query = base.to_vec();
        query.extend(extra);
        let response = browser()
            .get(authorize_url(&sandbox, &query))
            .send()
            .await
            .unwrap();
        let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(
            param(&location, "error").as_deref(),
            Some("invalid_request"),
            "{query:?}"
        );
        assert_eq!(param(&location, "state").as_deref(), Some("s"));
    }

    // At the token endpoint: no verifier, or the wrong one, is refused.
    let code1 = code(&sandbox, "openid").await;
    let (status, body) = token_request(
        &sandbox,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_CLIENT_ID),
            ("code", &code1),
            ("redirect_uri", LOOPBACK),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let code2 = code(&sandbox, "openid").await;
    let wrong = "w".repeat(43);
    let (status, body) = token_request(
        &sandbox,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_CLIENT_ID),
            ("code", &code2),
            ("redirect_uri", LOOPBACK),
            ("code_verifier", &wrong),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn redirect_uris_must_be_registered_exactly_and_errors_about_them_are_not_redirected() {
    let sandbox = sandbox(Size::Tiny, Knobs::default()).await;
    let (_, challenge) = pkce();
    for redirect in [
        "http://localhost:50123/callback",
        "http://127.0.0.1:50123/callback/x",
        "https://attacker.example/callback",
        "org.rollbook.desktop:/oauth/other",
    ] {
        let url = authorize_url(
            &sandbox,
            &[
                ("client_id", DEMO_CLIENT_ID),
                ("redirect_uri", redirect),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let response = browser().get(url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{redirect}");
        assert!(response.headers().get("location").is_none());
    }
    let url = authorize_url(
        &sandbox,
        &[
            ("client_id", "someone-else"),
            ("redirect_uri", LOOPBACK),
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(browser().get(url).send().await.unwrap().status(), 400);

    // The token request must repeat the authorization request's redirect URI.
    let (verifier, _) = pkce();
    let code = code(&sandbox, "openid").await;
    let (status, body) = token_request(
        &sandbox,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_CLIENT_ID),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn codes_are_single_use_and_a_replay_revokes_the_first_tokens() {
    let sandbox = sandbox(Size::Tiny, Knobs::default()).await;
    let (verifier, _) = pkce();
    let code = code(&sandbox, "openid oneroster offline_access").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", DEMO_CLIENT_ID),
        ("code", code.as_str()),
        ("redirect_uri", LOOPBACK),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, first) = token_request(&sandbox, &form).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get_json(&sandbox, "/v2/my/info", &access).await.0, 200);
    let (status, second) = token_request(&sandbox, &form).await;
    assert_eq!(
        (status, second["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        get_json(&sandbox, "/v2/my/info", &access).await.0,
        401,
        "the first access token is revoked"
    );
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, _) = token_request(
        &sandbox,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", DEMO_CLIENT_ID),
            ("refresh_token", refresh),
        ],
    )
    .await;
    assert_eq!(status, 400, "and so is the refresh token");
}

#[tokio::test]
async fn codes_are_short_lived() {
    let knobs = Knobs {
        tokens: TokenPolicy {
            code_seconds: 0,
            ..TokenPolicy::default()
        },
        ..Knobs::default()
    };
    let sandbox = sandbox(Size::Tiny, knobs).await;
    let (verifier, _) = pkce();
    let code = code(&sandbox, "openid").await;
    let (status, body) = token_request(
        &sandbox,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_CLIENT_ID),
            ("code", &code),
            ("redirect_uri", LOOPBACK),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test]
async fn a_client_secret_is_refused_for_the_public_client() {
    let sandbox = sandbox(Size::Tiny, Knobs::default()).await;
    let (verifier, _) = pkce();
    let code = code(&sandbox, "openid").await;
    let (status, body) = token_request(
        &sandbox,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", "x"),
            ("code", &code),
            ("redirect_uri", LOOPBACK),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_ends_the_family() {
    let sandbox = sandbox(Size::Tiny, Knobs::default()).await;
    let signed_in = sign_in(&sandbox, None, &["oneroster", "offline_access"]).await;
    let first = signed_in.tokens.refresh_token.unwrap();
    let form = |rt: &str| {
        vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("client_id".into(), DEMO_CLIENT_ID.into()),
            ("refresh_token".into(), rt.to_owned()),
        ]
    };
    let refresh = |rt: String| {
        let sandbox = &sandbox;
        async move {
            let fields = form(&rt);
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            token_request(sandbox, &pairs).await
        }
    };
    let (status, body) = refresh(first.secret().to_owned()).await;
    assert_eq!(status, 200);
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first.secret());
    // The refreshed ID token has no nonce, and verifies under the refresh rule.
    let provider = provider(&sandbox).await;
    let clock = rollbook_auth::SystemClock;
    let jwks = rollbook_auth::JwksCache::new(
        provider.metadata().jwks_uri.clone(),
        browser(),
        std::sync::Arc::new(rollbook_auth::SystemClock),
    );
    let verifier = rollbook_auth::IdTokenVerifier {
        issuer: sandbox.issuer(),
        client_id: DEMO_CLIENT_ID,
        clock: &clock,
    };
    let token = rollbook_auth::IdTokenJwt::new(body["id_token"].as_str().unwrap());
    let claims = verifier
        .verify(&token, &jwks, NonceRule::AbsentOr(None))
        .await
        .unwrap();
    assert_eq!(claims.iss, sandbox.issuer());
    // Reusing the first one is theft: the whole family ends.
    let (status, body) = refresh(first.secret().to_owned()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(second).await;
    assert_eq!(status, 400, "the newer token died with the family");
    assert_eq!(sandbox.stats()["refresh_reuse"], 1);
}

#[tokio::test]
async fn without_refresh_tokens_like_classlink() {
    let knobs = Knobs {
        tokens: TokenPolicy {
            refresh_tokens: false,
            ..TokenPolicy::default()
        },
        ..Knobs::default()
    };
    let sandbox = sandbox(Size::Tiny, knobs).await;
    let provider = provider(&sandbox).await;
    assert!(!provider.metadata().supports_scope("offline_access"));
    let signed_in = sign_in(&sandbox, None, &["profile", "offline_access"]).await;
    assert!(signed_in.tokens.refresh_token.is_none());
    assert!(signed_in.tokens.access_expires_at.is_some());
}

#[tokio::test]
async fn key_rotation_keeps_sign_in_working() {
    let sandbox = sandbox(Size::Tiny, Knobs::default()).await;
    let provider = provider(&sandbox).await;
    let sign_in_once = async |provider: &rollbook_auth::Provider| {
        let pending = provider
            .begin(
                RedirectUri::Loopback(Url::parse(LOOPBACK).unwrap()),
                &options(&["profile"]),
            )
            .unwrap();
        let back = browse(pending.authorization_url(), None, true).await;
        provider.complete(pending, &back).await.unwrap()
    };
    sign_in_once(&provider).await;
    let jwks_before = sandbox.stats()["jwks"];
    sandbox.rotate_keys().unwrap();
    sign_in_once(&provider).await;
    assert_eq!(
        sandbox.stats()["jwks"],
        jwks_before + 1,
        "the unknown kid made the engine refetch the JWKS"
    );
}

#[tokio::test]
async fn my_info_is_pascal_case_with_the_oneroster_sourced_id() {
    let sandbox = sandbox(Size::School, Knobs::default()).await;
    let teacher = sandbox.district().staff[5].clone();
    let signed_in = sign_in(&sandbox, Some(&teacher.id), &["profile", "oneroster"]).await;
    let token = signed_in.tokens.access_token.secret().to_owned();
    let (status, _, info) = get_json(&sandbox, "/v2/my/info", &token).await;
    assert_eq!(status, 200);
    assert_eq!(info["SourcedId"], teacher.id.as_str());
    assert_eq!(info["Role"], "Teacher");
    assert!(info["TenantId"].is_u64() && info["UserId"].is_u64());
    assert_eq!(info["Email"], teacher.email.as_str());
    assert_eq!(
        signed_in.identity.subject,
        info["UserId"].to_string(),
        "sub is the ClassLink user id, not the sourcedId"
    );
    let (status, _, body) = get_json(&sandbox, "/v2/my/info", "not-a-token").await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        serde_json::json!({"message": "Invalid or expired access token", "status": 0})
    );
}

#[tokio::test]
async fn revocation_ends_the_tokens() {
    let sandbox = sandbox(Size::Tiny, Knobs::default()).await;
    let signed_in = sign_in(&sandbox, None, &["oneroster", "offline_access"]).await;
    let access = signed_in.tokens.access_token.secret().to_owned();
    let response = browser()
        .post(format!("{}/oauth2/v2/revoke", sandbox.issuer()))
        .form(&[("token", access.as_str()), ("client_id", DEMO_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(get_json(&sandbox, "/v2/my/info", &access).await.0, 401);
}

#[tokio::test]
async fn with_a_token_key_tokens_outlive_a_restart() {
    let key = [9u8; 32];
    let start = || async {
        rollbook_sandbox::Sandbox::start(rollbook_sandbox::SandboxConfig {
            seed: 7,
            size: Size::Tiny,
            today: Some("2026-11-27".into()),
            knobs: Knobs::default(),
            token_key: Some(key),
            ..rollbook_sandbox::SandboxConfig::default()
        })
        .await
        .unwrap()
    };
    let first = start().await;
    let signed_in = sign_in(&first, None, &["oneroster", "offline_access"]).await;
    let access = signed_in.tokens.access_token.secret().to_owned();
    let refresh = signed_in.tokens.refresh_token.unwrap().secret().to_owned();
    first.shutdown().await;

    let second = start().await;
    assert_eq!(
        get_json(&second, "/v2/my/info", &access).await.0,
        200,
        "the access token survived"
    );
    let form = |rt: &str| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", DEMO_CLIENT_ID.to_owned()),
            ("refresh_token", rt.to_owned()),
        ]
    };
    let send = async |rt: &str| {
        let fields = form(rt);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        token_request(&second, &pairs).await
    };
    // Revoking every access token refuses the old one; a refresh still works, and what
    // it issues is accepted.
    second.revoke_all_access_tokens();
    assert_eq!(get_json(&second, "/v2/my/info", &access).await.0, 401);
    let (status, body) = send(&refresh).await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["access_token"].as_str().unwrap();
    assert_eq!(get_json(&second, "/v2/my/info", fresh).await.0, 200);
    let rotated = body["refresh_token"].as_str().unwrap().to_owned();
    // Reuse detection still works within a run.
    assert_eq!(send(&refresh).await.0, 400);
    assert_eq!(send(&rotated).await.0, 400, "the family ended");
    // A forged token (wrong key) is refused.
    let other = rollbook_sandbox::Sandbox::start(rollbook_sandbox::SandboxConfig {
        token_key: Some([1u8; 32]),
        ..rollbook_sandbox::SandboxConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(get_json(&other, "/v2/my/info", &access).await.0, 401);
}

#[tokio::test]
async fn the_partner_api_and_client_credentials_want_the_demo_applications_keys() {
    use rollbook_sandbox::demo_credentials as demo;
    let sandbox = support::sandbox(Size::Tiny, Knobs::default()).await;
    let http = support::browser();
    let base = sandbox.issuer();
    // The partner API: the developer key, and nothing else.
    let apps = http
        .get(format!("{base}/applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(apps.status(), 401);
    let apps: serde_json::Value = http
        .get(format!("{base}/applications"))
        .bearer_auth(demo::DEVELOPER_API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(apps[0]["tenant_id"], sandbox.tenant_id());
    let app_id = apps[0]["oneroster_application_id"].as_str().unwrap();
    let server: serde_json::Value = http
        .get(format!("{base}/applications/{app_id}/server"))
        .bearer_auth(demo::DEVELOPER_API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(server["client_id"], demo::ONEROSTER_CLIENT_ID);
    assert_eq!(server["endpoint_url"], sandbox.oneroster_url());
    let unknown = http
        .get(format!("{base}/applications/nope/server"))
        .bearer_auth(demo::DEVELOPER_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // Client credentials: the right secret in Basic auth gets a token the OneRoster API
    // takes; a wrong one gets invalid_client.
    let token_url = format!("{base}/oauth2/v2/token");
    let wrong = http
        .post(&token_url)
        .basic_auth(demo::ONEROSTER_CLIENT_ID, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let answer: serde_json::Value = http
        .post(&token_url)
        .basic_auth(
            demo::ONEROSTER_CLIENT_ID,
            Some(demo::ONEROSTER_CLIENT_SECRET),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["access_token"].as_str().unwrap();
    let users = http
        .get(format!("{}/users?limit=1", sandbox.oneroster_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200, "the application sees the district");
    let proxy = http
        .get(format!("{}/users?limit=1", sandbox.oneroster_url()))
        .bearer_auth(demo::PROXY_BEARER)
        .send()
        .await
        .unwrap();
    assert_eq!(proxy.status(), 200);
}

#[tokio::test]
async fn an_embedded_district_serves_no_test_controls() {
    let embedded = rollbook_sandbox::Sandbox::start(rollbook_sandbox::SandboxConfig::default())
        .await
        .unwrap();
    let http = support::browser();
    for path in ["/__sandbox/knobs", "/__sandbox/stats"] {
        let answer = http
            .get(format!("{}{path}", embedded.issuer()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "{path}");
    }
    let standalone = support::sandbox(Size::Tiny, Knobs::default()).await;
    let answer = http
        .get(format!("{}/__sandbox/stats", standalone.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn padded_refresh_tokens_refresh_and_rotate_like_plain_ones() {
    let knobs = Knobs {
        tokens: TokenPolicy {
            refresh_token_padding: 3_000,
            ..TokenPolicy::default()
        },
        ..Knobs::default()
    };
    let sandbox = sandbox(Size::Tiny, knobs).await;
    let signed_in = sign_in(&sandbox, None, &["oneroster", "offline_access"]).await;
    let first = signed_in.tokens.refresh_token.unwrap().secret().to_owned();
    assert!(first.len() > 3_000, "{} characters", first.len());
    let refresh = |rt: String| {
        let sandbox = &sandbox;
        async move {
            token_request(
                sandbox,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", DEMO_CLIENT_ID),
                    ("refresh_token", &rt),
                ],
            )
            .await
        }
    };
    let (status, body) = refresh(first.clone()).await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(second.len() > 3_000 && second != first);
    // Rotation still sees the padded first token as the same, spent token.
    let (status, _) = refresh(first).await;
    assert_eq!(status, 400);
    assert_eq!(sandbox.stats()["refresh_reuse"], 1);
}
