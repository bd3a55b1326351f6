//! The teacher's session on this computer: the [`Account`] (its folders, keychain, clock
//! and the session in use, reopened once and shared by every call), who is signed in,
//! and the rooms around it: signing in (`sign_in`), signing out (`sign_out`), what policy
//! does to a saved session at start (`policy_action`) and roster reads with the
//! session's bearer (`roster_access`).

mod policy_action;
mod roster_access;
mod sign_in;
mod sign_out;

pub use policy_action::{PolicyAction, PolicyActionKind};
pub use roster_access::Rosters;
pub use sign_in::SignInReport;
pub use sign_out::{IfUnsent, SignOutReport, TeacherSignOut};

use std::sync::Arc;

use serde::Serialize;

use rollbook_auth::{
    AuthError, Clock, HttpSettings, Identity, ProcessLock, Provider, Session, SystemClock,
    TokenStore, build_http_client,
};

use rollbook_oneroster::ClientSettings;

use crate::record::{LastView, SessionRecord};
use crate::roster;
use crate::{AppPaths, CoreError};

/// The stored session's identity, after making sure it is still usable.
#[derive(Debug, Clone, Serialize)]
pub struct WhoAmI {
    #[serde(flatten)]
    pub identity: Identity,
    pub expires_at: Option<i64>,
    pub has_refresh_token: bool,
    /// A shared-machine session (in memory only, ended when the app closes).
    pub shared_machine: bool,
}

/// The use cases around one computer user's Rollbook session.
#[derive(Debug)]
pub struct Account {
    paths: AppPaths,
    store: Arc<dyn TokenStore>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    roster_settings: ClientSettings,
    /// Held (by every Rollbook process of this user) around refreshes and around changes
    /// to the session record.
    process_lock: ProcessLock,
    /// Where "today" is reckoned (which terms are current).
    time_zone: jiff::tz::TimeZone,
    /// The session this process is using, shared by every call. One `Session` means one
    /// refresh at a time: two calls that find the access token expired must not both
    /// spend the same rotating refresh token (the provider would see a reuse and end the
    /// session). It also keeps a session the keychain could not take (shared-machine
    /// mode, a locked keychain) alive for as long as the process runs.
    live: tokio::sync::Mutex<Option<LiveSession>>,
    /// The teacher's local gradebook store, opened on first use (`crate::gradebook`).
    pub(crate) local: tokio::sync::Mutex<Option<crate::gradebook::OpenStore>>,
    pub(crate) local_store_policy: crate::gradebook::LocalStorePolicy,
    /// The district this process runs (the window's demo district), if any.
    local_district: Option<Arc<dyn crate::LocalDistrict>>,
}

tokio::task_local! {
    /// Set in the task of [`Account::apply_policy`] while it ends a session policy
    /// forbids: only there may such a session be restored (to send its grades first).
    /// Other calls meanwhile (the window asks for several things at start) are refused,
    /// so none of them shows a session that is ending.
    static ENDING_FOR_POLICY: ();
}

pub(crate) struct LiveSessionInfo {
    pub(crate) owner: String,
    pub(crate) shared_machine: bool,
}

#[derive(Debug, Clone)]
struct LiveSession {
    session: Arc<Session>,
    record: SessionRecord,
}

impl LiveSession {
    async fn who(&self) -> WhoAmI {
        WhoAmI {
            identity: self.session.identity().clone(),
            expires_at: self.session.access_expires_at().await,
            has_refresh_token: self.session.has_refresh_token().await,
            shared_machine: self.record.settings.shared_machine,
        }
    }
}

impl Account {
    pub fn new(paths: AppPaths, store: Arc<dyn TokenStore>) -> Result<Self, CoreError> {
        // `ProxyUrl` policy: every provider and roster call goes through it.
        let proxy = crate::policy::in_force(&paths).proxy_url();
        // Before any store opens: a store moved from the roaming folder needs its key
        // under its new path's name.
        crate::paths::move_store_keys(&paths, store.as_ref());
        Ok(Self {
            process_lock: ProcessLock::new(paths.session_lock()),
            paths,
            store,
            http: build_http_client(&HttpSettings {
                proxy,
                ..HttpSettings::default()
            })?,
            clock: Arc::new(SystemClock),
            roster_settings: ClientSettings::default(),
            time_zone: jiff::tz::TimeZone::system(),
            live: tokio::sync::Mutex::new(None),
            local: tokio::sync::Mutex::new(None),
            local_store_policy: crate::gradebook::LocalStorePolicy::default(),
            local_district: None,
        })
    }

    /// Runs `district` whenever the session in use signs in there: every use of the
    /// session starts it first if it is not running (after a restart, after a failed
    /// start).
    pub fn with_local_district(mut self, district: Arc<dyn crate::LocalDistrict>) -> Self {
        self.local_district = Some(district);
        self
    }

    /// Starts the district this process runs if the saved session signs in there (no
    /// keychain read, no network): a window calls it at start to have it up early.
    pub async fn start_saved_district(&self) -> Result<(), CoreError> {
        match self.saved_issuer()? {
            Some(issuer) => self.start_local_district(&issuer).await,
            None => Ok(()),
        }
    }

    async fn start_local_district(&self, issuer: &str) -> Result<(), CoreError> {
        match &self.local_district {
            Some(district) if district.issuer() == issuer => district.start().await,
            _ => Ok(()),
        }
    }

    /// Keeps the local gradebook in memory only (`LocalStoreAllowed = false`).
    pub fn with_local_store_policy(mut self, policy: crate::gradebook::LocalStorePolicy) -> Self {
        self.local_store_policy = policy;
        self
    }

    /// Whose session is live, and whether it is a shared-machine one.
    pub(crate) async fn live_session_info(&self) -> Result<LiveSessionInfo, CoreError> {
        let live = self.live().await?;
        Ok(LiveSessionInfo {
            owner: live.session.store_key().account(),
            shared_machine: live.record.settings.shared_machine,
        })
    }

    /// Reads time from `clock` (token expiry, "today", record times) instead of the wall.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reckons "today" in `zone` instead of this computer's time zone.
    pub fn with_time_zone(mut self, zone: jiff::tz::TimeZone) -> Self {
        self.time_zone = zone;
        self
    }

    /// Today's date for the teacher, as `YYYY-MM-DD`.
    pub fn today(&self) -> String {
        roster::today_in(self.clock.as_ref(), &self.time_zone)
    }

    /// Paging, concurrency, timeouts and retries for roster calls.
    pub fn with_roster_settings(mut self, settings: ClientSettings) -> Self {
        self.roster_settings = settings;
        self
    }

    pub fn paths(&self) -> &AppPaths {
        &self.paths
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The issuer of the saved session, if there is one (no network, no keychain).
    pub fn saved_issuer(&self) -> Result<Option<String>, CoreError> {
        Ok(SessionRecord::load(&self.paths)?.map(|r| r.settings.issuer))
    }

    /// The session in use, reopened from the record and the keychain the first time.
    /// `NotSignedIn` when there is none.
    pub async fn session(&self) -> Result<Arc<Session>, CoreError> {
        Ok(self.live().await?.session)
    }

    async fn live(&self) -> Result<LiveSession, CoreError> {
        let mut live = self.live.lock().await;
        Ok(self.open_live(&mut live).await?.clone())
    }

    /// The live session in `slot` (the locked `self.live`), reopened into it if empty.
    async fn open_live<'a>(
        &self,
        slot: &'a mut Option<LiveSession>,
    ) -> Result<&'a mut LiveSession, CoreError> {
        if let Some(live) = slot.as_ref() {
            self.start_local_district(&live.record.settings.issuer)
                .await?;
        } else {
            if let Err(e) = self.finish_pending_sign_out().await {
                tracing::warn!(code = %e.code(), "an earlier sign-out is still unfinished");
            }
            let mut record = SessionRecord::load(&self.paths)?.ok_or(AuthError::NotSignedIn)?;
            // Policy in force now, not at sign-in: a session it forbids is not restored
            // (`apply_policy` ends it, sending its grades first).
            if ENDING_FOR_POLICY.try_with(|_| ()).is_err() {
                self.effective_settings()
                    .session_permitted(&record.settings)?;
            }
            // The district this process runs for the session: its provider is asked next.
            self.start_local_district(&record.settings.issuer).await?;
            self.refresh_stale_metadata(&mut record).await;
            let session = Arc::new(self.restore(record.clone()).await?);
            *slot = Some(LiveSession { session, record });
        }
        slot.as_mut().ok_or_else(|| AuthError::NotSignedIn.into())
    }

    /// The class page the window showed last in this session, if any.
    pub(crate) async fn last_view(&self) -> Result<Option<LastView>, CoreError> {
        Ok(self.live().await?.record.last_view)
    }

    /// Remembers the class page the window shows (`None`: the class list), so the next
    /// start reopens it. Kept in the session record, so it goes with the session.
    pub(crate) async fn remember_view(&self, view: Option<LastView>) -> Result<(), CoreError> {
        let mut live = self.live.lock().await;
        let current = self.open_live(&mut live).await?;
        if current.record.last_view == view {
            return Ok(());
        }
        current.record.last_view = view;
        if current.session.is_persisted() {
            current.record.save(&self.paths)?;
        }
        Ok(())
    }

    /// Fetches discovery again when the cached metadata has outlived its lifetime. When the
    /// provider cannot be reached the cached metadata stays in use (a start must work
    /// offline); the next start tries again.
    async fn refresh_stale_metadata(&self, record: &mut SessionRecord) {
        let now = self.clock.unix_now();
        if !record.metadata_is_stale(now) {
            return;
        }
        let fresh = match record.settings.client_config() {
            Ok(client) => Provider::discover(client, self.http.clone(), Arc::clone(&self.clock))
                .await
                .map_err(CoreError::from),
            Err(e) => Err(e),
        };
        match fresh {
            Ok(provider) => {
                record.metadata = provider.metadata().clone();
                record.metadata_fetched_at = Some(now);
                if let Err(e) = record.save(&self.paths) {
                    tracing::warn!(code = %e.code(), "the refreshed provider metadata could not be saved");
                }
                tracing::debug!("provider metadata refreshed");
            }
            Err(e) => {
                tracing::info!(code = %e.code(), "provider metadata is stale and discovery failed; using the cached copy");
            }
        }
    }

    async fn restore(&self, record: SessionRecord) -> Result<Session, CoreError> {
        let key = record.store_key()?;
        let provider = Provider::with_metadata(
            record.settings.client_config()?,
            record.metadata,
            self.http.clone(),
            Arc::clone(&self.clock),
        )?;
        match Session::restore(Arc::new(provider), record.identity, Arc::clone(&self.store)).await {
            Err(AuthError::NotSignedIn) => {
                // The keychain entry is gone (deleted by hand, or another account): the
                // record is stale, unless another process has just replaced it.
                let _others_wait = self.process_lock.acquire().await?;
                SessionRecord::delete_if_names(&self.paths, &key)?;
                Err(AuthError::NotSignedIn.into())
            }
            other => Ok(other?.with_process_lock(self.process_lock.clone())),
        }
    }

    /// Who is signed in, after making sure the access token is valid (refreshing when it
    /// has expired, or always with `force_refresh`).
    pub async fn whoami(&self, force_refresh: bool) -> Result<WhoAmI, CoreError> {
        let live = self.live().await?;
        let checked = if force_refresh {
            live.session.refresh().await
        } else {
            live.session.access_token().await.map(|_| ())
        };
        if let Err(e) = checked {
            if matches!(e, AuthError::SignInAgain) {
                self.drop_ended_session().await?;
            }
            return Err(e.into());
        }
        Ok(live.who().await)
    }

    /// Who the saved session belongs to, as the record and the keychain say, without
    /// asking the provider (the token is neither checked nor refreshed); `None` when
    /// signed out. For showing a start at once; [`Account::whoami`] confirms it.
    pub async fn who_is_saved(&self) -> Result<Option<WhoAmI>, CoreError> {
        match self.live().await {
            Ok(live) => Ok(Some(live.who().await)),
            Err(CoreError::Auth(AuthError::NotSignedIn)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A shared-machine session that was open when Rollbook last stopped without ending
    /// it (a crash, a kill at logoff): the face ends the browser's provider session now
    /// (opens `end_session_url`, or tells the teacher to close the browser). Taken once.
    pub fn take_unended_shared_session(&self) -> Option<crate::UnendedSharedSession> {
        crate::shared_session::take_unended(&self.paths)
    }

    /// Whether a gradebook or roster may leave Rollbook as a file or on paper (CSV
    /// export, printing): `policy_forbidden` when `ExportAllowed` is off (by default on
    /// shared computers).
    pub fn allow_export(&self) -> Result<(), CoreError> {
        self.effective_settings().allow_export()
    }
}
