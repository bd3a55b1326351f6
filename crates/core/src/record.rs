//! The session record: non-secret facts about the signed-in session, kept in the
//! per-user data folder so a new process can find the keychain entry.

use serde::{Deserialize, Serialize};

use rollbook_auth::{Identity, ProviderMetadata, StoreKey};

use crate::paths::{remove_if_present, write_private};
use crate::roster::RosterIdentity;
use crate::{AppPaths, CoreError, ProviderSettings};

/// How long cached discovery metadata is trusted before a start fetches it again
/// (endpoints and `jwks_uri` can move; a provider's key rotation is handled by the JWKS
/// cache itself).
pub(crate) const METADATA_LIFETIME_SECONDS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    pub version: u32,
    pub settings: ProviderSettings,
    /// The discovered metadata, cached so a restart needs no discovery round trip.
    pub metadata: ProviderMetadata,
    /// When `metadata` was fetched (unix seconds); older than a day, it is fetched again
    /// (see [`METADATA_LIFETIME_SECONDS`]). Records written before this field count from
    /// their sign-in.
    #[serde(default)]
    pub metadata_fetched_at: Option<i64>,
    pub identity: Identity,
    pub signed_in_at: i64,
    /// The teacher's OneRoster id, once found (not secret; saves a lookup per start).
    #[serde(default)]
    pub roster: Option<RosterIdentity>,
    /// The class the window showed last, reopened on the next start. It lives and dies
    /// with the session: sign-out deletes it, and shared-machine mode never writes it.
    #[serde(default)]
    pub last_view: Option<LastView>,
}

/// Which class page the window showed: a class id (no student data) and the tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LastView {
    pub class_id: String,
    pub page: ClassPage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ClassPage {
    Roster,
    Gradebook,
}

impl SessionRecord {
    /// Whether the cached discovery metadata is older than its lifetime at `now`.
    pub fn metadata_is_stale(&self, now: i64) -> bool {
        let fetched = self.metadata_fetched_at.unwrap_or(self.signed_in_at);
        now.saturating_sub(fetched) > METADATA_LIFETIME_SECONDS
    }

    pub fn load(paths: &AppPaths) -> Result<Option<Self>, CoreError> {
        let path = paths.session_record();
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CoreError::Io {
                    action: "read",
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| CoreError::RecordCorrupt {
                path: path.display().to_string(),
                detail: e.to_string(),
            })
    }

    pub fn save(&self, paths: &AppPaths) -> Result<(), CoreError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| CoreError::RecordCorrupt {
            path: paths.session_record().display().to_string(),
            detail: e.to_string(),
        })?;
        write_private(&paths.session_record(), &json)
    }

    /// The keychain entry this record points at.
    pub fn store_key(&self) -> Result<StoreKey, CoreError> {
        Ok(self
            .settings
            .client_config()?
            .store_key(&self.identity.subject))
    }

    /// Deletes the record only if it still points at `key`: another process may have
    /// signed in since, and its newer record must stay. Call under the process lock.
    pub fn delete_if_names(paths: &AppPaths, key: &StoreKey) -> Result<(), CoreError> {
        match Self::load(paths) {
            Ok(Some(record)) if record.store_key().ok().as_ref() != Some(key) => {
                tracing::debug!("the session record belongs to a newer sign-in; kept");
                Ok(())
            }
            Ok(None) => Ok(()),
            Ok(Some(_)) | Err(CoreError::RecordCorrupt { .. }) => Self::delete(paths),
            Err(other) => Err(other),
        }
    }

    pub fn delete(paths: &AppPaths) -> Result<(), CoreError> {
        remove_if_present(&paths.session_record())
    }
}
