//! The model district: an in-process OneRoster write server (it implements the engine's
//! `WriteServer`, the seam the real `RosterClient` sits behind) with a class of its own,
//! an SIS that changes things behind Rollbook's back, and faults on demand. It also
//! watches what it is sent: every request is checked against the invariants that can
//! only be seen from the server's side (2, 3 and 5), and a breach is recorded for the
//! harness to report with the sequence that led to it.

use rollbook_gradebook::{LineItemId, ResultId, StudentId};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rollbook_gradebook::entry::CellValue;
use rollbook_gradebook::store::{RecordKind, result_record};
use rollbook_gradebook::sync::{ServerRecord, WriteServer};
use rollbook_oneroster::RosterError;
use rollbook_oneroster::models::{GradeResult, GuidRef, LineItem};

pub const CLASS: &str = "c1";
/// A class in the same district that is not the teacher's: nothing may reach it.
pub const OTHER_CLASS: &str = "c2";
pub const OTHER_ITEM: &str = "c2-li";

pub type Cell = (String, String);

/// How the district answers the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// This request is answered normally (so a later fault lands on a later request).
    Pass,
    /// The write is applied, and the answer is lost (the client times out).
    TimeoutApplied,
    TimeoutNotApplied,
    /// 429 with `Retry-After` (seconds).
    RateLimited(u64),
    ServerError,
    /// 408.
    RequestTimeout,
    /// A spurious 404.
    NotFound,
    /// 403 (`unsupported`).
    Forbidden,
    Unauthorized,
    /// The request never answers (the sync is interrupted); the write is applied or not.
    Hang {
        applied: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Result1 {
    pub cell: Cell,
    pub value: CellValue,
    pub modified: String,
    /// The SIS wrote this version (not Rollbook).
    pub by_sis: bool,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub record: LineItem,
    pub class: String,
}

#[derive(Debug, Default)]
pub struct State {
    pub students: Vec<String>,
    pub enrolled: BTreeSet<String>,
    pub items: BTreeMap<String, Item>,
    pub item_order: Vec<String>,
    pub results: BTreeMap<String, Result1>,
    /// Deleted result ids: writing one again is answered 404 (as the demo district does).
    pub deleted: BTreeSet<String>,
    pub faults: VecDeque<Fault>,
    version: u64,
    /// The sync run in progress (each run gets a new number) and whether the teacher
    /// asked for it ("Sync now") or a timer did.
    pub run: u64,
    pub run_by_teacher: bool,
    /// No request may arrive before this (a 429's `Retry-After`), whoever asks.
    pub server_pause_until: i64,
    /// No request from a timer's run may arrive before this (the least back-off after a
    /// failure).
    pub backoff_until: i64,
    /// The run in which a 429 was answered: it must send nothing more.
    pub stopped_run: Option<u64>,
    /// The teacher's latest value of each cell (set by the harness): what a write may
    /// carry.
    pub latest: HashMap<Cell, CellValue>,
    /// Line items the teacher created, by id, with their titles.
    pub created: HashMap<String, String>,
    /// SIS versions Rollbook has shown the teacher (a snapshot, or a conflict the teacher
    /// settled with "keep mine"): only those may be overwritten.
    pub seen: BTreeSet<(String, String)>,
    pub violations: Vec<String>,
    pub requests: u64,
}

impl State {
    fn next_modified(&mut self) -> String {
        self.version += 1;
        format!(
            "2026-11-27T09:{:02}:{:02}.{:03}Z",
            (self.version / 60_000) % 60,
            (self.version / 1000) % 60,
            self.version % 1000
        )
    }

    pub fn cell_result(&self, cell: &Cell) -> Option<(&String, &Result1)> {
        self.results.iter().find(|(_, r)| &r.cell == cell)
    }

    pub fn value_of(&self, cell: &Cell) -> CellValue {
        self.cell_result(cell)
            .map(|(_, r)| r.value.clone())
            .unwrap_or_default()
    }

    /// The SIS changes (or creates) the cell's result.
    pub fn sis_set(&mut self, cell: &Cell, value: CellValue) {
        let modified = self.next_modified();
        let id = match self.cell_result(cell) {
            Some((id, _)) => id.clone(),
            None => format!("sis-{}", self.version),
        };
        self.results.insert(
            id,
            Result1 {
                cell: cell.clone(),
                value,
                modified,
                by_sis: true,
            },
        );
    }

    pub fn sis_delete(&mut self, cell: &Cell) {
        if let Some((id, _)) = self.cell_result(cell) {
            let id = id.clone();
            self.results.remove(&id);
            self.deleted.insert(id);
        }
    }

    pub fn sis_add_item(&mut self, title: &str) -> String {
        let modified = self.next_modified();
        let id = format!("li-sis-{}", self.version);
        self.items
            .insert(id.clone(), item(&id, CLASS, title, Some(modified)));
        self.item_order.push(id.clone());
        id
    }

    pub fn sis_delete_item(&mut self, id: &str) {
        if self.items.get(id).is_some_and(|i| i.class == CLASS) {
            self.items.remove(id);
            self.item_order.retain(|i| i != id);
            let gone: Vec<String> = self
                .results
                .iter()
                .filter(|(_, r)| r.cell.0 == id)
                .map(|(k, _)| k.clone())
                .collect();
            for k in gone {
                self.results.remove(&k);
                self.deleted.insert(k);
            }
        }
    }

    /// Marks every version the district holds now as shown to the teacher.
    pub fn mark_all_seen(&mut self) {
        let all: Vec<(String, String)> = self
            .results
            .iter()
            .map(|(id, r)| (id.clone(), r.modified.clone()))
            .collect();
        self.seen.extend(all);
        let gone: Vec<(String, String)> = self
            .deleted
            .iter()
            .map(|id| (id.clone(), "deleted".to_owned()))
            .collect();
        self.seen.extend(gone);
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    /// Invariant 5, for every request; then the next fault, if any.
    fn arrive(&mut self, now: i64, what: &str) -> Option<Fault> {
        self.requests += 1;
        if now < self.server_pause_until {
            self.violation(format!(
                "invariant 5: {what} sent {} ms before the server's Retry-After ended",
                self.server_pause_until - now
            ));
        }
        if !self.run_by_teacher && now < self.backoff_until {
            self.violation(format!(
                "invariant 5: {what} sent by a timer's sync {} ms into a back-off",
                self.backoff_until - now
            ));
        }
        if self.stopped_run == Some(self.run) {
            self.violation(format!(
                "invariant 5: {what} sent after a 429 in the same run (one 429 stops the batch)"
            ));
        }
        let fault = self.faults.pop_front();
        match fault {
            Some(Fault::RateLimited(seconds)) => {
                let seconds = i64::try_from(seconds).unwrap_or(i64::MAX / 2000);
                self.server_pause_until = now + seconds * 1000;
                self.stopped_run = Some(self.run);
            }
            Some(
                Fault::ServerError
                | Fault::RequestTimeout
                | Fault::TimeoutApplied
                | Fault::TimeoutNotApplied,
            ) => {
                // The engine's smallest back-off is SyncOptions::base_delay (2 s here).
                self.backoff_until = now + 2000;
            }
            // A server that answers again ends the back-off.
            None | Some(Fault::Pass) => self.backoff_until = 0,
            _ => {}
        }
        fault
    }

    /// Invariants 2 and 3 for a write of `cell` (`None` deletes).
    fn check_result_write(&mut self, id: &str, cell: &Cell, value: Option<&CellValue>) {
        if self.items.get(&cell.0).is_some_and(|i| i.class != CLASS) || cell.0 == OTHER_ITEM {
            self.violation(format!(
                "invariant 2: a write outside the teacher's class ({id})"
            ));
        }
        let latest = self.latest.get(cell).cloned();
        let wanted = value.cloned().unwrap_or_default();
        if latest.as_ref() != Some(&wanted) {
            self.violation(format!(
                "invariant 2: the district received {wanted:?} for a cell whose latest value is {latest:?}"
            ));
        }
        if let Some(r) = self.results.get(id)
            && r.by_sis
            && !self.seen.contains(&(id.to_owned(), r.modified.clone()))
        {
            self.violation(format!(
                "invariant 3: an SIS change ({:?}) overwritten without the teacher seeing it",
                r.value
            ));
        }
    }
}

fn item(id: &str, class: &str, title: &str, modified: Option<String>) -> Item {
    Item {
        record: LineItem {
            sourced_id: id.to_owned(),
            status: Some("active".into()),
            title: title.to_owned(),
            description: None,
            assign_date: Some("2026-11-01".into()),
            due_date: Some("2026-11-20".into()),
            class: Some(GuidRef {
                sourced_id: class.to_owned(),
                kind: Some("class".into()),
            }),
            category: None,
            grading_period: None,
            result_value_min: Some(0.0),
            result_value_max: Some(10.0),
            date_last_modified: modified,
        },
        class: class.to_owned(),
    }
}

/// The district and the clock it shares with the store.
#[derive(Clone)]
pub struct District {
    pub state: Arc<Mutex<State>>,
    pub clock: Arc<AtomicI64>,
}

impl District {
    /// Four students, two line items with a few results, and another class.
    pub fn new(clock: Arc<AtomicI64>) -> District {
        let mut state = State {
            students: (0..4).map(|i| format!("s{i}")).collect(),
            ..State::default()
        };
        state.enrolled = state.students.iter().cloned().collect();
        for id in ["li-a", "li-b"] {
            let modified = state.next_modified();
            state
                .items
                .insert(id.to_owned(), item(id, CLASS, id, Some(modified)));
            state.item_order.push(id.to_owned());
        }
        let modified = state.next_modified();
        state.items.insert(
            OTHER_ITEM.to_owned(),
            item(OTHER_ITEM, OTHER_CLASS, "other", Some(modified)),
        );
        for (cell, score) in [
            (("li-a", "s0"), 7.0),
            (("li-a", "s1"), 9.0),
            (("li-b", "s2"), 4.5),
        ] {
            let cell = (cell.0.to_owned(), cell.1.to_owned());
            state.sis_set(&cell, score_value(score));
        }
        state.mark_all_seen();
        District {
            state: Arc::new(Mutex::new(state)),
            clock,
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }
}

pub fn score_value(score: f64) -> CellValue {
    CellValue {
        score: Some(score),
        mark: None,
        comment: None,
    }
}

fn result_json(id: &str, r: &Result1) -> ServerRecord {
    let record = result_record(
        &ResultId::from(id),
        &LineItemId::from(&r.cell.0),
        &StudentId::from(&r.cell.1),
        &r.value,
        &r.modified,
    );
    ServerRecord {
        modified: Some(r.modified.clone()),
        json: serde_json::to_string(&record).unwrap_or_default(),
    }
}

fn item_json(i: &Item) -> ServerRecord {
    ServerRecord {
        modified: i.record.date_last_modified.clone(),
        json: serde_json::to_string(&i.record).unwrap_or_default(),
    }
}

/// The answer a fault gives instead of the real one, if it does.
fn failure(fault: Option<Fault>) -> Option<RosterError> {
    match fault? {
        Fault::TimeoutApplied | Fault::TimeoutNotApplied => Some(RosterError::TimedOut),
        Fault::RateLimited(s) => Some(RosterError::RateLimited {
            retry_after: Some(Duration::from_secs(s)),
            status: None,
        }),
        Fault::ServerError => Some(RosterError::ServerError {
            http: 503,
            status: None,
        }),
        Fault::RequestTimeout => Some(RosterError::BadRequest {
            http: 408,
            status: None,
        }),
        Fault::NotFound => Some(RosterError::NotFound { status: None }),
        Fault::Forbidden => Some(RosterError::Forbidden { status: None }),
        Fault::Unauthorized => Some(RosterError::Unauthorized { status: None }),
        Fault::Hang { .. } | Fault::Pass => None,
    }
}

fn applies(fault: Option<Fault>) -> bool {
    matches!(
        fault,
        None | Some(Fault::Pass)
            | Some(Fault::TimeoutApplied)
            | Some(Fault::Hang { applied: true })
    )
}

async fn hang_if(fault: Option<Fault>) {
    if matches!(fault, Some(Fault::Hang { .. })) {
        std::future::pending::<()>().await;
    }
}

impl WriteServer for District {
    async fn current(
        &self,
        kind: RecordKind,
        id: &str,
    ) -> Result<Option<ServerRecord>, RosterError> {
        let now = self.now();
        let answer = {
            let mut s = self.lock();
            let fault = s.arrive(now, "a by-id read");
            match failure(fault) {
                Some(e) => Err(e),
                // As the gateway answers: "not there" and "not yours" look alike.
                None => match kind {
                    RecordKind::Result => s
                        .results
                        .get(id)
                        .map(|r| Some(result_json(id, r)))
                        .ok_or(RosterError::Forbidden { status: None }),
                    RecordKind::LineItem => s
                        .items
                        .get(id)
                        .filter(|i| i.class == CLASS)
                        .map(|i| Some(item_json(i)))
                        .ok_or(RosterError::Forbidden { status: None }),
                },
            }
            .map(|r| (r, fault))
        };
        if let Ok((_, fault)) = &answer {
            hang_if(*fault).await;
        }
        answer.map(|(r, _)| r)
    }

    async fn put(
        &self,
        kind: RecordKind,
        id: &str,
        body: &str,
    ) -> Result<Option<ServerRecord>, RosterError> {
        let now = self.now();
        let (answer, fault) = {
            let mut s = self.lock();
            let fault = s.arrive(now, "a PUT");
            let answer = match kind {
                RecordKind::Result => {
                    let record: GradeResult = serde_json::from_str(body)
                        .map_err(|e| RosterError::Malformed(e.to_string()))?;
                    let cell = (
                        record.line_item.sourced_id.clone(),
                        record.student.sourced_id.clone(),
                    );
                    let value = CellValue::from_result(&record);
                    s.check_result_write(id, &cell, Some(&value));
                    // A deleted id, or a line item not in the class: 404.
                    if s.deleted.contains(id)
                        || s.items.get(&cell.0).is_none_or(|i| i.class != CLASS)
                    {
                        Err(RosterError::NotFound { status: None })
                    } else if !s.enrolled.contains(&cell.1) {
                        Err(RosterError::Forbidden { status: None })
                    } else if s.cell_result(&cell).is_some_and(|(other, _)| other != id) {
                        Err(RosterError::BadRequest {
                            http: 409,
                            status: None,
                        })
                    } else if applies(fault) {
                        let modified = s.next_modified();
                        let r = Result1 {
                            cell,
                            value,
                            modified,
                            by_sis: false,
                        };
                        let answer = result_json(id, &r);
                        s.results.insert(id.to_owned(), r);
                        Ok(Some(answer))
                    } else {
                        Ok(None)
                    }
                }
                RecordKind::LineItem => {
                    let mut record: LineItem = serde_json::from_str(body)
                        .map_err(|e| RosterError::Malformed(e.to_string()))?;
                    let class = record
                        .class
                        .as_ref()
                        .map(|c| c.sourced_id.clone())
                        .unwrap_or_default();
                    if class != CLASS {
                        s.violation(format!("invariant 2: a line item for class {class}"));
                    }
                    if s.created.get(id) != Some(&record.title) {
                        s.violation(format!(
                            "invariant 2: a line item the teacher did not make ({})",
                            record.title
                        ));
                    }
                    if applies(fault) {
                        let modified = s.next_modified();
                        record.date_last_modified = Some(modified);
                        let new = !s.items.contains_key(id);
                        let i = Item {
                            record,
                            class: CLASS.to_owned(),
                        };
                        let answer = item_json(&i);
                        s.items.insert(id.to_owned(), i);
                        if new {
                            s.item_order.push(id.to_owned());
                        }
                        Ok(Some(answer))
                    } else {
                        Ok(None)
                    }
                }
            };
            (answer, fault)
        };
        hang_if(fault).await;
        match failure(fault) {
            Some(e) => Err(e),
            None => answer,
        }
    }

    async fn delete(&self, kind: RecordKind, id: &str) -> Result<(), RosterError> {
        let now = self.now();
        let (answer, fault) = {
            let mut s = self.lock();
            let fault = s.arrive(now, "a DELETE");
            let answer = match kind {
                RecordKind::LineItem => {
                    s.violation("invariant 2: Rollbook deleted a line item".into());
                    Err(RosterError::Forbidden { status: None })
                }
                RecordKind::Result => match s.results.get(id).map(|r| r.cell.clone()) {
                    None => Err(RosterError::NotFound { status: None }),
                    Some(cell) => {
                        s.check_result_write(id, &cell, None);
                        if applies(fault) {
                            s.results.remove(id);
                            s.deleted.insert(id.to_owned());
                        }
                        Ok(())
                    }
                },
            };
            (answer, fault)
        };
        hang_if(fault).await;
        match failure(fault) {
            Some(e) => Err(e),
            None => answer,
        }
    }

    async fn results_of_class(
        &self,
        class_id: &str,
    ) -> Result<HashMap<String, ServerRecord>, RosterError> {
        let now = self.now();
        let (answer, fault) = {
            let mut s = self.lock();
            let fault = s.arrive(now, "a read of the class's results");
            let answer = if class_id == CLASS {
                Ok(s.results
                    .iter()
                    .filter(|(_, r)| s.items.get(&r.cell.0).is_some_and(|i| i.class == CLASS))
                    .map(|(id, r)| (id.clone(), result_json(id, r)))
                    .collect())
            } else {
                Err(RosterError::Forbidden { status: None })
            };
            (answer, fault)
        };
        hang_if(fault).await;
        match failure(fault) {
            Some(e) => Err(e),
            None => answer,
        }
    }

    async fn line_items_of_class(
        &self,
        class_id: &str,
    ) -> Result<HashMap<String, ServerRecord>, RosterError> {
        let now = self.now();
        let (answer, fault) = {
            let mut s = self.lock();
            let fault = s.arrive(now, "a read of the class's line items");
            let answer = if class_id == CLASS {
                Ok(s.items
                    .iter()
                    .filter(|(_, i)| i.class == CLASS)
                    .map(|(id, i)| (id.clone(), item_json(i)))
                    .collect())
            } else {
                Err(RosterError::Forbidden { status: None })
            };
            (answer, fault)
        };
        hang_if(fault).await;
        match failure(fault) {
            Some(e) => Err(e),
            None => answer,
        }
    }
}
