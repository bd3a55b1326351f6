//! Which keychain account holds a store's key: named after the store's canonical path.

use std::path::{Path, PathBuf};

use rollbook_auth::call_store;

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
pub(super) fn spelled_key_account(path: &Path) -> String {
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

impl Account {
    /// The key saved for the store at `path`. A key saved by an earlier release under the
    /// path as spelled is moved to the canonical account (and read from there on).
    pub(super) async fn load_store_key(&self, path: &Path) -> Result<Option<String>, CoreError> {
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
