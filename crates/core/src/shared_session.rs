//! A note that a shared-machine session is open, so a start after a crash (or a kill at
//! logoff) can still end the browser's session at the provider. The session itself
//! lives in memory only; the note names the provider's end-session page and nothing of
//! the teacher (no account, no token).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::paths::remove_if_present;
use crate::{AppPaths, CoreError, write_private};

/// A shared-machine session that was open when Rollbook last stopped without ending it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnendedSharedSession {
    pub issuer: String,
    /// The provider's end-session page (RP-initiated logout), when it has one; without
    /// one, the teacher must be told to close the browser.
    pub end_session_url: Option<Url>,
}

fn path(paths: &AppPaths) -> PathBuf {
    paths.data_dir.join("shared-session-open.json")
}

pub(crate) fn note_open(paths: &AppPaths, session: &UnendedSharedSession) -> Result<(), CoreError> {
    let bytes = serde_json::to_vec(session).map_err(|e| CoreError::Io {
        action: "write",
        path: path(paths).display().to_string(),
        source: std::io::Error::other(e),
    })?;
    write_private(&path(paths), &bytes)
}

pub(crate) fn note_ended(paths: &AppPaths) -> Result<(), CoreError> {
    remove_if_present(&path(paths))
}

/// Takes the note left by a shared session that never ended (a crash, a kill).
pub(crate) fn take_unended(paths: &AppPaths) -> Option<UnendedSharedSession> {
    let file = path(paths);
    let bytes = std::fs::read(&file).ok()?;
    let unended = serde_json::from_slice(&bytes).unwrap_or_else(|_| UnendedSharedSession {
        issuer: String::new(),
        end_session_url: None,
    });
    if let Err(e) = note_ended(paths) {
        tracing::warn!(code = %e.code(), "the note of an unended shared session could not be deleted");
    }
    Some(unended)
}
