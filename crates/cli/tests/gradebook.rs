//! `rollbook grade`, `sync` and `gradebook` end to end against the demo district (the
//! roster gateway in front of its OneRoster API), with the real keychain and the
//! encrypted store on disk. Run through `scripts/test.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use rollbook_sandbox::Knobs;
use serde_json::Value;
use support::Home;
use support::demo::{Demo, district, login_demo};

/// A teacher signed in on `home`, their first class, and its first line item's cells
/// (line item id, student id) in the gradebook's student order.
async fn first_class(
    home: &Home,
    sandbox: &Demo,
    teacher: usize,
) -> (String, Vec<(String, String)>) {
    let teacher_id = sandbox.district().staff[teacher].id.clone();
    login_demo(home, sandbox, &teacher_id).await;
    let classes = home.run(&["classes", "--json"]).await.json();
    let class = classes[0]["sourcedId"].as_str().unwrap().to_owned();
    let page = home.run(&["gradebook", &class, "--json"]).await;
    assert_eq!(page.code, 0, "{}", page.stderr);
    let page = page.json();
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

/// The cell as `rollbook gradebook --json` reads it now (from the district first).
async fn cell(home: &Home, class: &str, cell: &(String, String)) -> (Value, Value) {
    let run = home.run(&["gradebook", class, "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = run.json();
    let found = page["gradebook"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["lineItemId"] == cell.0.as_str() && c["studentId"] == cell.1.as_str())
        .cloned()
        .unwrap_or(Value::Null);
    (found["value"].clone(), found["state"].clone())
}

async fn grade(home: &Home, class: &str, cell: &(String, String), value: &str) {
    let run = home.run(&["grade", class, &cell.0, &cell.1, value]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Saved on this computer"),
        "{}",
        run.stdout
    );
}

async fn sync(home: &Home) -> Value {
    let run = home.run(&["sync", "--json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

#[tokio::test(flavor = "multi_thread")]
async fn grade_then_sync_reaches_the_district() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cells) = first_class(&home, &sandbox, 0).await;
    grade(&home, &class, &cells[0], "8.5").await;
    grade(&home, &class, &cells[1], "M").await;
    let run = home
        .run(&[
            "grade",
            &class,
            &cells[2].0,
            &cells[2].1,
            "L",
            "--comment",
            "Handed in on Monday",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Before the sync: saved here, waiting.
    let (_, state) = cell(&home, &class, &cells[0]).await;
    assert_eq!(state["kind"], "saved");

    let report = sync(&home).await;
    assert_eq!(report["sent"].as_array().map(Vec::len), Some(3), "{report}");
    assert_eq!(report["waiting"], 0);

    // Another computer of the same teacher reads it from the district.
    let elsewhere = Home::new();
    let teacher_id = sandbox.district().staff[0].id.clone();
    login_demo(&elsewhere, &sandbox, &teacher_id).await;
    let (value, state) = cell(&elsewhere, &class, &cells[0]).await;
    assert_eq!(
        (value["score"].as_f64(), state["kind"].as_str()),
        (Some(8.5), Some("synced"))
    );
    let (value, _) = cell(&elsewhere, &class, &cells[1]).await;
    assert_eq!(value["mark"], "missing");
    let (value, _) = cell(&elsewhere, &class, &cells[2]).await;
    assert_eq!(
        (value["mark"].as_str(), value["comment"].as_str()),
        (Some("late"), Some("Handed in on Monday"))
    );

    // The export has the grade, the marks and the averages.
    let csv = home.run(&["gradebook", &class, "--csv"]).await;
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    assert!(
        csv.stdout
            .lines()
            .next()
            .unwrap()
            .contains(",Average %,Letter"),
        "{}",
        csv.stdout
    );
    assert!(
        csv.stdout.contains(",8.5,") && csv.stdout.contains(",M,"),
        "{}",
        csv.stdout
    );

    // Nonsense is refused with a clear code and nothing stored.
    let run = home
        .run(&["grade", &class, &cells[0].0, &cells[0].1, "ninety"])
        .await;
    assert_eq!(
        (run.code, run.error_code()),
        (2, Some("grade_invalid")),
        "{}",
        run.stderr
    );
    let run = home
        .run(&["grade", &class, "li-nope", &cells[0].1, "5"])
        .await;
    assert_eq!(
        run.error_code(),
        Some("gradebook_not_found"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_grades_wait_on_this_computer_and_sync_when_the_district_is_back() {
    let mut sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cells) = first_class(&home, &sandbox, 1).await;
    sandbox.set_roster_online(false).await.unwrap();

    grade(&home, &class, &cells[0], "6").await;
    grade(&home, &class, &cells[1], "X").await;
    let run = home.run(&["gradebook", &class]).await;
    assert_eq!(
        run.code, 0,
        "offline, the saved copy is shown: {}",
        run.stderr
    );
    assert!(run.stderr.contains("offline"), "{}", run.stderr);
    let run = home.run(&["sync"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("could not be reached"),
        "{}",
        run.stdout
    );
    let report = sync(&home).await;
    assert_eq!(
        (report["offline"].as_bool(), report["waiting"].as_u64()),
        (Some(true), Some(2))
    );

    sandbox.set_roster_online(true).await.unwrap();
    let report = sync(&home).await;
    assert_eq!(report["sent"].as_array().map(Vec::len), Some(2), "{report}");
    let (value, state) = cell(&home, &class, &cells[0]).await;
    assert_eq!(
        (value["score"].as_f64(), state["kind"].as_str()),
        (Some(6.0), Some("synced"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_elsewhere_meanwhile_is_a_conflict() {
    let sandbox = district(Knobs::default()).await;
    let laptop = Home::new();
    let (class, cells) = first_class(&laptop, &sandbox, 2).await;
    let school = Home::new();
    let (_, _) = first_class(&school, &sandbox, 2).await;

    grade(&laptop, &class, &cells[0], "4.25").await;
    // Meanwhile the same grade is changed from the school computer and sent.
    grade(&school, &class, &cells[0], "9.75").await;
    assert_eq!(
        sync(&school).await["sent"].as_array().map(Vec::len),
        Some(1)
    );

    let run = laptop.run(&["sync"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("Conflict"), "{}", run.stdout);
    let (value, state) = cell(&laptop, &class, &cells[0]).await;
    assert_eq!(state["kind"], "conflict");
    assert_eq!(
        (value["score"].as_f64(), state["server"]["score"].as_f64()),
        (Some(4.25), Some(9.75))
    );
    // The district kept the school computer's grade.
    let (value, _) = cell(&school, &class, &cells[0]).await;
    assert_eq!(value["score"].as_f64(), Some(9.75));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_district_that_refuses_writes_keeps_the_grade_here_and_says_so() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cells) = first_class(&home, &sandbox, 3).await;
    sandbox.update_knobs(|k| k.access.refuse_writes = true);
    grade(&home, &class, &cells[0], "7").await;
    let run = home.run(&["sync"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Refused, kept in Rollbook only"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("does not accept grades"),
        "the district's words: {}",
        run.stdout
    );
    let (value, state) = cell(&home, &class, &cells[0]).await;
    assert_eq!(
        (value["score"].as_f64(), state["kind"].as_str()),
        (Some(7.0), Some("refused"))
    );
    let csv = home.run(&["gradebook", &class, "--csv"]).await;
    assert!(csv.stdout.contains(",7,"), "{}", csv.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_deletes_the_local_gradebook_and_its_key() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cells) = first_class(&home, &sandbox, 4).await;
    grade(&home, &class, &cells[0], "5").await;
    let data = home.app_paths().data_dir;
    let db = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("the gradebook database");
    assert!(
        db.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("gradebook-")
    );
    let service = std::env::var("ROLLBOOK_KEYCHAIN_SERVICE").unwrap();
    let account = format!("{} {}", rollbook_core::STORE_KEY_ACCOUNT, db.display());
    let entry = keyring::Entry::new(&service, &account).unwrap();
    assert!(entry.get_password().is_ok(), "the key is in the keychain");
    // Not while a grade waits to be sent…
    let run = home.run(&["logout"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (2, Some("unsent_grades")),
        "{}",
        run.stderr
    );
    assert!(db.exists());
    // …unless the teacher says so.
    let run = home.run(&["logout", "--discard-unsent"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: 1 grade not yet sent was deleted."),
        "{}",
        run.stderr
    );
    assert!(!db.exists(), "the database is gone");
    for suffix in ["-wal", "-shm"] {
        assert!(
            !home
                .app_paths()
                .data_dir
                .join(format!("gradebook.db{suffix}"))
                .exists()
        );
    }
    assert!(
        matches!(entry.get_password(), Err(keyring::Error::NoEntry)),
        "the key is gone"
    );
}

/// The table prints averages as the store rounded them (`percentText`, never `percent`
/// re-rounded: 85.0 stays "85.0%", not "85%"), with the class average; the sync report
/// says in words what no cell shows (a grade whose assignment the district deleted)
/// and a pause the district asked for.
#[tokio::test(flavor = "multi_thread")]
async fn the_table_shows_the_stores_rounding_and_sync_says_what_waits_and_why() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let (class, cells) = first_class(&home, &sandbox, 4).await;
    // A round average: every item of the first student graded at full marks.
    let page = home.run(&["gradebook", &class, "--json"]).await.json();
    let student = cells[0].1.clone();
    for column in page["gradebook"]["columns"].as_array().unwrap() {
        let item = column["sourcedId"].as_str().unwrap().to_owned();
        let max = column["maxPoints"].as_f64().unwrap();
        grade(&home, &class, &(item, student.clone()), &max.to_string()).await;
    }
    let page = home.run(&["gradebook", &class, "--json"]).await.json();
    let first = &page["gradebook"]["studentAverages"][0];
    assert_eq!(first["percentText"], "100.0", "{first}");
    let table = home.run(&["gradebook", &class]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    let row = table
        .stdout
        .lines()
        .find(|l| {
            let name = &page["gradebook"]["students"][0];
            l.contains(name["familyName"].as_str().unwrap())
                && l.contains(name["givenName"].as_str().unwrap())
        })
        .unwrap();
    assert!(row.contains("100.0%"), "{row}");
    let class_average = page["gradebook"]["classAverage"]["percentText"]
        .as_str()
        .unwrap();
    assert!(
        table
            .stdout
            .contains(&format!("Class average: {class_average}%")),
        "{}",
        table.stdout
    );

    // The district deletes an assignment while a grade of it waits.
    sync(&home).await;
    grade(&home, &class, &cells[1], "1").await;
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/lineItems/{}",
            sandbox.oneroster_url(),
            cells[1].0
        ))
        .bearer_auth(rollbook_sandbox::demo_credentials::PROXY_BEARER)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    assert_eq!(home.run(&["gradebook", &class]).await.code, 0);
    let run = home.run(&["sync"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("1 grade is not sent: its assignment was deleted in the district's system")
            && run.stdout.contains("To settle"),
        "{}",
        run.stdout
    );

    // The district asks Rollbook to wait two minutes (429 Retry-After).
    sandbox.update_knobs(|k| {
        k.faults.rate_limit_rate = 1.0;
        k.faults.retry_after_seconds = 120;
    });
    let other_item = page["gradebook"]["columns"][1]["sourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    grade(&home, &class, &(other_item, cells[2].1.clone()), "2").await;
    let run = home.run(&["sync"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Sending is paused: the district asked Rollbook to wait 2 minutes"),
        "{}",
        run.stdout
    );
}
