//! Grade entry: a teacher's change to a cell, or a new assignment, saved with its outbox
//! entry in one transaction.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Deserialize;

use rollbook_oneroster::models::{GradeResult, GuidRef, LineItem};

use super::GradeStore;
use super::view::{CellState, CellView, decode_state};
use crate::entry::{CellInput, CellValue, Mark};
use crate::error::{GradebookError, Result};
use crate::ids::{ClassId, LineItemId, ResultId, StudentId};

/// What a teacher does to a cell.
#[derive(Debug, Clone, PartialEq)]
pub enum CellChange {
    /// Typed text (a score, a mark key, or nothing to clear).
    Input(CellInput),
    /// A new comment (`None` removes it).
    Comment(Option<String>),
    /// A whole value: undo, redo, paste, fill.
    Value(CellValue),
}

/// A new assignment.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct NewLineItem {
    pub title: String,
    pub category_id: Option<String>,
    pub max_points: f64,
    pub assign_date: String,
    pub due_date: String,
}

impl GradeStore {
    /// Changes one cell. When this returns, the edit and its outbox entry are on disk.
    pub fn enter(
        &mut self,
        class_id: &ClassId,
        line_item_id: &LineItemId,
        student_id: &StudentId,
        change: CellChange,
        now: &str,
    ) -> Result<CellView> {
        let (class_id, line_item_id, student_id) = (
            class_id.as_str(),
            line_item_id.as_str(),
            student_id.as_str(),
        );
        let now_ms = self.now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(GradebookError::store("saved"))?;
        let cell = CellRef {
            class_id,
            line_item_id,
            student_id,
        };
        let before = read_cell(&tx, &cell)?;
        let value = changed(before.current.clone(), change);
        let state = save_edit(&tx, &cell, &before, &value, now, now_ms)
            .map_err(GradebookError::store("saved"))?;
        tx.commit().map_err(GradebookError::store("saved"))?;
        let state = match state {
            CellState::Conflict { .. } => self.cell_state(line_item_id, student_id)?,
            other => other,
        };
        Ok(CellView {
            line_item_id: line_item_id.to_owned(),
            student_id: student_id.to_owned(),
            over_max: before.max > 0.0 && value.score.is_some_and(|s| s > before.max),
            value,
            state,
        })
    }

    fn cell_state(&self, line_item_id: &str, student_id: &str) -> Result<CellState> {
        let row: Option<(String, Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT state, reason, server_value FROM edits WHERE line_item_id = ?1 AND student_id = ?2",
                params![line_item_id, student_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(GradebookError::store("read"))?;
        Ok(row.map_or(CellState::Synced, |(s, r, v)| decode_state(&s, r, v)))
    }

    /// Creates an assignment with a client-chosen id; it is written to the server with
    /// the next sync.
    pub fn create_line_item(&mut self, class_id: &ClassId, new: &NewLineItem) -> Result<String> {
        let class_id = class_id.as_str();
        let title = new.title.trim();
        if title.is_empty() {
            return Err(GradebookError::Invalid(
                "an assignment needs a title".into(),
            ));
        }
        if !new.max_points.is_finite() || new.max_points < 0.0 {
            return Err(GradebookError::Invalid(
                "points possible must be zero or more".into(),
            ));
        }
        for (name, date) in [
            ("assigned date", &new.assign_date),
            ("due date", &new.due_date),
        ] {
            if date.parse::<jiff::civil::Date>().is_err() {
                return Err(GradebookError::Invalid(format!(
                    "the {name} must be a date like 2026-09-01"
                )));
            }
        }
        if new.due_date < new.assign_date {
            return Err(GradebookError::Invalid(
                "the due date is before the assigned date".into(),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let item = LineItem {
            sourced_id: id.clone(),
            status: Some("active".into()),
            title: title.to_owned(),
            description: None,
            assign_date: Some(new.assign_date.clone()),
            due_date: Some(new.due_date.clone()),
            class: Some(GuidRef {
                sourced_id: class_id.to_owned(),
                kind: Some("class".into()),
            }),
            category: new.category_id.clone().map(|c| GuidRef {
                sourced_id: c,
                kind: Some("category".into()),
            }),
            grading_period: None,
            result_value_min: Some(0.0),
            result_value_max: Some(new.max_points),
            date_last_modified: None,
        };
        let body = serde_json::to_string(&item).unwrap_or_default();
        let now_ms = self.now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(GradebookError::store("saved"))?;
        let known: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM classes WHERE sourced_id = ?1",
                [class_id],
                |r| r.get(0),
            )
            .map_err(GradebookError::store("read"))?;
        if !known {
            return Err(GradebookError::NotFound {
                what: "class",
                id: class_id.to_owned(),
            });
        }
        let write = || -> rusqlite::Result<()> {
            tx.execute(
                "INSERT INTO line_items (sourced_id, class_id, record, modified, position, local)
                 VALUES (?1, ?2, ?3, NULL, (SELECT coalesce(max(position), 0) + 1 FROM line_items WHERE class_id = ?2), 1)",
                params![id, class_id, body],
            )?;
            tx.execute(
                "INSERT INTO outbox (record_id, kind, method, body, base_modified, queued_at, class_id)
                 VALUES (?1, 'lineItem', 'PUT', ?2, NULL, ?3, ?4)",
                params![format!("lineItems/{id}"), body, now_ms, class_id],
            )?;
            Ok(())
        };
        write().map_err(GradebookError::store("saved"))?;
        tx.commit().map_err(GradebookError::store("saved"))?;
        Ok(id)
    }
}

/// The cell a change is for.
struct CellRef<'a> {
    class_id: &'a str,
    line_item_id: &'a str,
    student_id: &'a str,
}

/// A cell as it stands before a change.
struct CellBefore {
    /// The result record the cell writes (a new client-chosen id if it has none yet).
    result_id: String,
    current: CellValue,
    /// The server's `dateLastModified` the edit is based on.
    base: Option<String>,
    in_conflict: bool,
    /// The server's value as last synced: (value, result id, dateLastModified).
    server: Option<(CellValue, String, Option<String>)>,
    /// A sync has taken the cell's write: it may be on its way, or may have landed.
    taken: bool,
    /// The assignment's points possible (0: none).
    max: f64,
}

/// Reads what a change needs, checking the assignment is in the class and the student
/// enrolled in it.
fn read_cell(tx: &Connection, cell: &CellRef<'_>) -> Result<CellBefore> {
    let CellRef {
        class_id,
        line_item_id,
        student_id,
    } = *cell;
    let item: Option<(String, bool)> = tx
        .query_row(
            "SELECT record, local FROM line_items WHERE sourced_id = ?1 AND class_id = ?2",
            params![line_item_id, class_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(GradebookError::store("read"))?;
    let Some((item, _)) = item else {
        return Err(GradebookError::NotFound {
            what: "line item",
            id: line_item_id.to_owned(),
        });
    };
    let enrolled: bool = tx
        .query_row(
            "SELECT count(*) > 0 FROM students WHERE class_id = ?1 AND sourced_id = ?2",
            params![class_id, student_id],
            |r| r.get(0),
        )
        .map_err(GradebookError::store("read"))?;
    if !enrolled {
        return Err(GradebookError::NotFound {
            what: "student",
            id: student_id.to_owned(),
        });
    }
    let max = serde_json::from_str::<LineItem>(&item)
        .ok()
        .and_then(|i| i.result_value_max)
        .unwrap_or(0.0);
    let edit: Option<(String, String, Option<String>, String)> = tx
        .query_row(
            "SELECT result_id, value, base_modified, state FROM edits WHERE line_item_id = ?1 AND student_id = ?2",
            params![line_item_id, student_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(GradebookError::store("read"))?;
    let server =
        server_cell(tx, line_item_id, student_id).map_err(GradebookError::store("read"))?;
    let (result_id, current, base, previous_state) = match (edit, &server) {
        (Some((id, value, base, state)), _) => (
            id,
            serde_json::from_str(&value).unwrap_or_default(),
            base,
            Some(state),
        ),
        (None, Some((value, id, modified))) => (id.clone(), value.clone(), modified.clone(), None),
        (None, None) => (
            uuid::Uuid::new_v4().to_string(),
            CellValue::default(),
            None,
            None,
        ),
    };
    let taken: bool = tx
        .query_row(
            "SELECT count(*) > 0 FROM outbox WHERE record_id = ?1 AND taken = 1",
            [format!("results/{result_id}")],
            |r| r.get(0),
        )
        .map_err(GradebookError::store("read"))?;
    Ok(CellBefore {
        result_id,
        current,
        base,
        in_conflict: previous_state.as_deref() == Some("conflict"),
        server,
        taken,
        max,
    })
}

/// The cell's value after the teacher's change.
fn changed(current: CellValue, change: CellChange) -> CellValue {
    match change {
        CellChange::Input(input) => current.with_input(input),
        CellChange::Comment(comment) => CellValue {
            comment: comment
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            ..current
        },
        CellChange::Value(v) => v,
    }
}

/// Writes the edit and its outbox entry (or drops both when the cell is back to what the
/// server has), inside the caller's transaction.
fn save_edit(
    tx: &Connection,
    cell: &CellRef<'_>,
    before: &CellBefore,
    value: &CellValue,
    now: &str,
    now_ms: i64,
) -> rusqlite::Result<CellState> {
    let CellRef {
        class_id,
        line_item_id,
        student_id,
    } = *cell;
    let CellBefore {
        result_id,
        base,
        in_conflict,
        server,
        taken,
        ..
    } = before;
    let in_conflict = *in_conflict;
    let record_id = format!("results/{result_id}");
    let nothing_on_server = server.is_none() && base.is_none();
    let back_to_server = server.as_ref().is_some_and(|(v, _, _)| v == value) && !in_conflict;
    // A write a sync has taken may be on its way or may have landed: dropping it
    // here would let the earlier value stand on the server while the grid shows
    // the cell as synced. The new value is queued instead; if the server already
    // holds it, the sender finds that and sends nothing.
    if !taken && ((value.is_empty() && nothing_on_server) || back_to_server) {
        // Nothing to send: the cell is as the server has it (or as it never was).
        tx.execute(
            "DELETE FROM edits WHERE line_item_id = ?1 AND student_id = ?2",
            params![line_item_id, student_id],
        )?;
        tx.execute("DELETE FROM outbox WHERE record_id = ?1", [&record_id])?;
        return Ok(CellState::Synced);
    }
    let (method, body) = if value.is_empty() {
        ("DELETE", None)
    } else {
        let result = record(result_id, line_item_id, student_id, value, now);
        (
            "PUT",
            Some(serde_json::to_string(&result).unwrap_or_default()),
        )
    };
    let state = if in_conflict { "conflict" } else { "saved" };
    tx.execute(
        "INSERT INTO edits (line_item_id, student_id, class_id, result_id, value, base_modified, state, edited_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(line_item_id, student_id) DO UPDATE SET value = ?5, state = ?7, reason = NULL, edited_at = ?8",
        params![line_item_id, student_id, class_id, result_id, serde_json::to_string(value).unwrap_or_default(), base, state, now],
    )?;
    // REPLACE gives the entry a new revision; its place in the queue stays.
    tx.execute(
        "INSERT OR REPLACE INTO outbox (record_id, kind, method, body, base_modified, line_item_id, student_id, queued_at, held, class_id, taken)
         VALUES (?1, 'result', ?2, ?3, ?4, ?5, ?6,
                 coalesce((SELECT queued_at FROM outbox WHERE record_id = ?1), ?7), ?8, ?9,
                 coalesce((SELECT taken FROM outbox WHERE record_id = ?1), 0))",
        params![record_id, method, body, base, line_item_id, student_id, now_ms, in_conflict.then_some("conflict"), class_id],
    )?;
    Ok(if in_conflict {
        CellState::Conflict {
            server: server
                .as_ref()
                .map(|(v, _, _)| v.clone())
                .unwrap_or_default(),
        }
    } else {
        CellState::Saved
    })
}

/// The server's value of a cell as last synced: (value, result id, dateLastModified).
fn server_cell(
    conn: &Connection,
    line_item_id: &str,
    student_id: &str,
) -> rusqlite::Result<Option<(CellValue, String, Option<String>)>> {
    let row: Option<(String, String, Option<String>)> = conn
        .query_row(
            "SELECT sourced_id, record, modified FROM results WHERE line_item_id = ?1 AND student_id = ?2",
            params![line_item_id, student_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(row.and_then(|(id, record, modified)| {
        let result: GradeResult = serde_json::from_str(&record).ok()?;
        Some((CellValue::from_result(&result), id, modified))
    }))
}

/// The OneRoster result a cell is written as (1.1 fields, plus 1.2's flags when set).
pub fn result_record(
    id: &ResultId,
    line_item_id: &LineItemId,
    student_id: &StudentId,
    value: &CellValue,
    now: &str,
) -> GradeResult {
    record(
        id.as_str(),
        line_item_id.as_str(),
        student_id.as_str(),
        value,
        now,
    )
}

/// [`result_record`] from the store's own columns.
pub(super) fn record(
    id: &str,
    line_item_id: &str,
    student_id: &str,
    value: &CellValue,
    now: &str,
) -> GradeResult {
    let flag = |on: bool| on.then(|| "true".to_owned());
    GradeResult {
        sourced_id: id.to_owned(),
        status: Some("active".into()),
        line_item: GuidRef {
            sourced_id: line_item_id.to_owned(),
            kind: Some("lineItem".into()),
        },
        student: GuidRef {
            sourced_id: student_id.to_owned(),
            kind: Some("user".into()),
        },
        score_status: value.score_status(),
        // 1.1 requires a number: missing work is written as 0, and read back as missing.
        score: match value.mark {
            Some(Mark::Missing) => Some(0.0),
            Some(Mark::Exempt) => None,
            _ => value.score,
        },
        score_date: now.get(..10).map(str::to_owned),
        comment: value.comment.clone(),
        date_last_modified: Some(now.to_owned()),
        late: flag(value.mark == Some(Mark::Late)),
        incomplete: flag(value.mark == Some(Mark::Incomplete)),
        missing: flag(value.mark == Some(Mark::Missing)),
    }
}
