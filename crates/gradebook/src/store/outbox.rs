//! The outbox: writes the district does not have yet, taken by the sender, marked sent,
//! refused or in conflict, and the store-wide pause and back-off.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use rollbook_oneroster::models::GradeResult;

use super::GradeStore;
use crate::entry::CellValue;
use crate::error::{GradebookError, Result};
use crate::ids::ClassId;

/// Writes the district does not have yet (waiting, refused, in conflict, orphaned),
/// told apart so that a new assignment is never called a grade.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Unsent {
    /// Grades (a cell's value, or its removal).
    pub grades: u32,
    /// Assignments made in Rollbook.
    pub assignments: u32,
}

impl Unsent {
    pub fn total(self) -> u32 {
        self.grades.saturating_add(self.assignments)
    }
}

/// [`Unsent`] in one class and in all the others; together, [`GradeStore::unsent_count`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UnsentByClass {
    pub this_class: Unsent,
    pub other_classes: Unsent,
}

impl UnsentByClass {
    /// Both halves added up: what sign-out counts.
    pub fn all(self) -> Unsent {
        Unsent {
            grades: self
                .this_class
                .grades
                .saturating_add(self.other_classes.grades),
            assignments: self
                .this_class
                .assignments
                .saturating_add(self.other_classes.assignments),
        }
    }
}

/// What kind of record an outbox entry writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    LineItem,
    Result,
}

impl RecordKind {
    pub fn collection(self) -> &'static str {
        match self {
            RecordKind::LineItem => "lineItems",
            RecordKind::Result => "results",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            RecordKind::LineItem => "lineItem",
            RecordKind::Result => "result",
        }
    }
}

/// A write waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub kind: RecordKind,
    /// The record's `sourcedId`.
    pub id: String,
    /// `None` deletes the record.
    pub body: Option<String>,
    pub revision: i64,
    /// The server's `dateLastModified` the edit started from; `None` for a new record.
    pub base_modified: Option<String>,
    pub attempts: u32,
    /// For results: the cell.
    pub cell: Option<(String, String)>,
    /// The class it belongs to (one read of the class's results checks them all).
    pub class_id: Option<String>,
}

/// Sending is paused for the whole store until `until_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub until_ms: i64,
    /// The server asked for it (429 `Retry-After`): not even "Sync now" may send before.
    pub by_server: bool,
}

impl GradeStore {
    /// Outbox entries that may be sent now: line items first (results need them), then
    /// in the order they were queued. Results of an assignment not yet on the server
    /// wait for it (they would be refused), neither sent nor refused.
    pub fn due(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT record_id, kind, method, body, revision, base_modified, attempts, line_item_id, student_id, class_id
                 FROM outbox WHERE held IS NULL AND not_before <= ?1
                 AND NOT (kind = 'result' AND line_item_id IN (SELECT sourced_id FROM line_items WHERE local = 1))
                 ORDER BY kind = 'result', queued_at, record_id LIMIT ?2",
            )
            .map_err(GradebookError::store("read"))?;
        statement
            .query_map(
                params![self.now_ms(), i64::try_from(limit).unwrap_or(i64::MAX)],
                |r| {
                    let record_id: String = r.get(0)?;
                    let kind = if r.get::<_, String>(1)? == "lineItem" {
                        RecordKind::LineItem
                    } else {
                        RecordKind::Result
                    };
                    let method: String = r.get(2)?;
                    let cell = match (
                        r.get::<_, Option<String>>(7)?,
                        r.get::<_, Option<String>>(8)?,
                    ) {
                        (Some(l), Some(s)) => Some((l, s)),
                        _ => None,
                    };
                    Ok(OutboxEntry {
                        kind,
                        id: record_id
                            .split_once('/')
                            .map_or(record_id.clone(), |(_, id)| id.to_owned()),
                        body: if method == "DELETE" { None } else { r.get(3)? },
                        revision: r.get(4)?,
                        base_modified: r.get(5)?,
                        attempts: u32::try_from(r.get::<_, i64>(6)?).unwrap_or(u32::MAX),
                        cell,
                        class_id: r.get(9)?,
                    })
                },
            )
            .map_err(GradebookError::store("read"))?
            .collect::<rusqlite::Result<_>>()
            .map_err(GradebookError::store("read"))
    }

    /// [`GradeStore::due`] for a sender: the entries are marked as taken first (committed
    /// before any of them can reach the server), so an edit made while they are on their
    /// way knows an earlier value may have landed.
    pub fn take_due(&mut self, limit: usize) -> Result<Vec<OutboxEntry>> {
        let due = self.due(limit)?;
        self.write("saved", |tx| {
            let mut statement =
                tx.prepare("UPDATE outbox SET taken = 1 WHERE record_id = ?1 AND taken = 0")?;
            for entry in &due {
                statement.execute([format!("{}/{}", entry.kind.collection(), entry.id)])?;
            }
            Ok(())
        })?;
        Ok(due)
    }

    /// The district holds a result for `entry`'s cell under another id (`record_id`,
    /// made in the SIS since the edit began): the write is moved to that record, based on
    /// no version of it, so the sender sees the SIS's value before writing.
    pub fn adopt(&mut self, entry: &OutboxEntry, record_id: &str) -> Result<OutboxEntry> {
        let Some((line_item, student)) = entry.cell.clone() else {
            return Ok(entry.clone());
        };
        self.write("saved", |tx| {
            let taken: bool = tx.query_row(
                "SELECT count(*) > 0 FROM outbox WHERE record_id = ?1",
                [format!("results/{record_id}")],
                |r| r.get(0),
            )?;
            if !taken {
                repoint(
                    tx,
                    &entry.id,
                    record_id,
                    Some(ADOPTED),
                    &line_item,
                    &student,
                )?;
            }
            Ok(())
        })?;
        let mut adopted = entry.clone();
        adopted.id = record_id.to_owned();
        adopted.base_modified = Some(ADOPTED.to_owned());
        adopted.body = entry.body.as_deref().and_then(|b| {
            let mut result: GradeResult = serde_json::from_str(b).ok()?;
            result.sourced_id = record_id.to_owned();
            serde_json::to_string(&result).ok()
        });
        Ok(adopted)
    }

    /// How many writes wait, and how many of those wait for the teacher.
    pub fn outbox_counts(&self) -> Result<(u32, u32)> {
        self.conn
            .query_row("SELECT count(*), count(held) FROM outbox", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(GradebookError::store("read"))
    }

    /// The server took `entry` (at its revision); `server` is its record now.
    pub fn mark_sent(
        &mut self,
        entry: &OutboxEntry,
        server_modified: Option<&str>,
        server_record: Option<&str>,
    ) -> Result<()> {
        let record_id = format!("{}/{}", entry.kind.collection(), entry.id);
        self.write("saved", |tx| {
            // Only the revision that was sent is done; a newer edit stays queued, now
            // based on the version this write made.
            let removed = tx.execute(
                "DELETE FROM outbox WHERE record_id = ?1 AND revision = ?2",
                params![record_id, entry.revision],
            )?;
            if removed == 0 {
                tx.execute(
                    "UPDATE outbox SET base_modified = ?2 WHERE record_id = ?1",
                    params![record_id, server_modified],
                )?;
            }
            match entry.kind {
                RecordKind::LineItem => {
                    tx.execute(
                        "UPDATE line_items SET local = 0, modified = ?2, record = coalesce(?3, record) WHERE sourced_id = ?1",
                        params![entry.id, server_modified, server_record],
                    )?;
                }
                RecordKind::Result => {
                    let Some((line_item, student)) = &entry.cell else {
                        return Ok(());
                    };
                    match (&entry.body, server_record) {
                        (None, _) => {
                            tx.execute("DELETE FROM results WHERE sourced_id = ?1", [&entry.id])?;
                            // The record is gone for good: a sourcedId is never used
                            // again after its DELETE (the district answers 404 for it),
                            // so the cell's next grade is a new record with a new id.
                            if removed == 1 {
                                tx.execute(
                                    "DELETE FROM edits WHERE line_item_id = ?1 AND student_id = ?2 AND result_id = ?3",
                                    params![line_item, student, entry.id],
                                )?;
                            } else {
                                rekey(tx, &entry.id, line_item, student)?;
                            }
                            return Ok(());
                        }
                        (Some(body), record) => {
                            tx.execute(
                                "INSERT INTO results (sourced_id, line_item_id, student_id, record, modified) VALUES (?1, ?2, ?3, ?4, ?5)
                                 ON CONFLICT(sourced_id) DO UPDATE SET record = ?4, modified = ?5",
                                params![entry.id, line_item, student, record.unwrap_or(body), server_modified],
                            )?;
                        }
                    }
                    if removed == 1 {
                        tx.execute(
                            "UPDATE edits SET state = 'sent', reason = NULL, base_modified = ?3 WHERE line_item_id = ?1 AND student_id = ?2",
                            params![line_item, student, server_modified],
                        )?;
                    } else {
                        tx.execute(
                            "UPDATE edits SET base_modified = ?3 WHERE line_item_id = ?1 AND student_id = ?2",
                            params![line_item, student, server_modified],
                        )?;
                    }
                }
            }
            Ok(())
        })
    }

    /// The server refused `entry`: it is kept in Rollbook only, with the server's words,
    /// until the teacher edits the cell again.
    pub fn mark_refused(&mut self, entry: &OutboxEntry, reason: &str) -> Result<()> {
        self.hold(entry, "refused", Some(reason), None)
    }

    /// The server's record changed since the edit began; the teacher decides.
    pub fn mark_conflict(
        &mut self,
        entry: &OutboxEntry,
        server: Option<(&CellValue, Option<&str>)>,
    ) -> Result<()> {
        self.hold(entry, "conflict", None, server)
    }

    fn hold(
        &mut self,
        entry: &OutboxEntry,
        why: &str,
        reason: Option<&str>,
        server: Option<(&CellValue, Option<&str>)>,
    ) -> Result<()> {
        let record_id = format!("{}/{}", entry.kind.collection(), entry.id);
        self.write("saved", |tx| {
            let held = tx.execute(
                "UPDATE outbox SET held = ?3 WHERE record_id = ?1 AND revision = ?2",
                params![record_id, entry.revision, why],
            )?;
            if held == 1
                && let Some((line_item, student)) = &entry.cell
            {
                tx.execute(
                    "UPDATE edits SET state = ?3, reason = ?4, server_value = ?5, server_modified = ?6 WHERE line_item_id = ?1 AND student_id = ?2",
                    params![
                        line_item,
                        student,
                        why,
                        reason,
                        server.map(|(v, _)| serde_json::to_string(v).unwrap_or_default()),
                        server.and_then(|(_, m)| m),
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// Try again later (429, 5xx, no network): after `delay_ms`.
    pub fn retry_later(&mut self, entry: &OutboxEntry, delay_ms: i64) -> Result<()> {
        let now = self.now_ms();
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, not_before = ?3 WHERE record_id = ?1 AND revision = ?2",
                params![format!("{}/{}", entry.kind.collection(), entry.id), entry.revision, now.saturating_add(delay_ms)],
            )
            .map_err(GradebookError::store("saved"))?;
        Ok(())
    }

    /// The teacher asked to send now ("Sync now"), or the connection came back: every
    /// waiting write is due now, refused ones are tried again (the district may have
    /// changed its mind, or the refusal was not about the grade), and a back-off Rollbook
    /// chose is lifted. Conflicts stay for the teacher, and a pause the server asked
    /// for (429 `Retry-After`) stays: see [`GradeStore::pause`].
    pub fn retry_now(&mut self) -> Result<()> {
        self.write("saved", |tx| {
            tx.execute(
                "UPDATE edits SET state = 'saved', reason = NULL WHERE state = 'refused'",
                [],
            )?;
            tx.execute(
                "UPDATE outbox SET held = NULL, not_before = 0 WHERE held IS NULL OR held = 'refused'",
                [],
            )?;
            tx.execute(
                "DELETE FROM meta WHERE key = 'pause_until' AND NOT EXISTS (SELECT 1 FROM meta WHERE key = 'pause_by_server' AND value = '1')",
                [],
            )?;
            tx.execute("DELETE FROM meta WHERE key = 'failures'", [])?;
            Ok(())
        })
    }

    /// Whether sending is paused for the whole store now, and until when.
    pub fn pause(&self) -> Result<Option<Pause>> {
        let (until, by_server): (Option<String>, Option<String>) = self
            .conn
            .query_row(
                "SELECT (SELECT value FROM meta WHERE key = 'pause_until'), (SELECT value FROM meta WHERE key = 'pause_by_server')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(GradebookError::store("read"))?;
        let until = until.and_then(|u| u.parse::<i64>().ok()).unwrap_or(0);
        Ok((until > self.now_ms()).then(|| Pause {
            until_ms: until,
            by_server: by_server.as_deref() == Some("1"),
        }))
    }

    /// Pauses all sending for `delay_ms` (never shortening a pause already set). With
    /// `by_server`, the server asked for it and "Sync now" cannot lift it. Counts one
    /// more failure in a row unless the server asked (see [`GradeStore::failures`]).
    pub fn pause_sending(&mut self, delay_ms: i64, by_server: bool) -> Result<Pause> {
        let now = self.now_ms();
        let current = self.pause()?;
        let until = now
            .saturating_add(delay_ms.max(0))
            .max(current.map_or(0, |p| p.until_ms));
        let by_server = by_server || current.is_some_and(|p| p.by_server);
        self.write("saved", |tx| {
            for (key, value) in [
                ("pause_until", until.to_string()),
                ("pause_by_server", if by_server { "1" } else { "0" }.to_owned()),
            ] {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                    params![key, value],
                )?;
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('failures', '1')
                 ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                [],
            )?;
            Ok(())
        })?;
        Ok(Pause {
            until_ms: until,
            by_server,
        })
    }

    /// Failed sends in a row (each doubles the next back-off); reset by a success.
    pub fn failures(&self) -> Result<u32> {
        let value: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'failures'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(GradebookError::store("read"))?;
        Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// The server took a write: the back-off starts again from its first step.
    pub fn sending_succeeded(&mut self) -> Result<()> {
        self.conn
            .execute("DELETE FROM meta WHERE key = 'failures'", [])
            .map_err(GradebookError::store("saved"))?;
        Ok(())
    }

    /// Everything the teacher made that the district does not have yet: waiting,
    /// refused, in conflict, orphaned. Sign-out must not delete a store while this is
    /// above zero; the shell may keep a copy of this number outside the encryption.
    pub fn unsent_count(&self) -> Result<u32> {
        self.conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
            .map_err(GradebookError::store("read"))
    }

    /// [`GradeStore::unsent_count`] split into grades and new assignments.
    pub fn unsent(&self) -> Result<Unsent> {
        self.conn
            .query_row(
                "SELECT coalesce(sum(kind <> 'lineItem'), 0), coalesce(sum(kind = 'lineItem'), 0) FROM outbox",
                [],
                |r| {
                    Ok(Unsent {
                        grades: r.get(0)?,
                        assignments: r.get(1)?,
                    })
                },
            )
            .map_err(GradebookError::store("read"))
    }

    /// [`GradeStore::unsent_count`] split into grades and new assignments, in
    /// `class_id` and in the other classes (a class this store does not know has none).
    pub fn unsent_by_class(&self, class_id: &ClassId) -> Result<UnsentByClass> {
        let class_id = class_id.as_str();
        unsent_by_class(&self.conn, class_id).map_err(GradebookError::store("read"))
    }
}

/// Moves a cell's queued write (and its edit) to a new client-chosen `sourcedId`, based
/// on nothing: its record `old_id` was deleted on the server.
pub(super) fn rekey(
    tx: &Connection,
    old_id: &str,
    line_item_id: &str,
    student_id: &str,
) -> rusqlite::Result<()> {
    let new_id = uuid::Uuid::new_v4().to_string();
    repoint(tx, old_id, &new_id, None, line_item_id, student_id)
}

/// The base of a write moved onto a record the SIS made: no `dateLastModified` matches it,
/// so the sender finds a conflict whatever the record holds (unless it already holds the
/// teacher's value) and, if the record is deleted meanwhile, a conflict too (never a
/// write to a deleted id).
pub(super) const ADOPTED: &str = "";

/// Moves a cell's queued write (and its edit) from record `old_id` to `new_id`, based on
/// `base` (the sender checks what `new_id` holds before writing it).
pub(super) fn repoint(
    tx: &Connection,
    old_id: &str,
    new_id: &str,
    base: Option<&str>,
    line_item_id: &str,
    student_id: &str,
) -> rusqlite::Result<()> {
    let new_id = new_id.to_owned();
    let old_record = format!("results/{old_id}");
    let body: Option<Option<String>> = tx
        .query_row(
            "SELECT body FROM outbox WHERE record_id = ?1",
            [&old_record],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(body) = body {
        let body = body.and_then(|b| {
            let mut result: GradeResult = serde_json::from_str(&b).ok()?;
            result.sourced_id.clone_from(&new_id);
            serde_json::to_string(&result).ok()
        });
        tx.execute(
            "UPDATE outbox SET record_id = ?2, body = ?3, base_modified = ?4 WHERE record_id = ?1",
            params![old_record, format!("results/{new_id}"), body, base],
        )?;
    }
    tx.execute(
        "UPDATE edits SET result_id = ?4, base_modified = ?5 WHERE line_item_id = ?1 AND student_id = ?2 AND result_id = ?3",
        params![line_item_id, student_id, old_id, new_id, base],
    )?;
    Ok(())
}

/// Every outbox entry counted once, as [`GradeStore::unsent_count`] counts them: an
/// assignment's entry is an assignment, any other a grade; an entry of no class (none
/// should be) is another class's, so the two halves always add up to the whole.
pub(super) fn unsent_by_class(
    conn: &Connection,
    class_id: &str,
) -> rusqlite::Result<UnsentByClass> {
    conn.query_row(
        "SELECT coalesce(sum(kind <> 'lineItem' AND class_id IS ?1), 0),
                coalesce(sum(kind = 'lineItem' AND class_id IS ?1), 0),
                coalesce(sum(kind <> 'lineItem' AND class_id IS NOT ?1), 0),
                coalesce(sum(kind = 'lineItem' AND class_id IS NOT ?1), 0)
         FROM outbox",
        [class_id],
        |r| {
            Ok(UnsentByClass {
                this_class: Unsent {
                    grades: r.get(0)?,
                    assignments: r.get(1)?,
                },
                other_classes: Unsent {
                    grades: r.get(2)?,
                    assignments: r.get(3)?,
                },
            })
        },
    )
}

impl RecordKind {
    pub fn name(self) -> &'static str {
        self.tag()
    }
}
