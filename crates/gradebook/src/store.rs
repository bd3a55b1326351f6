//! The local store: one encrypted SQLite database (SQLCipher) per OS user, holding the
//! last synced gradebook of each class, the teacher's edits, and the outbox of writes
//! not yet sent.
//!
//! Rules it keeps:
//! - **Commit before confirming.** [`GradeStore::enter`] returns only after the edit and
//!   its outbox entry are committed in one transaction, in WAL mode with
//!   `synchronous=FULL`, so an edit the UI calls saved survives a crash or power loss.
//! - **One body per revision.** An outbox entry's body is fixed when the edit is made,
//!   and every new edit of the same record bumps its revision. A sender reports back
//!   with the revision it sent; a newer edit made meanwhile is never marked as sent.
//! - **Encrypted at rest.** The page key is a random 256-bit key from the OS keychain
//!   (raw key, no passphrase derivation); without it the file is noise.
//! - **Students stay inside.** Names and grades live only here; errors never quote SQL.

use std::collections::HashMap;
use std::path::Path;

use rollbook_oneroster::models::{Category, GradeResult, GuidRef, LineItem};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::averages::{GradingRules, ItemInfo, StudentAverage, class_averages};
use crate::entry::{CellInput, CellValue, Mark};
use crate::error::{GradebookError, Result};

/// The store's 256-bit page key. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreKey([u8; 32]);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(…)")
    }
}

impl StoreKey {
    pub fn generate() -> StoreKey {
        StoreKey(rand::random())
    }

    /// The key as it is kept in the keychain (64 hex digits).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(text: &str) -> Option<StoreKey> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(StoreKey(key))
    }
}

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

/// A class's rows, columns and cells as read, before the averages.
struct Loaded {
    students: Vec<StudentName>,
    columns: Vec<ColumnView>,
    cells: Vec<CellView>,
    pending: u32,
    unsent: UnsentByClass,
}

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

/// Where the store reads the time (milliseconds since the Unix epoch) for back-off and
/// queue order: the system clock, or a test's own so a test controls time.
pub type Clock = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

/// Sending is paused for the whole store until `until_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub until_ms: i64,
    /// The server asked for it (429 `Retry-After`): not even "Sync now" may send before.
    pub by_server: bool,
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

/// The store. One connection; the shell keeps it behind a mutex.
pub struct GradeStore {
    conn: Connection,
    in_memory: bool,
    clock: Clock,
}

impl std::fmt::Debug for GradeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradeStore")
            .field("in_memory", &self.in_memory)
            .finish_non_exhaustive()
    }
}

impl GradeStore {
    /// Opens (or creates) the store at `path`, encrypted with `key`, and brings its
    /// schema up to date.
    pub fn open(path: &Path, key: &StoreKey) -> Result<GradeStore> {
        Self::open_with_schema(path, key, SCHEMA_VERSION)
    }

    /// Opens the store and runs migrations up to `version` only. For tests of the
    /// migrations from each earlier version.
    #[doc(hidden)]
    pub fn open_with_schema(path: &Path, key: &StoreKey, version: usize) -> Result<GradeStore> {
        create_private_file(path)?;
        let conn = Connection::open(path).map_err(GradebookError::store("opened"))?;
        // The raw key (x'…') skips SQLCipher's passphrase derivation: it is random.
        // SQLCipher logs decryption failures to stderr itself; Rollbook reports them.
        conn.execute_batch(&format!(
            "PRAGMA cipher_log_level = NONE; PRAGMA key = \"x'{}'\";",
            key.to_hex()
        ))
        .map_err(GradebookError::store("unlocked"))?;
        let mut store = GradeStore {
            conn,
            in_memory: false,
            clock: std::sync::Arc::new(unix_ms),
        };
        store.configure()?;
        store.migrate(version)?;
        Ok(store)
    }

    /// A store that lives in memory only (shared-machine mode, or no local store by
    /// policy): nothing reaches the disk, and it is gone when the app closes.
    pub fn open_in_memory() -> Result<GradeStore> {
        let conn = Connection::open_in_memory().map_err(GradebookError::store("opened"))?;
        let mut store = GradeStore {
            conn,
            in_memory: true,
            clock: std::sync::Arc::new(unix_ms),
        };
        store.configure()?;
        store.migrate(SCHEMA_VERSION)?;
        Ok(store)
    }

    /// Closes the store for good: its file is let go, and every later call fails with
    /// `local_store_failed` (the tables are gone from the connection it now holds). Core
    /// calls it under the store's lock before replacing the store's files, so a call that
    /// picked the store up just before can never write into a deleted file and have its
    /// grade shown as saved.
    pub fn close_for_good(&mut self) -> Result<()> {
        self.conn = Connection::open_in_memory().map_err(GradebookError::store("closed"))?;
        Ok(())
    }

    pub fn is_in_memory(&self) -> bool {
        self.in_memory
    }

    /// Replaces the clock the store reads for back-off and queue order.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// Now, by the store's clock (milliseconds since the Unix epoch).
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    fn configure(&mut self) -> Result<()> {
        // Before the first read: another process (the window and a CLI command) may hold
        // the write lock while it commits, and the first read must wait for it too,
        // not fail with "database is locked".
        self.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(GradebookError::store("opened"))?;
        // Reading the schema is the first read: with a wrong key it fails here with
        // "not a database" rather than later.
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(GradebookError::store("unlocked"))?;
        if !self.in_memory {
            self.conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
                .map_err(GradebookError::store("opened"))?;
        }
        // FULL: a commit is on disk before `enter` returns, even across power loss.
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(GradebookError::store("opened"))?;
        self.conn
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(GradebookError::store("opened"))?;
        // On Apple systems fsync() only hands the data to the drive, whose cache may
        // lose it at power loss; F_FULLFSYNC is what makes synchronous=FULL keep its
        // promise that a saved grade is on disk.
        #[cfg(target_vendor = "apple")]
        {
            self.conn
                .pragma_update(None, "fullfsync", "ON")
                .map_err(GradebookError::store("opened"))?;
            self.conn
                .pragma_update(None, "checkpoint_fullfsync", "ON")
                .map_err(GradebookError::store("opened"))?;
        }
        Ok(())
    }

    /// Runs `change` in one IMMEDIATE transaction (other writers wait; nobody ever sees
    /// half of it), committed before this returns.
    fn write<T>(
        &mut self,
        action: &'static str,
        change: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(GradebookError::store(action))?;
        let value = change(&tx).map_err(GradebookError::store(action))?;
        tx.commit().map_err(GradebookError::store(action))?;
        Ok(value)
    }

    fn migrate(&mut self, target: usize) -> Result<()> {
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

    /// Who the store belongs to (issuer and subject of the sign-in that made it).
    pub fn owner(&self) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = 'owner'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(GradebookError::store("read"))
    }

    pub fn set_owner(&mut self, owner: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES ('owner', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
                [owner],
            )
            .map_err(GradebookError::store("saved"))?;
        Ok(())
    }

    pub fn schema_version(&self) -> Result<usize> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
            .map(|v| usize::try_from(v).unwrap_or(0))
            .map_err(GradebookError::store("read"))
    }

    /// SQLite's and SQLCipher's own checks of every page; `Ok(())` when sound.
    pub fn check_integrity(&self) -> Result<()> {
        let problems: Vec<String> = {
            let mut statement = self
                .conn
                .prepare("PRAGMA integrity_check")
                .map_err(GradebookError::store("checked"))?;
            statement
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(GradebookError::store("checked"))?
                .collect::<rusqlite::Result<_>>()
                .map_err(GradebookError::store("checked"))?
        };
        if problems.len() == 1 && problems[0] == "ok" {
            Ok(())
        } else {
            Err(GradebookError::Store {
                action: "checked",
                detail: format!("{} problems", problems.len()),
            })
        }
    }

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

    pub fn rules(&self, class_id: &str) -> Result<GradingRules> {
        let saved: Option<String> = self
            .conn
            .query_row(
                "SELECT rules FROM grading_rules WHERE class_id = ?1",
                [class_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(GradebookError::store("read"))?;
        Ok(saved
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    pub fn set_rules(&mut self, class_id: &str, rules: &GradingRules) -> Result<()> {
        rules.validate()?;
        self.conn
            .execute(
                "INSERT INTO grading_rules (class_id, rules) VALUES (?1, ?2)
                 ON CONFLICT(class_id) DO UPDATE SET rules = ?2",
                params![class_id, serde_json::to_string(rules).unwrap_or_default()],
            )
            .map_err(GradebookError::store("saved"))?;
        Ok(())
    }

    /// The class's gradebook with edits on top, or `None` if it was never synced.
    pub fn gradebook(&self, class_id: &str) -> Result<Option<GradebookView>> {
        let read = GradebookError::store("read");
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
        let rules = self.rules(class_id)?;
        let load = || -> rusqlite::Result<Loaded> {
            let students: Vec<StudentName> = self
                .conn
                .prepare("SELECT sourced_id, given_name, family_name FROM students WHERE class_id = ?1 ORDER BY position")?
                .query_map([class_id], |r| {
                    Ok(StudentName {
                        sourced_id: r.get(0)?,
                        given_name: r.get(1)?,
                        family_name: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let categories: HashMap<String, String> = self
                .conn
                .prepare("SELECT sourced_id, title FROM categories")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let columns: Vec<ColumnView> = self
                .conn
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
                .collect::<rusqlite::Result<_>>()?;
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
            let max: HashMap<&str, f64> = columns
                .iter()
                .map(|c| (c.sourced_id.as_str(), c.max_points))
                .collect();
            let mut cells: Vec<CellView> = cells.into_values().collect();
            for cell in &mut cells {
                let limit = max.get(cell.line_item_id.as_str()).copied().unwrap_or(0.0);
                cell.over_max = limit > 0.0 && cell.value.score.is_some_and(|s| s > limit);
            }
            cells.sort_by(|a, b| {
                (&a.student_id, &a.line_item_id).cmp(&(&b.student_id, &b.line_item_id))
            });
            let pending_items: u32 = self.conn.query_row(
                "SELECT count(*) FROM outbox o JOIN line_items l ON o.kind = 'lineItem' AND o.record_id = 'lineItems/' || l.sourced_id WHERE l.class_id = ?1 AND o.held IS NULL",
                [class_id],
                |r| r.get(0),
            )?;
            Ok(Loaded {
                students,
                columns,
                cells,
                pending: pending + pending_items,
                unsent: unsent_by_class(&self.conn, class_id)?,
            })
        };
        let Loaded {
            students,
            columns,
            cells,
            pending,
            unsent,
        } = load().map_err(read)?;
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
        Ok(Some(GradebookView {
            class_id: class_id.to_owned(),
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
        }))
    }

    /// Changes one cell. When this returns, the edit and its outbox entry are on disk.
    pub fn enter(
        &mut self,
        class_id: &str,
        line_item_id: &str,
        student_id: &str,
        change: CellChange,
        now: &str,
    ) -> Result<CellView> {
        let now_ms = self.now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(GradebookError::store("saved"))?;
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
            server_cell(&tx, line_item_id, student_id).map_err(GradebookError::store("read"))?;
        let (result_id, current, base, previous_state) = match (edit, &server) {
            (Some((id, value, base, state)), _) => (
                id,
                serde_json::from_str(&value).unwrap_or_default(),
                base,
                Some(state),
            ),
            (None, Some((value, id, modified))) => {
                (id.clone(), value.clone(), modified.clone(), None)
            }
            (None, None) => (
                uuid::Uuid::new_v4().to_string(),
                CellValue::default(),
                None,
                None,
            ),
        };
        let value = match change {
            CellChange::Input(input) => current.with_input(input),
            CellChange::Comment(comment) => CellValue {
                comment: comment
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
                ..current
            },
            CellChange::Value(v) => v,
        };
        let in_conflict = previous_state.as_deref() == Some("conflict");
        let queued: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM outbox WHERE record_id = ?1 AND taken = 1",
                [format!("results/{result_id}")],
                |r| r.get(0),
            )
            .map_err(GradebookError::store("read"))?;
        let save = || -> rusqlite::Result<CellState> {
            let record_id = format!("results/{result_id}");
            let nothing_on_server = server.is_none() && base.is_none();
            let back_to_server =
                server.as_ref().is_some_and(|(v, _, _)| *v == value) && !in_conflict;
            // A write a sync has taken may be on its way or may have landed: dropping it
            // here would let the earlier value stand on the server while the grid shows
            // the cell as synced. The new value is queued instead; if the server already
            // holds it, the sender finds that and sends nothing.
            if !queued && ((value.is_empty() && nothing_on_server) || back_to_server) {
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
                let result = result_record(&result_id, line_item_id, student_id, &value, now);
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
                params![line_item_id, student_id, class_id, result_id, serde_json::to_string(&value).unwrap_or_default(), base, state, now],
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
        };
        let state = save().map_err(GradebookError::store("saved"))?;
        tx.commit().map_err(GradebookError::store("saved"))?;
        let state = match state {
            CellState::Conflict { .. } => self.cell_state(line_item_id, student_id)?,
            other => other,
        };
        Ok(CellView {
            line_item_id: line_item_id.to_owned(),
            student_id: student_id.to_owned(),
            over_max: max > 0.0 && value.score.is_some_and(|s| s > max),
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
    pub fn create_line_item(&mut self, class_id: &str, new: &NewLineItem) -> Result<String> {
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
    pub fn unsent_by_class(&self, class_id: &str) -> Result<UnsentByClass> {
        unsent_by_class(&self.conn, class_id).map_err(GradebookError::store("read"))
    }

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
        line_item_id: &str,
        student_id: &str,
        action: OrphanAction,
    ) -> Result<()> {
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
    pub fn held_line_items(&self, class_id: &str) -> Result<Vec<HeldLineItem>> {
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
        line_item_id: &str,
        action: OrphanAction,
    ) -> Result<()> {
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
        line_item_id: &str,
        student_id: &str,
        resolution: Resolution,
    ) -> Result<CellState> {
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
                        let record = result_record(
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

/// Moves a cell's queued write (and its edit) to a new client-chosen `sourcedId`, based
/// on nothing: its record `old_id` was deleted on the server.
fn rekey(
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
const ADOPTED: &str = "";

/// Moves a cell's queued write (and its edit) from record `old_id` to `new_id`, based on
/// `base` (the sender checks what `new_id` holds before writing it).
fn repoint(
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

/// Every outbox entry counted once, as [`GradeStore::unsent_count`] counts them: an
/// assignment's entry is an assignment, any other a grade; an entry of no class (none
/// should be) is another class's, so the two halves always add up to the whole.
fn unsent_by_class(conn: &Connection, class_id: &str) -> rusqlite::Result<UnsentByClass> {
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

fn decode_state(state: &str, reason: Option<String>, server_value: Option<String>) -> CellState {
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

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Creates the database file readable by its owner only, before SQLite opens it (its
/// `-wal` and `-shm` files take the same permissions).
fn create_private_file(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(GradebookError::Store {
            action: "created",
            detail: e.kind().to_string(),
        }),
    }
}

/// Every file of the store at `path`: the database and SQLite's companions (`-wal`,
/// `-shm`, `-journal`), which belong to it and go or move with it.
pub fn store_files(path: &Path) -> Vec<std::path::PathBuf> {
    std::iter::once(path.to_path_buf())
        .chain(["-wal", "-shm", "-journal"].into_iter().map(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            name.into()
        }))
        .collect()
}

impl CellState {
    /// The state's name in reports (`saved`, `sent`, `refused`, `conflict`, `synced`).
    pub fn name(&self) -> &'static str {
        self.tag()
    }
}

impl RecordKind {
    pub fn name(self) -> &'static str {
        self.tag()
    }
}
