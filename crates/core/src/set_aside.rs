//! Local stores that were set aside instead of deleted, and the count of unsent grades
//! kept beside each store outside its encryption.
//!
//! A store Rollbook cannot open (its key is gone from the keychain, the file is
//! damaged, or it names another sign-in) is renamed to
//! `<store>.<reason>-<unix seconds>` with its SQLite companions, never deleted: with
//! its key it may still be read, and the teacher must be told what it held.
//!
//! What it held is known without the key because every store has a sidecar,
//! `<store>.unsent`: the number of writes waiting to be sent, as decimal text and
//! nothing else (no names, no grades), mode 0600, rewritten by core after each change
//! it makes to the outbox. It may run ahead of the store after a crash between a sync
//! and its rewrite (it then says more wait than do), so it is read as "what was
//! waiting when last counted", never as proof that nothing waits.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::paths::{remove_if_present, write_private};
use crate::{AppPaths, CoreError, ErrorCode};

/// Why a store was set aside; its spelling is part of the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum SetAsideReason {
    /// The keychain no longer has the store's key (a reset keychain, a restored profile,
    /// the data folder reached by another spelling of its path).
    KeyMissing,
    /// The file is damaged, or was made with another key.
    Unreadable,
    /// The file names another sign-in than the one its name says.
    OtherOwner,
}

impl SetAsideReason {
    const ALL: [SetAsideReason; 3] = [Self::KeyMissing, Self::Unreadable, Self::OtherOwner];

    fn suffix(self) -> &'static str {
        match self {
            Self::KeyMissing => "keyless",
            Self::Unreadable => "unreadable",
            Self::OtherOwner => "other-owner",
        }
    }

    pub(crate) fn why(self) -> &'static str {
        match self {
            Self::KeyMissing => "its key is no longer in this computer's keychain",
            Self::Unreadable => "it is damaged or was made with another key",
            Self::OtherOwner => "it belongs to another sign-in",
        }
    }
}

/// A store set aside, as `rollbook doctor` and the window show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SetAsideStore {
    /// Always `store_set_aside`, so scripts and the window branch on a code.
    pub code: ErrorCode,
    /// The renamed database file.
    pub path: String,
    pub reason: SetAsideReason,
    /// When it was set aside (unix seconds).
    pub set_aside_at: i64,
    /// Grades and assignments that were waiting to be sent when last counted; `None`
    /// when no count was kept (a store from before counts were kept).
    pub unsent: Option<u32>,
    /// What happened, in words for the teacher.
    pub message: String,
}

impl SetAsideStore {
    fn new(path: &Path, reason: SetAsideReason, at: i64, unsent: Option<u32>) -> Self {
        let held = match unsent {
            Some(0) => "no grades were waiting to be sent".to_owned(),
            Some(1) => "1 grade was waiting to be sent".to_owned(),
            Some(n) => format!("{n} grades were waiting to be sent"),
            None => "how many grades were waiting to be sent is not known".to_owned(),
        };
        let message = format!(
            "The gradebook saved on this computer could not be opened ({}), so it was set aside as {} and a new one started; {held}. Nothing was deleted.",
            reason.why(),
            path.display(),
        );
        Self {
            code: ErrorCode::StoreSetAside,
            path: path.display().to_string(),
            reason,
            set_aside_at: at,
            unsent,
            message,
        }
    }
}

/// The sidecar holding the store's count of unsent writes.
pub(crate) fn unsent_file(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".unsent");
    PathBuf::from(name)
}

/// The last count written beside `store`, if any.
pub(crate) fn read_unsent(store: &Path) -> Option<u32> {
    std::fs::read_to_string(unsent_file(store))
        .ok()
        .and_then(|text| text.trim().parse().ok())
}

pub(crate) fn write_unsent(store: &Path, count: u32) -> Result<(), CoreError> {
    write_private(&unsent_file(store), format!("{count}\n").as_bytes())
}

/// The store's files: the database, SQLite's companions and the count.
pub(crate) fn files_of(store: &Path) -> Vec<PathBuf> {
    let mut files = rollbook_gradebook::store::store_files(store);
    files.push(unsent_file(store));
    files
}

pub(crate) fn delete(store: &Path) -> Result<(), CoreError> {
    files_of(store)
        .iter()
        .try_for_each(|file| remove_if_present(file))
}

/// Renames the store's files (its companions and count alike) to
/// `<name>.<reason>-<unix seconds>`; answers what was set aside.
pub(crate) fn set_aside(store: &Path, reason: SetAsideReason) -> Result<SetAsideStore, CoreError> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let mut aside = store.as_os_str().to_owned();
    aside.push(format!(".{}-{stamp}", reason.suffix()));
    let aside = PathBuf::from(aside);
    for (from, to) in files_of(store).into_iter().zip(files_of(&aside)) {
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(CoreError::Io {
                    action: "set aside",
                    path: from.display().to_string(),
                    source,
                });
            }
        }
    }
    Ok(SetAsideStore::new(
        &aside,
        reason,
        stamp,
        read_unsent(&aside),
    ))
}

/// Every store set aside in the data folder, oldest first.
pub(crate) fn list(paths: &AppPaths) -> Vec<SetAsideStore> {
    let Ok(entries) = std::fs::read_dir(&paths.data_dir) else {
        return Vec::new();
    };
    let mut found: Vec<SetAsideStore> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            let name = path.file_name()?.to_str()?.to_owned();
            let (stem, tail) = name.rsplit_once(".db.")?;
            if !stem.starts_with("gradebook-") {
                return None;
            }
            SetAsideReason::ALL.into_iter().find_map(|reason| {
                let stamp = tail.strip_prefix(reason.suffix())?.strip_prefix('-')?;
                // Only the database itself: `-wal`, `-shm` and `.unsent` fail to parse.
                let at: i64 = stamp.parse().ok()?;
                Some(SetAsideStore::new(&path, reason, at, read_unsent(&path)))
            })
        })
        .collect();
    found.sort_by(|a, b| (a.set_aside_at, &a.path).cmp(&(b.set_aside_at, &b.path)));
    found
}

/// The store a set-aside file was renamed from (`<store>.<reason>-<seconds>`).
pub(crate) fn store_of(aside: &Path) -> Option<PathBuf> {
    let name = aside.file_name()?.to_str()?;
    let (store, _) = name.rsplit_once('.')?;
    Some(aside.with_file_name(store))
}

/// The marker a kept store leaves beside itself: the teacher saw it and chose to leave
/// it on disk, so the window stops showing it (doctor still lists it).
fn kept_file(aside: &Path) -> PathBuf {
    let mut name = aside.as_os_str().to_owned();
    name.push(".kept");
    PathBuf::from(name)
}

pub(crate) fn keep(aside: &Path) -> Result<(), CoreError> {
    write_private(&kept_file(aside), b"")
}

pub(crate) fn is_kept(aside: &Path) -> bool {
    kept_file(aside).exists()
}

/// Deletes a set-aside store (the teacher confirmed it twice): its files, count and mark.
pub(crate) fn discard(aside: &Path) -> Result<(), CoreError> {
    delete(aside)?;
    remove_if_present(&kept_file(aside))
}

/// Moves a set-aside store's files back to `store` (whose own files are gone).
pub(crate) fn restore(aside: &Path, store: &Path) -> Result<(), CoreError> {
    for (from, to) in files_of(aside).into_iter().zip(files_of(store)) {
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(CoreError::Io {
                    action: "restore",
                    path: from.display().to_string(),
                    source,
                });
            }
        }
    }
    remove_if_present(&kept_file(aside))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_aside_store_keeps_its_files_and_count_and_is_listed() {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths::under(root.path());
        std::fs::create_dir_all(&paths.data_dir).unwrap();
        let store = paths.data_dir.join("gradebook-0011223344556677.db");
        std::fs::write(&store, b"encrypted").unwrap();
        let mut wal = store.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::write(&wal, b"log").unwrap();
        write_unsent(&store, 3).unwrap();

        let aside = set_aside(&store, SetAsideReason::KeyMissing).unwrap();
        assert_eq!(aside.unsent, Some(3));
        assert!(!store.exists() && !unsent_file(&store).exists());
        assert_eq!(std::fs::read(&aside.path).unwrap(), b"encrypted");
        assert!(
            aside.message.contains("3 grades were waiting"),
            "{}",
            aside.message
        );

        let listed = list(&paths);
        assert_eq!(listed, vec![aside], "only the database is listed, once");
    }

    #[test]
    fn a_kept_store_is_still_listed_and_a_discarded_one_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths::under(root.path());
        std::fs::create_dir_all(&paths.data_dir).unwrap();
        let store = paths.data_dir.join("gradebook-0011223344556677.db");
        std::fs::write(&store, b"encrypted").unwrap();
        write_unsent(&store, 2).unwrap();
        let aside = set_aside(&store, SetAsideReason::KeyMissing).unwrap();
        let aside_path = Path::new(&aside.path);

        keep(aside_path).unwrap();
        assert!(is_kept(aside_path));
        assert_eq!(list(&paths), vec![aside.clone()], "doctor still lists it");

        discard(aside_path).unwrap();
        let left: Vec<_> = std::fs::read_dir(&paths.data_dir).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[cfg(unix)]
    #[test]
    fn the_count_is_a_private_number_only() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let store = root.path().join("gradebook-ab.db");
        write_unsent(&store, 12).unwrap();
        let file = unsent_file(&store);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "12\n");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_unsent(&store), Some(12));
    }
}
