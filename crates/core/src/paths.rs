//! The per-user folders Rollbook writes to: the platform's standard config and data
//! folders (`XDG_CONFIG_HOME`/`XDG_DATA_HOME` on Linux), never a shared one.
//!
//! The data folder is the *local* one (`%LOCALAPPDATA%` on Windows): a roaming profile
//! would carry the gradebook store to every computer the teacher logs on to, and two
//! computers logging off would overwrite each other's store. Releases before this one
//! wrote to the roaming folder; [`move_roaming_data`] moves that data once, at start.
//! The sign-in options (`preferences.json`, no student data) stay in the roaming
//! config folder on purpose, so they follow the teacher.

use std::path::{Path, PathBuf};

use crate::CoreError;

#[derive(Debug, Clone)]
pub struct AppPaths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl AppPaths {
    pub fn from_os() -> Result<Self, CoreError> {
        let dirs = directories::ProjectDirs::from("org", "rollbook", "Rollbook")
            .ok_or(CoreError::NoAppFolders)?;
        let paths = Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_local_dir().to_path_buf(),
        };
        // The same folder on macOS and Linux; only Windows has a roaming one to empty.
        if dirs.data_dir() != dirs.data_local_dir() {
            move_roaming_data(dirs.data_dir(), &paths.data_dir).log();
        }
        Ok(paths)
    }

    /// Both folders under one root (tests, portable installs).
    pub fn under(root: &Path) -> Self {
        Self {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
        }
    }

    pub(crate) fn preferences(&self) -> PathBuf {
        self.config_dir.join("preferences.json")
    }

    pub(crate) fn session_record(&self) -> PathBuf {
        self.data_dir.join("session.json")
    }

    /// Keychain entries a sign-out has still to delete (see `crate::wipe`).
    pub(crate) fn pending_wipes(&self) -> PathBuf {
        self.data_dir.join("pending-wipes.json")
    }

    /// The lock every Rollbook process of this user takes around refreshes and session
    /// record changes (its content is empty; only the OS lock on it matters).
    pub(crate) fn session_lock(&self) -> PathBuf {
        self.data_dir.join("session.lock")
    }
}

/// What [`move_roaming_data`] did. Entry names only (file names carry a digest, never a
/// teacher's name).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RoamingMove {
    /// Moved into the local data folder.
    pub moved: Vec<String>,
    /// Left in the roaming folder because the local folder has an entry of that name
    /// already: both are kept, for a person to choose (never overwritten).
    pub kept_both: Vec<String>,
    /// Could not be moved now (in use by a running older Rollbook, no permission); tried
    /// again at the next start.
    pub failed: Vec<(String, String)>,
}

impl RoamingMove {
    fn log(&self) {
        if !self.moved.is_empty() {
            tracing::info!(
                count = self.moved.len(),
                "moved Rollbook's data from the roaming to the local data folder"
            );
        }
        for name in &self.kept_both {
            tracing::warn!(
                code = "roaming_data_kept",
                entry = %name,
                "an entry in the old roaming data folder was not moved: the local data folder has one of that name; both are kept"
            );
        }
        for (name, error) in &self.failed {
            tracing::warn!(
                code = "roaming_data_not_moved",
                entry = %name,
                error = %error,
                "an entry in the old roaming data folder could not be moved now; trying again at the next start"
            );
        }
    }
}

/// The file listing store keys still to rename in the keychain after their stores moved
/// (a store's key is named after its path; see [`move_store_keys`]).
const KEY_MOVES_FILE: &str = "roaming-store-keys.json";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct KeyMove {
    /// The keychain accounts the key may be under now (canonical path, then as spelled).
    from: Vec<String>,
    /// Where the key goes: the account of the store at its new path.
    to: String,
}

/// Moves every entry of the old data folder `from` into `to`, one by one: a rename (or,
/// across volumes, a copy checked byte for byte before the original is deleted). An
/// entry whose name `to` already has stays where it is (both kept, reported). The keys
/// of moved gradebook stores are listed for [`move_store_keys`]. Nothing to do when
/// `from` does not exist; safe to run at every start.
pub fn move_roaming_data(from: &Path, to: &Path) -> RoamingMove {
    let mut report = RoamingMove::default();
    let Ok(entries) = std::fs::read_dir(from) else {
        return report;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    if entries.is_empty() {
        return report;
    }
    if let Err(e) = std::fs::create_dir_all(to).and_then(|()| rollbook_owner_only::restrict_dir(to))
    {
        report
            .failed
            .push((to.display().to_string(), e.to_string()));
        return report;
    }
    let mut key_moves = read_key_moves(to);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Empty and recreated at will; an older Rollbook still running may hold it.
        if name == "session.lock" || name.ends_with(".tmp") {
            continue;
        }
        let source = entry.path();
        let target = to.join(entry.file_name());
        if std::fs::symlink_metadata(&target).is_ok() {
            report.kept_both.push(name);
            continue;
        }
        // The key's account is read while the store is still at its old path.
        let key_move = store_base(&name).map(|base| KeyMove {
            from: vec![
                crate::gradebook::store_key_account(&from.join(base)),
                format!(
                    "{} {}",
                    crate::gradebook::STORE_KEY_ACCOUNT,
                    from.join(base).display()
                ),
            ],
            to: crate::gradebook::store_key_account(&to.join(base)),
        });
        match move_entry(&source, &target) {
            Ok(()) => {
                // A rename keeps the roaming folder's ACL (Windows does not re-inherit):
                // what moved is made its owner's only here, as if created here.
                let private = if target.is_dir() {
                    rollbook_owner_only::restrict_dir(&target)
                } else {
                    rollbook_owner_only::restrict_file(&target)
                };
                if let Err(e) = private {
                    tracing::warn!(entry = %name, error = %e.kind(), "a moved entry could not be made owner-only");
                }
                report.moved.push(name);
                if let Some(key_move) = key_move
                    && !key_moves.contains(&key_move)
                {
                    key_moves.push(key_move);
                }
            }
            Err(e) => report.failed.push((name, e.to_string())),
        }
    }
    if !key_moves.is_empty()
        && let Err(e) = write_private_json(&to.join(KEY_MOVES_FILE), &key_moves)
    {
        report
            .failed
            .push((KEY_MOVES_FILE.to_owned(), e.to_string()));
    }
    report
}

/// `gradebook-<digest>.db` for a store or any of its companions (`-wal`, `.unsent`,
/// set-aside copies): they all open with the one key.
fn store_base(name: &str) -> Option<&str> {
    if !name.starts_with("gradebook-") {
        return None;
    }
    name.find(".db").map(|end| &name[..end + 3])
}

fn move_entry(source: &Path, target: &Path) -> std::io::Result<()> {
    match std::fs::rename(source, target) {
        Ok(()) => Ok(()),
        // A roaming folder redirected to a network share: another volume.
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            copy_then_delete(source, target)
        }
        Err(e) => Err(e),
    }
}

fn copy_then_delete(source: &Path, target: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(source)?.is_dir() {
        std::fs::create_dir(target)?;
        for entry in std::fs::read_dir(source)? {
            let entry = entry?;
            move_entry(&entry.path(), &target.join(entry.file_name()))?;
        }
        return std::fs::remove_dir(source);
    }
    let mut partial = target.as_os_str().to_owned();
    partial.push(".moving");
    let partial = PathBuf::from(partial);
    std::fs::copy(source, &partial)?;
    std::fs::File::open(&partial)?.sync_all()?;
    // The original goes only once an identical copy is in place.
    if std::fs::read(source)? != std::fs::read(&partial)? {
        let _ = std::fs::remove_file(&partial);
        return Err(std::io::Error::other("the copy differs from the original"));
    }
    std::fs::rename(&partial, target)?;
    std::fs::remove_file(source)
}

fn read_key_moves(data_dir: &Path) -> Vec<KeyMove> {
    std::fs::read(data_dir.join(KEY_MOVES_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Renames in the keychain the keys of stores [`move_roaming_data`] moved, so each store
/// opens at its new path instead of being set aside as keyless. A key is saved under its
/// new name before the old one is deleted; what the keychain refuses now is kept in the
/// list and tried at the next start.
pub(crate) fn move_store_keys(paths: &AppPaths, store: &dyn rollbook_auth::TokenStore) {
    let list = paths.data_dir.join(KEY_MOVES_FILE);
    let moves = read_key_moves(&paths.data_dir);
    if moves.is_empty() {
        return;
    }
    let mut left = Vec::new();
    for key_move in moves {
        if let Err(e) = move_store_key(&key_move, store) {
            tracing::warn!(code = %e.code(), "a moved gradebook store's key could not be renamed in the keychain now; trying again at the next start");
            left.push(key_move);
        }
    }
    let done = if left.is_empty() {
        remove_if_present(&list)
    } else {
        write_private_json(&list, &left)
    };
    if let Err(e) = done {
        tracing::warn!(code = %e.code(), "the list of gradebook keys to rename could not be updated");
    }
}

fn move_store_key(
    key_move: &KeyMove,
    store: &dyn rollbook_auth::TokenStore,
) -> Result<(), rollbook_auth::StoreError> {
    if store.load_secret(&key_move.to)?.is_some() {
        return Ok(());
    }
    for from in &key_move.from {
        if let Some(key) = store.load_secret(from)? {
            store.save_secret(&key_move.to, &key)?;
            if store.clear_secret(from).is_err() {
                tracing::warn!(
                    "a moved gradebook store's key under its old keychain name could not be deleted"
                );
            }
            return Ok(());
        }
    }
    Ok(())
}

/// Writes a file readable by this user only, atomically (temp file, then rename).
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), CoreError> {
    let io = |action, source| CoreError::Io {
        action,
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io("create the folder for", e))?;
        rollbook_owner_only::restrict_dir(parent).map_err(|e| io("protect the folder of", e))?;
    }
    let temp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        let mut file =
            rollbook_owner_only::open(&mut options, &temp).map_err(|e| io("write", e))?;
        file.write_all(contents).map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("write", e))?;
    }
    std::fs::rename(&temp, path).map_err(|e| io("replace", e))
}

/// Writes `value` as pretty JSON, readable by this user only (see [`write_private`]).
pub(crate) fn write_private_json<T: serde::Serialize + ?Sized>(
    path: &Path,
    value: &T,
) -> Result<(), CoreError> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| CoreError::Io {
        action: "write",
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    write_private(path, &json)
}

/// Deletes a file; one that is not there is already deleted.
pub(crate) fn remove_if_present(path: &Path) -> Result<(), CoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CoreError::Io {
            action: "delete",
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use rollbook_auth::{StoreError, StoreKey, StoredCredentials, TokenStore};

    use super::*;

    #[derive(Debug, Default)]
    struct Secrets(Mutex<HashMap<String, String>>);

    impl TokenStore for Secrets {
        fn load(&self, _: &StoreKey) -> Result<Option<StoredCredentials>, StoreError> {
            Ok(None)
        }
        fn save(&self, _: &StoreKey, _: &StoredCredentials) -> Result<(), StoreError> {
            Ok(())
        }
        fn clear(&self, _: &StoreKey) -> Result<(), StoreError> {
            Ok(())
        }
        fn probe(&self) -> Result<(), StoreError> {
            Ok(())
        }
        fn load_secret(&self, account: &str) -> Result<Option<String>, StoreError> {
            Ok(self.0.lock().unwrap().get(account).cloned())
        }
        fn save_secret(&self, account: &str, secret: &str) -> Result<(), StoreError> {
            self.0
                .lock()
                .unwrap()
                .insert(account.to_owned(), secret.to_owned());
            Ok(())
        }
        fn clear_secret(&self, account: &str) -> Result<(), StoreError> {
            self.0.lock().unwrap().remove(account);
            Ok(())
        }
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn roaming_data_moves_to_the_local_folder_with_its_store_key() {
        let home = tempfile::tempdir().unwrap();
        let roaming = home.path().join("Roaming/rollbook/Rollbook/data");
        let local = AppPaths {
            config_dir: home.path().join("Roaming/rollbook/Rollbook/config"),
            data_dir: home.path().join("Local/rollbook/Rollbook/data"),
        };
        std::fs::create_dir_all(roaming.join("logs")).unwrap();
        std::fs::write(roaming.join("session.json"), "{}").unwrap();
        std::fs::write(roaming.join("gradebook-0011223344556677.db"), "store").unwrap();
        std::fs::write(roaming.join("gradebook-0011223344556677.db.unsent"), "2\n").unwrap();
        std::fs::write(roaming.join("grading-rules.json"), "[]").unwrap();
        std::fs::write(roaming.join("logs/rollbook.log"), "line\n").unwrap();
        let secrets = Secrets::default();
        let old_key =
            crate::gradebook::store_key_account(&roaming.join("gradebook-0011223344556677.db"));
        secrets.save_secret(&old_key, "the key").unwrap();

        let report = move_roaming_data(&roaming, &local.data_dir);
        assert_eq!(report.kept_both, Vec::<String>::new());
        assert_eq!(report.failed, Vec::new());
        assert_eq!(report.moved.len(), 5, "{report:?}");
        assert_eq!(
            read(&local.data_dir.join("gradebook-0011223344556677.db")),
            "store"
        );
        assert_eq!(read(&local.data_dir.join("session.json")), "{}");
        assert_eq!(read(&local.data_dir.join("logs/rollbook.log")), "line\n");
        assert_eq!(std::fs::read_dir(&roaming).unwrap().count(), 0);
        // What moved is its owner's only, whatever the roaming folder allowed.
        #[cfg(unix)]
        for (entry, want) in [
            ("gradebook-0011223344556677.db", 0o600),
            ("session.json", 0o600),
            ("logs", 0o700),
        ] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(local.data_dir.join(entry))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, want, "{entry}");
        }

        move_store_keys(&local, &secrets);
        let new_key = crate::gradebook::store_key_account(
            &local.data_dir.join("gradebook-0011223344556677.db"),
        );
        assert_eq!(
            secrets.load_secret(&new_key).unwrap().as_deref(),
            Some("the key")
        );
        assert_eq!(secrets.load_secret(&old_key).unwrap(), None);
        assert!(!local.data_dir.join(KEY_MOVES_FILE).exists());

        // A second start has nothing left to do.
        assert_eq!(
            move_roaming_data(&roaming, &local.data_dir),
            RoamingMove::default()
        );
    }

    #[test]
    fn an_entry_the_local_folder_has_already_is_kept_in_both() {
        let home = tempfile::tempdir().unwrap();
        let roaming = home.path().join("roaming");
        let local = home.path().join("local");
        std::fs::create_dir_all(&roaming).unwrap();
        std::fs::create_dir_all(&local).unwrap();
        std::fs::write(roaming.join("gradebook-aa.db"), "roaming store").unwrap();
        std::fs::write(local.join("gradebook-aa.db"), "local store").unwrap();
        std::fs::write(roaming.join("session.json"), "roaming").unwrap();

        let report = move_roaming_data(&roaming, &local);
        assert_eq!(report.kept_both, vec!["gradebook-aa.db".to_owned()]);
        assert_eq!(report.moved, vec!["session.json".to_owned()]);
        assert_eq!(read(&roaming.join("gradebook-aa.db")), "roaming store");
        assert_eq!(read(&local.join("gradebook-aa.db")), "local store");
        // Its key stays where it is too: the roaming store still opens with it by hand.
        assert!(!local.join(KEY_MOVES_FILE).exists());
    }

    #[test]
    fn a_key_the_keychain_refuses_now_is_renamed_at_a_later_start() {
        #[derive(Debug, Default)]
        struct Locked(Secrets, Mutex<bool>);
        impl TokenStore for Locked {
            fn load(&self, k: &StoreKey) -> Result<Option<StoredCredentials>, StoreError> {
                self.0.load(k)
            }
            fn save(&self, k: &StoreKey, c: &StoredCredentials) -> Result<(), StoreError> {
                self.0.save(k, c)
            }
            fn clear(&self, k: &StoreKey) -> Result<(), StoreError> {
                self.0.clear(k)
            }
            fn probe(&self) -> Result<(), StoreError> {
                Ok(())
            }
            fn load_secret(&self, account: &str) -> Result<Option<String>, StoreError> {
                if *self.1.lock().unwrap() {
                    return Err(StoreError::TimedOut);
                }
                self.0.load_secret(account)
            }
            fn save_secret(&self, account: &str, secret: &str) -> Result<(), StoreError> {
                self.0.save_secret(account, secret)
            }
            fn clear_secret(&self, account: &str) -> Result<(), StoreError> {
                self.0.clear_secret(account)
            }
        }
        let home = tempfile::tempdir().unwrap();
        let roaming = home.path().join("roaming");
        let local = AppPaths::under(&home.path().join("local"));
        std::fs::create_dir_all(&roaming).unwrap();
        std::fs::write(roaming.join("gradebook-bb.db"), "store").unwrap();
        let secrets = Locked::default();
        let old_key = crate::gradebook::store_key_account(&roaming.join("gradebook-bb.db"));
        secrets.save_secret(&old_key, "k").unwrap();
        move_roaming_data(&roaming, &local.data_dir);

        *secrets.1.lock().unwrap() = true;
        move_store_keys(&local, &secrets);
        assert!(local.data_dir.join(KEY_MOVES_FILE).exists());

        *secrets.1.lock().unwrap() = false;
        move_store_keys(&local, &secrets);
        let new_key = crate::gradebook::store_key_account(&local.data_dir.join("gradebook-bb.db"));
        assert_eq!(secrets.load_secret(&new_key).unwrap().as_deref(), Some("k"));
        assert!(!local.data_dir.join(KEY_MOVES_FILE).exists());
    }

    #[test]
    fn a_copy_across_volumes_deletes_the_original_only_once_the_copy_is_in_place() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("from/logs")).unwrap();
        std::fs::write(home.path().join("from/logs/rollbook.log"), "x").unwrap();
        copy_then_delete(&home.path().join("from/logs"), &home.path().join("to")).unwrap();
        assert_eq!(read(&home.path().join("to/rollbook.log")), "x");
        assert!(!home.path().join("from/logs").exists());
    }
}
