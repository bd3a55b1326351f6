//! Write-back: sends the outbox to the teacher's roster source (the roster gateway, or
//! a OneRoster server) and records what became of each write.
//!
//! For every write, in this order:
//! 1. Read the server's record. If it already holds exactly what the write would put
//!    there (a previous run sent it and stopped before recording that), it is done:
//!    nothing is sent twice.
//! 2. If its `dateLastModified` is not the one the edit started from (someone changed
//!    it in the SIS meanwhile, or deleted it), it is a **conflict**: nothing is sent,
//!    and the teacher chooses.
//! 3. Otherwise `PUT` (or `DELETE`) it, by its own `sourcedId`, so a retry is harmless.
//!
//! A refusal (403, 405, 4xx, an imsx `unsupported`) keeps the grade in Rollbook with the
//! server's words. 429, 5xx, timeouts and network failures wait and try again with
//! exponential backoff. A 401 stops the run so the caller can refresh the sign-in.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use rollbook_oneroster::models::{GradeResult, LineItem};
use rollbook_oneroster::{RosterClient, RosterError};
use serde::Serialize;

use crate::entry::CellValue;
use crate::error::GradebookError;
use crate::store::{GradeStore, OutboxEntry, RecordKind};

/// A record as the server has it.
#[derive(Debug, Clone)]
pub struct ServerRecord {
    pub modified: Option<String>,
    /// The record's JSON (no envelope).
    pub json: String,
}

/// Where writes go. [`RosterClient`] is the real one; tests may use others.
pub trait WriteServer: Sync {
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
    },
    Unauthorized(RosterError),
}

fn classify(error: RosterError) -> Outcome {
    match error {
        RosterError::Unauthorized { .. } => Outcome::Unauthorized(error),
        RosterError::Forbidden { .. }
        | RosterError::BadRequest { .. }
        | RosterError::NotFound { .. } => Outcome::Refused(error.to_string()),
        RosterError::RateLimited { retry_after, .. } => Outcome::Retry {
            reason: error.to_string(),
            after: retry_after,
            offline: false,
        },
        RosterError::Unreachable(_) => Outcome::Retry {
            reason: error.to_string(),
            after: None,
            offline: true,
        },
        RosterError::ServerError { .. } | RosterError::TimedOut | RosterError::Malformed(_) => {
            Outcome::Retry {
                reason: error.to_string(),
                after: None,
                offline: false,
            }
        }
    }
}

/// `known`: the record as a read of its whole class just found it (`Some(None)`: not on
/// the server); `None` reads it on its own.
async fn send_one<S: WriteServer>(
    server: &S,
    entry: &OutboxEntry,
    known: Option<Option<ServerRecord>>,
) -> Outcome {
    let current = match known {
        Some(found) => found,
        None => match server.current(entry.kind, &entry.id).await {
            Ok(c) => c,
            Err(e) => return classify(e),
        },
    };
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
            Err(e) => classify(e),
        },
        None => match server.delete(entry.kind, &entry.id).await {
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

/// The current results of each class with several results to write, read once per class
/// (a class whose read fails is left out: its writes read their records one by one).
async fn read_classes<S: WriteServer>(
    server: &S,
    batch: &[OutboxEntry],
) -> HashMap<String, HashMap<String, ServerRecord>> {
    let mut per_class: HashMap<&str, usize> = HashMap::new();
    for entry in batch.iter().filter(|e| e.kind == RecordKind::Result) {
        if let Some(class) = entry.class_id.as_deref() {
            *per_class.entry(class).or_default() += 1;
        }
    }
    let mut known = HashMap::new();
    for (class, count) in per_class {
        // One or two writes: reading them singly is cheaper than the class's list.
        if count < 3 {
            continue;
        }
        match server.results_of_class(class).await {
            Ok(records) => {
                known.insert(class.to_owned(), records);
            }
            Err(e) => {
                tracing::debug!(code = %e.code(), "reading the class's results failed; checking writes one by one")
            }
        }
    }
    known
}

/// Sends what is due in the outbox and records each outcome in the store.
pub async fn sync<S: WriteServer>(
    store: &Mutex<GradeStore>,
    server: &S,
    options: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let mut unauthorized = None;
    // Rounds: line items go first, and a write edited while it was being sent is due
    // again with its new revision. Bounded, so a teacher typing never keeps it going.
    for _round in 0..8 {
        let due = lock(store).due(10_000)?;
        if due.is_empty() {
            break;
        }
        let (items, results): (Vec<_>, Vec<_>) = due
            .into_iter()
            .partition(|e| e.kind == RecordKind::LineItem);
        let mut stop = false;
        for batch in [items, results] {
            if batch.is_empty() {
                continue;
            }
            let known = read_classes(server, &batch).await;
            let known = &known;
            let mut outcomes = futures_util::stream::iter(batch)
                .map(|entry| async move {
                    let prefetched = match (entry.kind, entry.class_id.as_ref()) {
                        (RecordKind::Result, Some(class)) => known
                            .get(class)
                            .map(|records| records.get(&entry.id).cloned()),
                        _ => None,
                    };
                    let outcome = send_one(server, &entry, prefetched).await;
                    (entry, outcome)
                })
                .buffer_unordered(options.concurrency.max(1));
            while let Some((entry, outcome)) = outcomes.next().await {
                let mut store = lock(store);
                match outcome {
                    Outcome::Sent(record) => {
                        store.mark_sent(
                            &entry,
                            record.as_ref().and_then(|r| r.modified.as_deref()),
                            record.as_ref().map(|r| r.json.as_str()),
                        )?;
                        report.sent.push(outcome_of(&entry, None));
                    }
                    Outcome::Refused(reason) => {
                        store.mark_refused(&entry, &reason)?;
                        report.refused.push(outcome_of(&entry, Some(reason)));
                    }
                    Outcome::Conflict(record) => {
                        let theirs = record.as_ref().and_then(|r| {
                            let result: GradeResult = serde_json::from_str(&r.json).ok()?;
                            Some(CellValue::from_result(&result))
                        });
                        let theirs = theirs.unwrap_or_default();
                        store.mark_conflict(
                            &entry,
                            Some((&theirs, record.as_ref().and_then(|r| r.modified.as_deref()))),
                        )?;
                        report.conflicts.push(outcome_of(&entry, None));
                    }
                    Outcome::Retry {
                        reason,
                        after,
                        offline,
                    } => {
                        let delay = after.unwrap_or_else(|| {
                            let factor = 1u32 << entry.attempts.min(16);
                            options
                                .base_delay
                                .saturating_mul(factor)
                                .min(options.max_delay)
                        });
                        store.retry_later(
                            &entry,
                            i64::try_from(delay.as_millis()).unwrap_or(i64::MAX),
                        )?;
                        report.offline |= offline;
                        stop = true;
                        report.retrying.push(outcome_of(&entry, Some(reason)));
                    }
                    Outcome::Unauthorized(e) => {
                        stop = true;
                        unauthorized = Some(e);
                    }
                }
            }
            if stop {
                break;
            }
        }
        if stop {
            break;
        }
    }
    let (waiting, held) = lock(store).outbox_counts()?;
    report.waiting = waiting;
    report.held = held;
    match unauthorized {
        Some(e) => Err(SyncError::Unauthorized(e)),
        None => Ok(report),
    }
}
