//! The engine against real peers over HTTP: the loopback listener under abuse, JWKS
//! caching, single-flight refresh and the real keychain (run via scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use rollbook_auth::{
    AuthError, AuthorizationOptions, CallbackPage, ClientConfig, IssuerUrl, JwksCache,
    KeychainStore, LoopbackListener, ManualClock, Provider, Session, StoreKey, TokenStore,
    build_http_client,
};
use rollbook_fake_op::{CLIENT_ID, FakeOp, Misbehavior};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn http() -> reqwest::Client {
    build_http_client(&Default::default()).unwrap()
}

async fn provider(op: &FakeOp, clock: Arc<ManualClock>) -> Arc<Provider> {
    let client = ClientConfig {
        issuer: IssuerUrl::new(op.issuer()).unwrap(),
        client_id: CLIENT_ID.into(),
        client_secret: None,
    };
    Arc::new(Provider::discover(client, http(), clock).await.unwrap())
}

/// Sends raw bytes and returns whatever comes back (empty when the server hangs up).
async fn raw(port: u16, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let _ = stream.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn store() -> Arc<dyn TokenStore> {
    let service = std::env::var("ROLLBOOK_KEYCHAIN_SERVICE")
        .expect("run through scripts/test.sh: these tests use the real keychain");
    Arc::new(KeychainStore::new().with_service(service))
}

#[tokio::test]
async fn loopback_survives_abuse_and_answers_exactly_once() {
    let op = FakeOp::start().await;
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let provider = provider(&op, clock).await;
    let listener = LoopbackListener::bind().await.unwrap();
    let port = listener.port();
    assert_ne!(port, 0);
    let redirect = listener.redirect_uri();
    assert!(
        redirect.as_str().starts_with("http://127.0.0.1:"),
        "{}",
        redirect.as_str()
    );
    assert!(redirect.as_str().ends_with("/callback"));
    let pending = provider
        .begin(redirect, &AuthorizationOptions::default())
        .unwrap();
    let auth_url = pending.authorization_url().clone();

    let abuse = tokio::spawn(async move {
        // Random bytes, an oversized header, a slow client that never finishes.
        let garbage: Vec<u8> = (0..4096).map(|i| (i * 7919 % 251) as u8).collect();
        let _ = raw(port, &garbage).await;
        let huge = format!(
            "GET /callback HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(64 * 1024)
        );
        let reply = raw(port, huge.as_bytes()).await;
        assert!(
            reply.is_empty() || reply.starts_with("HTTP/1.1 431"),
            "{reply}"
        );
        let slow = tokio::spawn(async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(b"GET /call").await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        // Strangers: favicon, wrong path, wrong method, wrong state. None ends the attempt.
        assert!(
            raw(port, b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .starts_with("HTTP/1.1 404")
        );
        assert!(
            raw(port, b"GET /callback/x?code=1 HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .starts_with("HTTP/1.1 404")
        );
        assert!(
            raw(
                port,
                b"POST /callback?code=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
            )
            .await
            .starts_with("HTTP/1.1 404")
        );
        let wrong = raw(
            port,
            b"GET /callback?code=1&state=%3Cscript%3E HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
        assert!(wrong.starts_with("HTTP/1.1 400"), "{wrong}");
        assert!(!wrong.contains("<script>"));
        // Now the real browser: the fake OP redirects straight back with the code.
        let page = reqwest::Client::builder()
            .build()
            .unwrap()
            .get(auth_url)
            .send()
            .await
            .unwrap();
        let status = page.status();
        let body = page.text().await.unwrap();
        slow.abort();
        (status, body)
    });

    let callback = listener
        .receive(&pending, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(callback.url().query().unwrap().contains("code="));
    let url = callback.url().clone();
    let signed_in = provider.complete(pending, &url).await.unwrap();
    callback.respond(CallbackPage::SignedIn {
        name: "<b>Ms. Rivera</b>".into(),
    });
    let (status, body) = abuse.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains("You're signed in") && body.contains("&lt;b&gt;Ms. Rivera"),
        "{body}"
    );
    assert_eq!(signed_in.identity.subject, rollbook_fake_op::SUBJECT);
    // One use: the socket is closed now, so a replayed callback cannot even connect.
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
}

#[tokio::test]
async fn loopback_times_out_cleanly() {
    let op = FakeOp::start().await;
    let provider = provider(&op, Arc::new(ManualClock::starting_at(SystemTime::now()))).await;
    let listener = LoopbackListener::bind().await.unwrap();
    let pending = provider
        .begin(listener.redirect_uri(), &AuthorizationOptions::default())
        .unwrap();
    let err = listener
        .receive(&pending, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::SignInTimedOut { .. }), "{err:?}");
    assert_eq!(err.code(), "sign_in_timeout");
}

#[tokio::test]
async fn a_callback_for_another_redirect_uri_is_refused() {
    let op = FakeOp::start().await;
    let provider = provider(&op, Arc::new(ManualClock::starting_at(SystemTime::now()))).await;
    let listener = LoopbackListener::bind().await.unwrap();
    let pending = provider
        .begin(listener.redirect_uri(), &AuthorizationOptions::default())
        .unwrap();
    let forged = url::Url::parse("http://127.0.0.1:1/callback?code=x&state=y").unwrap();
    let err = provider.complete(pending, &forged).await.unwrap_err();
    assert_eq!(err.code(), "callback_malformed");
    assert_eq!(op.calls().token_code.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn jwks_refetch_on_unknown_kid_is_rate_limited_to_once_a_minute() {
    let op = FakeOp::start().await;
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let jwks = JwksCache::new(
        url::Url::parse(&format!("{}/jwks", op.issuer())).unwrap(),
        http(),
        clock.clone(),
    );
    let alg = jsonwebtoken::Algorithm::RS256;
    assert_eq!(jwks.candidates(Some("rsa-a"), alg).await.unwrap().len(), 1);
    assert_eq!(op.calls().jwks.load(Ordering::SeqCst), 1);
    assert!(
        jwks.candidates(Some("forged-1"), alg)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        op.calls().jwks.load(Ordering::SeqCst),
        2,
        "first unknown kid refetches"
    );
    assert!(
        jwks.candidates(Some("forged-2"), alg)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        op.calls().jwks.load(Ordering::SeqCst),
        2,
        "second within a minute does not"
    );
    clock.advance(Duration::from_secs(61));
    assert!(
        jwks.candidates(Some("forged-3"), alg)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(op.calls().jwks.load(Ordering::SeqCst), 3);
    // A key of the wrong type never matches an algorithm of another family.
    assert!(
        jwks.candidates(Some("rsa-a"), jsonwebtoken::Algorithm::ES256)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Signs in with the engine directly, with the fake OP's instant redirect.
async fn sign_in(provider: &Provider) -> rollbook_auth::SignedIn {
    try_sign_in(provider).await.unwrap()
}

/// The same, returning how completing the sign-in went.
async fn try_sign_in(
    provider: &Provider,
) -> Result<rollbook_auth::SignedIn, rollbook_auth::AuthError> {
    let listener = LoopbackListener::bind().await.unwrap();
    let pending = provider
        .begin(listener.redirect_uri(), &AuthorizationOptions::default())
        .unwrap();
    let url = pending.authorization_url().clone();
    let browser = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status()) });
    let callback = listener
        .receive(&pending, Duration::from_secs(10))
        .await
        .unwrap();
    let callback_url = callback.url().clone();
    let completed = provider.complete(pending, &callback_url).await;
    callback.respond(CallbackPage::SignedIn { name: "x".into() });
    let browsed = browser.await.unwrap();
    if completed.is_ok() {
        browsed.unwrap();
    }
    completed
}

/// A signed-in session saved in the real keychain, and the refresh token it started with.
async fn keychain_session(
    op: &FakeOp,
    clock: Arc<ManualClock>,
) -> (Session, Arc<dyn TokenStore>, String) {
    let provider = provider(op, clock).await;
    let signed_in = sign_in(&provider).await;
    let first_refresh = signed_in
        .tokens
        .refresh_token
        .as_ref()
        .unwrap()
        .secret()
        .to_owned();
    let store = store();
    let (session, saved) = Session::start(provider, signed_in, Some(Arc::clone(&store))).await;
    saved.unwrap();
    (session, store, first_refresh)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_callers_cause_exactly_one_refresh_and_rotation_is_persisted_first() {
    let op = FakeOp::start().await;
    op.set_access_token_lifetime(Some(60));
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let (session, store, first_refresh) = keychain_session(&op, clock.clone()).await;
    let session = Arc::new(session);

    clock.advance(Duration::from_secs(120)); // the access token has expired
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let session = Arc::clone(&session);
            tokio::spawn(async move { session.access_token().await.unwrap().secret().to_owned() })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for task in tasks {
        tokens.insert(task.await.unwrap());
    }
    assert_eq!(
        op.calls().token_refresh.load(Ordering::SeqCst),
        1,
        "single-flight refresh"
    );
    assert_eq!(tokens.len(), 1, "everyone got the same new token");

    // The keychain holds the rotated refresh token, and the old one is dead at the OP.
    let key = session.store_key().clone();
    let saved = store.load(&key).unwrap().unwrap();
    let rotated = saved.refresh_token.unwrap();
    assert_ne!(rotated.secret(), first_refresh);
    assert!(op.was_revoked(&first_refresh));
    assert_eq!(saved.access_token.secret(), tokens.iter().next().unwrap());

    session.sign_out().await.unwrap();
    assert!(store.load(&key).unwrap().is_none());
    assert!(op.was_revoked(rotated.secret()));
}

#[tokio::test]
async fn a_failed_refresh_leaves_the_session_intact() {
    let op = FakeOp::start().await;
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let (session, store, _) = keychain_session(&op, clock).await;
    let before = store.load(session.store_key()).unwrap().unwrap();
    // The token endpoint fails: nothing was rotated, so nothing changes here.
    op.misbehave(Misbehavior::TokenEndpointServerError);
    let error = session.refresh().await.unwrap_err();
    assert_eq!(error.code(), "provider_error_status", "{error}");
    let after = store.load(session.store_key()).unwrap().unwrap();
    assert_eq!(
        before.refresh_token.unwrap().secret(),
        after.refresh_token.unwrap().secret()
    );
    op.misbehave(Misbehavior::None);
    session.refresh().await.unwrap();
    session.sign_out().await.unwrap();
}

#[tokio::test]
async fn a_refreshed_identity_that_changed_ends_the_session_and_revokes_the_new_token() {
    let op = FakeOp::start().await;
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let (session, store, first_refresh) = keychain_session(&op, clock).await;
    let issued_before = op.issued_secrets();
    op.misbehave(Misbehavior::RefreshIdTokenOtherSub);
    let error = session.refresh().await.unwrap_err();
    assert_eq!(error.code(), "id_token_refreshed_identity_changed");
    // The provider rotated the token we held, and the one it handed back is revoked:
    // nothing usable is kept.
    assert!(
        store.load(session.store_key()).unwrap().is_none(),
        "the keychain entry is gone"
    );
    let new_secrets: Vec<String> = op
        .issued_secrets()
        .into_iter()
        .filter(|s| !issued_before.contains(s))
        .collect();
    assert!(
        new_secrets.iter().any(|s| op.was_revoked(s)),
        "the new refresh token was revoked"
    );
    assert_ne!(first_refresh, "");
    assert_eq!(
        session.access_token().await.unwrap_err().code(),
        "sign_in_again"
    );
}

#[tokio::test]
async fn a_key_blip_after_rotation_keeps_the_rotated_refresh_token() {
    let op = FakeOp::start().await;
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let (session, store, first_refresh) = keychain_session(&op, clock).await;
    // The provider rotates its signing key, and its key endpoint is down while we
    // refresh: the new ID token cannot be checked, but the grant is already rotated.
    op.rotate_keys();
    op.set_jwks_down(true);
    session.refresh().await.unwrap();
    let saved = store.load(session.store_key()).unwrap().unwrap();
    let rotated = saved.refresh_token.unwrap().secret().to_owned();
    assert_ne!(
        rotated, first_refresh,
        "the rotated token was kept, not the spent one"
    );
    assert!(!op.was_revoked(&rotated));
    // Back up: the next refresh uses the rotated token (no reuse), and checks its ID token.
    op.set_jwks_down(false);
    session.refresh().await.unwrap();
    assert!(session.access_token().await.is_ok(), "still signed in");
    session.sign_out().await.unwrap();
}

#[test]
fn keychain_chunks_large_payloads_and_cleans_up_every_part() {
    let store = KeychainStore::new()
        .with_service(
            std::env::var("ROLLBOOK_KEYCHAIN_SERVICE").expect("run through scripts/test.sh"),
        )
        .with_chunk_chars(100);
    let key = StoreKey {
        issuer: "https://chunks.example".into(),
        client_id: "c".into(),
        subject: format!("s{}", std::process::id()),
    };
    let big = rollbook_auth::StoredCredentials {
        refresh_token: Some(rollbook_auth::RefreshToken::new("r".repeat(3000))),
        access_token: rollbook_auth::AccessToken::new("a".repeat(2000)),
        access_expires_at: Some(1),
        original_nonce: None,
        client_secret: None,
    };
    store.save(&key, &big).unwrap();
    let back = store.load(&key).unwrap().unwrap();
    assert_eq!(back.refresh_token.unwrap().secret(), "r".repeat(3000));
    assert!(count_entries(&key.issuer) > 10, "the payload was not split");
    // A rewrite replaces every part of the old generation.
    store.save(&key, &big).unwrap();
    let parts_after_rewrite = count_entries(&key.issuer);
    assert!(
        parts_after_rewrite <= 1 + 5000 / 100 + 2,
        "old parts left behind: {parts_after_rewrite}"
    );
    store.clear(&key).unwrap();
    assert_eq!(count_entries(&key.issuer), 0);
    assert!(store.load(&key).unwrap().is_none());
}

fn count_entries(issuer: &str) -> usize {
    let service = std::env::var("ROLLBOOK_KEYCHAIN_SERVICE").unwrap();
    let out = std::process::Command::new("secret-tool")
        .args(["search", "--all", "service", &service])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter(|l| l.starts_with("attribute.username") && l.contains(issuer))
        .count()
}

#[tokio::test]
async fn a_key_rotated_in_without_kid_is_fetched_once_a_minute_not_refused_forever() {
    let op = FakeOp::start().await;
    op.misbehave(Misbehavior::NoKidSingleKey);
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let provider = provider(&op, clock.clone()).await;
    // The first sign-in caches the JWKS (key A); the ID tokens carry no `kid`.
    sign_in(&provider).await;
    let fetched = op.calls().jwks.load(Ordering::SeqCst);
    // The provider rotates to key B: its tokens look like bad signatures against A.
    op.rotate_keys();
    sign_in(&provider).await;
    assert_eq!(
        op.calls().jwks.load(Ordering::SeqCst),
        fetched + 1,
        "one refetch"
    );
    // Rotating straight back within the minute: no second refetch, so refused.
    op.rotate_keys();
    let refused = try_sign_in(&provider).await.unwrap_err();
    assert!(refused.to_string().contains("signature"), "{refused}");
    assert_eq!(
        op.calls().jwks.load(Ordering::SeqCst),
        fetched + 1,
        "rate-limited"
    );
    // A minute later the rotation is picked up.
    clock.advance(Duration::from_secs(61));
    sign_in(&provider).await;
    assert_eq!(op.calls().jwks.load(Ordering::SeqCst), fetched + 2);
}
