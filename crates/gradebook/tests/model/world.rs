//! The world a model test runs in: the real store (a SQLCipher file in a temp dir), the
//! real outbox and `sync()`, the model district, and the teacher. `apply` performs one
//! action; `check` states the invariants of issue 18 after it; `settle` brings the world
//! to quiescence and checks invariant 4.

use rollbook_gradebook::{ClassId, LineItemId, ResultId, StudentId};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rollbook_gradebook::entry::{CellInput, CellValue, Mark};
use rollbook_gradebook::store::{
    CellChange, CellState, ClassSnapshot, GradeStore, NewLineItem, OrphanAction, Resolution,
    StoreKey, StudentName, result_record, store_files,
};
use rollbook_gradebook::{SyncOptions, sync};

use super::district::{CLASS, Cell, District, Fault};

const NOW: &str = "2026-11-27T09:00:00.000Z";

/// What the teacher types into a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Typed {
    /// Half points, 0..=24.
    Score(u8),
    Mark(Mark),
    Clear,
    Comment(Option<u8>),
}

impl Typed {
    fn change(self) -> CellChange {
        match self {
            Typed::Score(h) => CellChange::Input(CellInput::Score(f64::from(h) / 2.0)),
            Typed::Mark(m) => CellChange::Input(CellInput::Mark(m)),
            Typed::Clear => CellChange::Input(CellInput::Clear),
            Typed::Comment(c) => CellChange::Comment(c.map(|c| format!("note {c}"))),
        }
    }
}

/// One step of a story. Indexes pick among what exists at that moment (modulo), so
/// every sequence is meaningful and shrinks to a shorter meaningful one.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Enter {
        item: usize,
        student: usize,
        typed: Typed,
    },
    /// A block pasted down a column from (item, student).
    Paste {
        item: usize,
        student: usize,
        values: Vec<Typed>,
    },
    Undo,
    Redo,
    CreateAssignment,
    /// A timer's (or an edit's) sync: waits out every back-off.
    Sync,
    /// The teacher's "Sync now".
    SyncNow,
    /// The class re-read from the district.
    Snapshot,
    /// The process dies and the store is opened again from its file.
    Restart,
    SignOut,
    /// The keychain loses the store's key: it is opened with another, must not be
    /// damaged, is set aside, and is opened again once the key is back.
    KeyLost,
    Resolve {
        which: usize,
        keep_mine: bool,
    },
    SettleOrphan {
        which: usize,
        action: u8,
    },
    SisSet {
        item: usize,
        student: usize,
        half_points: u8,
    },
    SisDelete {
        item: usize,
        student: usize,
    },
    SisAddItem,
    SisDeleteItem {
        item: usize,
    },
    StudentLeaves {
        student: usize,
    },
    Faults(Vec<Fault>),
    /// Seconds pass.
    Wait(u32),
}

pub struct World {
    _dir: tempfile::TempDir,
    path: PathBuf,
    key: StoreKey,
    pub clock: Arc<AtomicI64>,
    store: Mutex<GradeStore>,
    pub district: District,
    /// What the teacher saw saved and the district does not hold yet.
    intents: HashMap<Cell, CellValue>,
    undo: Vec<(Cell, CellValue, CellValue)>,
    redo: Vec<(Cell, CellValue, CellValue)>,
    created: usize,
    rt: tokio::runtime::Runtime,
}

fn fail<T>(what: impl std::fmt::Display) -> Result<T, String> {
    Err(what.to_string())
}

impl World {
    pub fn new() -> Result<World, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("gradebook.db");
        let key = StoreKey::generate();
        let clock = Arc::new(AtomicI64::new(1_800_000_000_000));
        let store = open(&path, &key, &clock)?;
        let district = District::new(Arc::clone(&clock));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .map_err(|e| e.to_string())?;
        let mut world = World {
            _dir: dir,
            path,
            key,
            clock,
            store: Mutex::new(store),
            district,
            intents: HashMap::new(),
            undo: Vec::new(),
            redo: Vec::new(),
            created: 0,
            rt,
        };
        world.snapshot()?;
        Ok(world)
    }

    pub fn store(&self) -> std::sync::MutexGuard<'_, GradeStore> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn view(&self) -> Result<rollbook_gradebook::GradebookView, String> {
        self.store()
            .gradebook(&ClassId::from(CLASS))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the class is gone from the store".to_owned())
    }

    pub fn cell_at(&self, item: usize, student: usize) -> Result<Option<Cell>, String> {
        let view = self.view()?;
        if view.columns.is_empty() || view.students.is_empty() {
            return Ok(None);
        }
        let item = &view.columns[item % view.columns.len()].sourced_id;
        let student = &view.students[student % view.students.len()].sourced_id;
        Ok(Some((item.clone(), student.clone())))
    }

    pub fn value_in_view(&self, cell: &Cell) -> Result<Option<(CellValue, CellState)>, String> {
        Ok(self
            .view()?
            .cells
            .into_iter()
            .find(|c| c.line_item_id == cell.0 && c.student_id == cell.1)
            .map(|c| (c.value, c.state)))
    }

    /// The teacher changes a cell; what `enter` confirms is what the teacher saw saved.
    fn enter(&mut self, cell: &Cell, change: CellChange, undoable: bool) -> Result<(), String> {
        let before = self
            .value_in_view(cell)?
            .map(|(v, _)| v)
            .unwrap_or_default();
        let saved = self.store().enter(
            &ClassId::from(CLASS),
            &LineItemId::from(&cell.0),
            &StudentId::from(&cell.1),
            change,
            NOW,
        );
        let Ok(view) = saved else {
            // Refused by the store (e.g. the student just left): nothing was saved.
            return Ok(());
        };
        self.district
            .lock()
            .latest
            .insert(cell.clone(), view.value.clone());
        let rollbook_wrote_other = self
            .district
            .lock()
            .cell_result(cell)
            .is_some_and(|(_, r)| !r.by_sis && r.value != view.value);
        if view.state == CellState::Synced && !rollbook_wrote_other {
            // The value the store last had from the district: nothing of the teacher's.
            self.intents.remove(cell);
        } else {
            // (Synced while the district holds an earlier value Rollbook sent, e.g. an
            // undo made while that value was on its way, is still the teacher's.)
            self.intents.insert(cell.clone(), view.value.clone());
        }
        if undoable {
            self.undo.push((cell.clone(), before, view.value));
            self.redo.clear();
        }
        Ok(())
    }

    /// Builds the class as the district has it now and saves it, as a sync's re-read does.
    pub fn snapshot(&mut self) -> Result<(), String> {
        let snapshot = {
            let mut d = self.district.lock();
            let snapshot = ClassSnapshot {
                class_id: CLASS.into(),
                title: "Model class".into(),
                students: d
                    .students
                    .iter()
                    .filter(|s| d.enrolled.contains(*s))
                    .map(|s| StudentName {
                        sourced_id: s.clone(),
                        given_name: s.clone(),
                        family_name: "Student".into(),
                    })
                    .collect(),
                line_items: d
                    .item_order
                    .iter()
                    .filter_map(|id| d.items.get(id))
                    .filter(|i| i.class == CLASS)
                    .map(|i| i.record.clone())
                    .collect(),
                results: d
                    .results
                    .iter()
                    .filter(|(_, r)| d.items.get(&r.cell.0).is_some_and(|i| i.class == CLASS))
                    .map(|(id, r)| {
                        result_record(
                            &ResultId::from(id),
                            &LineItemId::from(&r.cell.0),
                            &StudentId::from(&r.cell.1),
                            &r.value,
                            &r.modified,
                        )
                    })
                    .collect(),
                categories: Vec::new(),
                synced_at: NOW.into(),
            };
            d.mark_all_seen();
            snapshot
        };
        self.store()
            .save_snapshot(&snapshot)
            .map_err(|e| e.to_string())
    }

    pub fn run_sync(
        &mut self,
        by_teacher: bool,
    ) -> Result<Option<rollbook_gradebook::SyncReport>, String> {
        {
            let mut d = self.district.lock();
            d.run += 1;
            d.run_by_teacher = by_teacher;
            // "Sync now" lifts Rollbook's own back-off (not the server's Retry-After).
            if by_teacher {
                d.backoff_until = 0;
            }
        }
        if by_teacher {
            self.store().retry_now().map_err(|e| e.to_string())?;
        }
        let options = SyncOptions {
            concurrency: 4,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(300),
        };
        let store = &self.store;
        let district = &self.district;
        // A request that never answers leaves the run pending: the timeout drops it
        // mid-way, as closing the window or a dead network would.
        let run = self.rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(600), sync(store, district, &options)).await
        });
        Ok(match run {
            Ok(Ok(report)) => Some(report),
            // 401: the caller would refresh the sign-in; nothing else to do here.
            Ok(Err(_)) | Err(_) => None,
        })
    }

    pub fn apply(&mut self, action: &Action) -> Result<(), String> {
        match action {
            Action::Enter {
                item,
                student,
                typed,
            } => {
                if let Some(cell) = self.cell_at(*item, *student)? {
                    self.enter(&cell, typed.change(), true)?;
                }
            }
            Action::Paste {
                item,
                student,
                values,
            } => {
                for (k, typed) in values.iter().enumerate() {
                    let value = match typed {
                        Typed::Clear => CellValue::default(),
                        other => {
                            let CellChange::Input(input) = other.change() else {
                                continue;
                            };
                            CellValue::default().with_input(input)
                        }
                    };
                    let students = self.view()?.students.len().max(1);
                    if student + k >= students {
                        break;
                    }
                    if let Some(cell) = self.cell_at(*item, student + k)? {
                        self.enter(&cell, CellChange::Value(value), true)?;
                    }
                }
            }
            Action::Undo => {
                if let Some((cell, before, after)) = self.undo.pop() {
                    self.enter(&cell, CellChange::Value(before.clone()), false)?;
                    self.redo.push((cell, before, after));
                }
            }
            Action::Redo => {
                if let Some((cell, before, after)) = self.redo.pop() {
                    self.enter(&cell, CellChange::Value(after.clone()), false)?;
                    self.undo.push((cell, before, after));
                }
            }
            Action::CreateAssignment => {
                self.created += 1;
                let title = format!("Quiz {}", self.created);
                let new = NewLineItem {
                    title: title.clone(),
                    category_id: None,
                    max_points: 10.0,
                    assign_date: "2026-11-01".into(),
                    due_date: "2026-11-20".into(),
                };
                let id = self
                    .store()
                    .create_line_item(&ClassId::from(CLASS), &new)
                    .map_err(|e| e.to_string())?;
                self.district.lock().created.insert(id, title);
            }
            Action::Sync => {
                self.run_sync(false)?;
            }
            Action::SyncNow => {
                self.run_sync(true)?;
            }
            Action::Snapshot => {
                self.snapshot()?;
                self.check_shown()?;
            }
            Action::Restart => self.reopen()?,
            Action::SignOut => {
                let count = self.store().unsent_count();
                // Fails closed: unsent grades, or no way to tell, keep the store.
                if let Ok(0) = count {
                    if !self.intents.is_empty() {
                        return fail(format!(
                            "invariant 6: sign-out would delete the store holding {} unsent grades (it counts 0)",
                            self.intents.len()
                        ));
                    }
                    self.sign_out()?;
                }
            }
            Action::KeyLost => self.key_lost()?,
            Action::Resolve { which, keep_mine } => {
                let conflicts: Vec<_> = self
                    .view()?
                    .cells
                    .into_iter()
                    .filter(|c| matches!(c.state, CellState::Conflict { .. }))
                    .collect();
                if !conflicts.is_empty() {
                    let c = &conflicts[which % conflicts.len()];
                    let cell = (c.line_item_id.clone(), c.student_id.clone());
                    let resolution = if *keep_mine {
                        Resolution::KeepMine
                    } else {
                        Resolution::TakeTheirs
                    };
                    self.store()
                        .resolve(
                            &LineItemId::from(&cell.0),
                            &StudentId::from(&cell.1),
                            resolution,
                        )
                        .map_err(|e| e.to_string())?;
                    let mut d = self.district.lock();
                    // The teacher saw the district's value in the conflict and chose:
                    // that version may now be overwritten (by this or a later edit).
                    if let CellState::Conflict { server } = &c.state {
                        let seen = d
                            .cell_result(&cell)
                            .filter(|(_, r)| &r.value == server)
                            .map(|(id, r)| (id.clone(), r.modified.clone()));
                        d.seen.extend(seen);
                    }
                    if !*keep_mine {
                        d.latest.remove(&cell);
                        drop(d);
                        self.intents.remove(&cell);
                    }
                }
            }
            Action::SettleOrphan { which, action } => {
                let orphans = self.store().orphans().map_err(|e| e.to_string())?;
                if !orphans.is_empty() {
                    let o = &orphans[which % orphans.len()];
                    let cell = (o.line_item_id.clone(), o.student_id.clone());
                    let action = match action % 3 {
                        0 => OrphanAction::Keep,
                        1 => OrphanAction::Retry,
                        _ => OrphanAction::Discard,
                    };
                    self.store()
                        .settle_orphan(
                            &LineItemId::from(&cell.0),
                            &StudentId::from(&cell.1),
                            action,
                        )
                        .map_err(|e| e.to_string())?;
                    if action == OrphanAction::Discard {
                        self.district.lock().latest.remove(&cell);
                        self.intents.remove(&cell);
                    }
                }
            }
            Action::SisSet {
                item,
                student,
                half_points,
            } => {
                let mut d = self.district.lock();
                let items: Vec<String> = d.item_order.clone();
                if !items.is_empty() {
                    let cell = (
                        items[item % items.len()].clone(),
                        d.students[student % d.students.len()].clone(),
                    );
                    d.sis_set(
                        &cell,
                        super::district::score_value(f64::from(*half_points) / 2.0),
                    );
                }
            }
            Action::SisDelete { item, student } => {
                let mut d = self.district.lock();
                let items: Vec<String> = d.item_order.clone();
                if !items.is_empty() {
                    let cell = (
                        items[item % items.len()].clone(),
                        d.students[student % d.students.len()].clone(),
                    );
                    d.sis_delete(&cell);
                }
            }
            Action::SisAddItem => {
                self.district.lock().sis_add_item("From the SIS");
            }
            Action::SisDeleteItem { item } => {
                let mut d = self.district.lock();
                let items: Vec<String> = d.item_order.clone();
                if !items.is_empty() {
                    d.sis_delete_item(&items[item % items.len()]);
                }
            }
            Action::StudentLeaves { student } => {
                let mut d = self.district.lock();
                if d.enrolled.len() > 1 {
                    let s = d.students[student % d.students.len()].clone();
                    d.enrolled.remove(&s);
                }
            }
            Action::Faults(faults) => self.district.lock().faults.extend(faults.iter().copied()),
            Action::Wait(seconds) => {
                self.clock
                    .fetch_add(i64::from(*seconds) * 1000, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    fn reopen(&mut self) -> Result<(), String> {
        let fresh = open(&self.path, &self.key, &self.clock)?;
        // The old connection closes as the process would (its file stays).
        let old = std::mem::replace(&mut *self.store(), fresh);
        drop(old);
        Ok(())
    }

    fn sign_out(&mut self) -> Result<(), String> {
        let placeholder = GradeStore::open_in_memory().map_err(|e| e.to_string())?;
        drop(std::mem::replace(&mut *self.store(), placeholder));
        for file in store_files(&self.path) {
            let _ = std::fs::remove_file(file);
        }
        self.key = StoreKey::generate();
        let fresh = open(&self.path, &self.key, &self.clock)?;
        *self.store() = fresh;
        self.undo.clear();
        self.redo.clear();
        self.district.lock().latest.clear();
        self.snapshot()
    }

    fn key_lost(&mut self) -> Result<(), String> {
        let unsent = self.store().unsent_count().map_err(|e| e.to_string())?;
        let placeholder = GradeStore::open_in_memory().map_err(|e| e.to_string())?;
        drop(std::mem::replace(&mut *self.store(), placeholder));
        let bytes = std::fs::read(&self.path).map_err(|e| e.to_string())?;
        if GradeStore::open(&self.path, &StoreKey::generate()).is_ok() {
            return fail("the store opened with the wrong key");
        }
        let after = std::fs::read(&self.path).map_err(|e| e.to_string())?;
        if after != bytes {
            return fail("invariant 6: opening with the wrong key changed the store's file");
        }
        // Core sets it aside (renamed, never deleted); here it comes back once the key
        // is found again, holding what it held.
        let aside = self.path.with_extension("db.set-aside");
        std::fs::rename(&self.path, &aside).map_err(|e| e.to_string())?;
        let kept = open(&aside, &self.key, &self.clock)?
            .unsent_count()
            .map_err(|e| e.to_string())?;
        if kept != unsent {
            return fail(format!(
                "invariant 6: the set-aside store holds {kept} unsent writes, not {unsent}"
            ));
        }
        std::fs::rename(&aside, &self.path).map_err(|e| e.to_string())?;
        self.reopen()
    }

    /// Invariants 1, 2, 3 and 5 after a step (2, 3 and 5 are checked by the district
    /// as requests arrive).
    pub fn check(&mut self) -> Result<(), String> {
        let violations = std::mem::take(&mut self.district.lock().violations);
        if let Some(v) = violations.into_iter().next() {
            return Err(v);
        }
        // What the district holds now is settled.
        {
            let mut d = self.district.lock();
            // A version the SIS wrote that holds exactly the teacher's value is one the
            // teacher has seen in the cell (the engine finds it "already there").
            let coincide: Vec<(String, String)> = self
                .intents
                .iter()
                .filter_map(|(cell, v)| {
                    d.cell_result(cell)
                        .filter(|(_, r)| r.value == *v)
                        .map(|(id, r)| (id.clone(), r.modified.clone()))
                })
                .collect();
            d.seen.extend(coincide);
            self.intents.retain(|cell, v| match d.cell_result(cell) {
                None => !v.is_empty(),
                Some((id, r)) => {
                    // A clear settles against Rollbook's records; a result the SIS made
                    // there that the teacher never saw is the SIS's (shown by the next
                    // re-read), not one the teacher cleared.
                    let unseen_sis =
                        r.by_sis && !d.seen.contains(&(id.clone(), r.modified.clone()));
                    r.value != *v && !(v.is_empty() && unseen_sis)
                }
            });
        }
        let view = self.view()?;
        let orphans = self.store().orphans().map_err(|e| e.to_string())?;
        for (cell, value) in &self.intents {
            let shown = view
                .cells
                .iter()
                .any(|c| c.line_item_id == cell.0 && c.student_id == cell.1 && c.value == *value);
            let orphaned = orphans
                .iter()
                .any(|o| o.line_item_id == cell.0 && o.student_id == cell.1 && o.value == *value);
            if !shown && !orphaned {
                let now = view
                    .cells
                    .iter()
                    .find(|c| c.line_item_id == cell.0 && c.student_id == cell.1)
                    .map(|c| (c.value.clone(), c.state.clone()));
                return fail(format!(
                    "invariant 1: the teacher's {value:?} for {cell:?} is lost (the store shows {now:?}; the district holds {:?})",
                    self.district.lock().value_of(cell)
                ));
            }
        }
        Ok(())
    }

    /// Invariant 3's "never hidden": right after a re-read, every cell Rollbook shows as
    /// the district's (synced or sent) is what the district holds.
    fn check_shown(&self) -> Result<(), String> {
        let view = self.view()?;
        let d = self.district.lock();
        for column in view.columns.iter().filter(|c| !c.local) {
            for student in &view.students {
                let cell = (column.sourced_id.clone(), student.sourced_id.clone());
                let (value, state) = view
                    .cells
                    .iter()
                    .find(|c| c.line_item_id == cell.0 && c.student_id == cell.1)
                    .map_or((CellValue::default(), CellState::Synced), |c| {
                        (c.value.clone(), c.state.clone())
                    });
                if matches!(state, CellState::Synced | CellState::Sent)
                    && value != d.value_of(&cell)
                {
                    return fail(format!(
                        "invariant 3: {cell:?} shows {value:?} as {} but the district holds {:?}",
                        state.name(),
                        d.value_of(&cell)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Faults stop, time passes, the teacher syncs: every cell is settled (invariant 4).
    pub fn settle(&mut self) -> Result<(), String> {
        {
            let mut d = self.district.lock();
            d.faults.clear();
        }
        self.clock.fetch_add(3_600_000, Ordering::SeqCst);
        let mut last = None;
        for by_teacher in [true, true, false] {
            self.snapshot()?;
            last = self.run_sync(by_teacher)?;
            self.check()?;
        }
        self.snapshot()?;
        self.check_shown()?;
        self.check()?;
        let Some(report) = last else {
            return fail("invariant 4: the last sync with no faults did not finish");
        };
        if report.waiting != report.held {
            return fail(format!(
                "invariant 4: {} writes still wait with no faults and no back-off ({report:?})",
                report.waiting - report.held
            ));
        }
        let view = self.view()?;
        if let Some(c) = view.columns.iter().find(|c| c.local) {
            return fail(format!(
                "invariant 4: assignment {} never reached the district",
                c.title
            ));
        }
        let orphans = self.store().orphans().map_err(|e| e.to_string())?;
        for cell in &view.cells {
            let shown = view
                .columns
                .iter()
                .any(|c| c.sourced_id == cell.line_item_id)
                && view
                    .students
                    .iter()
                    .any(|s| s.sourced_id == cell.student_id);
            if !shown {
                // No cell shows it: it must be listed for the teacher to settle.
                if !orphans
                    .iter()
                    .any(|o| o.line_item_id == cell.line_item_id && o.student_id == cell.student_id)
                    && cell.state != CellState::Synced
                {
                    return fail(format!(
                        "invariant 4: ({}, {}) has no cell and is not listed as orphaned",
                        cell.line_item_id, cell.student_id
                    ));
                }
                continue;
            }
            // With faults stopped the model district refuses nothing in the class: a
            // refusal that "Sync now" cannot clear is a cell the teacher cannot settle.
            if let CellState::Refused { reason } = &cell.state {
                return fail(format!(
                    "invariant 4: ({}, {}) is still refused after Sync now with no faults: {reason}",
                    cell.line_item_id, cell.student_id
                ));
            }
            if cell.state == CellState::Saved {
                return fail(format!(
                    "invariant 4: ({}, {}) still waits to be sent",
                    cell.line_item_id, cell.student_id
                ));
            }
        }
        Ok(())
    }
}

fn open(
    path: &std::path::Path,
    key: &StoreKey,
    clock: &Arc<AtomicI64>,
) -> Result<GradeStore, String> {
    let mut store = GradeStore::open(path, key).map_err(|e| format!("open: {e}"))?;
    let clock = Arc::clone(clock);
    store.set_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
    Ok(store)
}
