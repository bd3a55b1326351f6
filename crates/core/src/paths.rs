//! The per-user folders Rollbook writes to: the platform's standard config and data
//! folders (`XDG_CONFIG_HOME`/`XDG_DATA_HOME` on Linux), never a shared one.

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
        Ok(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
        })
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

/// Writes a file readable by this user only, atomically (temp file, then rename).
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), CoreError> {
    let io = |action, source| CoreError::Io {
        action,
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io("create the folder for", e))?;
        restrict(parent, 0o700).map_err(|e| io("protect the folder of", e))?;
    }
    let temp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temp).map_err(|e| io("write", e))?;
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

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> std::io::Result<()> {
    // Per-user profile folders on Windows already carry a per-user ACL.
    Ok(())
}
