//! A model-based test of the whole write-back path (issue 18): random stories of a
//! teacher, a sync engine and a district that changes, deletes and refuses things,
//! run against the REAL store (a SQLCipher file, reopened from disk), outbox and
//! `sync()`, with the six invariants checked after every step and at quiescence.
//!
//! Why a plain `Vec<Action>` strategy rather than a state-machine crate: every action
//! picks its cell, conflict or orphan by index modulo what exists at that moment, so any
//! sequence is valid in any state. Proptest then shrinks by dropping and simplifying
//! steps with no preconditions to keep, and no second model has to mirror the store.
//!
//! `PROPTEST_CASES` sets the number of stories (default 200); `scripts/model-test.sh`
//! runs long ones. Each failure it found is a named test at the bottom.

#[path = "model/district.rs"]
mod district;
#[path = "model/world.rs"]
mod world;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rollbook_gradebook::ClassId;
use rollbook_gradebook::entry::Mark;

use district::Fault;
use world::{Action, Typed, World};

fn typed() -> impl Strategy<Value = Typed> {
    prop_oneof![
        6 => (0u8..=24).prop_map(Typed::Score),
        2 => prop_oneof![
            Just(Mark::Missing),
            Just(Mark::Exempt),
            Just(Mark::Late),
            Just(Mark::Incomplete)
        ]
        .prop_map(Typed::Mark),
        2 => Just(Typed::Clear),
        1 => proptest::option::of(0u8..3).prop_map(Typed::Comment),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        4 => Just(Fault::Pass),
        1 => Just(Fault::TimeoutApplied),
        1 => Just(Fault::TimeoutNotApplied),
        1 => prop_oneof![Just(5u64), Just(120)].prop_map(Fault::RateLimited),
        1 => Just(Fault::ServerError),
        1 => Just(Fault::RequestTimeout),
        1 => Just(Fault::NotFound),
        1 => Just(Fault::Forbidden),
        1 => Just(Fault::Unauthorized),
        1 => any::<bool>().prop_map(|applied| Fault::Hang { applied }),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let cell = (0usize..6, 0usize..4);
    prop_oneof![
        10 => (cell.clone(), typed()).prop_map(|((item, student), typed)| Action::Enter { item, student, typed }),
        2 => (cell.clone(), proptest::collection::vec(typed(), 1..4))
            .prop_map(|((item, student), values)| Action::Paste { item, student, values }),
        3 => Just(Action::Undo),
        1 => Just(Action::Redo),
        2 => Just(Action::CreateAssignment),
        6 => Just(Action::Sync),
        3 => Just(Action::SyncNow),
        3 => Just(Action::Snapshot),
        2 => Just(Action::Restart),
        1 => Just(Action::SignOut),
        1 => Just(Action::KeyLost),
        2 => (0usize..4, any::<bool>()).prop_map(|(which, keep_mine)| Action::Resolve { which, keep_mine }),
        1 => (0usize..4, 0u8..3).prop_map(|(which, action)| Action::SettleOrphan { which, action }),
        3 => (cell.clone(), 0u8..=24).prop_map(|((item, student), half_points)| Action::SisSet { item, student, half_points }),
        1 => cell.prop_map(|(item, student)| Action::SisDelete { item, student }),
        1 => Just(Action::SisAddItem),
        1 => (0usize..6).prop_map(|item| Action::SisDeleteItem { item }),
        1 => (0usize..4).prop_map(|student| Action::StudentLeaves { student }),
        4 => proptest::collection::vec(fault(), 1..6).prop_map(Action::Faults),
        3 => prop_oneof![Just(1u32), Just(3), Just(30), Just(130), Just(600)].prop_map(Action::Wait),
    ]
}

/// Runs one story; `Err` names the invariant broken and the step.
fn run(actions: &[Action]) -> Result<(), String> {
    let mut world = World::new()?;
    world.check()?;
    for (step, action) in actions.iter().enumerate() {
        world
            .apply(action)
            .and_then(|()| world.check())
            .map_err(|e| format!("step {step} ({action:?}): {e}"))?;
    }
    world.settle().map_err(|e| format!("at quiescence: {e}"))
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(200)
}

#[test]
fn the_sync_engine_keeps_every_invariant_against_a_model_district() {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let started = std::time::Instant::now();
    let result = runner.run(&proptest::collection::vec(action(), 1..40), |actions| {
        run(&actions).map_err(TestCaseError::fail)
    });
    let seconds = started.elapsed().as_secs_f64();
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "model test: {} cases passed in {seconds:.1} s ({:.0} cases/s)",
        cases(),
        f64::from(cases()) / seconds
    );
}

// Named regressions: each is a sequence the model test found (shrunk), fixed since.

fn story(actions: &[Action]) {
    if let Err(e) = run(actions) {
        panic!("{e}");
    }
}

/// Found by the model test: the teacher graded an empty cell, the SIS graded the same
/// cell under its own id before the grade was sent, and the teacher then cleared it. The
/// DELETE went to Rollbook's never-created id and the SIS's grade stayed, shown as if
/// the clear had happened. Now the re-read re-points the edit at the SIS's record, and
/// the clear is a conflict the teacher sees.
#[test]
fn a_clear_after_the_sis_graded_the_same_empty_cell_is_not_lost() {
    story(&[
        Action::SisSet {
            item: 1,
            student: 3,
            half_points: 0,
        },
        Action::Paste {
            item: 1,
            student: 3,
            values: vec![Typed::Score(0)],
        },
        Action::Snapshot,
        Action::Enter {
            item: 1,
            student: 3,
            typed: Typed::Clear,
        },
    ]);
}

/// Found by the long run: the teacher's pending grade was moved onto the SIS's record for
/// the same cell at a re-read, then the SIS deleted that record; the write went to the
/// deleted id and was refused for good (404). Now a write moved onto an SIS record is
/// based on no version of it: the deletion is a conflict, and "keep mine" writes a new
/// record.
#[test]
fn a_grade_moved_onto_an_sis_record_that_is_then_deleted_is_not_refused_for_good() {
    story(&[
        Action::SisSet {
            item: 0,
            student: 3,
            half_points: 0,
        },
        Action::Enter {
            item: 2,
            student: 3,
            typed: Typed::Score(0),
        },
        Action::Snapshot,
        Action::SisDelete {
            item: 0,
            student: 3,
        },
    ]);
}

/// Found by the long run: a new grade's PUT landed but its answer was lost, then the
/// SIS deleted the record; every later PUT to that id was refused (404) for good. Now a
/// create answered 404 is a conflict, and "keep mine" writes a new record.
#[test]
fn a_landed_create_the_sis_then_deleted_is_a_conflict_not_a_permanent_refusal() {
    story(&[
        Action::Faults(vec![Fault::Pass, Fault::TimeoutApplied]),
        Action::Enter {
            item: 1,
            student: 3,
            typed: Typed::Score(0),
        },
        Action::Sync,
        Action::SisDelete {
            item: 1,
            student: 3,
        },
    ]);
}

fn world() -> World {
    World::new().unwrap_or_else(|e| panic!("{e}"))
}

fn act(world: &mut World, actions: &[Action]) {
    for a in actions {
        world
            .apply(a)
            .and_then(|()| world.check())
            .unwrap_or_else(|e| panic!("{a:?}: {e}"));
    }
}

fn cell(world: &World, item: usize, student: usize) -> (String, String) {
    world
        .cell_at(item, student)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no cell"))
}

fn state(world: &World, cell: &(String, String)) -> rollbook_gradebook::CellState {
    world
        .value_in_view(cell)
        .ok()
        .flatten()
        .map_or(rollbook_gradebook::CellState::Synced, |(_, s)| s)
}

// Regressions for the defects of issue 18, against the model district (which answers a
// by-id read of a record that does not exist with 403, as the gateway must).

#[test]
fn a_single_grade_in_an_empty_cell_reaches_the_district() {
    let mut w = world();
    act(
        &mut w,
        &[
            Action::Enter {
                item: 1,
                student: 0,
                typed: Typed::Score(8),
            },
            Action::Sync,
        ],
    );
    let c = cell(&w, 1, 0);
    assert_eq!(w.district.lock().value_of(&c).score, Some(4.0));
    assert_eq!(state(&w, &c), rollbook_gradebook::CellState::Sent);
}

#[test]
fn a_new_assignment_and_its_grade_reach_the_district_and_the_grade_waits_for_it() {
    let mut w = world();
    // The assignment is refused once; its grade waits (not refused) and both go on
    // "Sync now".
    act(
        &mut w,
        &[
            Action::CreateAssignment,
            Action::Enter {
                item: 2,
                student: 1,
                typed: Typed::Score(6),
            },
        ],
    );
    let pending = w
        .store()
        .gradebook(&ClassId::from(district::CLASS))
        .ok()
        .flatten()
        .map(|v| v.pending);
    assert_eq!(
        pending,
        Some(2),
        "an unsent assignment counts as pending (the window retries)"
    );
    act(
        &mut w,
        &[Action::Faults(vec![Fault::Forbidden]), Action::Sync],
    );
    let c = cell(&w, 2, 1);
    assert_eq!(
        state(&w, &c),
        rollbook_gradebook::CellState::Saved,
        "the grade waits"
    );
    assert!(w.district.lock().value_of(&c).score.is_none());
    act(&mut w, &[Action::SyncNow]);
    assert_eq!(w.district.lock().value_of(&c).score, Some(3.0));
}

#[test]
fn a_refused_write_is_tried_again_on_sync_now() {
    let mut w = world();
    act(
        &mut w,
        &[
            Action::Enter {
                item: 0,
                student: 2,
                typed: Typed::Score(5),
            },
            Action::Faults(vec![Fault::Forbidden]),
            Action::Sync,
        ],
    );
    let c = cell(&w, 0, 2);
    assert!(matches!(
        state(&w, &c),
        rollbook_gradebook::CellState::Refused { .. }
    ));
    act(&mut w, &[Action::Sync]);
    assert!(
        w.district.lock().value_of(&c).score.is_none(),
        "a timer does not retry a refusal"
    );
    act(&mut w, &[Action::SyncNow]);
    assert_eq!(w.district.lock().value_of(&c).score, Some(2.5));
}

#[test]
fn a_cleared_cell_can_be_graded_again() {
    let mut w = world();
    // li-a/s0 holds 7 in the district.
    act(
        &mut w,
        &[
            Action::Enter {
                item: 0,
                student: 0,
                typed: Typed::Clear,
            },
            Action::Sync,
            Action::Enter {
                item: 0,
                student: 0,
                typed: Typed::Score(10),
            },
            Action::Sync,
        ],
    );
    let c = cell(&w, 0, 0);
    assert_eq!(w.district.lock().value_of(&c).score, Some(5.0));
    assert_eq!(state(&w, &c), rollbook_gradebook::CellState::Sent);
}

#[test]
fn the_districts_later_change_shows_after_a_sent_grade() {
    let mut w = world();
    act(
        &mut w,
        &[
            Action::Enter {
                item: 0,
                student: 1,
                typed: Typed::Score(17),
            },
            Action::Sync,
            Action::SisSet {
                item: 0,
                student: 1,
                half_points: 18,
            },
            Action::Snapshot,
        ],
    );
    let c = cell(&w, 0, 1);
    let shown = w
        .value_in_view(&c)
        .ok()
        .flatten()
        .map(|(v, s)| (v.score, s));
    assert_eq!(
        shown,
        Some((Some(9.0), rollbook_gradebook::CellState::Synced))
    );
}

#[test]
fn an_undo_made_while_its_write_is_on_its_way_is_sent() {
    let mut w = world();
    // li-a/s0 holds 7; the teacher types 4, the sync is cut off after the PUT landed,
    // the teacher undoes back to 7.
    act(
        &mut w,
        &[
            Action::Enter {
                item: 0,
                student: 0,
                typed: Typed::Score(8),
            },
            Action::Faults(vec![Fault::Hang { applied: true }]),
            Action::Sync,
            Action::Undo,
            Action::Sync,
        ],
    );
    let c = cell(&w, 0, 0);
    assert_eq!(w.district.lock().value_of(&c).score, Some(7.0));
}

#[test]
fn one_429_stops_the_batch_and_not_even_sync_now_sends_before_retry_after() {
    let mut w = world();
    let typing: Vec<Action> = (0..4)
        .map(|s| Action::Enter {
            item: 1,
            student: s,
            typed: Typed::Score(3),
        })
        .collect();
    act(&mut w, &typing);
    act(&mut w, &[Action::Faults(vec![Fault::RateLimited(120)])]);
    let before = w.district.lock().requests;
    let report = w
        .run_sync(false)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no report"));
    assert_eq!(
        w.district.lock().requests - before,
        1,
        "one request, then stop"
    );
    assert!(
        report.paused_by_server && report.paused_seconds == Some(120),
        "{report:?}"
    );
    let now = w
        .run_sync(true)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no report"));
    assert_eq!(
        w.district.lock().requests - before,
        1,
        "Sync now waits out Retry-After"
    );
    assert!(now.paused_by_server, "{now:?}");
    act(&mut w, &[Action::Wait(60), Action::Sync]);
    assert_eq!(w.district.lock().requests - before, 1);
    act(&mut w, &[Action::Wait(61), Action::Sync]);
    let c = cell(&w, 1, 3);
    assert_eq!(w.district.lock().value_of(&c).score, Some(1.5));
}

#[test]
fn a_5xx_backs_off_exponentially_and_408_is_a_retry_not_a_refusal() {
    let mut w = world();
    act(
        &mut w,
        &[
            Action::Enter {
                item: 1,
                student: 2,
                typed: Typed::Score(2),
            },
            Action::Faults(vec![Fault::RequestTimeout]),
            Action::Sync,
        ],
    );
    let c = cell(&w, 1, 2);
    assert_eq!(
        state(&w, &c),
        rollbook_gradebook::CellState::Saved,
        "408 is not a refusal"
    );
    let first = w
        .store()
        .pause()
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no back-off"));
    act(
        &mut w,
        &[
            Action::Wait(3),
            Action::Faults(vec![Fault::ServerError]),
            Action::Sync,
        ],
    );
    let second = w
        .store()
        .pause()
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no back-off"));
    let now = w.clock.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(first.until_ms - (now - 3000), 2000);
    assert_eq!(second.until_ms - now, 4000, "doubled");
    assert!(!second.by_server);
    act(&mut w, &[Action::Wait(5), Action::Sync]);
    assert_eq!(w.district.lock().value_of(&c).score, Some(1.0));
}

#[test]
fn edits_of_a_deleted_assignment_are_listed_and_settled() {
    let mut w = world();
    act(
        &mut w,
        &[
            Action::Enter {
                item: 1,
                student: 3,
                typed: Typed::Score(9),
            },
            Action::SisDeleteItem { item: 1 },
            Action::Snapshot,
        ],
    );
    let orphans = w.store().orphans().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(orphans.len(), 1);
    assert_eq!(
        orphans[0].reason,
        rollbook_gradebook::OrphanReason::AssignmentGone
    );
    assert_eq!(orphans[0].value.score, Some(4.5));
    let before = w.district.lock().requests;
    act(&mut w, &[Action::Sync]);
    assert_eq!(
        w.district.lock().requests,
        before,
        "not sent outside the class"
    );
    act(
        &mut w,
        &[Action::SettleOrphan {
            which: 0,
            action: 2,
        }],
    );
    assert_eq!(w.store().unsent_count().ok(), Some(0));
}
