//! `rollbook classes`, `roster` and `gradebook` end to end against the demo district
//! (in this test process), with the real keychain. Run through `scripts/test.sh`.
//!
//! Rosters take a real ClassLink district's road by default: the CLI → the roster
//! gateway (holding the demo application's credentials) → the district's OneRoster API,
//! which refuses teachers' own tokens. [`direct_district`] is the other road: a plain
//! OneRoster server that accepts the teacher's token (`--accept-teacher-tokens`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use rollbook_sandbox::{Knobs, Sandbox, TokenPolicy};
use support::demo::{direct_district, district, login, login_demo};
use support::{Home, Run};

fn expected_classes(sandbox: &Sandbox, teacher: usize) -> Vec<String> {
    let district = sandbox.district();
    let today = rollbook_core::today();
    let mut ids: Vec<String> = district.classes_of_staff[teacher]
        .iter()
        .map(|c| &district.classes[*c])
        .filter(|c| {
            c.terms.iter().any(|t| {
                let term = &district.terms[*t];
                rollbook_sandbox::district::ymd(term.start) <= today
                    && today <= rollbook_sandbox::district::ymd(term.end)
            })
        })
        .map(|c| c.id.clone())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_sign_in_then_classes_roster_and_gradebook() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let teacher = 6;
    let teacher_id = sandbox.district().staff[teacher].id.clone();
    login_demo(&home, &sandbox, &teacher_id).await;

    // Classes: this term's, with OneRoster names and studentCount.
    let run = home.run(&["classes", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let classes = run.json();
    let mut ids: Vec<String> = classes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sourcedId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, expected_classes(&sandbox, teacher));
    let first = &classes[0];
    for field in [
        "sourcedId",
        "title",
        "classCode",
        "periods",
        "school",
        "terms",
        "studentCount",
    ] {
        assert!(first.get(field).is_some(), "{field} missing in {first}");
    }
    assert!(
        first["school"]["name"]
            .as_str()
            .unwrap()
            .contains("High School")
    );
    assert!(first["terms"][0]["title"].is_string());
    let class_id = first["sourcedId"].as_str().unwrap().to_owned();
    let district = sandbox.district();
    let class = district.classes.iter().find(|c| c.id == class_id).unwrap();
    assert_eq!(first["studentCount"], class.students.len());
    let all = home.run(&["classes", "--all-terms", "--json"]).await.json();
    assert_eq!(
        all.as_array().unwrap().len(),
        district.classes_of_staff[teacher].len()
    );

    // ClassLink's my/info: once by the app to find the teacher, once by the gateway for
    // the token; later commands (new processes, same token) reuse both answers.
    assert_eq!(sandbox.stats()["my_info"], 2);

    // The roster: JSON with the agreed fields, sorted by family name.
    let run = home.run(&["roster", &class_id, "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let students = run.json();
    let students = students.as_array().unwrap();
    assert_eq!(students.len(), class.students.len());
    for s in students {
        for field in [
            "sourcedId",
            "givenName",
            "familyName",
            "email",
            "username",
            "grades",
        ] {
            assert!(s.get(field).is_some(), "{field} missing");
        }
        assert!(s.get("password").is_none() && s.get("phone").is_none());
    }
    let families: Vec<String> = students
        .iter()
        .map(|s| s["familyName"].as_str().unwrap().to_lowercase())
        .collect();
    let mut sorted = families.clone();
    sorted.sort();
    assert_eq!(families, sorted);
    let with_preferred = class
        .students
        .iter()
        .map(|st| &district.students[*st as usize])
        .find(|p| p.preferred.is_some());
    if let Some(p) = with_preferred {
        let s = students
            .iter()
            .find(|s| s["sourcedId"] == p.id.as_str())
            .unwrap();
        assert_eq!(s["preferredFirstName"], p.preferred.as_deref().unwrap());
    }

    // CSV: a header and one line per student; text: names as the SIS gives them.
    let csv = home
        .run(&["roster", &class_id, "--csv", "--sort", "username"])
        .await;
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "sourcedId,givenName,familyName,preferredFirstName,email,username,grades"
    );
    assert_eq!(lines.len(), class.students.len() + 1);
    let text = home.run(&["roster", &class_id]).await;
    let someone = &district.students[class.students[0] as usize];
    assert!(text.stdout.contains(&someone.family), "{}", text.stdout);

    // The gradebook: line items, students and cells, with averages.
    let run = home.run(&["gradebook", &class_id, "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = run.json();
    let book = &page["gradebook"];
    let items = book["columns"].as_array().unwrap();
    let cells = book["cells"].as_array().unwrap();
    assert_eq!(
        items.len(),
        district
            .line_items(
                district
                    .classes
                    .iter()
                    .position(|c| c.id == class_id)
                    .unwrap()
            )
            .len()
    );
    assert!(!cells.is_empty());
    assert!(
        cells
            .iter()
            .all(|c| c["state"]["kind"] == "synced" && c["studentId"].is_string())
    );
    assert_eq!(page["location"]["kind"], "disk");
    assert!(page["offlineReason"].is_null());
    assert_eq!(
        book["studentAverages"].as_array().map(Vec::len),
        Some(class.students.len())
    );
    let text = home.run(&["gradebook", &class_id]).await;
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("#1") && text.stdout.contains(&someone.family));
    assert!(text.stdout.contains("Average"), "{}", text.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn roster_failures_exit_6_with_the_servers_description() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let teacher = sandbox.district().staff[0].id.clone();
    login_demo(&home, &sandbox, &teacher).await;

    // Another teacher's class.
    let district = sandbox.district();
    let other = &district.classes[district.classes_of_staff[1][0]].id;
    let run = home.run(&["roster", other]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (6, Some("roster_forbidden")),
        "{}",
        run.stderr
    );
    assert!(
        // The gateway's words (it answers "not yours" and "not there" alike).
        run.stderr.contains("your classes"),
        "{}",
        run.stderr
    );
    // The gateway does not say whether a class that is not yours exists.
    let run = home.run(&["gradebook", "cls-99999"]).await;
    assert_eq!((run.code, run.error_code()), (6, Some("roster_forbidden")));

    // The server failing, after the client's retries.
    sandbox.update_knobs(|k| k.faults.server_error_rate = 1.0);
    let run = home.run(&["classes"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (6, Some("roster_server_error")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("temporarily unavailable"),
        "{}",
        run.stderr
    );
    assert!(
        sandbox.stats()["server_error"] >= 4,
        "retried before giving up"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_without_roster_access_is_told_so() {
    let sandbox = direct_district(Knobs::default()).await;
    let home = Home::new();
    let teacher = sandbox.district().staff[0].id.clone();
    login(
        &home,
        &teacher,
        &[
            "--demo",
            "--demo-url",
            sandbox.issuer(),
            "--scope",
            "openid profile email",
        ],
    )
    .await;
    let run = home.run(&["classes"]).await;
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr.contains("not granted access to roster data"),
        "{}",
        run.stderr
    );

    // A plain OpenID sign-in with no roster URL: a configuration problem, exit 2.
    let home = Home::new();
    login(
        &home,
        &teacher,
        &[
            "--issuer",
            sandbox.issuer(),
            "--client-id",
            "rollbook-desktop",
        ],
    )
    .await;
    let run = home.run(&["classes"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (2, Some("roster_not_configured")),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_teacher_id_comes_from_a_claim_then_classlink_then_email() {
    let knobs = Knobs {
        tokens: TokenPolicy {
            sourced_id_claim: Some("oneroster_id".into()),
            ..TokenPolicy::default()
        },
        ..Knobs::default()
    };
    let sandbox = direct_district(knobs).await;
    let roster_url = sandbox.oneroster_url();
    let teacher = sandbox.district().staff[2].clone();
    let expected = expected_classes(&sandbox, 2);
    let class_ids = |run: &Run| {
        assert_eq!(run.code, 0, "{}", run.stderr);
        let mut ids: Vec<String> = run
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["sourcedId"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let generic = [
        "--issuer",
        sandbox.issuer(),
        "--client-id",
        "rollbook-desktop",
        "--oneroster-url",
        roster_url.as_str(),
        "--scope",
        "openid profile email oneroster",
    ];

    // 1. A configured claim: neither my/info nor a user search is needed.
    let home = Home::new();
    let mut args = generic.to_vec();
    args.extend(["--teacher-id-claim", "oneroster_id"]);
    login(&home, &teacher.id, &args).await;
    assert_eq!(class_ids(&home.run(&["classes", "--json"]).await), expected);
    let stats = sandbox.stats();
    assert_eq!(stats.get("my_info"), None);

    // 2. The ClassLink profile: /v2/my/info.
    let home = Home::new();
    let mut args = generic.to_vec();
    args.extend([
        "--profile",
        "classlink",
        "--classlink-api-url",
        sandbox.issuer(),
    ]);
    login(&home, &teacher.id, &args).await;
    assert_eq!(class_ids(&home.run(&["classes", "--json"]).await), expected);
    assert_eq!(sandbox.stats()["my_info"], 1);

    // 3. Any other provider: users?filter=email='…'.
    let home = Home::new();
    login(&home, &teacher.id, &generic).await;
    let before = sandbox.stats()["roster"];
    assert_eq!(class_ids(&home.run(&["classes", "--json"]).await), expected);
    assert_eq!(
        sandbox.stats()["my_info"],
        1,
        "no my/info for a plain OpenID provider"
    );
    assert!(sandbox.stats()["roster"] > before);

    // 4. An address the provider does not vouch for is never used to find anyone.
    sandbox.update_knobs(|k| k.tokens.unverified_emails = true);
    let home = Home::new();
    login(&home, &teacher.id, &generic).await;
    let run = home.run(&["classes", "--json"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (6, Some("roster_teacher_not_found")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("not say your email address is verified"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn classlink_style_sessions_without_refresh_tokens_still_read_rosters_across_processes() {
    let knobs = Knobs {
        tokens: TokenPolicy {
            refresh_tokens: false,
            ..TokenPolicy::default()
        },
        ..Knobs::default()
    };
    let sandbox = district(knobs).await;
    let home = Home::new();
    let teacher = sandbox.district().staff[1].id.clone();
    login_demo(&home, &sandbox, &teacher).await;
    for _ in 0..2 {
        let run = home.run(&["classes", "--json"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(
        sandbox.stats()["token"],
        1,
        "one code exchange, no refreshes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_student_record_reaches_logs_or_files() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let teacher = 3;
    let teacher_id = sandbox.district().staff[teacher].id.clone();
    login_demo(&home, &sandbox, &teacher_id).await;
    let classes = home.run(&["classes", "--json"]).await.json();
    let class_id = classes[0]["sourcedId"].as_str().unwrap().to_owned();
    // Everything at trace level (Home sets ROLLBOOK_LOG=trace); stdout is the output
    // the teacher asked for, so only stderr and files are checked.
    let mut stderr = String::new();
    for args in [
        vec!["roster", class_id.as_str()],
        vec!["gradebook", class_id.as_str(), "--json"],
        vec!["roster", class_id.as_str(), "--csv"],
    ] {
        let run = home.run(&args).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        stderr.push_str(&run.stderr);
    }
    let files = home.all_file_contents();
    let district = sandbox.district();
    let class = district.classes.iter().find(|c| c.id == class_id).unwrap();
    for st in &class.students {
        let student = &district.students[*st as usize];
        for secret in [&student.email, &student.username, &student.id] {
            assert!(
                !stderr.contains(secret.as_str()),
                "{secret} in the log:\n{stderr}"
            );
            assert!(!files.contains(secret.as_str()), "{secret} in a file");
        }
    }
    assert!(
        stderr.contains("roster read"),
        "the log does say what happened (counts only)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn short_lived_access_tokens_renew_silently_or_end_the_session() {
    // With refresh tokens: every command finds the access token expired and renews it.
    let knobs = Knobs {
        tokens: TokenPolicy {
            access_token_seconds: 1,
            ..TokenPolicy::default()
        },
        ..Knobs::default()
    };
    let sandbox = district(knobs).await;
    let home = Home::new();
    let teacher = sandbox.district().staff[0].id.clone();
    login_demo(&home, &sandbox, &teacher).await;
    let before = sandbox.stats()["token"];
    for _ in 0..2 {
        let run = home.run(&["classes", "--json"]).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(
        sandbox.stats()["token"],
        before + 2,
        "one silent refresh per command"
    );

    // Without (ClassLink's way): once the access token has expired, sign in again.
    let knobs = Knobs {
        tokens: TokenPolicy {
            access_token_seconds: 1,
            refresh_tokens: false,
            ..TokenPolicy::default()
        },
        ..Knobs::default()
    };
    let sandbox = district(knobs).await;
    let home = Home::new();
    login_demo(&home, &sandbox, &teacher).await;
    let run = home.run(&["classes"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (3, Some("sign_in_again")),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_access_token_is_refreshed_once_and_the_call_retried() {
    // With a refresh token: the provider revokes every access token before it expires;
    // the next roster call gets 401, refreshes once, and succeeds. (Direct road: a
    // gateway honours a revocation only after its identity cache TTL; docs/gateway.md.)
    let sandbox = direct_district(Knobs::default()).await;
    let home = Home::new();
    let teacher = sandbox.district().staff[0].id.clone();
    login_demo(&home, &sandbox, &teacher).await;
    sandbox.revoke_all_access_tokens();
    let before = sandbox.stats()["token"];
    let run = home.run(&["classes", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        sandbox.stats()["token"],
        before + 1,
        "exactly one refresh after the 401"
    );
    let again = home.run(&["classes", "--json"]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        sandbox.stats()["token"],
        before + 1,
        "the refreshed token was kept for the next process"
    );

    // Without one (ClassLink's way): the refusal is reported, and the session is kept,
    // because a roster server's 401 alone must not sign the teacher out.
    let knobs = Knobs {
        tokens: TokenPolicy {
            refresh_tokens: false,
            ..TokenPolicy::default()
        },
        ..Knobs::default()
    };
    let sandbox = direct_district(knobs).await;
    let home = Home::new();
    login_demo(&home, &sandbox, &teacher).await;
    sandbox.revoke_all_access_tokens();
    let run = home.run(&["classes"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (6, Some("roster_unauthorized")),
        "{}",
        run.stderr
    );
    let whoami = home.run(&["whoami"]).await;
    assert_eq!(whoami.code, 0, "still signed in: {}", whoami.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn roster_urls_must_be_https_off_loopback_and_are_checked_before_the_browser_opens() {
    let home = Home::new();
    let run = home
        .run(&[
            "login",
            "--issuer",
            "https://launchpad.classlink.com",
            "--client-id",
            "x",
            "--oneroster-url",
            "http://roster.example.org/ims/oneroster/v1p1",
            "--browser-command",
            "false",
        ])
        .await;
    assert_eq!(
        (run.code, run.error_code()),
        (2, Some("insecure_url")),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("Opening your browser"),
        "{}",
        run.stderr
    );
    let run = home
        .run(&[
            "login",
            "--issuer",
            "https://launchpad.classlink.com",
            "--client-id",
            "x",
            "--profile",
            "classlink",
            "--classlink-api-url",
            "http://nodeapi.example.org",
            "--browser-command",
            "false",
        ])
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = home
        .run(&["login", "--demo", "--issuer", "https://x.example"])
        .await;
    assert_eq!(run.code, 2, "--demo sets the issuer itself: {}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_the_roster_server() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let teacher = sandbox.district().staff[0].id.clone();
    login_demo(&home, &sandbox, &teacher).await;
    let run = home.run(&["doctor", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report = run.json();
    let roster = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "roster")
        .unwrap()
        .clone();
    assert_eq!(roster["status"], "ok");
    assert!(
        roster["detail"].as_str().unwrap().contains(&teacher),
        "{roster}"
    );

    sandbox.update_knobs(|k| k.faults.server_error_rate = 1.0);
    let run = home.run(&["doctor", "--json"]).await;
    assert_eq!(run.code, 2, "doctor fails when a check fails");
    let report = run.json();
    let roster = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "roster")
        .unwrap()
        .clone();
    assert_eq!(
        (roster["status"].as_str(), roster["code"].as_str()),
        (Some("fail"), Some("roster_server_error"))
    );
}
