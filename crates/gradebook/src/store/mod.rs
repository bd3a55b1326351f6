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

mod conflicts;
mod grade_entry;
mod outbox;
mod schema;
mod snapshot;
mod view;

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::averages::GradingRules;
use crate::error::{GradebookError, Result};
use crate::ids::ClassId;

pub use conflicts::{HeldLineItem, Orphan, OrphanAction, OrphanReason, Resolution};
pub use grade_entry::{CellChange, NewLineItem, result_record};
pub use outbox::{OutboxEntry, Pause, RecordKind, Unsent, UnsentByClass};
pub use schema::SCHEMA_VERSION;
pub use snapshot::{ClassSnapshot, SavedPage, StudentName};
pub use view::{CellState, CellView, ColumnView, GradebookView};

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

/// Where the store reads the time (milliseconds since the Unix epoch) for back-off and
/// queue order: the system clock, or a test's own so a test controls time.
pub type Clock = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

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
    pub fn rules(&self, class_id: &ClassId) -> Result<GradingRules> {
        self.rules_of(class_id.as_str())
    }

    fn rules_of(&self, class_id: &str) -> Result<GradingRules> {
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

    pub fn set_rules(&mut self, class_id: &ClassId, rules: &GradingRules) -> Result<()> {
        let class_id = class_id.as_str();
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
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Creates the database file readable by its owner only, before SQLite opens it (its
/// `-wal` and `-shm` files take the same permissions: the mode on Unix, the folder's
/// inherited owner-only entries on Windows). A store that exists already, with its
/// companions, is made owner-only again: one an older release made, or one moved from
/// elsewhere, keeps the ACL it was created with (Windows does not carry a folder's new
/// DACL down to files already in it).
fn create_private_file(path: &Path) -> Result<()> {
    if path.exists() {
        for file in store_files(path) {
            match rollbook_owner_only::restrict_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(GradebookError::Store {
                        action: "made private",
                        detail: e.kind().to_string(),
                    });
                }
                _ => {}
            }
        }
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    match rollbook_owner_only::open(&mut options, path) {
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
