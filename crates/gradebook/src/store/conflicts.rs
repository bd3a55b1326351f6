//! What waits for the teacher: conflicts with the SIS, edits whose assignment or student
//! is gone (orphans), and new assignments the district refused.

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use rollbook_oneroster::models::LineItem;

use super::GradeStore;
use super::grade_entry::record;
use super::outbox::rekey;
use super::view::CellState;
use crate::entry::CellValue;
use crate::error::{GradebookError, Result};
use crate::ids::{ClassId, LineItemId, StudentId};

/// How the teacher settles a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Resolution {
    /// Send Rollbook's value over the server's.
    KeepMine,
    /// Take the server's value and drop the edit.
    TakeTheirs,
}

/// Why an edit has no cell to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum OrphanReason {
    /// The assignment is gone from the district (deleted in the SIS).
    AssignmentGone,
    /// The student is no longer in the class.
    StudentLeft,
}

/// An edit waiting to be sent whose assignment or student is no longer in the class, so
/// no cell of the grid shows it. The teacher settles it with [`GradeStore::settle_orphan`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Orphan {
    pub class_id: String,
    pub line_item_id: String,
    pub student_id: String,
    /// The assignment's title as last known, if it is still in the store.
    pub line_item_title: Option<String>,
    pub value: CellValue,
    pub reason: OrphanReason,
    /// When the teacher made the edit (RFC 3339).
    pub edited_at: String,
}

/// What the teacher does with an orphaned edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum OrphanAction {
    /// Keep it in Rollbook, unsent, and ask again later.
    Keep,
    /// Send it with the next sync anyway (the district decides).
    Retry,
    /// Drop the edit.
    Discard,
}

/// An assignment made in Rollbook that the district refused (or found changed): it and
/// the grades behind it wait for the teacher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldLineItem {
    pub line_item_id: String,
    pub title: String,
    /// Held as a conflict (the district has a record by that id) rather than refused.
    pub conflict: bool,
    /// Grades of it waiting behind it.
    pub grades: u32,
}

impl GradeStore {
    /// Edits whose assignment was deleted in the SIS or whose student left the class:
    /// no cell shows them, yet they are unsent. The teacher settles each one.
    pub fn orphans(&self) -> Result<Vec<Orphan>> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT o.class_id, o.line_item_id, o.student_id, e.value, e.edited_at, l.record,
                        l.sourced_id IS NULL
                 FROM outbox o
                 JOIN edits e ON e.line_item_id = o.line_item_id AND e.student_id = o.student_id
                 LEFT JOIN line_items l ON l.sourced_id = o.line_item_id AND l.class_id = o.class_id
                 LEFT JOIN students s ON s.sourced_id = o.student_id AND s.class_id = o.class_id
                 WHERE o.kind = 'result' AND (l.sourced_id IS NULL OR s.sourced_id IS NULL)
                 ORDER BY o.class_id, o.line_item_id, o.student_id",
            )
            .map_err(GradebookError::store("read"))?;
        statement
            .query_map([], |r| {
                let record: Option<String> = r.get(5)?;
                Ok(Orphan {
                    class_id: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    line_item_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    student_id: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    value: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                    edited_at: r.get(4)?,
                    line_item_title: record
                        .and_then(|j| serde_json::from_str::<LineItem>(&j).ok())
                        .map(|i| i.title),
                    reason: if r.get::<_, bool>(6)? {
                        OrphanReason::AssignmentGone
                    } else {
                        OrphanReason::StudentLeft
                    },
                })
            })
            .map_err(GradebookError::store("read"))?
            .collect::<rusqlite::Result<_>>()
            .map_err(GradebookError::store("read"))
    }

    /// Settles an orphaned edit (see [`GradeStore::orphans`]).
    pub fn settle_orphan(
        &mut self,
        line_item_id: &LineItemId,
        student_id: &StudentId,
        action: OrphanAction,
    ) -> Result<()> {
        let (line_item_id, student_id) = (line_item_id.as_str(), student_id.as_str());
        let orphan = self
            .orphans()?
            .into_iter()
            .any(|o| o.line_item_id == line_item_id && o.student_id == student_id);
        if !orphan {
            return Err(GradebookError::NotFound {
                what: "orphaned edit",
                id: format!("{line_item_id}/{student_id}"),
            });
        }
        self.write("saved", |tx| {
            match action {
                OrphanAction::Keep => {
                    tx.execute(
                        "UPDATE outbox SET held = 'orphan' WHERE kind = 'result' AND line_item_id = ?1 AND student_id = ?2 AND held IS NULL",
                        params![line_item_id, student_id],
                    )?;
                }
                OrphanAction::Retry => {
                    tx.execute(
                        "UPDATE outbox SET held = NULL, not_before = 0 WHERE kind = 'result' AND line_item_id = ?1 AND student_id = ?2 AND held IN ('orphan', 'refused')",
                        params![line_item_id, student_id],
                    )?;
                    tx.execute(
                        "UPDATE edits SET state = 'saved', reason = NULL WHERE line_item_id = ?1 AND student_id = ?2 AND state = 'refused'",
                        params![line_item_id, student_id],
                    )?;
                }
                OrphanAction::Discard => {
                    tx.execute(
                        "DELETE FROM outbox WHERE kind = 'result' AND line_item_id = ?1 AND student_id = ?2",
                        params![line_item_id, student_id],
                    )?;
                    tx.execute(
                        "DELETE FROM edits WHERE line_item_id = ?1 AND student_id = ?2",
                        params![line_item_id, student_id],
                    )?;
                }
            }
            Ok(())
        })
    }

    /// Assignments made in Rollbook whose write the district refused (or found in
    /// conflict): held, with the grades that wait behind them, until the teacher settles
    /// them with [`GradeStore::settle_held_line_item`].
    pub fn held_line_items(&self, class_id: &ClassId) -> Result<Vec<HeldLineItem>> {
        let class_id = class_id.as_str();
        let mut statement = self
            .conn
            .prepare(
                "SELECT substr(o.record_id, 11), o.body, o.held,
                        (SELECT count(*) FROM outbox r WHERE r.kind = 'result' AND r.line_item_id = substr(o.record_id, 11))
                 FROM outbox o
                 WHERE o.kind = 'lineItem' AND o.class_id = ?1 AND o.held IS NOT NULL
                 ORDER BY o.queued_at, o.record_id",
            )
            .map_err(GradebookError::store("read"))?;
        statement
            .query_map([class_id], |r| {
                let body: Option<String> = r.get(1)?;
                Ok(HeldLineItem {
                    line_item_id: r.get(0)?,
                    title: body
                        .and_then(|b| serde_json::from_str::<LineItem>(&b).ok())
                        .map(|i| i.title)
                        .unwrap_or_default(),
                    conflict: r.get::<_, String>(2)? == "conflict",
                    grades: r.get(3)?,
                })
            })
            .map_err(GradebookError::store("read"))?
            .collect::<rusqlite::Result<_>>()
            .map_err(GradebookError::store("read"))
    }

    /// Settles a held assignment (see [`GradeStore::held_line_items`]): keep changes
    /// nothing; retry sends it with the next sync; discard drops it, and with it, when it
    /// was made here, its column and the grades waiting behind it.
    pub fn settle_held_line_item(
        &mut self,
        line_item_id: &LineItemId,
        action: OrphanAction,
    ) -> Result<()> {
        let line_item_id = line_item_id.as_str();
        let record = format!("lineItems/{line_item_id}");
        let held: bool = self
            .conn
            .query_row(
                "SELECT count(*) > 0 FROM outbox WHERE record_id = ?1 AND held IS NOT NULL",
                [&record],
                |r| r.get(0),
            )
            .map_err(GradebookError::store("read"))?;
        if !held {
            return Err(GradebookError::NotFound {
                what: "held assignment",
                id: line_item_id.to_owned(),
            });
        }
        self.write("saved", |tx| {
            match action {
                OrphanAction::Keep => {}
                OrphanAction::Retry => {
                    tx.execute(
                        "UPDATE outbox SET held = NULL, not_before = 0 WHERE record_id = ?1",
                        [&record],
                    )?;
                }
                OrphanAction::Discard => {
                    tx.execute("DELETE FROM outbox WHERE record_id = ?1", [&record])?;
                    let made_here = tx.execute(
                        "DELETE FROM line_items WHERE sourced_id = ?1 AND local = 1",
                        [line_item_id],
                    )?;
                    if made_here == 1 {
                        tx.execute(
                            "DELETE FROM outbox WHERE kind = 'result' AND line_item_id = ?1",
                            [line_item_id],
                        )?;
                        tx.execute("DELETE FROM edits WHERE line_item_id = ?1", [line_item_id])?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Settles a conflict.
    pub fn resolve(
        &mut self,
        line_item_id: &LineItemId,
        student_id: &StudentId,
        resolution: Resolution,
    ) -> Result<CellState> {
        let (line_item_id, student_id) = (line_item_id.as_str(), student_id.as_str());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(GradebookError::store("saved"))?;
        let row: Option<(String, Option<String>, Option<String>)> = tx
            .query_row(
                "SELECT result_id, server_value, server_modified FROM edits WHERE line_item_id = ?1 AND student_id = ?2 AND state = 'conflict'",
                params![line_item_id, student_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(GradebookError::store("read"))?;
        let Some((result_id, server_value, server_modified)) = row else {
            return Err(GradebookError::NotFound {
                what: "conflict",
                id: format!("{line_item_id}/{student_id}"),
            });
        };
        let record_id = format!("results/{result_id}");
        let write = || -> rusqlite::Result<CellState> {
            match resolution {
                Resolution::KeepMine => {
                    // Based on the server's version now, so the next sync sends it.
                    tx.execute(
                        "UPDATE outbox SET held = NULL, base_modified = ?2, attempts = 0, not_before = 0 WHERE record_id = ?1",
                        params![record_id, server_modified],
                    )?;
                    tx.execute(
                        "UPDATE edits SET state = 'saved', base_modified = ?3, server_value = NULL, server_modified = NULL WHERE line_item_id = ?1 AND student_id = ?2",
                        params![line_item_id, student_id, server_modified],
                    )?;
                    // The district deleted the record: the teacher's grade goes back as
                    // a new record (a deleted sourcedId is not written again).
                    if server_modified.is_none() {
                        rekey(&tx, &result_id, line_item_id, student_id)?;
                    }
                    Ok(CellState::Saved)
                }
                Resolution::TakeTheirs => {
                    tx.execute("DELETE FROM outbox WHERE record_id = ?1", [&record_id])?;
                    tx.execute(
                        "DELETE FROM edits WHERE line_item_id = ?1 AND student_id = ?2",
                        params![line_item_id, student_id],
                    )?;
                    // Until the next snapshot, the server's value as the conflict saw it.
                    let theirs: CellValue = server_value
                        .as_deref()
                        .and_then(|v| serde_json::from_str(v).ok())
                        .unwrap_or_default();
                    if theirs.is_empty() {
                        tx.execute("DELETE FROM results WHERE sourced_id = ?1", [&result_id])?;
                    } else {
                        let record = record(
                            &result_id,
                            line_item_id,
                            student_id,
                            &theirs,
                            server_modified.as_deref().unwrap_or_default(),
                        );
                        tx.execute(
                            "INSERT INTO results (sourced_id, line_item_id, student_id, record, modified) VALUES (?1, ?2, ?3, ?4, ?5)
                             ON CONFLICT(sourced_id) DO UPDATE SET record = ?4, modified = ?5",
                            params![result_id, line_item_id, student_id, serde_json::to_string(&record).unwrap_or_default(), server_modified],
                        )?;
                    }
                    Ok(CellState::Synced)
                }
            }
        };
        let state = write().map_err(GradebookError::store("saved"))?;
        tx.commit().map_err(GradebookError::store("saved"))?;
        Ok(state)
    }
}
