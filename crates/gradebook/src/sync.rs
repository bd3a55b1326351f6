//! Write-back: sends the outbox to the teacher's roster source (the roster gateway, or
//! a OneRoster server) and records what became of each write.
//!
//! For every write, in this order:
//! 1. Learn what the server holds by reading through the class: the class's results
//!    (or line items), which the gateway can scope to the teacher. Never by reading the
//!    record by id: the gateway must answer "not yours" and "not there" alike (403), so
//!    a by-id read cannot tell a new record from a forbidden one.
//! 2. If the server already holds exactly what the write would put there (a previous
//!    run sent it and stopped before recording that), it is done: nothing is sent twice.
//! 3. If its `dateLastModified` is not the one the edit started from (someone changed
//!    it in the SIS meanwhile, or deleted it), it is a **conflict**: nothing is sent,
//!    and the teacher chooses.
//! 4. Otherwise `PUT` (or `DELETE`) it, by its own `sourcedId`, so a retry is harmless.
//!
//! A refusal (403, 404, 4xx, an imsx `unsupported`) keeps the grade in Rollbook with the
//! server's words, until the teacher edits it or asks to sync now. 429, 5xx, 408,
//! timeouts and network failures stop the run at once and pause all sending: for the
//! server's `Retry-After` (which even "Sync now" waits out), else exponentially. A 401
//! stops the run so the caller can refresh the sign-in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use rollbook_oneroster::models::{GradeResult, LineItem};
use rollbook_oneroster::{RosterClient, RosterError};
use serde::Serialize;

use crate::entry::CellValue;
use crate::error::GradebookError;
use crate::store::{GradeStore, OutboxEntry, Pause, RecordKind};

/// A record as the server has it.
#[derive(Debug, Clone)]
pub struct ServerRecord {
    pub modified: Option<String>,
    /// The record's JSON (no envelope).
    pub json: String,
}

/// Where writes go. [`RosterClient`] is the real one; tests may use others.
pub trait WriteServer: Sync {
    /// The record by id. Used only right after this client wrote it (a PUT answered
    /// without a body), never to learn whether a record exists.
    fn current(
        &self,
        kind: RecordKind,
        id: &str,
    ) -> impl Future<Output = Result<Option<ServerRecord>, RosterError>> + Send;
    fn put(
        &self,
        kind: RecordKind,
        id: &str,
        body: &str,
    ) -> impl Future<Output = Result<Option<ServerRecord>, RosterError>> + Send;
    fn delete(
        &self,
        kind: RecordKind,
        id: &str,
    ) -> impl Future<Output = Result<(), RosterError>> + Send;
    /// Every result of a class as the server has it now, by `sourcedId`: one paged read
    /// instead of one per write.
    fn results_of_class(
        &self,
        class_id: &str,
    ) -> impl Future<Output = Result<HashMap<String, ServerRecord>, RosterError>> + Send;
    /// Every line item of a class as the server has it now, by `sourcedId`.
    fn line_items_of_class(
        &self,
        class_id: &str,
    ) -> impl Future<Output = Result<HashMap<String, ServerRecord>, RosterError>> + Send;
}

fn record_of<T: Serialize>(record: &T, modified: Option<String>) -> ServerRecord {
    ServerRecord {
        modified,
        json: serde_json::to_string(record).unwrap_or_default(),
    }
}

impl WriteServer for RosterClient {
    async fn current(
        &self,
        kind: RecordKind,
        id: &str,
    ) -> Result<Option<ServerRecord>, RosterError> {
        let found = match kind {
            RecordKind::Result => self.get::<GradeResult>(&["results", id]).await.map(|r| {
                let modified = r.date_last_modified.clone();
                record_of(&r, modified)
            }),
            RecordKind::LineItem => self.get::<LineItem>(&["lineItems", id]).await.map(|r| {
                let modified = r.date_last_modified.clone();
                record_of(&r, modified)
            }),
        };
        match found {
            Ok(record) => Ok(Some(record)),
            Err(RosterError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn put(
        &self,
        kind: RecordKind,
        id: &str,
        body: &str,
    ) -> Result<Option<ServerRecord>, RosterError> {
        let malformed = |e: serde_json::Error| RosterError::Malformed(e.to_string());
        match kind {
            RecordKind::Result => {
                let record: GradeResult = serde_json::from_str(body).map_err(malformed)?;
                let answer = RosterClient::put(self, &["results", id], &record).await?;
                Ok(answer.map(|r| {
                    let modified = r.date_last_modified.clone();
                    record_of(&r, modified)
                }))
            }
            RecordKind::LineItem => {
                let record: LineItem = serde_json::from_str(body).map_err(malformed)?;
                let answer = RosterClient::put(self, &["lineItems", id], &record).await?;
                Ok(answer.map(|r| {
                    let modified = r.date_last_modified.clone();
                    record_of(&r, modified)
                }))
            }
        }
    }

    async fn delete(&self, kind: RecordKind, id: &str) -> Result<(), RosterError> {
        RosterClient::delete(self, &[kind.collection(), id]).await
    }

    async fn results_of_class(
        &self,
        class_id: &str,
    ) -> Result<HashMap<String, ServerRecord>, RosterError> {
        Ok(self
            .results_for_class(class_id)
            .await?
            .into_iter()
            .map(|r| {
                let modified = r.date_last_modified.clone();
                (r.sourced_id.clone(), record_of(&r, modified))
            })
            .collect())
    }

    async fn line_items_of_class(
        &self,
        class_id: &str,
    ) -> Result<HashMap<String, ServerRecord>, RosterError> {
        Ok(self
            .line_items_for_class(class_id)
            .await?
            .into_iter()
            .map(|i| {
                let modified = i.date_last_modified.clone();
                (i.sourced_id.clone(), record_of(&i, modified))
            })
            .collect())
    }
}

/// What a write's record means, for "does the server already have it?".
fn content(kind: RecordKind, json: &str) -> Option<serde_json::Value> {
    match kind {
        RecordKind::Result => {
            let result: GradeResult = serde_json::from_str(json).ok()?;
            serde_json::to_value(CellValue::from_result(&result)).ok()
        }
        RecordKind::LineItem => {
            let item: LineItem = serde_json::from_str(json).ok()?;
            Some(serde_json::json!({
                "title": item.title,
                "max": item.result_value_max,
                "due": item.due_date.as_deref().and_then(|d| d.get(..10)),
                "assigned": item.assign_date.as_deref().and_then(|d| d.get(..10)),
                "category": item.category.map(|c| c.sourced_id),
            }))
        }
    }
}

/// One write whose outcome the teacher should see.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct WriteOutcome {
    /// `result` or `lineItem`.
    pub kind: String,
    pub sourced_id: String,
    pub line_item_id: Option<String>,
    pub student_id: Option<String>,
    /// The server's words (refusals) or what happened (retries).
    pub reason: Option<String>,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub sent: Vec<WriteOutcome>,
    pub refused: Vec<WriteOutcome>,
    pub conflicts: Vec<WriteOutcome>,
    /// Writes that will be tried again (busy or failing server, no network).
    pub retrying: Vec<WriteOutcome>,
    /// The roster source could not be reached at all.
    pub offline: bool,
    /// Writes still in the outbox after this run, and how many wait for the teacher.
    pub waiting: u32,
    pub held: u32,
    /// Sending is paused for this many more seconds (the server's `Retry-After`, or
    /// Rollbook's back-off after failures); nothing was sent while it lasts.
    pub paused_seconds: Option<u32>,
    /// The pause is the server's (429): "Sync now" waits it out too.
    pub paused_by_server: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] GradebookError),
    /// The server did not accept the sign-in (401): refresh it and sync again.
    #[error(transparent)]
    Unauthorized(RosterError),
}

#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Writes in flight at once.
    pub concurrency: usize,
    /// First wait before a failed write is tried again; doubles per attempt.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            concurrency: 8,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(300),
        }
    }
}

enum Outcome {
    Sent(Option<ServerRecord>),
    Refused(String),
    Conflict(Option<ServerRecord>),
    Retry {
        reason: String,
        after: Option<Duration>,
        offline: bool,
        by_server: bool,
    },
    Unauthorized(RosterError),
}

fn classify(error: RosterError) -> Outcome {
    match error {
        RosterError::Unauthorized { .. } => Outcome::Unauthorized(error),
        // 408: the server gave up waiting for the request; nothing about the grade.
        RosterError::BadRequest { http: 408, .. } => Outcome::Retry {
            reason: error.to_string(),
            after: None,
            offline: false,
            by_server: false,
        },
        RosterError::Forbidden { .. }
        | RosterError::BadRequest { .. }
        | RosterError::NotFound { .. } => Outcome::Refused(error.to_string()),
        RosterError::RateLimited { retry_after, .. } => Outcome::Retry {
            reason: error.to_string(),
            after: retry_after,
            offline: false,
            by_server: true,
        },
        RosterError::Unreachable(_) => Outcome::Retry {
            reason: error.to_string(),
            after: None,
            offline: true,
            by_server: false,
        },
        RosterError::ServerError { .. } | RosterError::TimedOut | RosterError::Malformed(_) => {
            Outcome::Retry {
                reason: error.to_string(),
                after: None,
                offline: false,
                by_server: false,
            }
        }
    }
}

/// `current`: the record as the read of its whole class found it (`None`: not there).
async fn send_one<S: WriteServer>(
    server: &S,
    entry: &OutboxEntry,
    current: Option<ServerRecord>,
) -> Outcome {
    let wanted = entry.body.as_deref().and_then(|b| content(entry.kind, b));
    match (&current, &entry.base_modified) {
        // Already there: a previous run's write landed, or the same value was entered
        // in the SIS. Nothing to send.
        (Some(record), _) if wanted.is_some() && content(entry.kind, &record.json) == wanted => {
            return Outcome::Sent(current);
        }
        (None, _) if entry.body.is_none() => return Outcome::Sent(None),
        // Changed on the server since the edit began (or created there meanwhile).
        (Some(record), base) if record.modified != *base => return Outcome::Conflict(current),
        // Deleted on the server since it was read.
        (None, Some(_)) => return Outcome::Conflict(None),
        _ => {}
    }
    match &entry.body {
        Some(body) => match server.put(entry.kind, &entry.id, body).await {
            Ok(Some(answer)) => Outcome::Sent(Some(answer)),
            // No body in the answer: read what the server now has, for the next base.
            Ok(None) => match server.current(entry.kind, &entry.id).await {
                Ok(now) => Outcome::Sent(now),
                Err(_) => Outcome::Sent(None),
            },
            // A create answered "no such record": the id was used and deleted (an
            // earlier run's write landed, unrecorded, and the SIS deleted it). A deleted
            // id is never written again, and the SIS's deletion is the teacher's to
            // judge: a conflict; "keep mine" writes a new record.
            Err(RosterError::NotFound { .. })
                if entry.kind == RecordKind::Result
                    && entry.base_modified.is_none()
                    && current.is_none() =>
            {
                Outcome::Conflict(None)
            }
            Err(e) => classify(e),
        },
        None => match server.delete(entry.kind, &entry.id).await {
            // A 404 is not taken as "gone already": the class's read just found the
            // record, so it is the server's refusal, kept for the teacher to retry.
            Ok(()) => Outcome::Sent(None),
            Err(e) => classify(e),
        },
    }
}

fn outcome_of(entry: &OutboxEntry, reason: Option<String>) -> WriteOutcome {
    WriteOutcome {
        kind: entry.kind.name().to_owned(),
        sourced_id: entry.id.clone(),
        line_item_id: entry.cell.as_ref().map(|(l, _)| l.clone()),
        student_id: entry.cell.as_ref().map(|(_, s)| s.clone()),
        reason,
    }
}

fn lock(store: &Mutex<GradeStore>) -> std::sync::MutexGuard<'_, GradeStore> {
    // A panic while holding the lock cannot leave a half transaction (SQLite rolls it
    // back), so a poisoned lock is still a usable store.
    store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the server holds of each class in `batch` (its results, or its line items),
/// read once per class whatever the batch's size; and the first class whose read
/// failed, with why (no class is read after it).
async fn read_classes<S: WriteServer>(
    server: &S,
    kind: RecordKind,
    batch: &[OutboxEntry],
) -> (
    HashMap<String, HashMap<String, ServerRecord>>,
    Option<(String, RosterError)>,
) {
    let mut known = HashMap::new();
    for entry in batch {
        let Some(class) = entry.class_id.as_deref() else {
            continue;
        };
        if known.contains_key(class) {
            continue;
        }
        let records = match kind {
            RecordKind::Result => server.results_of_class(class).await,
            RecordKind::LineItem => server.line_items_of_class(class).await,
        };
        match records {
            Ok(records) => {
                known.insert(class.to_owned(), records);
            }
            Err(e) => return (known, Some((class.to_owned(), e))),
        }
    }
    (known, None)
}

/// The pause the store is in, for the report.
fn paused(report: &mut SyncReport, pause: Option<Pause>, now_ms: i64) {
    if let Some(p) = pause {
        let seconds = (p.until_ms.saturating_sub(now_ms) + 999) / 1000;
        report.paused_seconds = Some(u32::try_from(seconds.max(1)).unwrap_or(u32::MAX));
        report.paused_by_server = p.by_server;
    }
}

/// Sends what is due in the outbox and records each outcome in the store. While the
/// store's sending is paused (a server's `Retry-After`, or a back-off after failures)
/// it sends nothing and says so in the report; the caller lifts Rollbook's own back-off
/// with [`GradeStore::retry_now`] when the teacher asks, never for a timer.
pub async fn sync<S: WriteServer>(
    store: &Mutex<GradeStore>,
    server: &S,
    options: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let mut run = Run::default();
    {
        let store = lock(store);
        if let Some(pause) = store.pause()? {
            paused(&mut report, Some(pause), store.now_ms());
            let (waiting, held) = store.outbox_counts()?;
            report.waiting = waiting;
            report.held = held;
            return Ok(report);
        }
    }
    // Rounds: line items go first (their results wait for them), and a write edited
    // while it was being sent is due again with its new revision. Bounded, so a teacher
    // typing never keeps it going.
    'rounds: for _round in 0..8 {
        let due = lock(store).take_due(10_000)?;
        if due.is_empty() {
            break;
        }
        let (items, results): (Vec<_>, Vec<_>) = due
            .into_iter()
            .partition(|e| e.kind == RecordKind::LineItem);
        for (kind, batch) in [(RecordKind::LineItem, items), (RecordKind::Result, results)] {
            if batch.is_empty() {
                continue;
            }
            let (known, failed) = read_classes(server, kind, &batch).await;
            let (sendable, failed_read) = sort_batch(store, batch, &known, failed, &mut report)?;
            let mut outcomes = futures_util::stream::iter(sendable)
                .map(|(entry, current)| async move {
                    let outcome = send_one(server, &entry, current).await;
                    (entry, outcome)
                })
                .buffer_unordered(options.concurrency.max(1));
            let mut pending_outcomes = failed_read;
            loop {
                let next = match pending_outcomes.pop() {
                    Some(o) => Some(o),
                    None => outcomes.next().await,
                };
                let Some((entry, outcome)) = next else { break };
                // One 429 (or failure) stops the batch in flight: writes not yet
                // started are not started, and those on their way are dropped (each
                // is idempotent and is checked again next run).
                if record_outcome(
                    &mut lock(store),
                    &entry,
                    outcome,
                    options,
                    &mut report,
                    &mut run,
                )? {
                    break 'rounds;
                }
            }
        }
    }
    let mut store = lock(store);
    if run.any_sent && store.failures()? > 0 {
        store.sending_succeeded()?;
    }
    paused(&mut report, store.pause()?, store.now_ms());
    let (waiting, held) = store.outbox_counts()?;
    report.waiting = waiting;
    report.held = held;
    match run.unauthorized {
        Some(e) => Err(SyncError::Unauthorized(e)),
        None => Ok(report),
    }
}

/// What a run learns beyond its report.
#[derive(Default)]
struct Run {
    any_sent: bool,
    /// A 401: the caller refreshes the sign-in.
    unauthorized: Option<RosterError>,
}

/// Writes to send, each with its record as its class's read found it.
type Sendable = Vec<(OutboxEntry, Option<ServerRecord>)>;
/// Writes whose outcome is already known (their class's read failed).
type Settled = Vec<(OutboxEntry, Outcome)>;

/// Sorts a batch by what the reads of its classes found: writes to send, writes a failed
/// read settles, and writes left for the next run.
fn sort_batch(
    store: &Mutex<GradeStore>,
    batch: Vec<OutboxEntry>,
    known: &HashMap<String, HashMap<String, ServerRecord>>,
    failed: Option<(String, RosterError)>,
    report: &mut SyncReport,
) -> Result<(Sendable, Settled), SyncError> {
    // A class that could not be read: a refusal (not the teacher's class, or a server
    // that does not offer it) refuses its writes; anything else stops the run as a
    // failed write would.
    let (failed_class, mut failed_outcome) = match failed {
        Some((class, e)) => (Some(class), Some(classify(e))),
        None => (None, None),
    };
    let mut failed_read: Settled = Vec::new();
    let mut sendable = Vec::with_capacity(batch.len());
    for entry in batch {
        let class = entry.class_id.as_deref();
        match class.map(|c| known.get(c)) {
            Some(Some(records)) => {
                let mut entry = entry;
                let mut current = records.get(&entry.id).cloned();
                // Not under its own id, but the cell has a result: the SIS made one
                // meanwhile. Writing ours beside it would duplicate the cell (or delete
                // nothing); the write moves to the SIS's record.
                if current.is_none()
                    && let Some((line_item, student)) = entry.cell.clone()
                    && let Some((other, record)) = records.iter().find(|(_, r)| {
                        serde_json::from_str::<GradeResult>(&r.json).is_ok_and(|g| {
                            g.line_item.sourced_id == line_item && g.student.sourced_id == student
                        })
                    })
                {
                    entry = lock(store).adopt(&entry, other)?;
                    current = Some(record.clone());
                }
                sendable.push((entry, current));
            }
            Some(None) if class == failed_class.as_deref() => match &failed_outcome {
                Some(Outcome::Refused(reason)) => {
                    let reason = reason.clone();
                    failed_read.push((entry, Outcome::Refused(reason)));
                }
                Some(_) => {
                    if let Some(outcome) = failed_outcome.take() {
                        failed_read.push((entry, outcome));
                    }
                }
                None => {}
            },
            // Not read (an earlier class's read failed): next run.
            Some(None) => {}
            // Every write is queued with its class; one without cannot be checked, so it
            // is never sent blind.
            None => {
                let reason = "Rollbook does not know this record's class".to_owned();
                lock(store).mark_refused(&entry, &reason)?;
                report.refused.push(outcome_of(&entry, Some(reason)));
            }
        }
    }
    Ok((sendable, failed_read))
}

/// Records what became of one write, in the store and the report; `true` when the run
/// must stop (the server is busy or failing, or the sign-in is no longer accepted).
fn record_outcome(
    store: &mut GradeStore,
    entry: &OutboxEntry,
    outcome: Outcome,
    options: &SyncOptions,
    report: &mut SyncReport,
    run: &mut Run,
) -> Result<bool, SyncError> {
    match outcome {
        Outcome::Sent(record) => {
            store.mark_sent(
                entry,
                record.as_ref().and_then(|r| r.modified.as_deref()),
                record.as_ref().map(|r| r.json.as_str()),
            )?;
            run.any_sent = true;
            report.sent.push(outcome_of(entry, None));
        }
        Outcome::Refused(reason) => {
            store.mark_refused(entry, &reason)?;
            report.refused.push(outcome_of(entry, Some(reason)));
        }
        Outcome::Conflict(record) => {
            let theirs = record.as_ref().and_then(|r| {
                let result: GradeResult = serde_json::from_str(&r.json).ok()?;
                Some(CellValue::from_result(&result))
            });
            let theirs = theirs.unwrap_or_default();
            store.mark_conflict(
                entry,
                Some((&theirs, record.as_ref().and_then(|r| r.modified.as_deref()))),
            )?;
            report.conflicts.push(outcome_of(entry, None));
        }
        Outcome::Retry {
            reason,
            after,
            offline,
            by_server,
        } => {
            // The whole store waits, not only this write: a server that is busy or
            // failing is asked nothing more until the pause ends.
            let delay = after.unwrap_or_else(|| {
                let failures = store.failures().unwrap_or(0);
                let factor = 1u32 << failures.min(16);
                options
                    .base_delay
                    .saturating_mul(factor)
                    .min(options.max_delay)
            });
            let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            store.retry_later(entry, delay_ms)?;
            store.pause_sending(delay_ms, by_server)?;
            report.offline |= offline;
            report.retrying.push(outcome_of(entry, Some(reason)));
            return Ok(true);
        }
        Outcome::Unauthorized(e) => {
            run.unauthorized = Some(e);
            return Ok(true);
        }
    }
    Ok(false)
}
