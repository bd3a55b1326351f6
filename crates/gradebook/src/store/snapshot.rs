//! What a sync saves: a class as the server has it (students, assignments, results),
//! the pages the window showed, and the classes the store knows.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use rollbook_oneroster::models::{Category, GradeResult, LineItem};

use super::GradeStore;
use super::outbox::{ADOPTED, repoint};
use crate::error::{GradebookError, Result};

/// A class's gradebook as the server has it: what a sync saves.
#[derive(Debug, Clone, Default)]
pub struct ClassSnapshot {
    pub class_id: String,
    pub title: String,
    pub students: Vec<StudentName>,
    pub line_items: Vec<LineItem>,
    pub results: Vec<GradeResult>,
    pub categories: Vec<Category>,
    /// When the server answered (RFC 3339).
    pub synced_at: String,
}

/// A page as the window last showed it, kept for a warm start and offline use.
#[derive(Clone, PartialEq, Eq)]
pub struct SavedPage {
    /// The caller's JSON.
    pub body: String,
    /// When the server gave it (RFC 3339).
    pub read_at: String,
}

impl std::fmt::Debug for SavedPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body may hold students' names; it never goes into a log.
        f.debug_struct("SavedPage")
            .field("read_at", &self.read_at)
            .finish_non_exhaustive()
    }
}

/// A student as the gradebook needs them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StudentName {
    pub sourced_id: String,
    pub given_name: String,
    pub family_name: String,
}

impl std::fmt::Debug for StudentName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A student's name never goes into a log.
        f.debug_struct("StudentName")
            .field("sourced_id", &self.sourced_id)
            .finish_non_exhaustive()
    }
}

impl GradeStore {
    /// Saves what the server has for a class. The teacher's edits and the outbox stay
    /// as they are; edits already sent whose value the server now has are settled.
    pub fn save_snapshot(&mut self, snapshot: &ClassSnapshot) -> Result<()> {
        self.write("saved", |tx| {
            tx.execute(
                "INSERT INTO classes (sourced_id, title, synced_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(sourced_id) DO UPDATE SET title = ?2, synced_at = ?3",
                params![snapshot.class_id, snapshot.title, snapshot.synced_at],
            )?;
            tx.execute(
                "DELETE FROM students WHERE class_id = ?1",
                [&snapshot.class_id],
            )?;
            for (position, s) in (0i64..).zip(&snapshot.students) {
                tx.execute(
                    "INSERT INTO students (class_id, sourced_id, given_name, family_name, position) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![snapshot.class_id, s.sourced_id, s.given_name, s.family_name, position],
                )?;
            }
            for c in &snapshot.categories {
                tx.execute(
                    "INSERT INTO categories (sourced_id, title) VALUES (?1, ?2)
                     ON CONFLICT(sourced_id) DO UPDATE SET title = ?2",
                    params![c.sourced_id, c.title],
                )?;
            }
            // Line items made here and not yet on the server stay; the rest is replaced.
            tx.execute(
                "DELETE FROM line_items WHERE class_id = ?1 AND local = 0",
                [&snapshot.class_id],
            )?;
            for (position, item) in (0i64..).zip(&snapshot.line_items) {
                let record = serde_json::to_string(item).unwrap_or_default();
                tx.execute(
                    "INSERT INTO line_items (sourced_id, class_id, record, modified, position, local) VALUES (?1, ?2, ?3, ?4, ?5, 0)
                     ON CONFLICT(sourced_id) DO UPDATE SET class_id = ?2, record = ?3, modified = ?4, position = ?5, local = 0",
                    params![item.sourced_id, snapshot.class_id, record, item.date_last_modified, position],
                )?;
            }
            tx.execute(
                "DELETE FROM results WHERE line_item_id IN (SELECT sourced_id FROM line_items WHERE class_id = ?1)",
                [&snapshot.class_id],
            )?;
            for r in &snapshot.results {
                let record = serde_json::to_string(r).unwrap_or_default();
                tx.execute(
                    "INSERT INTO results (sourced_id, line_item_id, student_id, record, modified) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(sourced_id) DO UPDATE SET line_item_id = ?2, student_id = ?3, record = ?4, modified = ?5",
                    params![r.sourced_id, r.line_item.sourced_id, r.student.sourced_id, record, r.date_last_modified],
                )?;
            }
            // A sent edit is settled by the district's answer: the snapshot now shows
            // what it holds, whether that is the teacher's value or a later change made
            // in the SIS (which must show, not stay hidden under "sent"). An edit made
            // since the send is `saved`, not `sent`, and stays.
            tx.execute(
                "DELETE FROM edits WHERE class_id = ?1 AND state = 'sent'",
                [&snapshot.class_id],
            )?;
            // An edit that was to create the cell's result, where the district now has
            // one under another id (made in the SIS meanwhile), is re-pointed at that
            // record, based on no version of it (`ADOPTED`), so the sender asks the
            // teacher unless it already holds the teacher's value.
            let adopt: Vec<(String, String, String, String)> = {
                let mut statement = tx.prepare(
                    "SELECT e.line_item_id, e.student_id, e.result_id, r.sourced_id FROM edits e
                     JOIN results r ON r.line_item_id = e.line_item_id AND r.student_id = e.student_id
                     WHERE e.class_id = ?1 AND r.sourced_id != e.result_id
                     AND NOT EXISTS (SELECT 1 FROM results o WHERE o.sourced_id = e.result_id)
                     AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.record_id = 'results/' || r.sourced_id)",
                )?;
                statement
                    .query_map([&snapshot.class_id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect::<rusqlite::Result<_>>()?
            };
            for (line_item, student, ours, theirs) in adopt {
                repoint(tx, &ours, &theirs, Some(ADOPTED), &line_item, &student)?;
            }
            // Edits whose assignment or student is gone have no cell: they wait for the
            // teacher (see `orphans`) instead of being sent outside the class; one whose
            // assignment or student is back is sent again.
            tx.execute(
                "UPDATE outbox SET held = NULL WHERE kind = 'result' AND class_id = ?1 AND held = 'orphan'
                 AND line_item_id IN (SELECT sourced_id FROM line_items WHERE class_id = ?1)
                 AND student_id IN (SELECT sourced_id FROM students WHERE class_id = ?1)",
                [&snapshot.class_id],
            )?;
            tx.execute(
                "UPDATE outbox SET held = 'orphan' WHERE kind = 'result' AND class_id = ?1 AND held IS NULL
                 AND (line_item_id NOT IN (SELECT sourced_id FROM line_items WHERE class_id = ?1)
                      OR student_id NOT IN (SELECT sourced_id FROM students WHERE class_id = ?1))",
                [&snapshot.class_id],
            )?;
            Ok(())
        })
    }

    /// Keeps a page the window showed (`body` is the caller's JSON), read from the
    /// server at `read_at` (RFC 3339), replacing the one saved under `name`.
    pub fn save_page(&mut self, name: &str, body: &str, read_at: &str) -> Result<()> {
        self.write("saved", |tx| {
            tx.execute(
                "INSERT INTO saved_pages (name, body, read_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET body = ?2, read_at = ?3",
                params![name, body, read_at],
            )?;
            Ok(())
        })
    }

    /// The page saved under `name`, if any.
    pub fn saved_page(&self, name: &str) -> Result<Option<SavedPage>> {
        self.conn
            .query_row(
                "SELECT body, read_at FROM saved_pages WHERE name = ?1",
                [name],
                |r| {
                    Ok(SavedPage {
                        body: r.get(0)?,
                        read_at: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(GradebookError::store("read"))
    }

    /// The classes the store knows, with when each was last synced.
    pub fn classes(&self) -> Result<Vec<(String, String, Option<String>)>> {
        let mut statement = self
            .conn
            .prepare("SELECT sourced_id, title, synced_at FROM classes ORDER BY title")
            .map_err(GradebookError::store("read"))?;
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(GradebookError::store("read"))?
            .collect::<rusqlite::Result<_>>()
            .map_err(GradebookError::store("read"))
    }
}
