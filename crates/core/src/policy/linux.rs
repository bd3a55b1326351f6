//! Linux (and any other Unix): one JSON file that IT manages, machine-wide.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{PolicyLevel, PolicySource, RawValue};

/// Where the policy file lives.
pub const POLICY_FILE: &str = "/etc/rollbook/policy.json";
/// Points at another policy file, in debug builds only (the tests). A release build
/// ignores it: a user who could point Rollbook at a file of their own would escape the
/// lab's policy.
pub const POLICY_FILE_ENV: &str = "ROLLBOOK_POLICY_FILE";

/// `/etc/rollbook/policy.json`: an object of setting names to values. No file means no
/// policy.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    path: PathBuf,
}

impl PolicyFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The standard file; in a debug build, the one the environment names instead.
    pub fn from_env() -> Self {
        #[cfg(debug_assertions)]
        if let Some(path) = std::env::var_os(POLICY_FILE_ENV) {
            return Self::new(path);
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

    fn read(&self) -> Result<BTreeMap<String, RawValue>, String> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => {
                return Err(format!(
                    "it cannot be read ({e}); no policy from it applies"
                ));
            }
        };
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes)
            .map_err(|e| format!("it is not a JSON object ({e}); no policy from it applies"))?;
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
        std::fs::write(
            &path,
            br#"{"ClientId": "abc", "SharedMachine": true, "IdleSignOutMinutes": 15}"#,
        )
        .unwrap();
        let values = PolicyFile::new(&path).read().unwrap();
        assert_eq!(values["ClientId"], RawValue::Text("abc".into()));
        assert_eq!(values["SharedMachine"], RawValue::Bool(true));
        assert_eq!(values["IdleSignOutMinutes"], RawValue::Number(15));
        std::fs::write(&path, b"[1, 2]").unwrap();
        assert!(
            PolicyFile::new(&path)
                .read()
                .unwrap_err()
                .contains("JSON object")
        );
    }
}
