//! Issue 18's CLI stories against the demo district (its roster gateway in front of its
//! OneRoster API), with the real keychain and the encrypted store on disk: what the
//! district changes is what the CLI shows; a cleared grade can be graded again; a store
//! whose key is gone is set aside, never deleted, and the command says so; sign-out
//! fails closed; grading rules outlive a sign-out. Run through `scripts/test.sh` (or
//! `scripts/in-test-session.sh cargo test -p rollbook-cli --test grade_trust`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use rollbook_core::ClassId;
use rollbook_sandbox::{Knobs, demo_credentials};
use serde_json::{Value, json};
use support::demo::{Demo, district, login_demo};
use support::{Home, Run, finish, keychain_service};

/// The teacher signed in on `home`, their first class, and the first line item's cells.
async fn first_class(
    home: &Home,
    sandbox: &Demo,
    teacher: usize,
) -> (String, Vec<(String, String)>) {
    let teacher_id = sandbox.district().staff[teacher].id.clone();
    login_demo(home, sandbox, &teacher_id).await;
    let classes = home.run(&["classes", "--json"]).await.json();
    let class = classes[0]["sourcedId"].as_str().unwrap().to_owned();
    let page = page(home, &class).await;
    let item = page["gradebook"]["columns"][0]["sourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    let cells = page["gradebook"]["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (item.clone(), s["sourcedId"].as_str().unwrap().to_owned()))
        .collect();
    (class, cells)
}

async fn page(home: &Home, class: &str) -> Value {
    let run = home.run(&["gradebook", class, "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

/// The cell as `rollbook gradebook --json` shows it now (read from the district first).
async fn cell(home: &Home, class: &str, cell: &(String, String)) -> (Value, String) {
    let page = page(home, class).await;
    let found = page["gradebook"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["lineItemId"] == cell.0.as_str() && c["studentId"] == cell.1.as_str())
        .cloned()
        .unwrap_or(Value::Null);
    (
        found["value"].clone(),
        found["state"]["kind"].as_str().unwrap_or("").to_owned(),
    )
}

async fn grade(home: &Home, class: &str, cell: &(String, String), value: &str) -> Run {
    let run = home.run(&["grade", class, &cell.0, &cell.1, value]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

async fn sync(home: &Home) -> Value {
    let run = home.run(&["sync", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

/// The district's result for a cell, read with the demo application's credentials
/// straight from its OneRoster API (as the SIS's own screens would show it).
async fn district_result(sandbox: &Demo, class: &str, cell: &(String, String)) -> Option<Value> {
    let body: Value = reqwest::Client::new()
        .get(format!(
            "{}/classes/{class}/results?limit=1000",
            sandbox.oneroster_url()
        ))
        .bearer_auth(demo_credentials::PROXY_BEARER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["results"].as_array().unwrap().iter().find_map(|r| {
        (r["lineItem"]["sourcedId"] == cell.0.as_str()
            && r["student"]["sourcedId"] == cell.1.as_str())
        .then(|| r.clone())
    })
}

/// The gradebook database of `home` (one sign-in, one store).
fn the_store(home: &Home) -> PathBuf {
    std::fs::read_dir(home.app_paths().data_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("the gradebook database")
}

fn set_aside_files(home: &Home) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(home.app_paths().data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".db.keyless-"))
        .collect();
    files.sort();
    files
}

/// (a) A department head changes a sent grade in the SIS: the next read shows the
/// district's value, not Rollbook's old one as "synced".
#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_in_the_district_after_a_sync_is_what_the_cli_shows() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cells) = first_class(&home, &sandbox, 5).await;
    let target = &cells[0];
    grade(&home, &class, target, "8.5").await;
    assert_eq!(sync(&home).await["waiting"], 0);
    let sent = district_result(&sandbox, &class, target).await.unwrap();
    assert_eq!(sent["score"].as_f64(), Some(8.5));

    let id = sent["sourcedId"].as_str().unwrap();
    let changed = reqwest::Client::new()
        .put(format!("{}/results/{id}", sandbox.oneroster_url()))
        .bearer_auth(demo_credentials::PROXY_BEARER)
        .json(&json!({ "result": { "score": 9.25, "scoreStatus": "fully graded" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);

    sync(&home).await;
    let (value, state) = cell(&home, &class, target).await;
    assert_eq!(
        (value["score"].as_f64(), state.as_str()),
        (Some(9.25), "synced"),
        "the district's later value is shown"
    );
}

/// (b) Clear a synced grade, sync, grade the cell again, sync: it lands (a new record,
/// not the deleted one's id).
#[tokio::test(flavor = "multi_thread")]
async fn a_cleared_grade_can_be_graded_again() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cells) = first_class(&home, &sandbox, 6).await;
    let target = &cells[1];
    grade(&home, &class, target, "6").await;
    sync(&home).await;
    grade(&home, &class, target, "").await;
    let report = sync(&home).await;
    assert_eq!(report["waiting"], 0, "{report}");
    assert!(district_result(&sandbox, &class, target).await.is_none());

    grade(&home, &class, target, "7.5").await;
    let report = sync(&home).await;
    assert_eq!(
        (
            report["waiting"].as_u64(),
            report["refused"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0)),
        "{report}"
    );
    let landed = district_result(&sandbox, &class, target).await.unwrap();
    assert_eq!(landed["score"].as_f64(), Some(7.5));
    let (value, state) = cell(&home, &class, target).await;
    assert_eq!(
        (value["score"].as_f64(), state.as_str()),
        (Some(7.5), "synced")
    );
}

/// (c) The store's key disappears from the keychain between two commands (a reset
/// keychain, a restored profile): the store is set aside with what it held, never
/// deleted, and the command, `doctor` and `doctor --json` say so.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_whose_key_is_gone_is_set_aside_and_the_command_says_so() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cells) = first_class(&home, &sandbox, 7).await;
    grade(&home, &class, &cells[0], "4").await;
    grade(&home, &class, &cells[1], "M").await;
    let db = the_store(&home);
    let before = std::fs::read(&db).unwrap();
    let key = keyring::Entry::new(
        &keychain_service(),
        &format!("{} {}", rollbook_core::STORE_KEY_ACCOUNT, db.display()),
    )
    .unwrap();
    key.delete_credential().unwrap();

    let run = home.run(&["gradebook", &class]).await;
    assert_eq!(run.code, 0, "a new store opens: {}", run.stderr);
    assert!(
        run.stderr.contains("notice: store_set_aside: ")
            && run.stderr.contains("2 grades were waiting to be sent")
            && run.stderr.contains("Nothing was deleted"),
        "{}",
        run.stderr
    );
    let aside = set_aside_files(&home);
    let database: Vec<&String> = aside.iter().filter(|n| !n.ends_with(".unsent")).collect();
    assert_eq!(database.len(), 1, "{aside:?}");
    let kept = home.app_paths().data_dir.join(database[0]);
    // WAL mode may have moved the grades into the main file since; what was on disk is
    // kept whole either way.
    assert!(std::fs::metadata(&kept).unwrap().len() >= before.len() as u64 / 2);
    let (_, state) = cell(&home, &class, &cells[0]).await;
    assert_eq!(state, "synced", "the new store starts from the district");

    let doctor = home.run(&["doctor", "--json"]).await;
    let report = doctor.json();
    let listed = report["set_aside_stores"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{report}");
    assert_eq!(
        (
            listed[0]["code"].as_str(),
            listed[0]["reason"].as_str(),
            listed[0]["unsent"].as_u64()
        ),
        (Some("store_set_aside"), Some("keyMissing"), Some(2))
    );
    let doctor = home.run(&["doctor"]).await;
    assert!(
        doctor.stdout.contains("warn gradebook")
            && doctor.stdout.contains("it holds 2 grades not yet sent")
            && doctor.stdout.contains("[store_set_aside]"),
        "{}",
        doctor.stdout
    );
    // Only the next command tells; it is not set aside twice.
    let run = home.run(&["gradebook", &class]).await;
    assert!(!run.stderr.contains("store_set_aside"), "{}", run.stderr);
    // A sign-out deletes the new store, never the one set aside.
    let run = home.run(&["logout"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(kept.exists());
}

/// Sign-out fails closed: when the keychain cannot be reached (over SSH, a locked
/// session), Rollbook cannot count the unsent grades, so it refuses and deletes
/// nothing; `--discard-unsent` is the explicit way out.
#[tokio::test(flavor = "multi_thread")]
async fn sign_out_refuses_when_it_cannot_tell_whether_grades_wait() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cells) = first_class(&home, &sandbox, 8).await;
    grade(&home, &class, &cells[0], "9").await;
    let db = the_store(&home);
    let no_keychain = |args: &[&str]| {
        let mut command = home.command(args);
        command.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
        command.spawn().unwrap()
    };

    let run = finish(no_keychain(&["logout"])).await;
    assert_eq!(
        (run.code, run.error_code()),
        (2, Some("unsent_unknown")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("1 was waiting when last counted")
            && run.stderr.contains("--discard-unsent"),
        "{}",
        run.stderr
    );
    assert!(db.exists(), "nothing was deleted");
    assert!(home.app_paths().data_dir.join("session.json").exists());

    // With the keychain back, the count is known and still refuses.
    let run = home.run(&["logout"]).await;
    assert_eq!(run.error_code(), Some("unsent_grades"), "{}", run.stderr);
    assert!(db.exists());
    // The explicit way out works without the keychain too: the store goes, and the
    // keychain entries are left listed for the next start (`sign_out_unfinished`).
    let run = finish(no_keychain(&["logout", "--discard-unsent"])).await;
    assert_eq!(
        run.error_code(),
        Some("sign_out_unfinished"),
        "{}",
        run.stderr
    );
    assert!(!db.exists());
    // Unfinished or not, the teacher is told what went unsent.
    assert!(
        run.stderr.contains("grades not yet sent were deleted")
            && run.stderr.contains("1 was waiting when last counted"),
        "{}",
        run.stderr
    );
}

/// Grading rules are the teacher's settings, not student records: they outlive a
/// sign-out (which says so) and come back at the next sign-in.
#[tokio::test(flavor = "multi_thread")]
async fn grading_rules_survive_sign_out() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, _) = first_class(&home, &sandbox, 9).await;
    let teacher_id = sandbox.district().staff[9].id.clone();
    {
        // The window sets them (a core `Account` sharing the CLI's folders and keychain).
        let store = rollbook_core::auth::KeychainStore::new().with_service(keychain_service());
        let window = rollbook_core::Account::new(home.app_paths(), Arc::new(store)).unwrap();
        let mut rules = window
            .grades()
            .saved_gradebook(&ClassId::from(&class))
            .await
            .unwrap()
            .unwrap()
            .gradebook
            .rules;
        assert!(rules.missing_counts_as_zero);
        rules.missing_counts_as_zero = false;
        window
            .grades()
            .set_grading_rules(&ClassId::from(&class), rules)
            .await
            .unwrap();
    }
    let run = home.run(&["logout"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Your grading rules for 1 class stay here for your next sign-in."),
        "{}",
        run.stdout
    );
    let run = home.run(&["whoami"]).await;
    assert_eq!(run.error_code(), Some("not_signed_in"));

    login_demo(&home, &sandbox, &teacher_id).await;
    let page = page(&home, &class).await;
    assert_eq!(
        page["gradebook"]["rules"]["missingCountsAsZero"], false,
        "the rules came back"
    );
}
