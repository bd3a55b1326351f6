//! The gradebook use cases: the teacher's encrypted local store (opened once per
//! process, its key in the OS keychain), reading a class's gradebook from the roster
//! source into it, entering grades, write-back, and export.
//!
//! Where the store lives:
//! - normally `gradebook.db` in the data folder, encrypted with a random key kept in the
//!   keychain under the account [`STORE_KEY_ACCOUNT`];
//! - in memory only on a shared machine, when the district's policy says
//!   `LocalStoreAllowed = false`, or when the keychain cannot give a key right now (the
//!   window then says grades are kept only until Rollbook closes).
//!
//! A store belongs to one sign-in: another teacher signing in on the same computer
//! account starts from an empty one. Signing out deletes the file and its key (never
//! while grades wait, unless the teacher says so); the grading rules stay
//! (`crate::grading_rules`).
//!
//! A store that cannot be opened (its key gone from the keychain, damaged, another
//! sign-in's) is set aside, never deleted (`crate::set_aside`), and the teacher is told
//! with what it held: beside each store a count of unsent writes is kept outside the
//! encryption, as a number only.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rollbook_auth::call_store;
use rollbook_gradebook::store::{
    CellChange, CellView, GradeStore, GradebookView, NewLineItem, OrphanAction, OrphanReason,
    Resolution, StoreKey, Unsent,
};
use rollbook_gradebook::{
    CellValue, GradebookError, GradingRules, SyncError, SyncOptions, SyncReport,
};
use serde::{Deserialize, Serialize};

use crate::set_aside::{self, SetAsideReason, SetAsideStore};
use crate::{Account, CoreError};

/// The keychain account holding the local store's key is this, then the store's path
/// (one key per store file: side-by-side installs and test homes never share one).
pub const STORE_KEY_ACCOUNT: &str = "local-store-key";

/// The keychain account of the store at `path`, named after its canonical path: the same
/// data folder reached by another spelling (a symlink, `a/../a`) finds the same key
/// instead of setting the store aside as keyless.
pub fn store_key_account(path: &Path) -> String {
    format!("{STORE_KEY_ACCOUNT} {}", canonical(path).display())
}

/// The account as releases before it named it: the path as spelled. Read once to move
/// an existing install's key to [`store_key_account`].
fn spelled_key_account(path: &Path) -> String {
    format!("{STORE_KEY_ACCOUNT} {}", path.display())
}

/// `path` with its nearest existing ancestor canonicalized (the store file, or even its
/// folder, may not exist yet) and the rest appended, so a spelling that names the same
/// place gives the same text whether or not the folder exists yet.
fn canonical(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    canonical_from(&absolute).unwrap_or_else(|| {
        // A `..` after a folder that does not exist: resolved by hand, then the part
        // that exists is asked again.
        let lexical = lexical(&absolute);
        canonical_from(&lexical).unwrap_or(lexical)
    })
}

fn canonical_from(path: &Path) -> Option<PathBuf> {
    let mut rest = Vec::new();
    let mut base = path;
    loop {
        if let Ok(mut real) = std::fs::canonicalize(base) {
            real.extend(rest.iter().rev());
            return Some(real);
        }
        // `file_name` is `None` for a path ending in `..`: nothing sound to build on.
        rest.push(base.file_name()?.to_owned());
        base = base.parent()?;
    }
}

fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether this computer may keep grades on disk (the `LocalStoreAllowed` policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocalStorePolicy {
    #[default]
    Allowed,
    MemoryOnly,
}

/// Where the open store keeps its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum StoreLocation {
    /// Encrypted on this computer.
    Disk,
    /// In memory only, gone when Rollbook closes; `why` says which rule chose it.
    Memory { why: MemoryReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum MemoryReason {
    SharedMachine,
    Policy,
    KeychainUnavailable,
}

#[derive(Debug, Clone)]
pub(crate) struct OpenStore {
    pub(crate) store: Arc<Mutex<GradeStore>>,
    pub(crate) location: StoreLocation,
    /// The store's file (`None` in memory): its count of unsent writes goes beside it.
    path: Option<PathBuf>,
    /// The count last written beside the store (`u64::MAX`: none yet), so an unchanged
    /// count costs no write.
    last_unsent: Arc<AtomicU64>,
    /// The store this process set aside when it opened this one, to tell the teacher.
    set_aside: Option<SetAsideStore>,
    /// Orphans and held assignments the teacher chose to keep in this process (`o:` or
    /// `h:` then their ids), shown as kept instead of asked about again.
    kept: Arc<Mutex<HashSet<String>>>,
}

impl OpenStore {
    fn new(store: GradeStore, location: StoreLocation, path: Option<PathBuf>) -> Self {
        Self {
            store: Arc::new(Mutex::new(store)),
            location,
            path,
            last_unsent: Arc::new(AtomicU64::new(u64::MAX)),
            set_aside: None,
            kept: Arc::default(),
        }
    }

    /// The store set aside when this one opened, while it still waits for the teacher
    /// (not kept, not discarded, not restored).
    fn set_aside_notice(&self) -> Option<SetAsideStore> {
        self.set_aside.clone().filter(|s| {
            let path = Path::new(&s.path);
            path.exists() && !set_aside::is_kept(path)
        })
    }

    fn is_kept(&self, key: &str) -> bool {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(key)
    }

    fn mark_kept(&self, key: String, kept: bool) {
        let mut set = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept {
            set.insert(key);
        } else {
            set.remove(&key);
        }
    }
}

/// A class's gradebook for the window or the CLI: the store's view, where the store
/// lives, and whether this read reached the server.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GradebookPage {
    pub gradebook: GradebookView,
    pub location: StoreLocation,
    /// `None` when the server answered; otherwise why the saved copy is shown.
    pub offline_reason: Option<String>,
    /// A store set aside when this one was opened (code `store_set_aside`): the window
    /// tells the teacher, with how many unsent grades it held.
    pub set_aside: Option<SetAsideStore>,
}

/// What waits for the teacher outside the grid's cells: stores set aside, edits whose
/// assignment or student is gone, and new assignments the district refused. Each is
/// settled with [`Account::settle_attention`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Attention {
    /// This sign-in's set-aside stores the teacher has not kept or discarded.
    pub set_aside: Vec<SetAsideStore>,
    pub orphans: Vec<OrphanEdit>,
    pub held: Vec<HeldAssignment>,
}

/// An edit with no cell to show it (see [`rollbook_gradebook::store::Orphan`]).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OrphanEdit {
    pub line_item_id: String,
    pub student_id: String,
    /// The assignment's title as last known; `None` when the store never had it.
    pub assignment: Option<String>,
    /// "Family, Given" while the student is on the roster; `None` once they left.
    pub student: Option<String>,
    pub why: OrphanReason,
    pub value: CellValue,
    /// When the teacher made the edit (RFC 3339).
    pub edited_at: String,
    /// The teacher chose to keep it (in this window's life): shown, not asked again.
    pub kept: bool,
}

/// A new assignment the district refused (or found in conflict), with the grades
/// waiting behind it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HeldAssignment {
    pub line_item_id: String,
    pub title: String,
    pub why: HeldReason,
    pub grades: u32,
    pub kept: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum HeldReason {
    /// The district refused to create it.
    Refused,
    /// The district holds another record under its id.
    Conflict,
}

/// What waits for the teacher outside the cells, counted over every class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttentionCounts {
    pub orphans: u32,
    pub held_assignments: u32,
}

/// One thing to settle, as the window names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum AttentionItem {
    /// A set-aside store, by the path [`SetAsideStore::path`] gave.
    #[serde(rename_all = "camelCase")]
    SetAside { path: String },
    #[serde(rename_all = "camelCase")]
    Orphan {
        line_item_id: String,
        student_id: String,
    },
    #[serde(rename_all = "camelCase")]
    Held { line_item_id: String },
}

/// What the teacher does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum SettleAction {
    /// Leave it as it is (still counted as unsent); stop asking.
    Keep,
    /// A set-aside store: open it again with a key found in the keychain. An edit or
    /// assignment: send it with the next sync.
    Retry,
    /// Delete it (the window asks twice first).
    Discard,
}

impl From<SettleAction> for OrphanAction {
    fn from(action: SettleAction) -> Self {
        match action {
            SettleAction::Keep => OrphanAction::Keep,
            SettleAction::Retry => OrphanAction::Retry,
            SettleAction::Discard => OrphanAction::Discard,
        }
    }
}

impl From<GradebookError> for CoreError {
    fn from(e: GradebookError) -> Self {
        CoreError::Gradebook(e)
    }
}

/// One store per sign-in, named by a digest of its owner (issuer, client and subject):
/// another teacher on this computer account gets a store of their own, and theirs stays
/// (encrypted, with its own key) until they sign out.
fn store_path(account: &Account, owner: &str) -> PathBuf {
    account
        .paths()
        .data_dir
        .join(format!("gradebook-{}.db", owner_digest(owner)))
}

/// A short digest naming a sign-in in file names and files, without naming the teacher.
pub(crate) fn owner_digest(owner: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(owner.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs a store call off the async runtime (a commit waits for the disk).
pub(crate) async fn with_store<T, F>(
    store: &Arc<Mutex<GradeStore>>,
    call: F,
) -> Result<T, CoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut GradeStore) -> Result<T, GradebookError> + Send + 'static,
{
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || {
        let mut guard = store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        call(&mut guard)
    })
    .await
    .map_err(|e| {
        CoreError::Gradebook(GradebookError::Store {
            action: "used",
            detail: e.to_string(),
        })
    })?
    .map_err(CoreError::from)
}

impl Account {
    /// The local store if it is open already or has a file to open; `None` instead of
    /// creating one (and its keychain key) just to look inside.
    pub(crate) async fn existing_local_store(&self) -> Result<Option<OpenStore>, CoreError> {
        let open_already = self.local.lock().await.is_some();
        if !open_already {
            let owner = self.live_session_info().await?.owner;
            if !store_path(self, &owner).exists() {
                return Ok(None);
            }
        }
        self.local_store().await.map(Some)
    }

    /// The teacher's local store, opened on first use.
    pub(crate) async fn local_store(&self) -> Result<OpenStore, CoreError> {
        let mut slot = self.local.lock().await;
        if let Some(open) = slot.as_ref() {
            return Ok(open.clone());
        }
        let live = self.live_session_info().await?;
        let memory_reason = if live.shared_machine {
            Some(MemoryReason::SharedMachine)
        } else if self.local_store_policy == LocalStorePolicy::MemoryOnly {
            Some(MemoryReason::Policy)
        } else {
            None
        };
        let open = match memory_reason {
            Some(why) => OpenStore::new(
                GradeStore::open_in_memory()?,
                StoreLocation::Memory { why },
                None,
            ),
            None => match self.open_disk_store(&live.owner).await {
                Ok((store, set_aside)) => OpenStore {
                    set_aside,
                    ..OpenStore::new(
                        store,
                        StoreLocation::Disk,
                        Some(store_path(self, &live.owner)),
                    )
                },
                Err(e) if matches!(&e, CoreError::Auth(rollbook_auth::AuthError::Store(_))) => {
                    tracing::warn!(code = %e.code(), "the keychain gave no key for the local gradebook; keeping grades in memory");
                    OpenStore::new(
                        GradeStore::open_in_memory()?,
                        StoreLocation::Memory {
                            why: MemoryReason::KeychainUnavailable,
                        },
                        None,
                    )
                }
                Err(e) => return Err(e),
            },
        };
        // The teacher's grading rules come back from outside the store (a new store
        // after a sign-out, or after one was set aside).
        let rules = crate::grading_rules::load(self.paths(), &live.owner);
        with_store(&open.store, {
            let owner = live.owner.clone();
            move |s| {
                s.set_owner(&owner)?;
                for (class, rules) in rules {
                    if let Err(e) = s.set_rules(&class, &rules) {
                        tracing::warn!(code = %e.code(), "kept grading rules of a class were not valid; ignored");
                    }
                }
                Ok(())
            }
        })
        .await?;
        note_unsent(&open).await;
        *slot = Some(open.clone());
        Ok(open)
    }

    /// The store set aside when this process opened the local store, if one was (the
    /// CLI says so on stderr; the window gets it in [`GradebookPage::set_aside`]).
    pub async fn store_set_aside(&self) -> Option<SetAsideStore> {
        self.local
            .lock()
            .await
            .as_ref()
            .and_then(|open| open.set_aside.clone())
    }

    /// Every store set aside in the data folder (`rollbook doctor`).
    pub fn set_aside_stores(&self) -> Vec<SetAsideStore> {
        set_aside::list(self.paths())
    }

    async fn open_disk_store(
        &self,
        owner: &str,
    ) -> Result<(GradeStore, Option<SetAsideStore>), CoreError> {
        let path = store_path(self, owner);
        if let Some(parent) = path.parent() {
            rollbook_owner_only::create_dir(parent).map_err(|source| CoreError::Io {
                action: "create",
                path: parent.display().to_string(),
                source,
            })?;
        }
        let account = store_key_account(&path);
        let saved = self.load_store_key(&path).await?;
        let mut set_aside = None;
        let key = match saved.as_deref().and_then(StoreKey::from_hex) {
            Some(key) => key,
            None => {
                // No key: first use, or the keychain lost it. A file without its key
                // cannot be read by Rollbook now, but it may hold grades never sent and
                // the key may come back (a restored keychain), so it is set aside, never
                // deleted, and the teacher told. A new key is saved before any data.
                if rollbook_gradebook::store::store_files(&path)
                    .iter()
                    .any(|f| f.exists())
                {
                    let aside = set_aside::set_aside(&path, SetAsideReason::KeyMissing)?;
                    tracing::warn!(unsent = ?aside.unsent, "the local gradebook's key is gone from the keychain; the store was set aside");
                    set_aside = Some(aside);
                } else {
                    // A count left beside no store says nothing now.
                    set_aside::delete(&path)?;
                }
                let key = StoreKey::generate();
                let text = key.to_hex();
                call_store(self.store(), move |s| s.save_secret(&account, &text)).await?;
                key
            }
        };
        let opened = tokio::task::spawn_blocking({
            let path = path.clone();
            let key = key.clone();
            move || GradeStore::open(&path, &key)
        })
        .await
        .map_err(|e| GradebookError::Store {
            action: "opened",
            detail: e.to_string(),
        })?;
        let store = match opened {
            Ok(store) => store,
            Err(GradebookError::Unreadable) => {
                // Damaged, or made with another key. It is moved aside, not deleted (with
                // its key it may still be recovered), and a new store is started: a store
                // that never opens would stop the teacher from grading at all.
                let aside = set_aside::set_aside(&path, SetAsideReason::Unreadable)?;
                tracing::warn!(unsent = ?aside.unsent, "the local gradebook could not be read; it was set aside and a new one started");
                set_aside = Some(aside);
                GradeStore::open(&path, &key)?
            }
            // Anything else (busy, disk full, permissions) is reported, never "repaired".
            Err(e) => return Err(e.into()),
        };
        // The file is named after its owner; a store that says otherwise is not read.
        match store.owner()? {
            Some(previous) if previous != owner => {
                drop(store);
                let aside = set_aside::set_aside(&path, SetAsideReason::OtherOwner)?;
                tracing::warn!(unsent = ?aside.unsent, "the local gradebook belongs to another sign-in; it was set aside");
                Ok((GradeStore::open(&path, &key)?, Some(aside)))
            }
            _ => Ok((store, set_aside)),
        }
    }

    /// `LocalStoreAllowed` is off but a gradebook is still on disk (policy changed since):
    /// opens it, sends what waits (for at most `budget`), and deletes it once nothing
    /// waits. The count still waiting (the file then stays); `None` when there is no file.
    /// Added for policy on restore (H7).
    pub(crate) async fn drain_disk_store(
        &self,
        budget: std::time::Duration,
    ) -> Result<Option<u32>, CoreError> {
        let owner = self.live_session_info().await?.owner;
        let path = store_path(self, &owner);
        if !path.exists() {
            return Ok(None);
        }
        let (store, _) = self.open_disk_store(&owner).await?;
        let open = OpenStore::new(store, StoreLocation::Disk, Some(path));
        *self.local.lock().await = Some(open.clone());
        match tokio::time::timeout(budget, self.sync_grades(false)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(code = %e.code(), "grades could not be sent before the local gradebook is emptied")
            }
            Err(_) => {
                tracing::warn!("sending grades took too long; the local gradebook stays for now")
            }
        }
        let (waiting, _) = with_store(&open.store, |s| s.outbox_counts()).await?;
        if waiting == 0 {
            self.delete_local_store(Some(&owner)).await?;
        } else {
            drop(self.local.lock().await.take());
        }
        Ok(Some(waiting))
    }

    /// Closes the local store and deletes the file and key of `owner`'s (sign-out).
    pub(crate) async fn delete_local_store(&self, owner: Option<&str>) -> Result<(), CoreError> {
        drop(self.local.lock().await.take());
        let Some(owner) = owner else {
            return Ok(());
        };
        let path = store_path(self, owner);
        set_aside::delete(&path)?;
        let accounts = [store_key_account(&path), spelled_key_account(&path)];
        if let Err(e) = call_store(self.store(), move |s| {
            accounts.iter().try_for_each(|a| s.clear_secret(a))
        })
        .await
        {
            // The file is gone, so the key opens nothing; the next sign-in replaces it.
            tracing::warn!(code = %e.code(), "the local gradebook's key could not be deleted from the keychain");
        }
        Ok(())
    }

    /// The key saved for the store at `path`. A key saved by an earlier release under the
    /// path as spelled is moved to the canonical account (and read from there on).
    async fn load_store_key(&self, path: &Path) -> Result<Option<String>, CoreError> {
        let account = store_key_account(path);
        let spelled = spelled_key_account(path);
        call_store(self.store(), move |s| {
            if let Some(key) = s.load_secret(&account)? {
                return Ok(Some(key));
            }
            if account == spelled {
                return Ok(None);
            }
            let Some(key) = s.load_secret(&spelled)? else {
                return Ok(None);
            };
            s.save_secret(&account, &key)?;
            // Only once the key is safe under its new name; a failure here leaves a
            // copy behind, which the next sign-out clears.
            if s.clear_secret(&spelled).is_err() {
                tracing::warn!(
                    "the local gradebook's key under its old keychain name could not be deleted"
                );
            }
            Ok(Some(key))
        })
        .await
        .map_err(CoreError::from)
    }

    /// How many grades and assignments wait to be written back (0 when the store was
    /// never opened in this process and has no file). `UnsentUnknown` when the store on
    /// disk cannot be opened now (the keychain would not give its key): the grades in
    /// memory can be counted, the ones on disk cannot.
    pub async fn unsent_grades(&self) -> Result<u32, CoreError> {
        Ok(self.unsent().await?.total())
    }

    /// [`Self::unsent_grades`], grades apart from new assignments (as the status line
    /// counts them).
    pub async fn unsent(&self) -> Result<Unsent, CoreError> {
        let Some(open) = self.existing_local_store().await? else {
            return Ok(Unsent::default());
        };
        let waiting = with_store(&open.store, |s| s.unsent()).await?;
        if open.location
            == (StoreLocation::Memory {
                why: MemoryReason::KeychainUnavailable,
            })
        {
            let owner = self.live_session_info().await?.owner;
            let path = store_path(self, &owner);
            if path.exists() {
                return Err(unsent_unknown(
                    "the keychain would not give the key of the gradebook saved on this computer",
                    set_aside::read_unsent(&path).map(|n| n.saturating_add(waiting.total())),
                ));
            }
        }
        Ok(waiting)
    }

    /// What a sign-out would delete unsent: the count, or `UnsentUnknown` when it cannot
    /// be told (the session or the store cannot be opened while a store file exists).
    /// Not signed in, or no store at all, is none: nothing can be lost then.
    pub(crate) async fn unsent_for_sign_out(&self) -> Result<Unsent, CoreError> {
        match self.unsent().await {
            Ok(n) => Ok(n),
            Err(CoreError::Auth(rollbook_auth::AuthError::NotSignedIn)) => Ok(Unsent::default()),
            Err(e @ CoreError::UnsentUnknown { .. }) => Err(e),
            Err(e) => {
                let path = crate::record::SessionRecord::load(self.paths())
                    .ok()
                    .flatten()
                    .and_then(|r| r.store_key().ok())
                    .map(|k| store_path(self, &k.account()));
                match path {
                    Some(path) if !path.exists() => Ok(Unsent::default()),
                    // A record whose owner is unknown, or whose store exists: fail closed.
                    path => Err(unsent_unknown(
                        &format!("{}: {e}", e.code()),
                        path.as_deref().and_then(set_aside::read_unsent),
                    )),
                }
            }
        }
    }

    /// What `sign_out(IfUnsent::Discard)` would delete unsent, asked before it: a
    /// sign-out the keychain leaves unfinished (`sign_out_unfinished`) has deleted them
    /// all the same, and the teacher is told how many.
    pub async fn unsent_to_discard(&self) -> Result<u32, CoreError> {
        Ok(self.unsent_for_sign_out().await?.total())
    }

    /// How many classes' grading rules this sign-in keeps outside the store.
    pub(crate) async fn grading_rules_kept(&self) -> u32 {
        match self.live_session_info().await {
            Ok(live) => crate::grading_rules::count(self.paths(), &live.owner),
            Err(_) => 0,
        }
    }

    /// The class's gradebook as last saved on this computer (a warm start, or offline).
    pub async fn saved_gradebook(
        &self,
        class_id: &str,
    ) -> Result<Option<GradebookPage>, CoreError> {
        let open = self.local_store().await?;
        let id = class_id.to_owned();
        let view = with_store(&open.store, move |s| s.gradebook(&id)).await?;
        Ok(view.map(|gradebook| GradebookPage {
            gradebook,
            location: open.location.clone(),
            offline_reason: None,
            set_aside: open.set_aside_notice(),
        }))
    }

    /// Reads the class's gradebook from the roster source into the store and returns it
    /// with the teacher's edits on top. When the source cannot be reached, the saved copy
    /// is returned with the reason (a class never read before is an error then).
    pub async fn gradebook_page(&self, class_id: &str) -> Result<GradebookPage, CoreError> {
        let open = self.local_store().await?;
        let now = self.now_rfc3339();
        let fetched = self
            .with_roster(|client, _| {
                let now = now.clone();
                async move {
                    let (class, snapshot) = tokio::join!(
                        client.class(class_id),
                        rollbook_gradebook::fetch_snapshot(&client, class_id, "", &now)
                    );
                    let mut snapshot = snapshot?;
                    snapshot.title = class?.title;
                    Ok::<_, CoreError>(snapshot)
                }
            })
            .await;
        let offline_reason = match fetched {
            Ok(snapshot) => {
                with_store(&open.store, move |s| s.save_snapshot(&snapshot)).await?;
                note_unsent(&open).await;
                None
            }
            Err(e) if e.is_offline() => Some(e.to_string()),
            Err(e) => return Err(e),
        };
        let id = class_id.to_owned();
        match with_store(&open.store, move |s| s.gradebook(&id)).await? {
            Some(gradebook) => Ok(GradebookPage {
                gradebook,
                location: open.location.clone(),
                offline_reason,
                set_aside: open.set_aside_notice(),
            }),
            None => Err(GradebookError::NotFound {
                what: "class",
                id: class_id.to_owned(),
            }
            .into()),
        }
    }

    /// Changes one cell; when this returns the change is committed on this computer.
    pub async fn enter_grade(
        &self,
        class_id: &str,
        line_item_id: &str,
        student_id: &str,
        change: CellChange,
    ) -> Result<CellView, CoreError> {
        let open = self.local_store().await?;
        let (class, item, student, now) = (
            class_id.to_owned(),
            line_item_id.to_owned(),
            student_id.to_owned(),
            self.now_rfc3339(),
        );
        let cell = with_store(&open.store, move |s| {
            s.enter(&class, &item, &student, change, &now)
        })
        .await?;
        note_unsent(&open).await;
        Ok(cell)
    }

    /// Adds an assignment (a line item with a client-chosen id) to the class.
    pub async fn create_assignment(
        &self,
        class_id: &str,
        new: NewLineItem,
    ) -> Result<String, CoreError> {
        let open = self.local_store().await?;
        let class = class_id.to_owned();
        let id = with_store(&open.store, move |s| s.create_line_item(&class, &new)).await?;
        note_unsent(&open).await;
        Ok(id)
    }

    pub async fn resolve_conflict(
        &self,
        line_item_id: &str,
        student_id: &str,
        resolution: Resolution,
    ) -> Result<rollbook_gradebook::CellState, CoreError> {
        let open = self.local_store().await?;
        let (item, student) = (line_item_id.to_owned(), student_id.to_owned());
        let state =
            with_store(&open.store, move |s| s.resolve(&item, &student, resolution)).await?;
        note_unsent(&open).await;
        Ok(state)
    }

    pub async fn set_grading_rules(
        &self,
        class_id: &str,
        rules: GradingRules,
    ) -> Result<(), CoreError> {
        let open = self.local_store().await?;
        let class = class_id.to_owned();
        let kept = rules.clone();
        with_store(&open.store, move |s| s.set_rules(&class, &rules)).await?;
        // Kept outside the store too, so they outlive a sign-out; not where the rule is
        // that nothing is kept on this computer (a shared one, or the district's policy).
        let keep_on_disk = !matches!(
            open.location,
            StoreLocation::Memory {
                why: MemoryReason::SharedMachine | MemoryReason::Policy
            }
        );
        if keep_on_disk {
            let owner = self.live_session_info().await?.owner;
            crate::grading_rules::save(self.paths(), &owner, class_id, &kept)?;
        }
        Ok(())
    }

    /// Sends every waiting write. With `now`, writes waiting out a backoff go too: only
    /// for the teacher's own "Sync now" (`rollbook sync`, the window's button). Automatic
    /// syncs pass `false`, so a district's `Retry-After` is honoured.
    pub async fn sync_grades(&self, now: bool) -> Result<SyncReport, CoreError> {
        let open = self.local_store().await?;
        if now {
            with_store(&open.store, |s| s.retry_now()).await?;
        }
        let store = Arc::clone(&open.store);
        let options = SyncOptions::default();
        let reached = self
            .with_roster(|client, _| {
                let store = Arc::clone(&store);
                let options = options.clone();
                async move {
                    rollbook_gradebook::sync(&store, &client, &options)
                        .await
                        .map_err(|e| match e {
                            SyncError::Store(g) => CoreError::Gradebook(g),
                            SyncError::Unauthorized(r) => CoreError::Roster(r),
                        })
                }
            })
            .await;
        note_unsent(&open).await;
        match reached {
            // No roster source at all (offline before the first call): nothing was sent.
            Err(e) if e.is_offline() => {
                let (waiting, held) = with_store(&open.store, |s| s.outbox_counts()).await?;
                Ok(SyncReport {
                    offline: true,
                    waiting,
                    held,
                    ..SyncReport::default()
                })
            }
            other => other,
        }
    }

    /// The class's gradebook as CSV (from this computer's copy, edits included).
    pub async fn gradebook_csv(&self, class_id: &str) -> Result<String, CoreError> {
        // ExportAllowed (H7): every export, the CLI's and the window's, passes here.
        self.allow_export()?;
        let page =
            self.saved_gradebook(class_id)
                .await?
                .ok_or_else(|| GradebookError::NotFound {
                    what: "class",
                    id: class_id.to_owned(),
                })?;
        rollbook_gradebook::export::gradebook_csv(&page.gradebook).map_err(|e| {
            CoreError::Gradebook(GradebookError::Store {
                action: "exported",
                detail: e.to_string(),
            })
        })
    }

    /// Writes the CSV export into the teacher's Downloads folder (their home folder when
    /// there is none) as "<class> gradebook <date>.csv", never over an existing file.
    /// This is the one place grades leave the encrypted store, at the teacher's request.
    pub async fn export_gradebook(&self, class_id: &str) -> Result<PathBuf, CoreError> {
        let csv = self.gradebook_csv(class_id).await?;
        let title = self
            .saved_gradebook(class_id)
            .await?
            .map(|p| p.gradebook.title)
            .unwrap_or_default();
        let dirs = directories::UserDirs::new().ok_or(CoreError::NoAppFolders)?;
        let folder = dirs
            .download_dir()
            .unwrap_or_else(|| dirs.home_dir())
            .to_path_buf();
        let safe: String = title
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || " -_".contains(c) {
                    c
                } else {
                    ' '
                }
            })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let stem = format!(
            "{} gradebook {}",
            if safe.is_empty() { "Class" } else { &safe },
            self.today()
        );
        std::fs::create_dir_all(&folder).map_err(|source| CoreError::Io {
            action: "create",
            path: folder.display().to_string(),
            source,
        })?;
        for n in 1..1000 {
            let name = if n == 1 {
                format!("{stem}.csv")
            } else {
                format!("{stem} ({n}).csv")
            };
            let path = folder.join(name);
            match rollbook_owner_only::open(
                std::fs::OpenOptions::new().write(true).create_new(true),
                &path,
            ) {
                Ok(mut file) => {
                    use std::io::Write;
                    file.write_all(csv.as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(|source| CoreError::Io {
                            action: "write",
                            path: path.display().to_string(),
                            source,
                        })?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => {
                    return Err(CoreError::Io {
                        action: "write",
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }
        Err(GradebookError::Invalid("too many exports of this class today".into()).into())
    }

    /// What waits for the teacher outside the class's cells (see [`Attention`]).
    pub async fn gradebook_attention(&self, class_id: &str) -> Result<Attention, CoreError> {
        let open = self.local_store().await?;
        let class = class_id.to_owned();
        let (orphans, held, names) = with_store(&open.store, move |s| {
            let orphans: Vec<_> = s
                .orphans()?
                .into_iter()
                .filter(|o| o.class_id == class)
                .collect();
            let held = s.held_line_items(&class)?;
            let names: std::collections::HashMap<String, String> = s
                .gradebook(&class)?
                .map(|g| {
                    g.students
                        .into_iter()
                        .map(|n| (n.sourced_id, format!("{}, {}", n.family_name, n.given_name)))
                        .collect()
                })
                .unwrap_or_default();
            Ok((orphans, held, names))
        })
        .await?;
        let orphans = orphans
            .into_iter()
            .map(|o| OrphanEdit {
                kept: open.is_kept(&orphan_key(&o.line_item_id, &o.student_id)),
                student: names.get(&o.student_id).cloned(),
                assignment: o.line_item_title,
                line_item_id: o.line_item_id,
                student_id: o.student_id,
                why: o.reason,
                value: o.value,
                edited_at: o.edited_at,
            })
            .collect();
        let held = held
            .into_iter()
            .map(|h| HeldAssignment {
                kept: open.is_kept(&held_key(&h.line_item_id)),
                why: if h.conflict {
                    HeldReason::Conflict
                } else {
                    HeldReason::Refused
                },
                line_item_id: h.line_item_id,
                title: h.title,
                grades: h.grades,
            })
            .collect();
        Ok(Attention {
            set_aside: self.own_set_aside_stores().await?,
            orphans,
            held,
        })
    }

    /// How many orphaned edits and held new assignments wait, over every class (the
    /// CLI's sync report); set-aside stores are told apart (`store_set_aside`).
    pub async fn attention_counts(&self) -> Result<AttentionCounts, CoreError> {
        let open = self.local_store().await?;
        with_store(&open.store, |s| {
            let orphans = u32::try_from(s.orphans()?.len()).unwrap_or(u32::MAX);
            let mut held_assignments = 0u32;
            for (class, _, _) in s.classes()? {
                let held = u32::try_from(s.held_line_items(&class)?.len()).unwrap_or(u32::MAX);
                held_assignments = held_assignments.saturating_add(held);
            }
            Ok(AttentionCounts {
                orphans,
                held_assignments,
            })
        })
        .await
    }

    /// Keeps, retries or discards one thing waiting for the teacher.
    pub async fn settle_attention(
        &self,
        item: AttentionItem,
        action: SettleAction,
    ) -> Result<(), CoreError> {
        match item {
            AttentionItem::SetAside { path } => self.settle_set_aside(&path, action).await,
            AttentionItem::Orphan {
                line_item_id,
                student_id,
            } => {
                let open = self.local_store().await?;
                let key = orphan_key(&line_item_id, &student_id);
                with_store(&open.store, move |s| {
                    s.settle_orphan(&line_item_id, &student_id, action.into())
                })
                .await?;
                open.mark_kept(key, action == SettleAction::Keep);
                note_unsent(&open).await;
                Ok(())
            }
            AttentionItem::Held { line_item_id } => {
                let open = self.local_store().await?;
                let key = held_key(&line_item_id);
                with_store(&open.store, move |s| {
                    s.settle_held_line_item(&line_item_id, action.into())
                })
                .await?;
                open.mark_kept(key, action == SettleAction::Keep);
                note_unsent(&open).await;
                Ok(())
            }
        }
    }

    /// This sign-in's set-aside stores (named after its store) not yet kept.
    async fn own_set_aside_stores(&self) -> Result<Vec<SetAsideStore>, CoreError> {
        let owner = self.live_session_info().await?.owner;
        let store = store_path(self, &owner);
        Ok(set_aside::list(self.paths())
            .into_iter()
            .filter(|s| set_aside::store_of(Path::new(&s.path)).as_deref() == Some(&*store))
            .filter(|s| !set_aside::is_kept(Path::new(&s.path)))
            .collect())
    }

    async fn settle_set_aside(&self, path: &str, action: SettleAction) -> Result<(), CoreError> {
        // Only a path Rollbook itself listed for this sign-in: the window's word alone
        // never names a file to delete.
        let owner = self.live_session_info().await?.owner;
        let store = store_path(self, &owner);
        let Some(aside) = set_aside::list(self.paths()).into_iter().find(|s| {
            s.path == path && set_aside::store_of(Path::new(&s.path)).as_deref() == Some(&*store)
        }) else {
            return Err(GradebookError::NotFound {
                what: "set-aside gradebook",
                id: path.to_owned(),
            }
            .into());
        };
        let aside_path = PathBuf::from(&aside.path);
        match action {
            SettleAction::Keep => set_aside::keep(&aside_path),
            SettleAction::Discard => set_aside::discard(&aside_path),
            SettleAction::Retry => self.reopen_set_aside(&aside, &store, &owner).await,
        }
    }

    /// Opens a set-aside store again with a key the keychain holds now (restored, or
    /// saved under another spelling of the data folder), and makes it the store in use
    /// again; the one started in its place must hold nothing unsent.
    async fn reopen_set_aside(
        &self,
        aside: &SetAsideStore,
        store: &Path,
        owner: &str,
    ) -> Result<(), CoreError> {
        if aside.reason == SetAsideReason::OtherOwner {
            return Err(CoreError::NotSettled(
                "This set-aside gradebook belongs to another sign-in, so it cannot be opened as yours. Keep it for your IT team, or discard it.".into(),
            ));
        }
        let aside_path = PathBuf::from(&aside.path);
        let mut keys = Vec::new();
        for account in [store_key_account(store), spelled_key_account(store)] {
            let found = call_store(self.store(), move |s| s.load_secret(&account)).await?;
            if let Some(key) = found.as_deref().and_then(StoreKey::from_hex)
                && !keys.contains(&key)
            {
                keys.push(key);
            }
        }
        let opens = {
            let (aside_path, owner) = (aside_path.clone(), owner.to_owned());
            tokio::task::spawn_blocking(move || {
                keys.into_iter().find(|key| {
                    GradeStore::open(&aside_path, key)
                        .and_then(|s| s.owner())
                        .is_ok_and(|o| o.is_none_or(|o| o == owner))
                })
            })
            .await
            .map_err(|e| GradebookError::Store {
                action: "opened",
                detail: e.to_string(),
            })?
        };
        let Some(key) = opens else {
            return Err(CoreError::NotSettled(format!(
                "The set-aside gradebook still cannot be opened: {}, and no key in this computer's keychain opens it. Restore the keychain it was made with and try again, or keep it for your IT team.",
                aside.reason.why()
            )));
        };
        let mut slot = self.local.lock().await;
        if let Some(open) = slot.as_ref() {
            // Counted and closed under one hold of the store's lock: a grade entered by a
            // call that picked this store up before the swap is either counted (and the
            // swap refused) or fails, never written into files about to be deleted.
            let unsent = with_store(&open.store, |s| {
                let unsent = s.unsent_count()?;
                if unsent == 0 {
                    s.close_for_good()?;
                }
                Ok(unsent)
            })
            .await?;
            if unsent > 0 {
                return Err(CoreError::NotSettled(format!(
                    "The gradebook in use holds {} not yet sent. Send {} (Sync now) or settle {} first, then try again.",
                    if unsent == 1 {
                        "1 grade".to_owned()
                    } else {
                        format!("{unsent} grades")
                    },
                    if unsent == 1 { "it" } else { "them" },
                    if unsent == 1 { "it" } else { "them" },
                )));
            }
        }
        // The store started in its place holds nothing unsent: it goes, the set-aside
        // one takes its name, and its key is saved as the store's. The next call opens it.
        drop(slot.take());
        set_aside::delete(store)?;
        set_aside::restore(&aside_path, store)?;
        let (account, text) = (store_key_account(store), key.to_hex());
        call_store(self.store(), move |s| s.save_secret(&account, &text)).await?;
        tracing::info!("a set-aside gradebook was opened again with a key from the keychain");
        Ok(())
    }

    pub(crate) fn now_rfc3339(&self) -> String {
        let seconds = self.clock().unix_now();
        jiff::Timestamp::from_second(seconds)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string())
            .unwrap_or_default()
    }
}

/// Writes the outbox's count beside the store when it changed. A failure is logged,
/// never returned: the grade is committed already, and the count only serves to tell
/// the teacher what a store set aside later held.
async fn note_unsent(open: &OpenStore) {
    let Some(path) = open.path.clone() else {
        return;
    };
    let counted = with_store(&open.store, |s| s.outbox_counts()).await;
    let waiting = match counted {
        Ok((waiting, _)) => waiting,
        Err(e) => {
            tracing::warn!(code = %e.code(), "the unsent grades could not be counted");
            return;
        }
    };
    if open.last_unsent.swap(u64::from(waiting), Ordering::SeqCst) == u64::from(waiting) {
        return;
    }
    let written =
        tokio::task::spawn_blocking(move || set_aside::write_unsent(&path, waiting)).await;
    if !matches!(written, Ok(Ok(()))) {
        open.last_unsent.store(u64::MAX, Ordering::SeqCst);
        tracing::warn!("the count of unsent grades could not be written beside the store");
    }
}

fn orphan_key(line_item_id: &str, student_id: &str) -> String {
    format!("o:{line_item_id}\u{1f}{student_id}")
}

fn held_key(line_item_id: &str) -> String {
    format!("h:{line_item_id}")
}

fn unsent_unknown(reason: &str, last_known: Option<u32>) -> CoreError {
    CoreError::UnsentUnknown {
        reason: reason.to_owned(),
        last_known: match last_known {
            Some(1) => ", 1 was waiting when last counted".to_owned(),
            Some(n) => format!(", {n} were waiting when last counted"),
            None => String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same store reached through a symlink, through `a/../a`, or before its folder
    /// exists has one keychain account; a store elsewhere has another.
    #[cfg(unix)]
    #[test]
    fn the_key_account_is_the_same_for_every_spelling_of_the_folder() {
        let top = tempfile::tempdir().unwrap();
        let real = top.path().join("a");
        let link = top.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let named = |root: &Path| store_key_account(&root.join("data").join("gradebook-1.db"));

        // Before the folder exists (the symlink dangles), and after.
        let before = named(&real);
        assert_eq!(named(&top.path().join("a/../a")), before);
        std::fs::create_dir_all(real.join("data")).unwrap();
        for spelling in [
            real.clone(),
            link.clone(),
            top.path().join("a/../a"),
            top.path().join("./a/."),
            top.path().join("link/../a"),
        ] {
            assert_eq!(named(&spelling), before, "{spelling:?}");
        }
        assert_ne!(named(&top.path().join("b")), before);
        assert_ne!(
            spelled_key_account(&link.join("data/gradebook-1.db")),
            before
        );
    }
}
