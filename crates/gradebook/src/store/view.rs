//! The grid as the teacher sees it: the class's synced gradebook with the edits on top,
//! and its averages.

use std::collections::HashMap;

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use rollbook_oneroster::models::{GradeResult, LineItem};

use super::GradeStore;
use super::outbox::{UnsentByClass, unsent_by_class};
use super::snapshot::StudentName;
use crate::averages::{GradingRules, ItemInfo, StudentAverage, class_averages};
use crate::entry::CellValue;
use crate::error::{GradebookError, Result};
use crate::ids::ClassId;

/// Where a cell stands between this computer and the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum CellState {
    /// As the server has it.
    Synced,
    /// Saved on this computer, waiting to be sent.
    Saved,
    /// The server took it.
    Sent,
    /// The server refused it; it stays in Rollbook only. `reason` is the server's words.
    Refused { reason: String },
    /// Someone changed it in the SIS since it was read; the teacher chooses.
    Conflict { server: CellValue },
}

impl CellState {
    fn tag(&self) -> &'static str {
        match self {
            CellState::Synced => "synced",
            CellState::Saved => "saved",
            CellState::Sent => "sent",
            CellState::Refused { .. } => "refused",
            CellState::Conflict { .. } => "conflict",
        }
    }
}

/// One cell as the grid shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CellView {
    pub line_item_id: String,
    pub student_id: String,
    pub value: CellValue,
    pub state: CellState,
    /// Above the line item's maximum (extra credit): allowed, and flagged.
    pub over_max: bool,
}

/// A column of the grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ColumnView {
    pub sourced_id: String,
    pub title: String,
    pub category_id: Option<String>,
    pub category_title: Option<String>,
    pub max_points: f64,
    pub assign_date: Option<String>,
    pub due_date: Option<String>,
    /// Made in Rollbook and not yet on the server.
    pub local: bool,
}

/// A class's gradebook with the teacher's edits on top, and its averages.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GradebookView {
    pub class_id: String,
    pub title: String,
    pub synced_at: Option<String>,
    pub students: Vec<StudentName>,
    pub columns: Vec<ColumnView>,
    pub cells: Vec<CellView>,
    pub rules: GradingRules,
    /// By student, in `students` order.
    pub student_averages: Vec<StudentAverage>,
    /// By column, in `columns` order.
    pub item_averages: Vec<crate::averages::ItemAverage>,
    /// The mean of the students' averages (the class-average row's average cell).
    pub class_average: crate::averages::ClassAverage,
    /// Edits waiting to be sent.
    pub pending: u32,
    /// What the district does not have yet, here and in the teacher's other classes:
    /// the same count sign-out refuses on, so the status line and the sign-out dialog
    /// add up to one number.
    pub unsent: UnsentByClass,
}

/// A class as the store holds it, read in one go: what [`build_view`] turns into the grid.
pub(super) struct ClassRows {
    pub class_id: String,
    pub title: String,
    pub synced_at: Option<String>,
    pub rules: GradingRules,
    pub students: Vec<StudentName>,
    pub columns: Vec<ColumnView>,
    /// The server's cells with the teacher's edits on top, in no particular order.
    pub cells: Vec<CellView>,
    /// Edits and new assignments waiting to be sent.
    pub pending: u32,
    pub unsent: UnsentByClass,
}

impl GradeStore {
    /// The class's gradebook with edits on top, or `None` if it was never synced.
    pub fn gradebook(&self, class_id: &ClassId) -> Result<Option<GradebookView>> {
        let class_id = class_id.as_str();
        let header: Option<(String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT title, synced_at FROM classes WHERE sourced_id = ?1",
                [class_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(GradebookError::store("read"))?;
        let Some((title, synced_at)) = header else {
            return Ok(None);
        };
        let rules = self.rules_of(class_id)?;
        let read = || -> rusqlite::Result<ClassRows> {
            let students = self.read_students(class_id)?;
            let columns = self.read_columns(class_id)?;
            let (cells, pending_grades) = self.read_cells(class_id)?;
            let pending_items: u32 = self.conn.query_row(
                "SELECT count(*) FROM outbox o JOIN line_items l ON o.kind = 'lineItem' AND o.record_id = 'lineItems/' || l.sourced_id WHERE l.class_id = ?1 AND o.held IS NULL",
                [class_id],
                |r| r.get(0),
            )?;
            Ok(ClassRows {
                class_id: class_id.to_owned(),
                title,
                synced_at,
                rules,
                students,
                columns,
                cells,
                pending: pending_grades + pending_items,
                unsent: unsent_by_class(&self.conn, class_id)?,
            })
        };
        let rows = read().map_err(GradebookError::store("read"))?;
        Ok(Some(build_view(rows)))
    }

    fn read_students(&self, class_id: &str) -> rusqlite::Result<Vec<StudentName>> {
        self.conn
            .prepare("SELECT sourced_id, given_name, family_name FROM students WHERE class_id = ?1 ORDER BY position")?
            .query_map([class_id], |r| {
                Ok(StudentName {
                    sourced_id: r.get(0)?,
                    given_name: r.get(1)?,
                    family_name: r.get(2)?,
                })
            })?
            .collect()
    }

    /// The class's assignments: the server's in its order, then those made here.
    fn read_columns(&self, class_id: &str) -> rusqlite::Result<Vec<ColumnView>> {
        let categories: HashMap<String, String> = self
            .conn
            .prepare("SELECT sourced_id, title FROM categories")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        self.conn
            .prepare("SELECT record, local FROM line_items WHERE class_id = ?1 ORDER BY local, position, sourced_id")?
            .query_map([class_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?
            .filter_map(|row| {
                let (record, local) = match row {
                    Ok(v) => v,
                    Err(e) => return Some(Err(e)),
                };
                let item: LineItem = serde_json::from_str(&record).ok()?;
                let category_id = item.category.as_ref().map(|c| c.sourced_id.clone());
                Some(Ok(ColumnView {
                    category_title: category_id.as_ref().and_then(|c| categories.get(c).cloned()),
                    category_id,
                    sourced_id: item.sourced_id,
                    title: item.title,
                    max_points: item.result_value_max.unwrap_or(0.0),
                    assign_date: item.assign_date,
                    due_date: item.due_date,
                    local,
                }))
            })
            .collect()
    }

    /// The server's cells with the teacher's edits on top, and how many edits wait to
    /// be sent.
    fn read_cells(&self, class_id: &str) -> rusqlite::Result<(Vec<CellView>, u32)> {
        let mut cells: HashMap<(String, String), CellView> = HashMap::new();
        let mut statement = self.conn.prepare(
            "SELECT r.record FROM results r JOIN line_items l ON l.sourced_id = r.line_item_id WHERE l.class_id = ?1",
        )?;
        for record in statement.query_map([class_id], |r| r.get::<_, String>(0))? {
            let Ok(result) = serde_json::from_str::<GradeResult>(&record?) else {
                continue;
            };
            let key = (
                result.line_item.sourced_id.clone(),
                result.student.sourced_id.clone(),
            );
            cells.insert(
                key.clone(),
                CellView {
                    line_item_id: key.0,
                    student_id: key.1,
                    value: CellValue::from_result(&result),
                    state: CellState::Synced,
                    over_max: false,
                },
            );
        }
        let mut statement = self.conn.prepare(
            "SELECT line_item_id, student_id, value, state, reason, server_value FROM edits WHERE class_id = ?1",
        )?;
        let mut pending = 0u32;
        for row in statement.query_map([class_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })? {
            let (line_item_id, student_id, value, state, reason, server_value) = row?;
            let state = decode_state(&state, reason, server_value);
            if state == CellState::Saved {
                pending += 1;
            }
            cells.insert(
                (line_item_id.clone(), student_id.clone()),
                CellView {
                    line_item_id,
                    student_id,
                    value: serde_json::from_str(&value).unwrap_or_default(),
                    state,
                    over_max: false,
                },
            );
        }
        Ok((cells.into_values().collect(), pending))
    }
}

/// The grid from a class's rows: flags scores above their column's maximum, puts the
/// cells in (student, assignment) order and works out the averages. Nothing here reads
/// the store or the clock, so a test can build any grid from rows it writes.
pub(super) fn build_view(rows: ClassRows) -> GradebookView {
    let ClassRows {
        class_id,
        title,
        synced_at,
        rules,
        students,
        columns,
        mut cells,
        pending,
        unsent,
    } = rows;
    let max: HashMap<&str, f64> = columns
        .iter()
        .map(|c| (c.sourced_id.as_str(), c.max_points))
        .collect();
    for cell in &mut cells {
        let limit = max.get(cell.line_item_id.as_str()).copied().unwrap_or(0.0);
        cell.over_max = limit > 0.0 && cell.value.score.is_some_and(|s| s > limit);
    }
    cells.sort_by(|a, b| (&a.student_id, &a.line_item_id).cmp(&(&b.student_id, &b.line_item_id)));
    let items: Vec<ItemInfo> = columns
        .iter()
        .map(|c| ItemInfo {
            id: c.sourced_id.clone(),
            title: c.title.clone(),
            category_id: c.category_id.clone(),
            category_title: c.category_title.clone(),
            max_points: c.max_points,
        })
        .collect();
    // Only the roster counts: edits kept for a student who left are in no average.
    let roster: Vec<&str> = students.iter().map(|s| s.sourced_id.as_str()).collect();
    let averages = class_averages(
        &rules,
        &items,
        &roster,
        cells
            .iter()
            .map(|c| (c.student_id.as_str(), c.line_item_id.as_str(), &c.value)),
    );
    GradebookView {
        class_id,
        title,
        synced_at,
        students,
        columns,
        cells,
        rules,
        student_averages: averages.students,
        item_averages: averages.items,
        class_average: averages.class,
        pending,
        unsent,
    }
}

pub(super) fn decode_state(
    state: &str,
    reason: Option<String>,
    server_value: Option<String>,
) -> CellState {
    match state {
        "sent" => CellState::Sent,
        "refused" => CellState::Refused {
            reason: reason.unwrap_or_default(),
        },
        "conflict" => CellState::Conflict {
            server: server_value
                .and_then(|v| serde_json::from_str(&v).ok())
                .unwrap_or_default(),
        },
        _ => CellState::Saved,
    }
}

impl CellState {
    /// The state's name in reports (`saved`, `sent`, `refused`, `conflict`, `synced`).
    pub fn name(&self) -> &'static str {
        self.tag()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(id: &str, max_points: f64) -> ColumnView {
        ColumnView {
            sourced_id: id.into(),
            title: id.into(),
            category_id: None,
            category_title: None,
            max_points,
            assign_date: None,
            due_date: None,
            local: false,
        }
    }

    fn cell(line_item: &str, student: &str, score: f64) -> CellView {
        CellView {
            line_item_id: line_item.into(),
            student_id: student.into(),
            value: CellValue {
                score: Some(score),
                ..CellValue::default()
            },
            state: CellState::Synced,
            over_max: false,
        }
    }

    fn student(id: &str) -> StudentName {
        StudentName {
            sourced_id: id.into(),
            given_name: String::new(),
            family_name: String::new(),
        }
    }

    #[test]
    fn the_grid_is_built_from_rows_alone() {
        let view = build_view(ClassRows {
            class_id: "c".into(),
            title: "Chemistry".into(),
            synced_at: None,
            rules: GradingRules::default(),
            students: vec![student("s1"), student("s2")],
            columns: vec![column("quiz", 10.0), column("bonus", 0.0)],
            // Out of order, one above its maximum, one with no maximum, and one of a
            // student who left the class.
            cells: vec![
                cell("quiz", "s2", 12.0),
                cell("bonus", "s1", 5.0),
                cell("quiz", "s1", 5.0),
                cell("quiz", "gone", 0.0),
            ],
            pending: 3,
            unsent: UnsentByClass::default(),
        });
        let order: Vec<(&str, &str, bool)> = view
            .cells
            .iter()
            .map(|c| (c.student_id.as_str(), c.line_item_id.as_str(), c.over_max))
            .collect();
        assert_eq!(
            order,
            [
                ("gone", "quiz", false),
                ("s1", "bonus", false),
                ("s1", "quiz", false),
                ("s2", "quiz", true),
            ]
        );
        assert_eq!(view.student_averages.len(), 2);
        // The quiz's mean counts the roster only: (5 + 12) / 2 of 10 points.
        assert_eq!(view.item_averages[0].mean_points, Some(8.5));
        assert_eq!(view.pending, 3);
    }
}
