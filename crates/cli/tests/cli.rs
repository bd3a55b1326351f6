//! The `rollbook` command end to end: real keychain (Secret Service), the certified
//! oidc-provider, and the misbehaving fake OP for every RP-checklist case.
//! Run through `scripts/test.sh` (a private D-Bus session with gnome-keyring).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use rollbook_fake_op::{CLIENT_ID, FakeOp, Misbehavior};
use support::{CertifiedOp, Home, keychain_entries, keychain_service};

// ---------------------------------------------------------------- certified OP

#[tokio::test(flavor = "multi_thread")]
async fn certified_op_sign_in_persists_refreshes_and_signs_out() {
    let op = CertifiedOp::start(3600).await;
    let home = Home::new();

    let login = home.login(&op.issuer, &op.client_id, &[]).await;
    assert_eq!(login.code, 0, "{}", login.stderr);
    let me = login.json();
    assert_eq!(me["sub"], "teacher-0042");
    assert_eq!(me["issuer"], op.issuer.as_str());
    assert_eq!(me["email"], "teacher-0042@school.example");
    assert_eq!(me["name"], "Teacher teacher-0042");
    assert!(me["expires_at"].as_i64().unwrap() > 0);
    assert_eq!(me["has_refresh_token"], true);
    let stats = op.stats().await;
    assert_eq!(
        (stats["token"].as_u64(), stats["userinfo"].as_u64()),
        (Some(1), Some(1))
    );

    // A new process finds the session in the keychain, without any network call.
    let whoami = home.run(&["whoami", "--json"]).await;
    assert_eq!(whoami.code, 0, "{}", whoami.stderr);
    assert_eq!(whoami.json()["sub"], "teacher-0042");
    assert_eq!(op.stats().await["refresh"], 0);

    // Forced refreshes rotate the refresh token; the second only works if the rotated
    // one was persisted (oidc-provider revokes the family on reuse).
    for expected in 1..=2 {
        let refreshed = home.run(&["whoami", "--refresh", "--json"]).await;
        assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
        assert_eq!(op.stats().await["refresh"], expected);
    }

    let logout = home.run(&["logout", "--json"]).await;
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    assert_eq!(logout.json()["revoked"], true);
    assert!(
        logout.json()["end_session_url"]
            .as_str()
            .unwrap()
            .contains("/session/end")
    );
    assert_eq!(op.stats().await["revocation"], 1);
    assert!(
        !keychain_entries(&keychain_service()).contains(&format!("{} ", op.issuer)),
        "keychain entry left behind"
    );

    let after = home.run(&["whoami"]).await;
    assert_eq!(after.code, 3);
    assert_eq!(after.error_code(), Some("not_signed_in"));
}

#[tokio::test(flavor = "multi_thread")]
async fn certified_op_expired_access_token_is_renewed_silently() {
    let op = CertifiedOp::start(2).await;
    let home = Home::new();
    assert_eq!(home.login(&op.issuer, &op.client_id, &[]).await.code, 0);
    // The margin before expiry is 30 s, so a 2 s token counts as expired at once.
    let whoami = home.run(&["whoami", "--json"]).await;
    assert_eq!(whoami.code, 0, "{}", whoami.stderr);
    assert_eq!(op.stats().await["refresh"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn certified_op_refresh_token_reuse_means_sign_in_again() {
    let op = CertifiedOp::start(3600).await;
    let home = Home::new();
    assert_eq!(home.login(&op.issuer, &op.client_id, &[]).await.code, 0);
    // Copy the session aside, refresh (rotating the token), then put the old one back:
    // the next refresh presents a used token and oidc-provider revokes the family.
    let service = keychain_service();
    let account = format!("{} {} teacher-0042", op.issuer, op.client_id);
    let saved = secret_tool(&["lookup", "service", &service, "username", &account], None);
    assert!(saved.contains("\"rt\""), "no refresh token stored");
    assert_eq!(home.run(&["whoami", "--refresh"]).await.code, 0);
    secret_tool(
        &[
            "store", "--label", "restore", "service", &service, "username", &account, "target",
            "default",
        ],
        Some(&saved),
    );
    let reused = home.run(&["whoami", "--refresh"]).await;
    assert_eq!(reused.code, 3, "{}", reused.stderr);
    assert_eq!(reused.error_code(), Some("sign_in_again"));
    // The dead session is forgotten.
    assert_eq!(
        home.run(&["whoami"]).await.error_code(),
        Some("not_signed_in")
    );
}

fn secret_tool(args: &[&str], input: Option<&str>) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("secret-tool")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn certified_op_key_rotation_between_logins() {
    let op = CertifiedOp::start(3600).await;
    let first = Home::new();
    assert_eq!(first.login(&op.issuer, &op.client_id, &[]).await.code, 0);
    op.rotate_keys().await;
    let second = Home::new();
    let login = second.login(&op.issuer, &op.client_id, &[]).await;
    assert_eq!(login.code, 0, "{}", login.stderr);
    // The first session still refreshes: its new ID token is signed with the new key.
    let refreshed = first.run(&["whoami", "--refresh"]).await;
    assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn certified_op_custom_scheme_redirect_via_pasted_url() {
    use tokio::io::AsyncWriteExt;
    let op = CertifiedOp::start(3600).await;
    let home = Home::new();
    let scheme_file = home.dir.path().join("scheme-callback.txt");
    let browser = format!(
        "{} --scheme-out {}",
        support::test_browser_bin().display(),
        scheme_file.display()
    );
    let mut command = home.command(&[
        "login",
        "--issuer",
        &op.issuer,
        "--client-id",
        &op.client_id,
        "--redirect",
        "scheme",
        "--browser-command",
        &browser,
        "--json",
        "--timeout",
        "20",
    ]);
    command.stdin(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let url = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&scheme_file)
                && text.ends_with('\n')
            {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the browser never reached the scheme redirect");
    assert!(
        url.starts_with("org.rollbook.desktop:/oauth/callback?"),
        "{url}"
    );
    let mut stdin = child.stdin.take().unwrap();
    // A stale link from another attempt is skipped; the right one completes.
    stdin
        .write_all(b"org.rollbook.desktop:/oauth/callback?code=old&state=old-attempt\n")
        .await
        .unwrap();
    stdin.write_all(url.as_bytes()).await.unwrap();
    drop(stdin);
    let run = support::finish(child).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["sub"], "teacher-0042");
}

#[tokio::test(flavor = "multi_thread")]
async fn certified_op_denied_consent_is_reported_with_its_code() {
    let op = CertifiedOp::start(3600).await;
    let home = Home::new();
    let browser = format!("{} --deny", support::test_browser_bin().display());
    let run = home
        .login(&op.issuer, &op.client_id, &["--browser-command", &browser])
        .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(run.error_code(), Some("authorization_access_denied"));
    assert!(run.stderr.contains("You cancelled"), "{}", run.stderr);
    assert_eq!(op.stats().await["token"], 0);
}

// ---------------------------------------------------------------- fake OP: positive

async fn fake_login(misbehavior: Misbehavior) -> (FakeOp, Home, support::Run) {
    let op = FakeOp::start().await;
    op.misbehave(misbehavior);
    let home = Home::new();
    let run = home.login(op.issuer(), CLIENT_ID, &[]).await;
    (op, home, run)
}

#[tokio::test(flavor = "multi_thread")]
async fn rp_positive_cases_sign_in() {
    for case in [
        Misbehavior::None,
        Misbehavior::NoKidSingleKey,
        Misbehavior::AudAsArray,
        Misbehavior::LowercaseTokenType,
        Misbehavior::NoExpiresIn,
        Misbehavior::SignWithEs256,
    ] {
        let (op, _home, run) = fake_login(case).await;
        assert_eq!(run.code, 0, "{case:?}: {}", run.stderr);
        assert_eq!(run.json()["sub"], rollbook_fake_op::SUBJECT, "{case:?}");
        assert_eq!(
            op.calls()
                .userinfo
                .load(std::sync::atomic::Ordering::SeqCst),
            1,
            "{case:?}"
        );
        if case == Misbehavior::NoExpiresIn {
            assert!(run.json()["expires_at"].is_null());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rp_key_rotation_just_before_signing_refetches_the_jwks() {
    let op = FakeOp::start().await;
    let home = Home::new();
    assert_eq!(home.login(op.issuer(), CLIENT_ID, &[]).await.code, 0);
    op.rotate_keys();
    // The refresh's ID token carries an unknown kid: one JWKS refetch, then success.
    let jwks_before = op.calls().jwks.load(std::sync::atomic::Ordering::SeqCst);
    let run = home.run(&["whoami", "--refresh", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(op.calls().jwks.load(std::sync::atomic::Ordering::SeqCst) > jwks_before);
}

// ---------------------------------------------------------------- fake OP: negative

/// Where in the flow a negative case must stop.
#[derive(Debug, Clone, Copy, PartialEq)]
enum StopsBefore {
    /// Nothing after the authorization response: no token call.
    Token,
    /// Token called once, but no userinfo afterwards.
    Userinfo,
    /// Both called; rejected at userinfo.
    End,
    /// Discovery itself is refused.
    Authorization,
}

#[tokio::test(flavor = "multi_thread")]
async fn rp_negative_cases_fail_with_exit_4_and_stop_calling_the_provider() {
    use Misbehavior as M;
    use StopsBefore as S;
    let cases = [
        (M::IdTokenWrongIssuer, S::Userinfo, "id_token_wrong_issuer"),
        (M::IdTokenNoSub, S::Userinfo, "id_token_missing_sub"),
        (M::IdTokenWrongAud, S::Userinfo, "id_token_wrong_audience"),
        (M::IdTokenNoAud, S::Userinfo, "id_token_wrong_audience"),
        (M::IdTokenExtraAudNoAzp, S::Userinfo, "id_token_missing_azp"),
        (M::IdTokenNoIat, S::Userinfo, "id_token_missing_iat"),
        (M::IdTokenIatInFuture, S::Userinfo, "id_token_iat_in_future"),
        (M::IdTokenExpired, S::Userinfo, "id_token_expired"),
        (M::BadSignatureRs256, S::Userinfo, "id_token_bad_signature"),
        (M::BadSignatureEs256, S::Userinfo, "id_token_bad_signature"),
        (M::AlgNone, S::Userinfo, "id_token_alg_not_allowed"),
        (
            M::Hs256WithPublicKey,
            S::Userinfo,
            "id_token_alg_not_allowed",
        ),
        (M::NonceWrong, S::Userinfo, "id_token_nonce_mismatch"),
        (M::NonceMissing, S::Userinfo, "id_token_missing_nonce"),
        (
            M::NoKidSeveralKeysNoneVerify,
            S::Userinfo,
            "id_token_bad_signature",
        ),
        (M::UserinfoSubMismatch, S::End, "userinfo_sub_mismatch"),
        (
            M::DiscoveryIssuerMismatch,
            S::Authorization,
            "issuer_mismatch",
        ),
        (M::ResponseIssWrong, S::Token, "response_iss_mismatch"),
        (M::ResponseIssMissing, S::Token, "response_iss_missing"),
        (
            M::AuthorizationDenied,
            S::Token,
            "authorization_access_denied",
        ),
    ];
    let mut failures = Vec::new();
    for (case, stops, code) in cases {
        let (op, home, run) = fake_login(case).await;
        let calls = op.calls();
        let count =
            |c: &std::sync::atomic::AtomicUsize| c.load(std::sync::atomic::Ordering::SeqCst);
        let expected_calls = match stops {
            S::Authorization => (0, 0, 0),
            S::Token => (1, 0, 0),
            S::Userinfo => (1, 1, 0),
            S::End => (1, 1, 1),
        };
        let got = (
            count(&calls.authorize),
            count(&calls.token_code),
            count(&calls.userinfo),
        );
        if run.code != 4 || run.error_code() != Some(code) || got != expected_calls {
            failures.push(format!("{case:?}: exit {} code {:?} calls {got:?} (want 4, {code}, {expected_calls:?}): {}", run.code, run.error_code(), run.stderr.lines().last().unwrap_or_default()));
        }
        // A failed sign-in stores nothing.
        assert!(
            !home.all_file_contents().contains("teacher-0042"),
            "{case:?} left a session file"
        );
        assert!(
            !keychain_entries(&keychain_service()).contains(&format!("{} ", op.issuer())),
            "{case:?} left a keychain entry"
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rp_state_missing_or_wrong_is_rejected_and_never_exchanged() {
    for case in [Misbehavior::StateMissing, Misbehavior::StateWrong] {
        let op = FakeOp::start().await;
        op.misbehave(case);
        let home = Home::new();
        let browser = support::test_browser_bin().display().to_string();
        let run = home
            .run(&[
                "login",
                "--issuer",
                op.issuer(),
                "--client-id",
                CLIENT_ID,
                "--browser-command",
                &browser,
                "--timeout",
                "2",
            ])
            .await;
        assert_eq!(run.code, 4, "{case:?}: {}", run.stderr);
        assert_eq!(run.error_code(), Some("state_mismatch"), "{case:?}");
        assert_eq!(
            op.calls()
                .token_code
                .load(std::sync::atomic::Ordering::SeqCst),
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rp_refreshed_id_token_with_another_identity_is_rejected() {
    for case in [
        Misbehavior::RefreshIdTokenOtherSub,
        Misbehavior::RefreshIdTokenOtherIss,
    ] {
        let op = FakeOp::start().await;
        let home = Home::new();
        assert_eq!(home.login(op.issuer(), CLIENT_ID, &[]).await.code, 0);
        op.misbehave(case);
        let run = home.run(&["whoami", "--refresh"]).await;
        assert_eq!(run.code, 4, "{case:?}: {}", run.stderr);
        assert_eq!(
            run.error_code(),
            Some("id_token_refreshed_identity_changed"),
            "{case:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_invalid_grant_means_sign_in_again_and_forgets_the_session() {
    let op = FakeOp::start().await;
    let home = Home::new();
    assert_eq!(home.login(op.issuer(), CLIENT_ID, &[]).await.code, 0);
    op.revoke_all_refresh_tokens();
    let run = home.run(&["whoami", "--refresh"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (3, Some("sign_in_again")),
        "{}",
        run.stderr
    );
    // The account is "{issuer} {client} {subject}": the space keeps one port from
    // matching another that starts with the same digits.
    assert!(!keychain_entries(&keychain_service()).contains(&format!("{} ", op.issuer())));
    assert_eq!(
        home.run(&["whoami"]).await.error_code(),
        Some("not_signed_in")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_refresh_token_session_lasts_until_the_access_token_expires() {
    let op = FakeOp::start().await;
    op.set_refresh_tokens(false);
    op.set_access_token_lifetime(Some(1));
    let home = Home::new();
    let login = home.login(op.issuer(), CLIENT_ID, &[]).await;
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert_eq!(login.json()["has_refresh_token"], false);
    let run = home.run(&["whoami"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (3, Some("sign_in_again")),
        "{}",
        run.stderr
    );
    assert_eq!(
        op.calls()
            .token_refresh
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_failures_exit_5_with_a_clear_code() {
    for (case, code) in [
        // An HTML error page with a 500 is the provider being down, not a bad answer
        // (found by the fault soak: it was reported as "could not be understood").
        (
            Misbehavior::TokenEndpointServerError,
            "provider_error_status",
        ),
        (Misbehavior::TokenEndpointGarbage, "provider_bad_response"),
    ] {
        let (_op, _home, run) = fake_login(case).await;
        assert_eq!(
            (run.code, run.error_code()),
            (5, Some(code)),
            "{case:?}: {}",
            run.stderr
        );
    }
    // Nothing listens on this port.
    let home = Home::new();
    let run = home
        .run(&[
            "login",
            "--issuer",
            "http://127.0.0.1:9",
            "--client-id",
            "x",
            "--timeout",
            "5",
        ])
        .await;
    assert_eq!(
        (run.code, run.error_code()),
        (5, Some("provider_unreachable")),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_and_configuration_errors_exit_2() {
    let home = Home::new();
    let run = home
        .run(&["login", "--issuer", "http://op.example", "--client-id", "x"])
        .await;
    assert_eq!(
        (run.code, run.error_code()),
        (2, Some("insecure_url")),
        "{}",
        run.stderr
    );
    let run = home.run(&["login", "--client-id", "x"]).await;
    assert_eq!(run.code, 2);
    let run = home.run(&["whoami"]).await;
    assert_eq!((run.code, run.error_code()), (3, Some("not_signed_in")));
}

// ---------------------------------------------------------------- hygiene

#[tokio::test(flavor = "multi_thread")]
async fn no_token_appears_in_output_logs_or_files() {
    let op = FakeOp::start().await;
    let home = Home::new();
    let mut transcript = String::new();
    for args in [
        vec!["whoami", "--refresh", "--json"],
        vec!["whoami", "--json"],
        vec!["doctor"],
        vec!["logout"],
    ] {
        if transcript.is_empty() {
            let login = home.login(op.issuer(), CLIENT_ID, &[]).await;
            assert_eq!(login.code, 0, "{}", login.stderr);
            transcript.push_str(&login.stdout);
            transcript.push_str(&login.stderr);
        }
        let run = home.run(&args).await;
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        transcript.push_str(&run.stdout);
        transcript.push_str(&run.stderr);
    }
    // ROLLBOOK_LOG=trace is on for every run, so this covers the logs too.
    assert!(
        transcript.contains("TRACE") || transcript.contains("DEBUG"),
        "logging was not on"
    );
    let files = home.all_file_contents();
    let secrets = op.issued_secrets();
    assert!(
        secrets.len() >= 5,
        "the OP issued too few secrets to prove anything"
    );
    for secret in &secrets {
        assert!(
            !transcript.contains(secret.as_str()),
            "a token leaked into output: {}…",
            &secret[..8]
        );
        assert!(
            !files.contains(secret.as_str()),
            "a token leaked into a file: {}…",
            &secret[..8]
        );
    }
}

// ---------------------------------------------------------------- no keychain

#[tokio::test(flavor = "multi_thread")]
async fn without_a_keychain_the_session_is_memory_only_and_says_so() {
    let op = FakeOp::start().await;
    let home = Home::new();
    let browser = support::test_browser_bin().display().to_string();
    let mut command = home.command(&[
        "login",
        "--issuer",
        op.issuer(),
        "--client-id",
        CLIENT_ID,
        "--browser-command",
        &browser,
        "--json",
    ]);
    command.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/rollbook-test-bus",
    );
    let run = support::finish(command.spawn().unwrap()).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["persisted"], false);
    assert!(run.stderr.contains("warning: keychain_"), "{}", run.stderr);
    // Nothing was written instead: no plaintext fallback, no session record.
    assert!(
        !home.all_file_contents().contains("rt-"),
        "a token reached a file"
    );
    assert_eq!(
        home.run(&["whoami"]).await.error_code(),
        Some("not_signed_in")
    );

    let mut doctor = home.command(&["doctor", "--issuer", op.issuer(), "--json"]);
    doctor.env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/rollbook-test-bus",
    );
    let run = support::finish(doctor.spawn().unwrap()).await;
    assert_ne!(run.code, 0);
    let checks = run.json()["checks"].as_array().unwrap().clone();
    let keychain = checks.iter().find(|c| c["name"] == "keychain").unwrap();
    assert_eq!(keychain["status"], "fail", "{keychain}");
    let discovery = checks.iter().find(|c| c["name"] == "discovery").unwrap();
    assert_eq!(discovery["status"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_secret_lives_in_the_keychain_never_in_files_and_works_after_a_restart() {
    const SECRET: &str = "not so secret: 100% & =";
    let op = CertifiedOp::start(3600).await;
    let home = Home::new();
    let browser = support::test_browser_bin();
    let mut login = home.command(&[
        "login",
        "--issuer",
        &op.issuer,
        "--client-id",
        "rollbook-with-secret",
        "--json",
        "--timeout",
        "20",
        "--browser-command",
        browser.to_str().unwrap(),
    ]);
    login.env("ROLLBOOK_CLIENT_SECRET", SECRET);
    let run = support::finish(login.spawn().unwrap()).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stderr.contains("can be read by other users"),
        "no ps warning for the variable"
    );
    // Not in any file Rollbook wrote, nor in its logs.
    assert!(
        !home.all_file_contents().contains(SECRET),
        "the secret reached a file"
    );
    assert!(!run.stderr.contains(SECRET) && !run.stdout.contains(SECRET));
    // A new process (no variable) refreshes with the secret from the keychain: twice, so
    // the rotated token was kept too; then signs out, revoking with form-encoded Basic auth.
    for _ in 0..2 {
        let refreshed = home.run(&["whoami", "--refresh"]).await;
        assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
    }
    let out = home.run(&["logout", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["revoked"], true, "{}", out.stdout);
    assert_eq!(op.stats().await["revocation"], 1);
}

/// `kill -9` at moments spread over a refresh, 100 rounds, against oidc-provider with
/// rotation and reuse detection. After each kill the next process either works (and so
/// does the one after it: no stale token that works once and then ends the session), or
/// says "sign in again" clearly; a half-written keychain entry would show up as any other
/// answer. The rounds that end in "sign in again" are the window between the provider
/// rotating the token and our keychain write; docs/sign-in.md records how many.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_refresh_never_leaves_a_broken_session() {
    let op = CertifiedOp::start(3600).await;
    let home = Home::new();
    assert_eq!(home.login(&op.issuer, &op.client_id, &[]).await.code, 0);
    let (mut worked, mut sign_in_again, mut finished_before_the_kill) = (0, 0, 0);
    for round in 0..100u64 {
        // Spread over 0–149 ms: before the refresh, during the token call, during the
        // keychain write, after it.
        let delay = std::time::Duration::from_millis(round * 53 % 150);
        let mut child = home.command(&["whoami", "--refresh"]).spawn().unwrap();
        tokio::time::sleep(delay).await;
        if child.try_wait().unwrap().is_some() {
            finished_before_the_kill += 1;
        }
        let _ = child.start_kill();
        let _ = child.wait().await;
        let next = home.run(&["whoami", "--refresh", "--json"]).await;
        match (next.code, next.error_code()) {
            (0, _) => {
                worked += 1;
                let again = home.run(&["whoami", "--refresh"]).await;
                assert_eq!(
                    again.code, 0,
                    "round {round}: worked once, then failed: {}",
                    again.stderr
                );
            }
            (3, Some("sign_in_again")) => {
                sign_in_again += 1;
                assert_eq!(home.login(&op.issuer, &op.client_id, &[]).await.code, 0);
            }
            other => panic!("round {round}: unexpected {other:?}: {}", next.stderr),
        }
    }
    eprintln!(
        "kill -9 during refresh: {worked} rounds worked on, {sign_in_again} ended in sign in again, {finished_before_the_kill} finished before the kill"
    );
    assert_eq!(worked + sign_in_again, 100);
}

/// The window (a core `Account` in this process) and `rollbook` commands share one
/// session: each refresh rotates the refresh token, and oidc-provider revokes the whole
/// family if a used one comes back. Under the session lock each side reads the keychain
/// again before refreshing, so neither ever replays the other's spent token.
#[tokio::test(flavor = "multi_thread")]
async fn the_window_and_cli_commands_race_refreshes_without_signing_out() {
    let op = CertifiedOp::start(3600).await;
    let home = Home::new();
    assert_eq!(home.login(&op.issuer, &op.client_id, &[]).await.code, 0);
    let store = rollbook_core::auth::KeychainStore::new().with_service(keychain_service());
    let window = rollbook_core::Account::new(home.app_paths(), std::sync::Arc::new(store)).unwrap();
    window.whoami(false).await.unwrap();
    for round in 0..100u64 {
        // The window's refresh starts 0–119 ms after the command: before it, while its
        // token call is in flight, while it writes the keychain, after it.
        let delay = std::time::Duration::from_millis(round * 37 % 120);
        let (cli, window_refresh) =
            tokio::join!(home.run(&["whoami", "--refresh", "--json"]), async {
                tokio::time::sleep(delay).await;
                window.whoami(true).await
            });
        assert_eq!(
            cli.code, 0,
            "round {round}: the command was signed out: {}",
            cli.stderr
        );
        if let Err(e) = window_refresh {
            panic!(
                "round {round}: the window was signed out: {} ({e})",
                e.code()
            );
        }
    }
    assert_eq!(op.stats().await["refresh"], 200);
    assert_eq!(home.run(&["whoami", "--refresh"]).await.code, 0);
}

/// `rollbook doctor` prints every setting in force with its origin, and names a bad
/// policy value instead of using it (Linux: the policy file, here through the variable
/// that points at it).
#[tokio::test(flavor = "multi_thread")]
async fn doctor_prints_each_setting_with_its_origin_and_names_bad_policy() {
    let home = Home::new();
    let policy = home.dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"ClientId": "district-client", "Issuer": "http://login.example.org", "SharedMachine": 1, "Colour": "blue"}"#,
    )
    .unwrap();
    let mut command = home.command(&["doctor", "--json"]);
    command.env("ROLLBOOK_POLICY_FILE", &policy);
    let run = support::finish(command.spawn().unwrap()).await;
    let out = run.json();
    let setting = |key: &str| {
        out["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(setting("ClientId")["value"], "district-client");
    assert_eq!(setting("ClientId")["origin"]["kind"], "machine_policy");
    assert_eq!(setting("SharedMachine")["value"], true);
    assert_eq!(setting("RedirectMode")["origin"]["kind"], "teacher_setting");
    assert_eq!(
        setting("Issuer"),
        serde_json::Value::Null,
        "the http issuer is not used"
    );
    let problems = out["policy_problems"].to_string();
    assert!(
        problems.contains("Issuer") && problems.contains("https"),
        "{problems}"
    );
    assert!(problems.contains("Colour"), "{problems}");
    let warned = out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "policy" && c["code"] == "policy_invalid")
        .count();
    assert_eq!(warned, 2, "{}", out["checks"]);
}

/// Policy wins over the command line too: a provider it does not allow is refused
/// before any network call, with a coded error.
#[tokio::test(flavor = "multi_thread")]
async fn login_refuses_a_provider_that_policy_does_not_allow() {
    let home = Home::new();
    let policy = home.dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"AllowedProviders": "classlink", "DemoDistrictAllowed": false}"#,
    )
    .unwrap();
    for args in [
        vec![
            "login",
            "--issuer",
            "https://op.example",
            "--client-id",
            "x",
        ],
        vec!["login", "--demo"],
    ] {
        let mut command = home.command(&args);
        command.env("ROLLBOOK_POLICY_FILE", &policy);
        let run = support::finish(command.spawn().unwrap()).await;
        assert_eq!(
            run.error_code(),
            Some("policy_forbidden"),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(run.code, 2, "a configuration refusal: {}", run.stderr);
    }
}
