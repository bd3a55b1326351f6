//! The local store against a real database file: commit before confirming, encryption,
//! migrations from every earlier schema, the outbox's revisions, conflicts.

mod common;

use common::{CLASS, snapshot};
use rollbook_gradebook::entry::{CellInput, CellValue, Mark};
use rollbook_gradebook::store::{
    CellChange, CellState, GradeStore, NewLineItem, Resolution, SCHEMA_VERSION, StoreKey,
};
use rollbook_gradebook::{ClassId, LineItemId, StudentId};

const NOW: &str = "2026-09-02T10:00:00.000Z";

fn fresh() -> (tempfile::TempDir, std::path::PathBuf, StoreKey) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let path = dir.path().join("gradebook.db");
    (dir, path, StoreKey::generate())
}

fn open(path: &std::path::Path, key: &StoreKey) -> GradeStore {
    GradeStore::open(path, key).unwrap_or_else(|e| panic!("open: {e}"))
}

fn score(store: &mut GradeStore, item: &str, student: &str, text: &str) -> CellState {
    let input = CellInput::parse(text).unwrap_or_else(|e| panic!("{e}"));
    store
        .enter(
            &ClassId::from(CLASS),
            &LineItemId::from(item),
            &StudentId::from(student),
            CellChange::Input(input),
            NOW,
        )
        .unwrap_or_else(|e| panic!("enter: {e}"))
        .state
}

fn cell(store: &GradeStore, item: &str, student: &str) -> Option<(CellValue, CellState)> {
    let view = store.gradebook(&ClassId::from(CLASS)).ok()??;
    view.cells
        .into_iter()
        .find(|c| c.line_item_id == item && c.student_id == student)
        .map(|c| (c.value, c.state))
}

#[test]
fn an_edit_is_on_disk_when_enter_returns_and_queued_once() {
    let (_dir, path, key) = fresh();
    {
        let mut store = open(&path, &key);
        store
            .save_snapshot(&snapshot())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(score(&mut store, "li-1", "s2", "9"), CellState::Saved);
        assert_eq!(score(&mut store, "li-1", "s2", "8.5"), CellState::Saved);
        assert_eq!(score(&mut store, "li-2", "s3", "M"), CellState::Saved);
        // Dropped without any close: what was committed must be there.
    }
    let store = open(&path, &key);
    let (value, state) = cell(&store, "li-1", "s2").unwrap_or_else(|| panic!("edit lost"));
    assert_eq!((value.score, state), (Some(8.5), CellState::Saved));
    let due = store.due(100).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(due.len(), 2, "one outbox entry per cell: {due:?}");
    let first = due
        .iter()
        .find(|e| e.cell == Some(("li-1".into(), "s2".into())))
        .unwrap_or_else(|| panic!("no outbox entry"));
    assert_eq!(first.revision, 2);
    assert!(first.body.as_deref().unwrap_or_default().contains("8.5"));
    let missing = due
        .iter()
        .find(|e| e.cell == Some(("li-2".into(), "s3".into())))
        .unwrap_or_else(|| panic!("no outbox entry"));
    let body: serde_json::Value = serde_json::from_str(missing.body.as_deref().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body["scoreStatus"], "not submitted");
    assert_eq!(body["missing"], "true");
    assert_eq!(body["score"], 0.0);
}

#[test]
fn the_file_is_encrypted_and_opens_only_with_its_key() {
    let (_dir, path, key) = fresh();
    {
        let mut store = open(&path, &key);
        store
            .save_snapshot(&snapshot())
            .unwrap_or_else(|e| panic!("{e}"));
        score(&mut store, "li-1", "s2", "9");
        store
            .save_page(
                "roster:c1",
                r#"[{"givenName":"Wenceslas"}]"#,
                "2026-11-29T10:00:00Z",
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // WAL pages are checkpointed into the file on close; look at every file.
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        bytes.extend(std::fs::read(&name).unwrap_or_default());
    }
    assert!(!bytes.is_empty());
    for secret in [
        &b"Quillfeather"[..],
        b"Zanzibar",
        b"SQLite format 3",
        b"Algebra",
        b"Wenceslas",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "{} is readable in the file",
            String::from_utf8_lossy(secret)
        );
    }
    let wrong = GradeStore::open(&path, &StoreKey::generate()).err();
    let wrong = wrong.unwrap_or_else(|| panic!("opened with another key"));
    assert_eq!(wrong.code(), "local_store_failed");
    assert!(wrong.to_string().contains("key"), "{wrong}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
    }
    // The key round-trips through its keychain text.
    let again = StoreKey::from_hex(&key.to_hex()).unwrap_or_else(|| panic!("hex"));
    assert!(GradeStore::open(&path, &again).is_ok());
    assert_eq!(format!("{key:?}"), "StoreKey(…)");
}

/// A store an older release left readable by others (or one moved in from elsewhere) is
/// made its owner's only when opened, with its companions.
#[cfg(unix)]
#[test]
fn an_existing_store_and_its_companions_are_made_private_when_opened() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path, key) = fresh();
    drop(GradeStore::open(&path, &key).unwrap_or_else(|e| panic!("{e}")));
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::path::PathBuf::from(wal);
    std::fs::write(&wal, b"").unwrap_or_else(|e| panic!("{e}"));
    for file in [&path, &wal] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // Checked while open: SQLite removes the write-ahead log when the last connection
    // closes.
    let store = GradeStore::open(&path, &key).unwrap_or_else(|e| panic!("{e}"));
    for file in [&path, &wal] {
        let mode = std::fs::metadata(file).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600), "{}", file.display());
    }
    drop(store);
}

#[test]
fn every_earlier_schema_is_migrated_with_its_data() {
    for from in 0..SCHEMA_VERSION {
        let (_dir, path, key) = fresh();
        {
            let mut old = GradeStore::open_with_schema(&path, &key, from)
                .unwrap_or_else(|e| panic!("schema {from}: {e}"));
            assert_eq!(old.schema_version().ok(), Some(from));
            if from >= 1 {
                old.save_snapshot(&snapshot())
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        if from >= 1 {
            // The edit as version 1's schema holds it (today's `enter` writes columns
            // the old schema does not have).
            let conn = rusqlite_raw(&path, &key);
            conn.execute_batch(
                "INSERT INTO edits (line_item_id, student_id, class_id, result_id, value, base_modified, state, edited_at)
                 VALUES ('li-2', 's1', 'class-1', 'r-new', '{\"score\":15.0}', NULL, 'saved', '2026-09-02T10:00:00Z');
                 INSERT INTO outbox (record_id, kind, method, body, base_modified, class_id, line_item_id, student_id, queued_at)
                 VALUES ('results/r-new', 'result', 'PUT', '{}', NULL, 'class-1', 'li-2', 's1', 1);",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        let mut store = open(&path, &key);
        assert_eq!(
            store.schema_version().ok(),
            Some(SCHEMA_VERSION),
            "from {from}"
        );
        store.check_integrity().unwrap_or_else(|e| panic!("{e}"));
        if from >= 1 {
            let (value, _) = cell(&store, "li-2", "s1")
                .unwrap_or_else(|| panic!("lost in migration from {from}"));
            assert_eq!(value.score, Some(15.0));
        }
        // Version 3's saved pages work after the upgrade, and survive reopening.
        store
            .save_page("classes:current", "[1]", "2026-11-29T10:00:00Z")
            .unwrap_or_else(|e| panic!("{e}"));
        drop(store);
        let mut store = open(&path, &key);
        let saved = store
            .saved_page("classes:current")
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the saved page is gone after reopening (from {from})"));
        assert_eq!(
            (saved.body.as_str(), saved.read_at.as_str()),
            ("[1]", "2026-11-29T10:00:00Z")
        );
        // Version 2's table works after the upgrade.
        let mut rules = store
            .rules(&ClassId::from(CLASS))
            .unwrap_or_else(|e| panic!("{e}"));
        rules.missing_counts_as_zero = false;
        store
            .set_rules(&ClassId::from(CLASS), &rules)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !store
                .rules(&ClassId::from(CLASS))
                .unwrap_or_else(|e| panic!("{e}"))
                .missing_counts_as_zero
        );
    }
}

#[test]
fn a_saved_page_is_replaced_whole_and_never_shown_in_debug() {
    let (_dir, path, key) = fresh();
    let mut store = open(&path, &key);
    assert!(
        store
            .saved_page("roster:c1")
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    for (body, at) in [
        ("[\"Ada\"]", "2026-11-29T10:00:00Z"),
        ("[\"Grace\"]", "2026-11-29T11:00:00Z"),
    ] {
        store
            .save_page("roster:c1", body, at)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let saved = store
        .saved_page("roster:c1")
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("nothing saved"));
    assert_eq!(saved.body, "[\"Grace\"]");
    assert_eq!(saved.read_at, "2026-11-29T11:00:00Z");
    assert!(!format!("{saved:?}").contains("Grace"));
    assert!(
        store
            .saved_page("roster:c2")
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
}

#[test]
fn a_store_from_a_newer_rollbook_is_refused_not_damaged() {
    let (_dir, path, key) = fresh();
    {
        let store = open(&path, &key);
        drop(store);
    }
    {
        let conn = rusqlite_raw(&path, &key);
        conn.pragma_update(None, "user_version", 99)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let error = GradeStore::open(&path, &key)
        .err()
        .unwrap_or_else(|| panic!("opened"));
    assert!(error.to_string().contains("newer Rollbook"), "{error}");
}

fn rusqlite_raw(path: &std::path::Path, key: &StoreKey) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex()))
        .unwrap_or_else(|e| panic!("{e}"));
    conn
}

#[test]
fn a_newer_edit_is_not_marked_sent_by_an_older_send() {
    let (_dir, path, key) = fresh();
    let mut store = open(&path, &key);
    store
        .save_snapshot(&snapshot())
        .unwrap_or_else(|e| panic!("{e}"));
    score(&mut store, "li-1", "s2", "6");
    let sending = store.due(10).unwrap_or_else(|e| panic!("{e}")).remove(0);
    // The teacher types again while the first value is on the wire.
    score(&mut store, "li-1", "s2", "7");
    store
        .mark_sent(&sending, Some("2026-09-02T10:00:01.000Z"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let (value, state) = cell(&store, "li-1", "s2").unwrap_or_else(|| panic!("lost"));
    assert_eq!((value.score, state), (Some(7.0), CellState::Saved));
    let due = store.due(10).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].revision, 2);
    // Based on the version the first write made, so it is not taken for a conflict.
    assert_eq!(
        due[0].base_modified.as_deref(),
        Some("2026-09-02T10:00:01.000Z")
    );
}

#[test]
fn marks_comments_and_undo_back_to_the_server_value() {
    let (_dir, path, key) = fresh();
    let mut store = open(&path, &key);
    store
        .save_snapshot(&snapshot())
        .unwrap_or_else(|e| panic!("{e}"));
    // r-1 has 7 on the server. Typing 7 again is no change at all.
    assert_eq!(score(&mut store, "li-1", "s1", "7"), CellState::Synced);
    assert_eq!(store.due(10).map(|d| d.len()).ok(), Some(0));
    assert_eq!(score(&mut store, "li-1", "s1", "L"), CellState::Saved);
    let (value, _) = cell(&store, "li-1", "s1").unwrap_or_else(|| panic!("lost"));
    assert_eq!((value.score, value.mark), (Some(7.0), Some(Mark::Late)));
    store
        .enter(
            &ClassId::from(CLASS),
            &LineItemId::from("li-1"),
            &StudentId::from("s1"),
            CellChange::Comment(Some("Handed in Monday".into())),
            NOW,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // Undo to what the server has: the edit and its outbox entry go away.
    let server = CellValue {
        score: Some(7.0),
        mark: None,
        comment: None,
    };
    let undone = store
        .enter(
            &ClassId::from(CLASS),
            &LineItemId::from("li-1"),
            &StudentId::from("s1"),
            CellChange::Value(server),
            NOW,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(undone.state, CellState::Synced);
    assert_eq!(store.due(10).map(|d| d.len()).ok(), Some(0));
    // A score above the maximum is kept and flagged.
    let over = store
        .enter(
            &ClassId::from(CLASS),
            &LineItemId::from("li-1"),
            &StudentId::from("s3"),
            CellChange::Input(CellInput::Score(12.0)),
            NOW,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(over.over_max);
    // Unknown cells are refused with a clear code.
    let missing = store.enter(
        &ClassId::from(CLASS),
        &LineItemId::from("li-9"),
        &StudentId::from("s1"),
        CellChange::Input(CellInput::Clear),
        NOW,
    );
    assert_eq!(
        missing.err().map(|e| e.code().as_str()),
        Some("gradebook_not_found")
    );
    let stranger = store.enter(
        &ClassId::from(CLASS),
        &LineItemId::from("li-1"),
        &StudentId::from("s9"),
        CellChange::Input(CellInput::Clear),
        NOW,
    );
    assert_eq!(
        stranger.err().map(|e| e.code().as_str()),
        Some("gradebook_not_found")
    );
}

#[test]
fn conflicts_wait_for_the_teacher_and_either_choice_settles_them() {
    let (_dir, path, key) = fresh();
    let mut store = open(&path, &key);
    store
        .save_snapshot(&snapshot())
        .unwrap_or_else(|e| panic!("{e}"));
    for resolution in [Resolution::KeepMine, Resolution::TakeTheirs] {
        score(&mut store, "li-1", "s1", "9");
        let entry = store.due(10).unwrap_or_else(|e| panic!("{e}")).remove(0);
        let theirs = CellValue {
            score: Some(3.0),
            mark: None,
            comment: None,
        };
        store
            .mark_conflict(&entry, Some((&theirs, Some("2026-09-03T00:00:00.000Z"))))
            .unwrap_or_else(|e| panic!("{e}"));
        let (_, state) = cell(&store, "li-1", "s1").unwrap_or_else(|| panic!("lost"));
        assert_eq!(
            state,
            CellState::Conflict {
                server: theirs.clone()
            }
        );
        assert_eq!(
            store.due(10).map(|d| d.len()).ok(),
            Some(0),
            "a conflict is never sent"
        );
        // Typing again keeps the conflict: the server's change is still unseen.
        assert!(matches!(
            score(&mut store, "li-1", "s1", "9.5"),
            CellState::Conflict { .. }
        ));
        let state = store
            .resolve(
                &LineItemId::from("li-1"),
                &StudentId::from("s1"),
                resolution,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let (value, _) = cell(&store, "li-1", "s1").unwrap_or_else(|| panic!("lost"));
        match resolution {
            Resolution::KeepMine => {
                assert_eq!((state, value.score), (CellState::Saved, Some(9.5)));
                let due = store.due(10).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    due[0].base_modified.as_deref(),
                    Some("2026-09-03T00:00:00.000Z")
                );
                store
                    .mark_sent(&due[0], Some("2026-09-03T00:00:01.000Z"), None)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            Resolution::TakeTheirs => {
                assert_eq!((state, value.score), (CellState::Synced, Some(3.0)));
                assert_eq!(store.due(10).map(|d| d.len()).ok(), Some(0));
            }
        }
    }
}

#[test]
fn a_new_assignment_is_queued_before_its_grades() {
    let (_dir, path, key) = fresh();
    let mut store = open(&path, &key);
    store
        .save_snapshot(&snapshot())
        .unwrap_or_else(|e| panic!("{e}"));
    let new = NewLineItem {
        title: "Lab report".into(),
        category_id: Some("hw".into()),
        max_points: 25.0,
        assign_date: "2026-09-01".into(),
        due_date: "2026-09-08".into(),
    };
    let id = store
        .create_line_item(&ClassId::from(CLASS), &new)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(uuid_like(&id), "{id}");
    score(&mut store, &id, "s1", "20");
    let due = store.due(10).unwrap_or_else(|e| panic!("{e}"));
    // Its grade waits for it: sent before the assignment exists, it would be refused.
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, id, "the line item goes first");
    assert_eq!(store.unsent_count().ok(), Some(2));
    // A re-sync from the server keeps the local assignment and its grade.
    store
        .save_snapshot(&snapshot())
        .unwrap_or_else(|e| panic!("{e}"));
    let view = store
        .gradebook(&ClassId::from(CLASS))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no view"));
    let column = view.columns.iter().find(|c| c.sourced_id == id);
    assert!(column.is_some_and(|c| c.local));
    let bad = NewLineItem {
        due_date: "2026-08-01".into(),
        ..new.clone()
    };
    assert_eq!(
        store
            .create_line_item(&ClassId::from(CLASS), &bad)
            .err()
            .map(|e| e.code().as_str()),
        Some("grade_invalid")
    );
    let untitled = NewLineItem {
        title: " ".into(),
        ..new
    };
    assert!(
        store
            .create_line_item(&ClassId::from(CLASS), &untitled)
            .is_err()
    );
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4
}

#[test]
fn averages_come_with_the_gradebook() {
    let (_dir, path, key) = fresh();
    let mut store = open(&path, &key);
    store
        .save_snapshot(&snapshot())
        .unwrap_or_else(|e| panic!("{e}"));
    score(&mut store, "li-2", "s1", "20");
    score(&mut store, "li-2", "s2", "X");
    let view = store
        .gradebook(&ClassId::from(CLASS))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no view"));
    // s1: 7/10 + 20/20 = 27/30.
    assert_eq!(view.student_averages[0].percent, Some(90.0));
    assert_eq!(view.student_averages[0].letter.as_deref(), Some("A"));
    // s2: only an exempt cell: nothing counts.
    assert_eq!(view.student_averages[1].percent, None);
    assert_eq!(view.pending, 2);
}

// Issue 18: class averages counted students no longer enrolled; the store gives the
// averages its roster, so an edit kept for a student who left counts nowhere.
#[test]
fn class_averages_count_only_the_students_enrolled_now() {
    let (_dir, path, key) = fresh();
    let mut store = open(&path, &key);
    store
        .save_snapshot(&snapshot())
        .unwrap_or_else(|e| panic!("{e}"));
    score(&mut store, "li-1", "s2", "0");
    let mut left = snapshot();
    left.students.retain(|s| s.sourced_id != "s2");
    store.save_snapshot(&left).unwrap_or_else(|e| panic!("{e}"));
    let view = store
        .gradebook(&ClassId::from(CLASS))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no view"));
    assert!(
        view.cells.iter().any(|c| c.student_id == "s2"),
        "the edit is kept (to be settled), so the average must leave it out itself"
    );
    // s1's 7 of 10 only, not (7 + 0) / 2.
    assert_eq!(view.item_averages[0].percent, Some(70.0));
    assert_eq!(view.item_averages[0].counted, 1);
    assert_eq!(view.class_average.percent_text.as_deref(), Some("70.0"));
    assert_eq!(view.class_average.counted, 1);
}

#[test]
fn rules_that_cannot_work_are_refused_in_words() {
    use rollbook_gradebook::averages::{GradingRules, LetterGrade, LetterScale};
    let (_dir, path, key) = fresh();
    let mut store = open(&path, &key);
    let grade = |letter: &str, min_percent: f64| LetterGrade {
        letter: letter.into(),
        min_percent,
    };
    let rules = GradingRules {
        scale: LetterScale {
            grades: vec![grade("A", 90.0), grade("B", 95.0), grade("F", 0.0)],
        },
        ..GradingRules::default()
    };
    let refused = store
        .set_rules(&ClassId::from(CLASS), &rules)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        refused.as_deref(),
        Some(
            "Each letter needs a lower minimum than the one above it: B (95%) is not below A (90%)."
        )
    );
    assert_eq!(
        store.rules(&ClassId::from(CLASS)).ok(),
        Some(GradingRules::default())
    );
}

/// The window and a CLI command share the store: an open while the other holds the
/// database locked waits for it (busy_timeout is set before the first read) instead of
/// failing with "database is locked".
#[test]
fn an_open_waits_for_another_process_holding_the_lock() {
    let (_dir, path, key) = fresh();
    drop(open(&path, &key));
    let conn = rusqlite_raw(&path, &key);
    conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; INSERT INTO meta (key, value) VALUES ('x', 'y'); COMMIT;")
        .unwrap_or_else(|e| panic!("{e}"));
    let holder = std::thread::spawn(move || {
        // Longer than rusqlite's own default wait (5 s), which is what the first read
        // had before the store's busy_timeout was set ahead of it.
        std::thread::sleep(std::time::Duration::from_millis(5500));
        drop(conn);
    });
    let started = std::time::Instant::now();
    let opened = GradeStore::open(&path, &key);
    holder.join().unwrap_or_else(|_| panic!("holder"));
    assert!(opened.is_ok(), "{:?}", opened.err());
    assert!(started.elapsed() >= std::time::Duration::from_secs(5));
}

#[test]
fn a_store_closed_for_good_refuses_every_edit_and_lets_its_file_go() {
    let (_dir, path, key) = fresh();
    let mut store = open(&path, &key);
    store
        .save_snapshot(&snapshot())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(score(&mut store, "li-1", "s2", "9"), CellState::Saved);
    store.close_for_good().unwrap_or_else(|e| panic!("{e}"));
    // A caller still holding the store (picked up before core replaced it) gets an
    // error, so the window never shows this grade as saved.
    let input = CellInput::parse("7").unwrap_or_else(|e| panic!("{e}"));
    let refused = store.enter(
        &ClassId::from(CLASS),
        &LineItemId::from("li-1"),
        &StudentId::from("s3"),
        CellChange::Input(input),
        NOW,
    );
    assert!(
        refused.is_err(),
        "an edit went into a closed store: {refused:?}"
    );
    assert!(store.unsent_count().is_err());
    drop(store);
    // What was committed before closing is in the file, which another opener can use.
    let again = open(&path, &key);
    assert_eq!(again.unsent_count().unwrap_or_else(|e| panic!("{e}")), 1);
}

/// One count of what the district does not have yet, for the status line and sign-out
/// alike: grades (waiting, refused, in conflict, orphaned) apart from new assignments,
/// in the class shown and in the others, adding up to what sign-out counts.
#[test]
fn unsent_is_counted_by_class_with_assignments_apart_from_grades() {
    use rollbook_gradebook::store::{Unsent, UnsentByClass};
    const OTHER: &str = "class-2";
    let (_dir, path, key) = fresh();
    let mut store = open(&path, &key);
    store
        .save_snapshot(&snapshot())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut other = snapshot();
    other.class_id = OTHER.into();
    other.line_items = vec![common::line_item("lb-1", 10.0)];
    other.results.clear();
    store
        .save_snapshot(&other)
        .unwrap_or_else(|e| panic!("{e}"));
    let new = |title: &str| NewLineItem {
        title: title.into(),
        category_id: None,
        max_points: 10.0,
        assign_date: "2026-09-01".into(),
        due_date: "2026-09-08".into(),
    };
    let enter = |store: &mut GradeStore, class: &str, item: &str, student: &str, text: &str| {
        let input = CellInput::parse(text).unwrap_or_else(|e| panic!("{e}"));
        store
            .enter(
                &ClassId::from(class),
                &LineItemId::from(item),
                &StudentId::from(student),
                CellChange::Input(input),
                NOW,
            )
            .unwrap_or_else(|e| panic!("enter: {e}"));
    };
    let entry_for = |store: &GradeStore, item: &str, student: &str| {
        store
            .due(100)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .find(|e| e.cell == Some((item.into(), student.into())))
            .unwrap_or_else(|| panic!("no entry for {item}/{student}"))
    };

    // This class: one waiting, one refused, one in conflict, one for a student who
    // then leaves (an orphan no cell shows), one sent; a new assignment with a grade.
    enter(&mut store, CLASS, "li-1", "s1", "9");
    enter(&mut store, CLASS, "li-1", "s2", "8");
    enter(&mut store, CLASS, "li-1", "s3", "7");
    enter(&mut store, CLASS, "li-2", "s3", "15");
    enter(&mut store, CLASS, "li-2", "s1", "12");
    let refused = entry_for(&store, "li-1", "s2");
    store
        .mark_refused(&refused, "no")
        .unwrap_or_else(|e| panic!("{e}"));
    let conflict = entry_for(&store, "li-1", "s3");
    store
        .mark_conflict(&conflict, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let sent = entry_for(&store, "li-2", "s1");
    store
        .mark_sent(&sent, Some("2026-09-03T00:00:01.000Z"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let lab = store
        .create_line_item(&ClassId::from(CLASS), &new("Lab"))
        .unwrap_or_else(|e| panic!("{e}"));
    enter(&mut store, CLASS, &lab, "s2", "6");
    let mut left = snapshot();
    left.students.retain(|s| s.sourced_id != "s3");
    store.save_snapshot(&left).unwrap_or_else(|e| panic!("{e}"));
    let orphans = store.orphans().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        orphans
            .iter()
            .any(|o| (o.line_item_id.as_str(), o.student_id.as_str()) == ("li-2", "s3")),
        "{orphans:?}"
    );

    // The other class: two grades, and a new assignment the district refused.
    enter(&mut store, OTHER, "lb-1", "s1", "5");
    enter(&mut store, OTHER, "lb-1", "s2", "4");
    let quiz = store
        .create_line_item(&ClassId::from(OTHER), &new("Quiz"))
        .unwrap_or_else(|e| panic!("{e}"));
    let quiz_entry = store
        .due(100)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|e| e.id == quiz)
        .unwrap_or_else(|| panic!("the new assignment is not queued"));
    store
        .mark_refused(&quiz_entry, "no")
        .unwrap_or_else(|e| panic!("{e}"));

    let here = Unsent {
        grades: 5,
        assignments: 1,
    };
    let there = Unsent {
        grades: 2,
        assignments: 1,
    };
    let view = |class: &str| {
        store
            .gradebook(&ClassId::from(class))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no view of {class}"))
    };
    assert_eq!(
        view(CLASS).unsent,
        UnsentByClass {
            this_class: here,
            other_classes: there
        }
    );
    assert_eq!(
        view(OTHER).unsent,
        UnsentByClass {
            this_class: there,
            other_classes: here
        }
    );
    // The halves add up to what sign-out counts, whichever class is shown.
    let all = store
        .unsent_by_class(&ClassId::from("no-such-class"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.this_class, Unsent::default());
    assert_eq!(all.other_classes.total(), 9);
    assert_eq!(store.unsent_count().ok(), Some(all.all().total()));
    assert_eq!(view(CLASS).unsent.all(), all.other_classes);
    assert_eq!(store.unsent().ok(), Some(all.other_classes));
}
