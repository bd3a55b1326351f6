//! The store's tables: the migrations in order, and running the ones a file lacks.

use rusqlite::TransactionBehavior;

use super::GradeStore;

use crate::error::{GradebookError, Result};

/// Schema migrations, in order; `PRAGMA user_version` is how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: the synced gradebook, the teacher's edits and the outbox.
    "CREATE TABLE classes (
        sourced_id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        page TEXT,
        synced_at TEXT
    );
    CREATE TABLE students (
        class_id TEXT NOT NULL REFERENCES classes(sourced_id) ON DELETE CASCADE,
        sourced_id TEXT NOT NULL,
        given_name TEXT NOT NULL,
        family_name TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (class_id, sourced_id)
    );
    CREATE TABLE categories (
        sourced_id TEXT PRIMARY KEY,
        title TEXT NOT NULL
    );
    CREATE TABLE line_items (
        sourced_id TEXT PRIMARY KEY,
        class_id TEXT NOT NULL REFERENCES classes(sourced_id) ON DELETE CASCADE,
        record TEXT NOT NULL,
        modified TEXT,
        position INTEGER NOT NULL,
        local INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE results (
        sourced_id TEXT PRIMARY KEY,
        line_item_id TEXT NOT NULL,
        student_id TEXT NOT NULL,
        record TEXT NOT NULL,
        modified TEXT
    );
    CREATE INDEX results_by_cell ON results(line_item_id, student_id);
    CREATE TABLE edits (
        line_item_id TEXT NOT NULL,
        student_id TEXT NOT NULL,
        class_id TEXT NOT NULL,
        result_id TEXT NOT NULL,
        value TEXT NOT NULL,
        base_modified TEXT,
        state TEXT NOT NULL,
        reason TEXT,
        server_value TEXT,
        server_modified TEXT,
        edited_at TEXT NOT NULL,
        PRIMARY KEY (line_item_id, student_id)
    );
    -- AUTOINCREMENT: a revision is never reused, even after its row was sent and
    -- deleted, so (record, revision) always names one body.
    CREATE TABLE outbox (
        revision INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        method TEXT NOT NULL,
        body TEXT,
        base_modified TEXT,
        class_id TEXT,
        line_item_id TEXT,
        student_id TEXT,
        queued_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before INTEGER NOT NULL DEFAULT 0,
        held TEXT
    );",
    // 2: each class's grading rules (weights, drop-lowest, missing, the letter scale),
    // and facts about the store itself (whose it is).
    "CREATE TABLE grading_rules (
        class_id TEXT PRIMARY KEY,
        rules TEXT NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // 3: the pages the window showed (class list, rosters) for a warm start and offline
    // use, replacing version 1's never-used `classes.page`.
    "CREATE TABLE saved_pages (
        name TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        read_at TEXT NOT NULL
    );
    ALTER TABLE classes DROP COLUMN page;",
    // 4: whether a sync has taken the write to send (it may have reached the server even
    // if the run never recorded it), so an undo back to the server's value is sent
    // rather than dropped.
    "ALTER TABLE outbox ADD COLUMN taken INTEGER NOT NULL DEFAULT 0;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

impl GradeStore {
    /// Runs the migrations the file lacks, up to `target`, each in its own transaction.
    pub(super) fn migrate(&mut self, target: usize) -> Result<()> {
        let current: usize = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .map_err(GradebookError::store("read"))
            .map(|v| usize::try_from(v).unwrap_or(usize::MAX))?;
        if current > SCHEMA_VERSION {
            return Err(GradebookError::Store {
                action: "opened",
                detail: format!(
                    "a newer Rollbook made it (schema {current}; this version reads up to {SCHEMA_VERSION}); update Rollbook"
                ),
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().take(target).skip(current) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(GradebookError::store("upgraded"))?;
            tx.execute_batch(sql)
                .map_err(GradebookError::store("upgraded"))?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(index + 1).unwrap_or(i64::MAX),
            )
            .map_err(GradebookError::store("upgraded"))?;
            tx.commit().map_err(GradebookError::store("upgraded"))?;
        }
        Ok(())
    }

    pub fn schema_version(&self) -> Result<usize> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .map(|v| usize::try_from(v).unwrap_or(0))
            .map_err(GradebookError::store("read"))
    }
}
