//! Deleting a session's keychain entry so that no path leaves one behind that nothing
//! can find.
//!
//! Before an entry is deleted its key (issuer, client, subject: no secret) is written
//! to `pending-wipes.json` in the data folder, and it is struck off only once the
//! keychain confirmed the deletion. A keychain that is locked or gone, or a crash in
//! between, leaves the key listed, and the next start deletes the entry then. The
//! session record can therefore be deleted at once: the list, not the record, is what
//! still points at the entry.
//!
//! Call these under the session's process lock (`crate::Account` does), so two
//! processes never rewrite the list at once.

use std::sync::Arc;

use rollbook_auth::{StoreError, StoreKey, TokenStore, call_store};

use crate::paths::{remove_if_present, write_private_json};
use crate::{AppPaths, CoreError};

/// The keys whose entries are still to be deleted.
pub(crate) fn pending(paths: &AppPaths) -> Vec<StoreKey> {
    let path = paths.pending_wipes();
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            // Only keys live here; a damaged list cannot be retried, and must not stop
            // the app. The entries stay findable under the Rollbook keychain service.
            tracing::warn!("ignoring {} (it is damaged: {e})", path.display());
            Vec::new()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            tracing::warn!("cannot read {} ({e})", path.display());
            Vec::new()
        }
    }
}

fn write(paths: &AppPaths, keys: &[StoreKey]) -> Result<(), CoreError> {
    if keys.is_empty() {
        remove_if_present(&paths.pending_wipes())
    } else {
        write_private_json(&paths.pending_wipes(), keys)
    }
}

/// Lists `key` as to be deleted (before the deletion is tried).
pub(crate) fn remember(paths: &AppPaths, key: &StoreKey) -> Result<(), CoreError> {
    let mut keys = pending(paths);
    if !keys.contains(key) {
        keys.push(key.clone());
        write(paths, &keys)?;
    }
    Ok(())
}

/// Strikes `key` off the list: its entry is gone, or a new sign-in owns it again.
pub(crate) fn forget(paths: &AppPaths, key: &StoreKey) -> Result<(), CoreError> {
    let mut keys = pending(paths);
    let before = keys.len();
    keys.retain(|k| k != key);
    if keys.len() != before {
        write(paths, &keys)?;
    }
    Ok(())
}

/// Retries every listed deletion; the first failure is returned (the rest stay listed).
/// `in_use` is the entry the current session record names: a newer sign-in's, struck
/// off the list rather than deleted.
pub(crate) async fn finish_pending(
    paths: &AppPaths,
    store: &Arc<dyn TokenStore>,
    in_use: &Option<StoreKey>,
) -> Result<(), CoreError> {
    let mut first_failure: Option<StoreError> = None;
    for key in pending(paths) {
        if in_use.as_ref() == Some(&key) {
            forget(paths, &key)?;
            continue;
        }
        let target = key.clone();
        match call_store(store, move |s| s.clear(&target)).await {
            Ok(()) => {
                forget(paths, &key)?;
                tracing::info!("a saved sign-in left by an unfinished sign-out was deleted");
            }
            Err(e) => {
                tracing::warn!(code = %e.code(), "a saved sign-in is still to be deleted");
                first_failure.get_or_insert(e);
            }
        }
    }
    match first_failure {
        Some(e) => Err(CoreError::SignOutUnfinished(e)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(subject: &str) -> StoreKey {
        StoreKey {
            issuer: "https://op.example".into(),
            client_id: "app".into(),
            subject: subject.into(),
        }
    }

    #[test]
    fn the_list_keeps_each_key_once_and_vanishes_when_empty() {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths::under(root.path());
        assert!(pending(&paths).is_empty());
        remember(&paths, &key("a")).unwrap();
        remember(&paths, &key("a")).unwrap();
        remember(&paths, &key("b")).unwrap();
        assert_eq!(pending(&paths), vec![key("a"), key("b")]);
        forget(&paths, &key("a")).unwrap();
        assert_eq!(pending(&paths), vec![key("b")]);
        forget(&paths, &key("b")).unwrap();
        assert!(!paths.pending_wipes().exists(), "no list is left behind");
    }

    #[test]
    fn a_damaged_list_is_ignored_not_fatal() {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths::under(root.path());
        std::fs::create_dir_all(&paths.data_dir).unwrap();
        std::fs::write(paths.pending_wipes(), b"[{\"issuer\":").unwrap();
        assert!(pending(&paths).is_empty());
        remember(&paths, &key("a")).unwrap();
        assert_eq!(pending(&paths), vec![key("a")]);
    }
}
