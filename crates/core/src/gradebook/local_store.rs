//! The teacher's local store: opened once per process, on disk (encrypted, its key in
//! the keychain) or in memory, and closed and deleted at sign-out.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rollbook_auth::call_store;
use rollbook_gradebook::GradebookError;
use rollbook_gradebook::store::{GradeStore, StoreKey};
use serde::Serialize;

use super::Grades;
use super::store_key::{spelled_key_account, store_key_account};
use crate::set_aside::{self, SetAsideReason, SetAsideStore};
use crate::{Account, CoreError};

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
    pub(super) fn new(store: GradeStore, location: StoreLocation, path: Option<PathBuf>) -> Self {
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
    pub(super) fn set_aside_notice(&self) -> Option<SetAsideStore> {
        self.set_aside.clone().filter(|s| {
            let path = Path::new(&s.path);
            path.exists() && !set_aside::is_kept(path)
        })
    }

    pub(super) fn is_kept(&self, key: &str) -> bool {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(key)
    }

    pub(super) fn mark_kept(&self, key: String, kept: bool) {
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

/// One store per sign-in, named by a digest of its owner (issuer, client and subject):
/// another teacher on this computer account gets a store of their own, and theirs stays
/// (encrypted, with its own key) until they sign out.
pub(super) fn store_path(account: &Account, owner: &str) -> PathBuf {
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
                    if let Err(e) = s.set_rules(&rollbook_gradebook::ClassId::from(class), &rules) {
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

    pub(super) async fn open_disk_store(
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
        match tokio::time::timeout(budget, self.grades().sync_grades(false)).await {
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
}
impl Grades<'_> {
    /// The store set aside when this process opened the local store, if one was (the
    /// CLI says so on stderr; the window gets it in [`super::GradebookPage::set_aside`]).
    pub async fn store_set_aside(self) -> Option<SetAsideStore> {
        self.account
            .local
            .lock()
            .await
            .as_ref()
            .and_then(|open| open.set_aside.clone())
    }

    /// Every store set aside in the data folder (`rollbook doctor`).
    pub fn set_aside_stores(self) -> Vec<SetAsideStore> {
        set_aside::list(self.account.paths())
    }
}

/// Writes the outbox's count beside the store when it changed. A failure is logged,
/// never returned: the grade is committed already, and the count only serves to tell
/// the teacher what a store set aside later held.
pub(super) async fn note_unsent(open: &OpenStore) {
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
