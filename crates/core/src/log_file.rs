//! Rollbook's log file, for IT and support: one per computer user, in the data folder's
//! `logs` (local, never roaming), rotated by size so it cannot grow without end. Release
//! Windows builds have no console, so this is where their warnings go.
//!
//! Nothing secret or personal is logged anywhere in Rollbook (no token, no student or
//! teacher name, no grade): events carry codes, counts and durations. The CLI's test of
//! the log file checks that against a real session.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::{AppPaths, CoreError};

/// The file being written; older ones are `rollbook.1.log` (newest) to `rollbook.3.log`.
pub const LOG_FILE_NAME: &str = "rollbook.log";
/// Rotated when the next line would pass this many bytes.
const MAX_BYTES: u64 = 1024 * 1024;
/// Rotated files kept besides the current one.
const KEEP: u32 = 3;

/// Where the log files go: `logs` in the per-user data folder.
pub fn log_dir(paths: &AppPaths) -> PathBuf {
    paths.data_dir.join("logs")
}

/// The log file in use, as a writer the shells hand to `tracing_subscriber` (cheap to
/// clone; clones share the file).
#[derive(Debug, Clone)]
pub struct LogFile {
    inner: Arc<Mutex<Current>>,
}

#[derive(Debug)]
struct Current {
    path: PathBuf,
    file: Option<File>,
    written: u64,
    max_bytes: u64,
}

impl LogFile {
    /// Opens (appending) `rollbook.log` in `dir`, creating the folder (owner-only).
    pub fn open(dir: &Path) -> Result<Self, CoreError> {
        Self::open_with_limit(dir, MAX_BYTES)
    }

    fn open_with_limit(dir: &Path, max_bytes: u64) -> Result<Self, CoreError> {
        let io = |action, source| CoreError::Io {
            action,
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io("create", e))?;
        rollbook_owner_only::restrict_dir(dir).map_err(|e| io("protect", e))?;
        let path = dir.join(LOG_FILE_NAME);
        let file = open_append(&path).map_err(|e| io("open", e))?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Self {
            inner: Arc::new(Mutex::new(Current {
                path,
                file: Some(file),
                written,
                max_bytes,
            })),
        })
    }

    /// The file being written now.
    pub fn path(&self) -> PathBuf {
        lock(&self.inner).path.clone()
    }
}

fn lock(inner: &Mutex<Current>) -> std::sync::MutexGuard<'_, Current> {
    // A panic mid-write leaves at worst a torn line; the file stays usable.
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    rollbook_owner_only::open(&mut options, path)
}

fn rotated(path: &Path, n: u32) -> PathBuf {
    path.with_file_name(format!("rollbook.{n}.log"))
}

impl Current {
    fn rotate(&mut self) -> io::Result<()> {
        drop(self.file.take());
        for n in (1..KEEP).rev() {
            let from = rotated(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, rotated(&self.path, n + 1))?;
            }
        }
        std::fs::rename(&self.path, rotated(&self.path, 1))?;
        self.file = Some(open_append(&self.path)?);
        self.written = 0;
        Ok(())
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut current = lock(&self.inner);
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if current.written > 0 && current.written.saturating_add(len) > current.max_bytes {
            // A log that cannot rotate keeps appending rather than losing lines.
            let _ = current.rotate();
        }
        let file = match current.file.as_mut() {
            Some(file) => file,
            None => {
                let file = open_append(&current.path)?;
                current.file.insert(file)
            }
        };
        file.write_all(buf)?;
        current.written = current.written.saturating_add(len);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match lock(&self.inner).file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_three() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = LogFile::open_with_limit(dir.path(), 100).unwrap();
        for i in 0..20 {
            writeln!(log, "line {i:02} {}", "x".repeat(40)).unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "rollbook.1.log",
                "rollbook.2.log",
                "rollbook.3.log",
                "rollbook.log"
            ]
        );
        let current = std::fs::read_to_string(log.path()).unwrap();
        assert!(
            current.contains("line 19") && current.len() <= 100,
            "{current}"
        );
        let newest_rotated = std::fs::read_to_string(dir.path().join("rollbook.1.log")).unwrap();
        assert!(newest_rotated.contains("line 17"), "{newest_rotated}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(log.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner only: {mode:o}");
        }
    }
}
