//! The teacher's grading rules (category weights, drop-lowest, what a missing grade
//! counts, the letter scale), kept per class outside the student store.
//!
//! They are the teacher's settings, not student records: a sign-out deletes the store
//! (and with it any grade not sent) but not these, and the next sign-in of the same
//! teacher gets them back. `grading-rules.json` in the data folder (0600) holds them by
//! sign-in (a digest of issuer, client and subject: another teacher on this computer
//! account neither sees nor gets them) and class id. Nothing in it names a student.

use std::collections::BTreeMap;

use rollbook_gradebook::GradingRules;
use serde::{Deserialize, Serialize};

use crate::paths::write_private_json;
use crate::{AppPaths, CoreError};

#[derive(Debug, Default, Serialize, Deserialize)]
struct RulesFile {
    version: u32,
    /// Sign-in digest → class id → rules.
    #[serde(default)]
    teachers: BTreeMap<String, BTreeMap<String, GradingRules>>,
}

fn file(paths: &AppPaths) -> std::path::PathBuf {
    paths.data_dir.join("grading-rules.json")
}

fn read(paths: &AppPaths) -> RulesFile {
    let path = file(paths);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            // A damaged file must not stop grading; the store still has the rules of
            // this sign-in, and the next change rewrites the file whole.
            tracing::warn!("ignoring {} (it is damaged: {e})", path.display());
            RulesFile::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => RulesFile::default(),
        Err(e) => {
            tracing::warn!("cannot read {} ({e})", path.display());
            RulesFile::default()
        }
    }
}

/// The rules `owner` set, by class.
pub(crate) fn load(paths: &AppPaths, owner: &str) -> BTreeMap<String, GradingRules> {
    read(paths)
        .teachers
        .remove(&crate::gradebook::owner_digest(owner))
        .unwrap_or_default()
}

/// Keeps `owner`'s rules for `class_id` (replacing what was there).
pub(crate) fn save(
    paths: &AppPaths,
    owner: &str,
    class_id: &str,
    rules: &GradingRules,
) -> Result<(), CoreError> {
    let mut kept = read(paths);
    kept.version = 1;
    kept.teachers
        .entry(crate::gradebook::owner_digest(owner))
        .or_default()
        .insert(class_id.to_owned(), rules.clone());
    write_private_json(&file(paths), &kept)
}

/// How many classes have rules kept for `owner` (what a sign-out leaves).
pub(crate) fn count(paths: &AppPaths, owner: &str) -> u32 {
    u32::try_from(load(paths, owner).len()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_kept_per_teacher_and_class() {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths::under(root.path());
        let rules = GradingRules {
            missing_counts_as_zero: false,
            ..GradingRules::default()
        };
        save(&paths, "issuer client alice", "class-1", &rules).unwrap();
        assert_eq!(load(&paths, "issuer client alice")["class-1"], rules);
        assert!(load(&paths, "issuer client bob").is_empty());
        let text = std::fs::read_to_string(file(&paths)).unwrap();
        assert!(!text.contains("alice"), "the sign-in is not named: {text}");
    }
}
