//! Write-back against the demo district's real OneRoster server (HTTP on loopback): a
//! grade and a new assignment reach the server; a change made in the SIS meanwhile is
//! a conflict, never overwritten; a refusing district keeps the grade in Rollbook with
//! its words; a failing or absent server is retried, never refused; a write that landed
//! before a crash is not sent twice.

use rollbook_gradebook::{ClassId, LineItemId, StudentId};
use std::sync::Mutex;
use std::time::Duration;

use rollbook_gradebook::entry::{CellInput, Mark};
use rollbook_gradebook::store::{CellChange, CellState, GradeStore, NewLineItem, Resolution};
use rollbook_gradebook::{SyncOptions, fetch_snapshot, sync};
use rollbook_oneroster::models::GradeResult;
use rollbook_oneroster::{Bearer, ClientSettings, RetryPolicy, RosterClient};
use rollbook_sandbox::{Knobs, Sandbox, SandboxConfig, Size};
use url::Url;

const NOW: &str = "2026-11-27T09:00:00.000Z";

async fn district() -> Sandbox {
    let mut knobs = Knobs::default();
    knobs.access.accept_teacher_tokens = true;
    Sandbox::start(SandboxConfig {
        seed: 5,
        size: Size::Tiny,
        today: Some("2026-11-27".into()),
        knobs,
        ..SandboxConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("sandbox: {e}"))
}

fn teacher(sandbox: &Sandbox) -> RosterClient {
    let id = sandbox.district().staff[0].id.clone();
    let token = sandbox
        .issue_access_token(&id, &["openid", "oneroster"])
        .unwrap_or_else(|| panic!("token"));
    RosterClient::new(
        reqwest::Client::new(),
        Url::parse(&sandbox.oneroster_url()).unwrap_or_else(|e| panic!("{e}")),
        Bearer::new(token),
    )
    .with_settings(ClientSettings {
        retry: RetryPolicy {
            max_transient_retries: 1,
            base_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        ..ClientSettings::default()
    })
}

fn quick() -> SyncOptions {
    SyncOptions {
        concurrency: 4,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    }
}

struct Class {
    id: String,
    store: Mutex<GradeStore>,
}

async fn synced_class(sandbox: &Sandbox, client: &RosterClient) -> Class {
    let class = &sandbox.district().classes[0];
    let snapshot = fetch_snapshot(client, &class.id, &class.title, NOW)
        .await
        .unwrap_or_else(|e| panic!("snapshot: {e}"));
    let mut store = GradeStore::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    store
        .save_snapshot(&snapshot)
        .unwrap_or_else(|e| panic!("{e}"));
    Class {
        id: class.id.clone(),
        store: Mutex::new(store),
    }
}

impl Class {
    /// One write-back run that must not fail as a whole.
    async fn sync(&self, client: &RosterClient) -> rollbook_gradebook::SyncReport {
        sync(&self.store, client, &quick())
            .await
            .unwrap_or_else(|e| panic!("sync: {e}"))
    }

    fn store(&self) -> std::sync::MutexGuard<'_, GradeStore> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn first_cells(&self, n: usize) -> Vec<(String, String)> {
        let view = self
            .store()
            .gradebook(&ClassId::from(&self.id))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("view"));
        let item = view.columns[0].sourced_id.clone();
        view.students
            .iter()
            .take(n)
            .map(|s| (item.clone(), s.sourced_id.clone()))
            .collect()
    }

    fn enter(&self, cell: &(String, String), text: &str) -> CellState {
        let input = CellInput::parse(text).unwrap_or_else(|e| panic!("{e}"));
        self.store()
            .enter(
                &ClassId::from(&self.id),
                &LineItemId::from(&cell.0),
                &StudentId::from(&cell.1),
                CellChange::Input(input),
                NOW,
            )
            .unwrap_or_else(|e| panic!("enter: {e}"))
            .state
    }

    fn state(&self, cell: &(String, String)) -> CellState {
        let view = self
            .store()
            .gradebook(&ClassId::from(&self.id))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("view"));
        view.cells
            .into_iter()
            .find(|c| c.line_item_id == cell.0 && c.student_id == cell.1)
            .map_or(CellState::Synced, |c| c.state)
    }
}

async fn server_result(
    client: &RosterClient,
    class: &str,
    cell: &(String, String),
) -> Option<GradeResult> {
    client
        .results_for_class(class)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|r| r.line_item.sourced_id == cell.0 && r.student.sourced_id == cell.1)
}

#[tokio::test]
async fn grades_and_a_new_assignment_reach_the_server() {
    let sandbox = district().await;
    let client = teacher(&sandbox);
    let class = synced_class(&sandbox, &client).await;
    let cells = class.first_cells(3);
    class.enter(&cells[0], "9.5");
    class.enter(&cells[1], "M");
    class.enter(&cells[2], "X");
    let new = NewLineItem {
        title: "Field trip reflection".into(),
        category_id: None,
        max_points: 5.0,
        assign_date: "2026-11-20".into(),
        due_date: "2026-11-27".into(),
    };
    let item = class
        .store()
        .create_line_item(&ClassId::from(&class.id), &new)
        .unwrap_or_else(|e| panic!("{e}"));
    let new_cell = (item.clone(), cells[0].1.clone());
    class.enter(&new_cell, "4");
    let report = class.sync(&client).await;
    assert_eq!(report.sent.len(), 5, "{report:?}");
    assert!(
        report.refused.is_empty() && report.conflicts.is_empty(),
        "{report:?}"
    );
    assert_eq!((report.waiting, report.held), (0, 0));

    let scored = server_result(&client, &class.id, &cells[0])
        .await
        .unwrap_or_else(|| panic!("not on the server"));
    assert_eq!(scored.score, Some(9.5));
    let missing = server_result(&client, &class.id, &cells[1])
        .await
        .unwrap_or_else(|| panic!("not on the server"));
    assert_eq!(
        (missing.score_status.as_str(), missing.missing.as_deref()),
        ("not submitted", Some("true"))
    );
    let exempt = server_result(&client, &class.id, &cells[2])
        .await
        .unwrap_or_else(|| panic!("not on the server"));
    assert_eq!(exempt.score_status.as_str(), "exempt");
    let items = client
        .line_items_for_class(&class.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        items
            .iter()
            .any(|i| i.sourced_id == item && i.title == "Field trip reflection")
    );
    let on_new = server_result(&client, &class.id, &new_cell)
        .await
        .unwrap_or_else(|| panic!("not on the server"));
    assert_eq!(on_new.sourced_id.len(), 36, "the client chose the id");
    assert_eq!(class.state(&cells[0]), CellState::Sent);

    // A re-read from the server settles what was sent, and the marks read back the same.
    let snapshot = fetch_snapshot(&client, &class.id, "x", NOW)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    class
        .store()
        .save_snapshot(&snapshot)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(class.state(&cells[1]), CellState::Synced);
    let view = class
        .store()
        .gradebook(&ClassId::from(&class.id))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("view"));
    let marks: Vec<_> = view
        .cells
        .iter()
        .filter(|c| cells[1..].contains(&(c.line_item_id.clone(), c.student_id.clone())))
        .map(|c| c.value.mark)
        .collect();
    assert_eq!(marks.len(), 2);
    assert!(marks.contains(&Some(Mark::Missing)) && marks.contains(&Some(Mark::Exempt)));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_change_made_in_the_sis_meanwhile_is_a_conflict_not_overwritten() {
    let sandbox = district().await;
    let client = teacher(&sandbox);
    let class = synced_class(&sandbox, &client).await;
    let cell = class.first_cells(1).remove(0);
    class.enter(&cell, "6");
    // Someone edits the same result in the SIS.
    let (theirs_id, mut theirs) = match server_result(&client, &class.id, &cell).await {
        Some(r) => (r.sourced_id.clone(), r),
        None => panic!("the first cell has a result in the demo data"),
    };
    theirs.score = Some(2.0);
    theirs.score_status = "fully graded".to_owned().into();
    client
        .put(&["results", &theirs_id], &theirs)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let report = class.sync(&client).await;
    assert_eq!(report.conflicts.len(), 1, "{report:?}");
    assert!(report.sent.is_empty());
    let CellState::Conflict { server } = class.state(&cell) else {
        panic!("not a conflict: {:?}", class.state(&cell));
    };
    assert_eq!(server.score, Some(2.0), "the teacher sees the SIS's value");
    let kept = server_result(&client, &class.id, &cell)
        .await
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!(kept.score, Some(2.0), "nothing was overwritten");
    // Syncing again changes nothing until the teacher chooses.
    let again = class.sync(&client).await;
    assert!(again.sent.is_empty() && again.held == 1, "{again:?}");

    class
        .store()
        .resolve(
            &LineItemId::from(&cell.0),
            &StudentId::from(&cell.1),
            Resolution::KeepMine,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let report = class.sync(&client).await;
    assert_eq!(report.sent.len(), 1, "{report:?}");
    let mine = server_result(&client, &class.id, &cell)
        .await
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!(mine.score, Some(6.0));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_district_that_refuses_writes_keeps_the_grade_in_rollbook() {
    let sandbox = district().await;
    sandbox.update_knobs(|k| k.access.refuse_writes = true);
    let client = teacher(&sandbox);
    let class = synced_class(&sandbox, &client).await;
    let cell = class.first_cells(1).remove(0);
    class.enter(&cell, "8");
    let report = class.sync(&client).await;
    assert_eq!(report.refused.len(), 1, "{report:?}");
    let reason = report.refused[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains("does not accept grades"),
        "the server's words: {reason}"
    );
    let CellState::Refused { reason: shown } = class.state(&cell) else {
        panic!("not refused: {:?}", class.state(&cell));
    };
    assert_eq!(shown, reason);
    let view = class
        .store()
        .gradebook(&ClassId::from(&class.id))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("view"));
    let csv = rollbook_gradebook::export::gradebook_csv(&view).unwrap_or_else(|e| panic!("{e}"));
    let student = view
        .students
        .iter()
        .position(|s| s.sourced_id == cell.1)
        .unwrap_or(0);
    let row = csv.lines().nth(student + 1).unwrap_or_default();
    assert!(
        row.split(',').nth(3) == Some("8"),
        "the refused grade is in the export: {row}"
    );
    // Refused writes are not retried by themselves (the district said no)…
    let again = class.sync(&client).await;
    assert!(again.refused.is_empty() && again.sent.is_empty());
    // …but a new edit is tried again.
    sandbox.update_knobs(|k| k.access.refuse_writes = false);
    class.enter(&cell, "8.5");
    let report = class.sync(&client).await;
    assert_eq!(report.sent.len(), 1, "{report:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_failing_or_unreachable_server_is_retried_and_nothing_is_refused() {
    let sandbox = district().await;
    let client = teacher(&sandbox);
    let class = synced_class(&sandbox, &client).await;
    let cell = class.first_cells(1).remove(0);
    class.enter(&cell, "7");

    sandbox.update_knobs(|k| k.faults.server_error_rate = 1.0);
    let report = class.sync(&client).await;
    assert_eq!(
        (report.retrying.len(), report.refused.len(), report.offline),
        (1, 0, false),
        "{report:?}"
    );
    assert_eq!(class.state(&cell), CellState::Saved);

    sandbox.update_knobs(|k| k.faults.server_error_rate = 0.0);
    let port = sandbox.port();
    let district = sandbox.district().clone();
    let knobs = sandbox.knobs();
    sandbox.shutdown().await;
    let report = class.sync(&client).await;
    assert!(report.offline, "{report:?}");
    assert_eq!(report.waiting, 1);
    assert_eq!(class.state(&cell), CellState::Saved);

    // Back on the same address, with new keys: the old token is refused (401) and the
    // run stops for the caller to refresh the sign-in, with the grade still waiting.
    let back = Sandbox::serve(district, port, knobs)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    class.store().retry_now().unwrap_or_else(|e| panic!("{e}"));
    let refused = sync(&class.store, &client, &quick()).await;
    assert!(
        matches!(refused, Err(rollbook_gradebook::SyncError::Unauthorized(_))),
        "{refused:?}"
    );
    assert_eq!(class.state(&cell), CellState::Saved);
    let client = teacher(&back);
    let report = class.sync(&client).await;
    assert_eq!(report.sent.len(), 1, "{report:?}");
    back.shutdown().await;
}

#[tokio::test]
async fn a_write_that_landed_before_a_crash_is_not_sent_again() {
    let sandbox = district().await;
    let client = teacher(&sandbox);
    let class = synced_class(&sandbox, &client).await;
    let cell = class.first_cells(1).remove(0);
    class.enter(&cell, "3.5");
    // The previous run sent it, then died before recording that.
    let entry = class
        .store()
        .due(1)
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    let body: GradeResult = serde_json::from_str(entry.body.as_deref().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .put(&["results", &entry.id], &body)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let writes_before = sandbox.stats().get("roster_write").copied().unwrap_or(0);
    let report = class.sync(&client).await;
    assert_eq!(report.sent.len(), 1, "{report:?}");
    assert!(report.conflicts.is_empty());
    let writes_after = sandbox.stats().get("roster_write").copied().unwrap_or(0);
    assert_eq!(
        writes_before, writes_after,
        "the write was sent a second time"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn many_writes_in_a_class_are_checked_with_one_read_and_a_conflict_among_them_is_found() {
    let sandbox = district().await;
    let client = teacher(&sandbox);
    let class = synced_class(&sandbox, &client).await;
    let cells = class.first_cells(6);
    for (i, cell) in cells.iter().enumerate() {
        class.enter(cell, &format!("{}.25", i + 1));
    }
    // One of them changes in the SIS meanwhile.
    let mut theirs = server_result(&client, &class.id, &cells[2])
        .await
        .unwrap_or_else(|| panic!("no result"));
    theirs.score = Some(0.5);
    client
        .put(&["results", &theirs.sourced_id.clone()], &theirs)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let reads_before = sandbox.stats().get("roster").copied().unwrap_or(0);
    let report = class.sync(&client).await;
    let reads = sandbox.stats().get("roster").copied().unwrap_or(0) - reads_before;
    assert_eq!(
        (report.sent.len(), report.conflicts.len()),
        (5, 1),
        "{report:?}"
    );
    assert_eq!(
        report.conflicts[0].student_id.as_deref(),
        Some(cells[2].1.as_str())
    );
    // The class's results page(s), not one read per write.
    assert!(reads < 6, "{reads} reads for 6 writes");
    sandbox.shutdown().await;
}
