//! Policy on every path, end to end: `rollbook` against the demo district with the real
//! keychain, and the Linux policy file (here through the debug-only variable that points
//! at it). A saved session is held to the policy in force at every command, not the
//! policy at its sign-in. Run through `scripts/in-test-session.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rollbook_sandbox::Knobs;
use serde_json::Value;
use support::demo::{Demo, district, login_demo};
use support::{Home, Run};

/// `home`'s policy file (not yet written).
fn policy_path(home: &Home) -> PathBuf {
    home.dir.path().join("policy.json")
}

fn write_policy(home: &Home, json: &str) -> PathBuf {
    let path = policy_path(home);
    std::fs::write(&path, json).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path
}

/// `rollbook args…` under the policy file at `policy` (trusting its owner, so the test
/// need not run as root; the owner rule has its own unit test).
async fn run_with_policy(home: &Home, policy: &Path, args: &[&str]) -> Run {
    let mut command = home.command(args);
    command.env("ROLLBOOK_POLICY_FILE", policy);
    if let Ok(metadata) = std::fs::metadata(policy) {
        command.env("ROLLBOOK_POLICY_FILE_OWNER", metadata.uid().to_string());
    }
    support::finish(command.spawn().unwrap()).await
}

fn login_args<'a>(browser: &'a str, sandbox: &'a Demo) -> Vec<&'a str> {
    vec![
        "login",
        "--json",
        "--timeout",
        "20",
        "--browser-command",
        browser,
        "--demo",
        "--demo-url",
        sandbox.issuer(),
    ]
}

fn browser_for(teacher: &str) -> String {
    format!(
        "{} --login {teacher}",
        support::test_browser_bin().display()
    )
}

/// Signs `teacher` in to the demo district and enters one grade (waiting, on disk):
/// the class, the cell and the store's file.
async fn signed_in_with_a_waiting_grade(
    home: &Home,
    sandbox: &Demo,
    teacher: usize,
) -> (String, (String, String), PathBuf) {
    let teacher_id = sandbox.district().staff[teacher].id.clone();
    login_demo(home, sandbox, &teacher_id).await;
    let classes = home.run(&["classes", "--json"]).await.json();
    let class = classes[0]["sourcedId"].as_str().unwrap().to_owned();
    let page = home.run(&["gradebook", &class, "--json"]).await.json();
    let cell = (
        page["gradebook"]["columns"][0]["sourcedId"]
            .as_str()
            .unwrap()
            .to_owned(),
        page["gradebook"]["students"][0]["sourcedId"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let run = home.run(&["grade", &class, &cell.0, &cell.1, "7"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    (
        class,
        cell,
        store_file(home).expect("the gradebook on disk"),
    )
}

fn store_file(home: &Home) -> Option<PathBuf> {
    std::fs::read_dir(home.app_paths().data_dir)
        .ok()?
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("gradebook-"))
                && p.extension().is_some_and(|x| x == "db")
        })
}

/// The cell's value and state as the district now has it (a fresh read).
async fn district_cell(home: &Home, class: &str, cell: &(String, String)) -> (Value, Value) {
    let run = home.run(&["gradebook", class, "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let found = run.json()["gradebook"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["lineItemId"] == cell.0.as_str() && c["studentId"] == cell.1.as_str())
        .cloned()
        .unwrap_or(Value::Null);
    (
        found["value"]["score"].clone(),
        found["state"]["kind"].clone(),
    )
}

/// IT turns the demo district off after the teacher signed in: the next command ends
/// the saved session, sending the waiting grade first, and says so. The keychain entry
/// and the store go; the grade is in the district.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_policy_now_forbids_ends_at_the_next_command_after_sending() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cell, store) = signed_in_with_a_waiting_grade(&home, &sandbox, 1).await;

    let policy = write_policy(&home, r#"{"DemoDistrictAllowed": false}"#);
    let run = run_with_policy(&home, &policy, &["whoami", "--json"]).await;
    assert!(
        run.stderr.contains("note: Your saved sign-in with")
            && run.stderr.contains("turned the demo district off")
            && run.stderr.contains("Everything waiting was sent"),
        "{}",
        run.stderr
    );
    assert_eq!(run.error_code(), Some("not_signed_in"), "{}", run.stderr);
    assert!(
        !store.exists(),
        "nothing was left unsent, so the store went"
    );
    // Gone for good, not only hidden while the policy holds.
    let run = home.run(&["whoami"]).await;
    assert_eq!(run.error_code(), Some("not_signed_in"), "{}", run.stderr);

    // The grade reached the district before the session ended.
    let teacher_id = sandbox.district().staff[1].id.clone();
    login_demo(&home, &sandbox, &teacher_id).await;
    let (score, state) = district_cell(&home, &class, &cell).await;
    assert_eq!(
        (score.as_f64(), state.as_str()),
        (Some(7.0), Some("synced"))
    );
}

/// The district cannot be reached when policy ends the session: the grade is kept on
/// this computer (encrypted), the teacher is told how many, and the same account's
/// next sign-in sends it.
#[tokio::test(flavor = "multi_thread")]
async fn grades_that_cannot_be_sent_first_are_kept_and_the_teacher_told() {
    let mut sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cell, store) = signed_in_with_a_waiting_grade(&home, &sandbox, 2).await;
    sandbox.set_roster_online(false).await.unwrap();

    let policy = write_policy(&home, r#"{"DemoDistrictAllowed": false}"#);
    let run = run_with_policy(&home, &policy, &["classes"]).await;
    assert!(
        run.stderr
            .contains("1 unsent grade(s) could not be sent first; they are kept"),
        "{}",
        run.stderr
    );
    assert!(store.exists(), "the unsent grade is kept");
    assert_eq!(
        home.run(&["whoami"]).await.error_code(),
        Some("not_signed_in")
    );

    sandbox.set_roster_online(true).await.unwrap();
    let teacher_id = sandbox.district().staff[2].id.clone();
    login_demo(&home, &sandbox, &teacher_id).await;
    let run = home.run(&["sync", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json()["sent"].as_array().map(Vec::len),
        Some(1),
        "{}",
        run.stdout
    );
    let (score, _) = district_cell(&home, &class, &cell).await;
    assert_eq!(score.as_f64(), Some(7.0));
}

/// `LocalStoreAllowed` turned off after grades were kept on disk: the next command
/// sends what waits and empties the store; the session goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_policy_no_longer_allows_is_emptied_after_sending() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cell, store) = signed_in_with_a_waiting_grade(&home, &sandbox, 3).await;

    let policy = write_policy(&home, r#"{"LocalStoreAllowed": false}"#);
    let run = run_with_policy(&home, &policy, &["whoami"]).await;
    assert_eq!(run.code, 0, "the session goes on: {}", run.stderr);
    assert!(
        run.stderr
            .contains("The gradebook saved on this computer was emptied"),
        "{}",
        run.stderr
    );
    assert!(!store.exists(), "the store on disk is gone");
    let (score, state) = district_cell(&home, &class, &cell).await;
    assert_eq!(
        (score.as_f64(), state.as_str()),
        (Some(7.0), Some("synced"))
    );
}

/// `login --demo` used to take shared-machine mode from its flag only: under
/// `SharedMachine` policy its tokens went to the keychain.
#[tokio::test(flavor = "multi_thread")]
async fn login_demo_obeys_shared_machine_policy() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let policy = write_policy(&home, r#"{"SharedMachine": true}"#);
    let teacher_id = sandbox.district().staff[0].id.clone();
    let browser = browser_for(&teacher_id);
    let run = run_with_policy(&home, &policy, &login_args(&browser, &sandbox)).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["persisted"], false, "{}", run.stdout);
    assert_eq!(
        home.run(&["whoami"]).await.error_code(),
        Some("not_signed_in"),
        "nothing of a shared session is kept"
    );
    // The session ended with the command, as the window's does on closing: nothing is
    // left for the shared account's next user, not even the note kept for a crash.
    assert!(run.stderr.contains("session ended"), "{}", run.stderr);
    let data = home.app_paths().data_dir;
    assert!(
        !data.join("shared-session-open.json").exists(),
        "the shared session was left open"
    );
}

/// A saved personal session on a computer IT later makes shared ends at the next start.
#[tokio::test(flavor = "multi_thread")]
async fn a_kept_session_ends_when_policy_makes_the_computer_shared() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    login_demo(&home, &sandbox, &sandbox.district().staff[0].id.clone()).await;
    assert_eq!(home.run(&["whoami"]).await.code, 0);
    let policy = write_policy(&home, r#"{"SharedMachine": 1}"#);
    let run = run_with_policy(&home, &policy, &["whoami"]).await;
    assert!(run.stderr.contains("shared computer"), "{}", run.stderr);
    assert_eq!(run.error_code(), Some("not_signed_in"), "{}", run.stderr);
}

/// `Issuer` with `AllowedProviders = issuer` admits exactly the district's provider:
/// ClassLink and any other issuer are refused before anything is contacted.
#[tokio::test(flavor = "multi_thread")]
async fn issuer_policy_locks_login_to_the_districts_provider() {
    let home = Home::new();
    let policy = write_policy(
        &home,
        r#"{"Issuer": "https://login.district.example", "AllowedProviders": "issuer"}"#,
    );
    for issuer in ["https://launchpad.classlink.com", "https://op.example"] {
        let run = run_with_policy(
            &home,
            &policy,
            &["login", "--issuer", issuer, "--client-id", "x"],
        )
        .await;
        assert_eq!(
            run.error_code(),
            Some("policy_forbidden"),
            "{issuer}: {}",
            run.stderr
        );
    }
}

/// A policy file group or others may write is reported and ignored; one that cannot be
/// parsed is reported as unreadable and the data-protecting settings fail closed.
#[tokio::test(flavor = "multi_thread")]
async fn the_linux_policy_file_must_be_trustworthy_and_readable() {
    let home = Home::new();
    let policy = write_policy(&home, r#"{"AllowedProviders": "classlink"}"#);
    std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = run_with_policy(&home, &policy, &["doctor", "--json"]).await;
    let out = run.json();
    let setting = |out: &Value, key: &str| {
        out["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .cloned()
            .unwrap()
    };
    assert_eq!(setting(&out, "AllowedProviders")["value"], "any");
    assert!(
        out["policy_problems"].to_string().contains("may write it"),
        "{}",
        out["policy_problems"]
    );

    let policy = write_policy(&home, r#"{"SharedMachine": false, "#);
    let run = run_with_policy(&home, &policy, &["doctor", "--json"]).await;
    assert_ne!(run.code, 0, "doctor fails: {}", run.stderr);
    let out = run.json();
    assert!(
        out["policy_problems"]
            .to_string()
            .contains("policy present but unreadable"),
        "{}",
        out["policy_problems"]
    );
    assert!(
        out["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "policy_unreadable" && c["status"] == "fail"),
        "{}",
        out["checks"]
    );
    for (key, value) in [
        ("SharedMachine", true),
        ("LocalStoreAllowed", false),
        ("ExportAllowed", false),
    ] {
        assert_eq!(setting(&out, key)["value"], value, "{key}");
        assert_eq!(
            setting(&out, key)["origin"]["kind"],
            "unreadable_policy",
            "{key}"
        );
    }
}

/// The log file (`LogLevel` = debug, the most it holds) after a whole session: sign-in,
/// classes, a roster, a gradebook, a grade and a sync. It has lines, and no token, no
/// student's or teacher's name, no email; `doctor` says where it is.
#[tokio::test(flavor = "multi_thread")]
async fn the_log_file_holds_no_secret_and_no_name() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let policy = write_policy(&home, r#"{"LogLevel": "debug"}"#);
    let teacher_id = sandbox.district().staff[5].id.clone();
    let browser = browser_for(&teacher_id);
    let run = run_with_policy(&home, &policy, &login_args(&browser, &sandbox)).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let me = run_with_policy(&home, &policy, &["whoami", "--json"])
        .await
        .json();
    let classes = run_with_policy(&home, &policy, &["classes", "--json"])
        .await
        .json();
    let class = classes[0]["sourcedId"].as_str().unwrap().to_owned();
    let roster = run_with_policy(&home, &policy, &["roster", &class, "--json"])
        .await
        .json();
    let page = run_with_policy(&home, &policy, &["gradebook", &class, "--json"])
        .await
        .json();
    let item = page["gradebook"]["columns"][0]["sourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    let student = roster[0]["sourcedId"].as_str().unwrap().to_owned();
    let run = run_with_policy(&home, &policy, &["grade", &class, &item, &student, "8"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run_with_policy(&home, &policy, &["sync"]).await.code, 0);

    let doctor = run_with_policy(&home, &policy, &["doctor", "--json"])
        .await
        .json();
    let path = PathBuf::from(doctor["log_file"].as_str().unwrap());
    assert!(
        path.starts_with(home.app_paths().data_dir),
        "{}",
        path.display()
    );
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(
        log.contains("DEBUG"),
        "debug lines at LogLevel=debug:\n{log}"
    );

    let mut forbidden: Vec<String> = vec!["eyJ".into(), "Bearer ".into()];
    for field in ["name", "email", "given_name", "family_name"] {
        if let Some(v) = me[field].as_str() {
            forbidden.push(v.to_owned());
        }
    }
    for student in roster.as_array().unwrap() {
        for field in ["givenName", "familyName", "email"] {
            if let Some(v) = student[field].as_str().filter(|v| v.len() >= 3) {
                forbidden.push(v.to_owned());
            }
        }
    }
    assert!(forbidden.len() > 10, "{forbidden:?}");
    for word in &forbidden {
        assert!(
            !log.contains(word.as_str()),
            "the log holds {word:?}:\n{log}"
        );
    }
}

/// `ProxyUrl` sends provider calls through the district's proxy: a proxy of our own
/// (a listener that records what it is asked, then refuses) sees `doctor`'s discovery
/// call for the issuer, which it would not without the policy.
#[tokio::test(flavor = "multi_thread")]
async fn proxy_url_policy_carries_provider_calls() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = proxy.local_addr().unwrap();
    let asked = tokio::spawn(async move {
        let (mut stream, _) = proxy.accept().await.unwrap();
        let mut request = vec![0u8; 1024];
        let n = stream.read(&mut request).await.unwrap();
        let _ = stream
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await;
        String::from_utf8_lossy(&request[..n]).into_owned()
    });
    let home = Home::new();
    let policy_json = format!(r#"{{"ProxyUrl": "http://{address}"}}"#);
    let policy = write_policy(&home, &policy_json);
    let run = run_with_policy(
        &home,
        &policy,
        &[
            "doctor",
            "--json",
            "--issuer",
            "https://login.district.example",
        ],
    )
    .await;
    let request = tokio::time::timeout(std::time::Duration::from_secs(20), asked)
        .await
        .expect("the proxy was never asked")
        .unwrap();
    assert!(
        request.starts_with("CONNECT login.district.example:443"),
        "{request}\n{}",
        run.stderr
    );
}

/// `ExportAllowed` off: core refuses the gradebook's and the roster's CSV with
/// `policy_forbidden`; the table on screen is still shown.
#[tokio::test(flavor = "multi_thread")]
async fn export_allowed_policy_refuses_csv_exports() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    login_demo(&home, &sandbox, &sandbox.district().staff[6].id.clone()).await;
    let classes = home.run(&["classes", "--json"]).await.json();
    let class = classes[0]["sourcedId"].as_str().unwrap().to_owned();
    assert_eq!(home.run(&["gradebook", &class, "--csv"]).await.code, 0);

    let policy = write_policy(&home, r#"{"ExportAllowed": false}"#);
    for args in [["gradebook", &class, "--csv"], ["roster", &class, "--csv"]] {
        let run = run_with_policy(&home, &policy, &args).await;
        assert_eq!(
            run.error_code(),
            Some("policy_forbidden"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stdout.trim().is_empty(),
            "nothing exported: {}",
            run.stdout
        );
    }
    let run = run_with_policy(&home, &policy, &["roster", &class]).await;
    assert_eq!(run.code, 0, "the roster is still shown: {}", run.stderr);
}
