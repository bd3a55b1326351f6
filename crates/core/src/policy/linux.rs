//! Linux (and any other Unix): one JSON file that IT manages, machine-wide.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{PolicyLevel, PolicySource, RawValue, SourceProblem};

/// Where the policy file lives.
pub const POLICY_FILE: &str = "/etc/rollbook/policy.json";
/// Points at another policy file, in debug builds only (the tests). A release build
/// ignores it: a user who could point Rollbook at a file of their own would escape the
/// lab's policy.
pub const POLICY_FILE_ENV: &str = "ROLLBOOK_POLICY_FILE";
/// With [`POLICY_FILE_ENV`], debug builds only: the uid trusted to own that file instead
/// of root.
pub const POLICY_FILE_OWNER_ENV: &str = "ROLLBOOK_POLICY_FILE_OWNER";

/// `/etc/rollbook/policy.json`: an object of setting names to values. No file means no
/// policy. It is obeyed only when root owns it and neither group nor others may write
/// it: a file a teacher could edit is no lock at all.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    path: PathBuf,
    /// The one owner trusted (root; tests name another to see the refusal).
    trusted_owner: u32,
}

impl PolicyFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            trusted_owner: 0,
        }
    }

    /// Trusts `uid` instead of root as the file's owner.
    pub fn trusting_owner(mut self, uid: u32) -> Self {
        self.trusted_owner = uid;
        self
    }

    /// Why the file is not to be trusted, if it is not.
    #[cfg(unix)]
    fn untrusted(&self, metadata: &std::fs::Metadata) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        if metadata.uid() != self.trusted_owner {
            return Some(format!(
                "it is owned by user {} rather than root, so someone other than IT could have written it",
                metadata.uid()
            ));
        }
        let mode = metadata.mode();
        if mode & 0o022 != 0 {
            return Some(format!(
                "group or others may write it (mode {:o}); make it `chmod 644` and owned by root",
                mode & 0o7777
            ));
        }
        None
    }

    #[cfg(not(unix))]
    fn untrusted(&self, _metadata: &std::fs::Metadata) -> Option<String> {
        None
    }

    /// Why the folder holding the file is not to be trusted, if it is not. Whoever may
    /// write the folder may delete or replace the file (a lab's policy gone without a
    /// trace), so such a folder fails closed, file or no file. No folder is no policy:
    /// only root can create one in `/etc`.
    #[cfg(unix)]
    fn folder_problem(&self) -> Option<SourceProblem> {
        use std::os::unix::fs::MetadataExt;
        let folder = self.path.parent()?;
        let metadata = std::fs::metadata(folder).ok()?;
        let why = if metadata.uid() != self.trusted_owner {
            format!("is owned by user {} rather than root", metadata.uid())
        } else if metadata.mode() & 0o022 != 0 {
            format!(
                "may be written by group or others (mode {:o}; make it `chmod 755`)",
                metadata.mode() & 0o7777
            )
        } else {
            return None;
        };
        Some(SourceProblem::Unreadable(format!(
            "its folder {} {why}, so someone other than IT could have changed or removed the policy",
            folder.display()
        )))
    }

    #[cfg(not(unix))]
    fn folder_problem(&self) -> Option<SourceProblem> {
        None
    }

    /// The standard file; in a debug build, the one the environment names instead.
    pub fn from_env() -> Self {
        #[cfg(debug_assertions)]
        if let Some(path) = std::env::var_os(POLICY_FILE_ENV) {
            // Tests that do not run as root name the owner they trust.
            let owner = std::env::var(POLICY_FILE_OWNER_ENV)
                .ok()
                .and_then(|uid| uid.parse().ok())
                .unwrap_or(0);
            return Self::new(path).trusting_owner(owner);
        }
        Self::new(POLICY_FILE)
    }
}

impl PolicySource for PolicyFile {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn level(&self) -> PolicyLevel {
        PolicyLevel::Machine
    }

    fn read(&self) -> Result<BTreeMap<String, RawValue>, SourceProblem> {
        use std::io::Read;
        // Opened once, and the opened file is both checked and read: a path swapped
        // between a check and a read cannot slip another file in. Its metadata is the
        // link's target's (a root-owned link to a file anyone may write is no better
        // than that file).
        let mut file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A link whose target is gone (a configuration share that did not mount)
                // is IT's policy missing, not "no policy": it fails closed.
                if std::fs::symlink_metadata(&self.path).is_ok() {
                    let target = std::fs::read_link(&self.path)
                        .map(|t| t.display().to_string())
                        .unwrap_or_default();
                    return Err(SourceProblem::Unreadable(format!(
                        "it is a link to {target}, which does not exist"
                    )));
                }
                return match self.folder_problem() {
                    Some(problem) => Err(problem),
                    None => Ok(BTreeMap::new()),
                };
            }
            Err(e) => {
                return Err(SourceProblem::Unreadable(format!(
                    "it cannot be read ({e})"
                )));
            }
        };
        let metadata = file
            .metadata()
            .map_err(|e| SourceProblem::Unreadable(format!("it cannot be read ({e})")))?;
        if let Some(why) = self.untrusted(&metadata) {
            return Err(SourceProblem::Untrusted(why));
        }
        if let Some(problem) = self.folder_problem() {
            return Err(problem);
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| SourceProblem::Unreadable(format!("it cannot be read ({e})")))?;
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes)
            .map_err(|e| SourceProblem::Unreadable(format!("it is not a JSON object ({e})")))?;
        Ok(object
            .into_iter()
            .map(|(key, value)| {
                let raw = match value {
                    serde_json::Value::Bool(b) => RawValue::Bool(b),
                    serde_json::Value::Number(n) => n
                        .as_i64()
                        .map_or_else(|| RawValue::Text(n.to_string()), RawValue::Number),
                    serde_json::Value::String(s) => RawValue::Text(s),
                    other => RawValue::Text(other.to_string()),
                };
                (key, raw)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_an_object_and_no_file_is_no_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        assert!(PolicyFile::new(&path).read().unwrap().is_empty());
        let trusted = |path: &std::path::Path| PolicyFile::new(path).trusting_owner(owner(path));
        std::fs::write(
            &path,
            br#"{"ClientId": "abc", "SharedMachine": true, "IdleSignOutMinutes": 15}"#,
        )
        .unwrap();
        let values = trusted(&path).read().unwrap();
        assert_eq!(values["ClientId"], RawValue::Text("abc".into()));
        assert_eq!(values["SharedMachine"], RawValue::Bool(true));
        assert_eq!(values["IdleSignOutMinutes"], RawValue::Number(15));
        std::fs::write(&path, b"[1, 2]").unwrap();
        assert!(matches!(
            PolicyFile::new(&path).trusting_owner(owner(&path)).read(),
            Err(SourceProblem::Unreadable(m)) if m.contains("JSON object")
        ));
    }

    fn owner(path: &std::path::Path) -> u32 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).unwrap().uid()
    }

    #[test]
    fn a_link_to_a_missing_file_is_unreadable_policy_not_no_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        std::os::unix::fs::symlink(dir.path().join("share/rollbook.json"), &path).unwrap();
        assert!(matches!(
            PolicyFile::new(&path).read(),
            Err(SourceProblem::Unreadable(m)) if m.contains("does not exist")
        ));
    }

    #[test]
    fn a_file_someone_else_could_write_is_not_obeyed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        std::fs::write(&path, br#"{"SharedMachine": false}"#).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let uid = owner(&path);
        assert!(PolicyFile::new(&path).trusting_owner(uid).read().is_ok());
        // Owned by someone other than the trusted owner (root, in a real install).
        assert!(matches!(
            PolicyFile::new(&path).trusting_owner(uid.wrapping_add(1)).read(),
            Err(SourceProblem::Untrusted(m)) if m.contains("rather than root")
        ));
        for mode in [0o664, 0o646, 0o666] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(
                matches!(
                    PolicyFile::new(&path).trusting_owner(uid).read(),
                    Err(SourceProblem::Untrusted(m)) if m.contains("may write it")
                ),
                "mode {mode:o}"
            );
        }
    }

    #[test]
    fn a_folder_someone_else_could_write_fails_closed_with_or_without_the_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("rollbook");
        std::fs::create_dir(&folder).unwrap();
        let path = folder.join("policy.json");
        let uid = owner(dir.path());
        let read = || PolicyFile::new(&path).trusting_owner(uid).read();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(
            read().unwrap().is_empty(),
            "a trusted folder without the file: no policy"
        );
        for mode in [0o775, 0o757, 0o1777] {
            std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(mode)).unwrap();
            // The file deleted by whoever may write the folder is not "no policy".
            assert!(
                matches!(read(), Err(SourceProblem::Unreadable(m)) if m.contains("group or others")),
                "mode {mode:o}"
            );
        }
        std::fs::write(&path, br#"{"SharedMachine": true}"#).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(read(), Err(SourceProblem::Unreadable(m)) if m.contains("its folder")));
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(read().is_ok());
        // A folder owned by someone other than the trusted owner (root, in a real install).
        assert!(matches!(
            PolicyFile::new(&path)
                .trusting_owner(uid.wrapping_add(1))
                .read(),
            Err(SourceProblem::Untrusted(_))
        ));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            PolicyFile::new(&path).trusting_owner(uid.wrapping_add(1)).read(),
            Err(SourceProblem::Unreadable(m)) if m.contains("rather than root")
        ));
    }
}
