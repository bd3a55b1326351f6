//! One lock for every Rollbook process of this computer user (the window, `rollbook`
//! commands run by a teacher or an IT script), held around a refresh and around changes
//! to the saved session.
//!
//! Without it, two processes holding the same rotating refresh token both spend it: the
//! provider sees the second use as a replay, revokes the whole token family, and both
//! are signed out. With it, the second process waits, then reads the keychain again and
//! adopts the token the first one saved.
//!
//! It is an advisory OS file lock (`std::fs::File::lock`: `flock` on Unix, `LockFileEx`
//! on Windows), released by the OS when the process dies, so a `kill -9` never leaves
//! it held. The lock is per open file, so one process must not nest it.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::AuthError;

/// How long to wait for another process's refresh (a token call plus a keychain write)
/// before giving up with a clear error.
const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(10);

/// The lock file of one user's sessions.
#[derive(Debug, Clone)]
pub struct ProcessLock {
    path: PathBuf,
}

/// Held while it lives; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct ProcessLockGuard {
    _file: Option<File>,
}

impl ProcessLock {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the lock. When the lock file cannot be opened at all (a read-only
    /// folder), this process goes on without it, as it would with no other process.
    pub async fn acquire(&self) -> Result<ProcessLockGuard, AuthError> {
        let file = match open(&self.path) {
            Ok(file) => file,
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "the session lock file cannot be opened; going on without it");
                return Ok(ProcessLockGuard { _file: None });
            }
        };
        let deadline = Instant::now() + WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(ProcessLockGuard { _file: Some(file) }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(AuthError::SessionBusy {
                        seconds: WAIT.as_secs(),
                    });
                }
                Err(TryLockError::Error(e)) => {
                    tracing::warn!(error = %e, "the session lock is not supported here; going on without it");
                    return Ok(ProcessLockGuard { _file: None });
                }
            }
        }
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    rollbook_owner_only::open(&mut options, path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let lock = ProcessLock::new(dir.path().join("session.lock"));
        let first = lock.acquire().await.unwrap();
        let other = lock.clone();
        let waiting = tokio::spawn(async move { other.acquire().await.map(|_| Instant::now()) });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "the lock was taken twice");
        let released = Instant::now();
        drop(first);
        let taken = waiting.await.unwrap().unwrap();
        assert!(taken >= released);
    }

    #[tokio::test]
    async fn an_unusable_folder_means_no_lock_not_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").unwrap();
        let lock = ProcessLock::new(file.join("session.lock"));
        assert!(lock.acquire().await.is_ok());
    }
}
