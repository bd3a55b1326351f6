//! The window's sign-in preferences, kept in the per-user config folder
//! (`preferences.json`). They hold no personal data and no token: only how sign-in
//! should work on this computer.

use serde::{Deserialize, Serialize};

use crate::paths::write_private_json;
use crate::{AppPaths, CoreError, RedirectMode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct Preferences {
    /// How the browser hands the sign-in back: loopback (the default) or the app's
    /// custom scheme, for computers where a local listener is blocked.
    pub redirect: RedirectMode,
    /// This computer is shared (a lab, a classroom cart): sign-in asks for the password
    /// every time, nothing is kept after Rollbook closes, and sign-out ends the browser's
    /// provider session too.
    pub shared_machine: bool,
}

impl Preferences {
    /// The saved preferences; the defaults when there are none. A file that cannot be
    /// read or parsed is reported and ignored, so it can never stop the app opening.
    pub fn load(paths: &AppPaths) -> Self {
        let path = paths.preferences();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(
                    "ignoring {} (it is not valid preferences: {e})",
                    path.display()
                );
                Self::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(e) => {
                tracing::warn!("ignoring {} (it cannot be read: {e})", path.display());
                Self::default()
            }
        }
    }

    pub fn save(&self, paths: &AppPaths) -> Result<(), CoreError> {
        write_private_json(&paths.preferences(), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_preferences_are_the_defaults() {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths::under(root.path());
        assert_eq!(Preferences::load(&paths).redirect, RedirectMode::Loopback);
    }

    #[test]
    fn a_saved_choice_is_loaded_again() {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths::under(root.path());
        let chosen = Preferences {
            redirect: RedirectMode::Scheme,
            shared_machine: true,
        };
        chosen.save(&paths).unwrap();
        assert_eq!(Preferences::load(&paths), chosen);
        let text = std::fs::read_to_string(paths.preferences()).unwrap();
        assert!(text.contains("\"redirect\": \"scheme\""), "{text}");
    }

    #[test]
    fn a_damaged_file_falls_back_to_the_defaults() {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths::under(root.path());
        std::fs::create_dir_all(&paths.config_dir).unwrap();
        std::fs::write(paths.preferences(), b"{\"redirect\": \"carrier pigeon\"").unwrap();
        assert_eq!(Preferences::load(&paths), Preferences::default());
    }

    #[test]
    fn unknown_fields_from_a_newer_version_are_ignored() {
        let root = tempfile::tempdir().unwrap();
        let paths = AppPaths::under(root.path());
        std::fs::create_dir_all(&paths.config_dir).unwrap();
        std::fs::write(
            paths.preferences(),
            b"{\"redirect\": \"scheme\", \"theme\": \"dark\"}",
        )
        .unwrap();
        assert_eq!(Preferences::load(&paths).redirect, RedirectMode::Scheme);
    }
}
