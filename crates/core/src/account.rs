//! The teacher's account on this computer: sign in, who am I, sign out.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use url::Url;

use rollbook_auth::{
    AuthError, CallbackPage, Clock, HttpSettings, Identity, LoopbackListener, PendingSignIn,
    ProcessLock, Provider, RedirectUri, Session, SignedIn, SystemClock, TokenStore,
    build_http_client,
};

use rollbook_oneroster::{Bearer, ClientSettings, RosterClient, RosterError};

use crate::record::{LastView, SessionRecord};
use crate::roster::{self, ClassSummary, Gradebook, RosterIdentity, Student, TermFilter};
use crate::sign_in::{SignInAttempt, SignInProgress};
use crate::wipe;
use crate::{AppPaths, BrowserOpener, CoreError, ProviderSettings, RedirectMode};

/// What a finished sign-in reports to the teacher.
#[derive(Debug, Clone, Serialize)]
pub struct SignInReport {
    #[serde(flatten)]
    pub identity: Identity,
    pub expires_at: Option<i64>,
    pub has_refresh_token: bool,
    /// `false` when the keychain could not take the session (see `keychain_problem`).
    pub persisted: bool,
    pub keychain_problem: Option<String>,
    /// A shared-machine session (in memory only, ended when the app closes).
    pub shared_machine: bool,
}

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

/// How a sign-out went.
#[derive(Debug, Clone, Serialize)]
pub struct SignOutReport {
    /// `true` when the provider confirmed revoking the refresh token.
    pub revoked: bool,
    /// Why revocation did not happen, when it did not (an error code).
    pub revocation_problem: Option<String>,
    /// The provider's end-session page (RP-initiated logout), when it has one: opening
    /// it ends the browser's provider session too.
    pub end_session_url: Option<Url>,
    /// The session was a shared-machine one: the browser's provider session must end
    /// as well, or the next person at this computer is signed in silently.
    pub shared_machine: bool,
    /// The provider signed out of (`None` when only an unfinished sign-out was finished).
    pub issuer: Option<String>,
    /// Grades not yet written back that the sign-out deleted with the local store
    /// (the teacher chose to discard them).
    pub unsent_grades: u32,
    /// The teacher discarded without Rollbook being able to count what waited (a
    /// locked keychain): `unsent_grades` is then 0 but may not have been.
    pub unsent_unknown: bool,
    /// What stays on this computer: the grading rules of this many classes, kept for
    /// the teacher's next sign-in. (The store goes: unsent grades, saved class lists,
    /// rosters and gradebooks.)
    pub grading_rules_kept: u32,
}

/// What a sign-out does with grades not yet written back to the district.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfUnsent {
    /// Refuse (`unsent_grades`) while any wait, or (`unsent_unknown`) while Rollbook
    /// cannot tell: the default everywhere.
    Refuse,
    /// The teacher said to delete them (`--discard-unsent`, "Sign out anyway").
    Discard,
    /// End the session but keep the local store, unsent grades and all, for the same
    /// sign-in to send later (policy ended the session; nothing was the teacher's choice).
    Keep,
}

/// What the policy in force did to the saved session at start ([`Account::apply_policy`]).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyAction {
    /// `SessionEnded`: the saved session is gone; `StoreEmptied`: the session stays,
    /// the gradebook kept on this computer does not.
    pub kind: PolicyActionKind,
    /// Why, in the school's words ("your school allows signing in with ClassLink only").
    pub reason: String,
    /// The provider of the session concerned.
    pub issuer: String,
    /// Grades and assignments that could not be sent first, and stay on this computer
    /// (encrypted) for the same sign-in to send later.
    pub unsent_kept: u32,
    /// Rollbook could not count what stayed (a locked keychain): `unsent_kept` is then
    /// 0 but may not be, and the store is kept.
    pub unsent_unknown: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyActionKind {
    SessionEnded,
    StoreEmptied,
}

impl PolicyAction {
    /// One sentence for the teacher.
    pub fn describe(&self) -> String {
        let what = match self.kind {
            PolicyActionKind::SessionEnded => {
                format!("Your saved sign-in with {} was ended", self.issuer)
            }
            PolicyActionKind::StoreEmptied => {
                "The gradebook saved on this computer was emptied".to_owned()
            }
        };
        let kept = match (self.kind, self.unsent_kept) {
            _ if self.unsent_unknown => " Rollbook could not tell whether grades were waiting, so the gradebook stays on this computer, encrypted, for the same account to send.".to_owned(),
            (_, 0) => " Everything waiting was sent to the district first.".to_owned(),
            (PolicyActionKind::SessionEnded, n) => format!(
                " {n} unsent grade(s) could not be sent first; they are kept on this computer, encrypted, and are sent when you sign in again with the same account (or ask your IT team)."
            ),
            (PolicyActionKind::StoreEmptied, n) => format!(
                " Except for {n} unsent grade(s) that could not be sent yet: they stay on this computer, encrypted, and Rollbook tries again at every start."
            ),
        };
        let what = match (self.kind, self.unsent_kept) {
            (PolicyActionKind::StoreEmptied, n) if n > 0 => {
                "The gradebook saved on this computer is to be emptied".to_owned()
            }
            _ => what,
        };
        format!("{what}: {}.{kept}", self.reason)
    }
}

/// How long a start waits for grades to be sent before policy ends a session or empties
/// a store (the rest is kept).
const SEND_BEFORE_POLICY: Duration = Duration::from_secs(10);

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

    /// Signs in through the system browser, as `attempt` (from a [`SignInDesk`]): deep
    /// links delivered to the desk reach it, and a cancel stops it until it starts
    /// storing the session. `progress` hears each stage; `Waiting` carries the URL so the
    /// caller can offer "Open again" or "Copy link".
    pub async fn sign_in(
        &self,
        settings: ProviderSettings,
        opener: &dyn BrowserOpener,
        attempt: &SignInAttempt,
        timeout: Duration,
        progress: &mut (dyn FnMut(SignInProgress) + Send),
    ) -> Result<SignInReport, CoreError> {
        settings.validate()?;
        progress(SignInProgress::Starting);
        let (provider, signed_in) = tokio::select! {
            biased;
            () = attempt.cancelled() => return Err(AuthError::Cancelled.into()),
            result = self.authenticate(&settings, opener, attempt, timeout, progress) => result?,
        };
        // From here the attempt runs to the end: a cancel now would leave a keychain
        // entry with no record pointing at it.
        attempt.begin_storing()?;
        progress(SignInProgress::Finishing);
        self.store_sign_in(settings, &provider, signed_in).await
    }

    /// Discovery, the browser and the callback, the code exchange and the ID token: all
    /// that can be abandoned midway without leaving anything behind.
    async fn authenticate(
        &self,
        settings: &ProviderSettings,
        opener: &dyn BrowserOpener,
        attempt: &SignInAttempt,
        timeout: Duration,
        progress: &mut (dyn FnMut(SignInProgress) + Send),
    ) -> Result<(Arc<Provider>, SignedIn), CoreError> {
        let provider = Arc::new(
            Provider::discover(
                settings.client_config()?,
                self.http.clone(),
                Arc::clone(&self.clock),
            )
            .await?,
        );
        let options =
            settings.authorization_options(provider.metadata().supports_scope("offline_access"));
        let mut show_url = |url: &Url, problem: Option<&str>| {
            attempt.set_url(url);
            progress(SignInProgress::Waiting {
                url: url.to_string(),
                browser_problem: problem.map(str::to_owned),
            });
        };
        let signed_in = match settings.redirect {
            RedirectMode::Loopback => {
                let listener = LoopbackListener::bind().await?;
                let pending = provider.begin(listener.redirect_uri(), &options)?;
                open_browser(opener, &pending, &mut show_url);
                let callback = listener.receive(&pending, timeout).await?;
                let url = callback.url().clone();
                match provider.complete(pending, &url).await {
                    Ok(signed_in) => {
                        callback.respond(CallbackPage::SignedIn {
                            name: signed_in.identity.display_name().to_owned(),
                        });
                        signed_in
                    }
                    Err(e) => {
                        callback.respond(CallbackPage::Failed {
                            code: e.code(),
                            message: e.to_string(),
                        });
                        return Err(e.into());
                    }
                }
            }
            RedirectMode::Scheme => {
                let mut callbacks = attempt.take_deep_links().ok_or_else(|| {
                    AuthError::InvalidConfig(
                        "this sign-in attempt's deep links were already taken".into(),
                    )
                })?;
                let pending = provider.begin(RedirectUri::Scheme, &options)?;
                open_browser(opener, &pending, &mut show_url);
                let url = receive_scheme_callback(&pending, &mut callbacks, timeout).await?;
                provider.complete(pending, &url).await?
            }
        };
        Ok((provider, signed_in))
    }

    /// Keeps a finished sign-in: keychain entry and session record, as one change.
    async fn store_sign_in(
        &self,
        settings: ProviderSettings,
        provider: &Arc<Provider>,
        signed_in: SignedIn,
    ) -> Result<SignInReport, CoreError> {
        // A new sign-in replaces whatever session was here before, as one change that
        // other processes see whole.
        let _others_wait = self.process_lock.acquire().await?;
        self.forget_local().await?;
        let identity = signed_in.identity.clone();
        let store = (!settings.shared_machine).then(|| Arc::clone(&self.store));
        let (session, saved) = Session::start(Arc::clone(provider), signed_in, store).await;
        if saved.is_ok() && session.is_persisted() {
            // A sign-out left unfinished may list this very entry: it is the new
            // session's now, and must not be deleted at the next start.
            wipe::forget(&self.paths, session.store_key())?;
        }
        let session = session.with_process_lock(self.process_lock.clone());
        let keychain_problem = saved.as_ref().err().map(|e| format!("{}: {e}", e.code()));
        let shared_machine = settings.shared_machine;
        let record = SessionRecord {
            version: 1,
            settings,
            metadata: provider.metadata().clone(),
            metadata_fetched_at: Some(self.clock.unix_now()),
            identity: identity.clone(),
            signed_in_at: self.clock.unix_now(),
            roster: None,
            last_view: None,
        };
        if session.is_persisted() {
            record.save(&self.paths)?;
        } else if shared_machine {
            // Should Rollbook stop without ending it (a crash, a kill at logoff), the next
            // start ends the browser's provider session from this note.
            crate::shared_session::note_open(
                &self.paths,
                &crate::UnendedSharedSession {
                    issuer: record.settings.issuer.clone(),
                    end_session_url: provider.end_session_url(),
                },
            )?;
        }
        let session = Arc::new(session);
        *self.live.lock().await = Some(LiveSession {
            session: Arc::clone(&session),
            record,
        });
        Ok(SignInReport {
            identity,
            expires_at: session.access_expires_at().await,
            has_refresh_token: session.has_refresh_token().await,
            persisted: session.is_persisted(),
            keychain_problem,
            shared_machine,
        })
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
    pub async fn last_view(&self) -> Result<Option<LastView>, CoreError> {
        Ok(self.live().await?.record.last_view)
    }

    /// Remembers the class page the window shows (`None`: the class list), so the next
    /// start reopens it. Kept in the session record, so it goes with the session.
    pub async fn remember_view(&self, view: Option<LastView>) -> Result<(), CoreError> {
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

    /// Ends the session on this computer after the provider refused it. A keychain
    /// entry that cannot be deleted now stays listed for the next start.
    async fn drop_ended_session(&self) -> Result<(), CoreError> {
        let ended = self.live.lock().await.take();
        let _others_wait = self.process_lock.acquire().await?;
        let key = match ended {
            Some(live) => Some(live.session.store_key().clone()),
            None => SessionRecord::load(&self.paths)
                .ok()
                .flatten()
                .and_then(|r| r.store_key().ok()),
        };
        match key {
            Some(key) => {
                wipe::remember(&self.paths, &key)?;
                SessionRecord::delete_if_names(&self.paths, &key)?;
            }
            None => SessionRecord::delete(&self.paths)?,
        }
        if let Err(e) = wipe::finish_pending(&self.paths, &self.store, &self.recorded_key()).await {
            tracing::warn!(code = %e.code(), "the ended session's keychain entry is still to be deleted");
        }
        Ok(())
    }

    /// The keychain entry the current session record names, if any (a newer sign-in's:
    /// a pending deletion of it is struck off, not carried out).
    fn recorded_key(&self) -> Option<rollbook_auth::StoreKey> {
        SessionRecord::load(&self.paths)
            .ok()
            .flatten()
            .and_then(|r| r.store_key().ok())
    }

    /// Deletes the keychain entries an earlier sign-out could not (a locked keychain, a
    /// crash). `SignOutUnfinished` while any is left.
    pub async fn finish_pending_sign_out(&self) -> Result<(), CoreError> {
        if wipe::pending(&self.paths).is_empty() {
            return Ok(());
        }
        let _others_wait = self.process_lock.acquire().await?;
        wipe::finish_pending(&self.paths, &self.store, &self.recorded_key()).await
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

    /// Signs out when the session in use is a shared-machine one (the window closing);
    /// `None` when there is none, or it is a session that should outlive the window.
    pub async fn end_shared_session(&self) -> Option<Result<SignOutReport, CoreError>> {
        let shared = self
            .live
            .lock()
            .await
            .as_ref()
            .is_some_and(|live| live.record.settings.shared_machine);
        if shared {
            // Grades live in memory on a shared computer: send what waits before they go.
            // Bounded, so the sign-out (revocation) still happens when the district is down.
            // Not `now`: a district's Retry-After holds here too.
            match tokio::time::timeout(Duration::from_secs(4), self.sync_grades(false)).await {
                Ok(Ok(report)) if report.waiting > 0 => {
                    tracing::warn!(
                        waiting = report.waiting,
                        "grades not sent before the shared session ended"
                    );
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(code = %e.code(), "grades could not be sent before the shared session ended")
                }
                Err(_) => tracing::warn!("sending grades took too long; the shared session ends"),
            }
            // In memory, the grades end with the process anyway: nothing to refuse for.
            Some(self.sign_out(IfUnsent::Discard).await)
        } else {
            None
        }
    }

    /// Signs out: revokes at the provider, then deletes the session record and the
    /// keychain entry. The session ends in this process whatever happens. When the
    /// keychain cannot delete the entry (locked, gone), the entry stays listed for the
    /// next start and the answer is `SignOutUnfinished`: the teacher is told the truth,
    /// and nothing is left that Rollbook cannot find again.
    ///
    /// With [`IfUnsent::Refuse`] nothing happens while grades wait to be sent, or while
    /// Rollbook cannot tell whether they do (fail closed: a locked keychain must not
    /// read as "none wait"). The grading rules are kept either way.
    pub async fn sign_out(&self, if_unsent: IfUnsent) -> Result<SignOutReport, CoreError> {
        // Counted first, while the session is still live (the store belongs to it).
        let unsent = self.unsent_for_sign_out().await;
        if if_unsent == IfUnsent::Refuse {
            match unsent {
                Ok(waiting) if waiting.total() == 0 => {}
                Ok(waiting) => return Err(CoreError::UnsentGrades(waiting)),
                Err(e) => return Err(e),
            }
        }
        let grading_rules_kept = self.grading_rules_kept().await;
        // Revoke with the live session's tokens when they can be had; a keychain that
        // cannot be read only means there is nothing to revoke with.
        let live = match self.live().await {
            Ok(live) => Some(live),
            Err(CoreError::Auth(AuthError::NotSignedIn)) => None,
            Err(other) => {
                tracing::warn!(code = %other.code(), "the saved session cannot be opened; signing out without revoking it");
                None
            }
        };
        let record = match &live {
            Some(live) => Some(live.record.clone()),
            None => SessionRecord::load(&self.paths).unwrap_or_else(|e| {
                tracing::warn!(code = %e.code(), "the session record cannot be read; deleting it");
                None
            }),
        };
        let (unsent_grades, unsent_unknown) = match &unsent {
            Ok(n) => (n.total(), false),
            Err(_) => (0, true),
        };
        let pending = !wipe::pending(&self.paths).is_empty();
        if live.is_none() && record.is_none() && !pending {
            self.live.lock().await.take();
            SessionRecord::delete(&self.paths)?;
            return Err(AuthError::NotSignedIn.into());
        }
        let mut report = SignOutReport {
            revoked: false,
            revocation_problem: None,
            end_session_url: None,
            shared_machine: record.as_ref().is_some_and(|r| r.settings.shared_machine),
            issuer: record.as_ref().map(|r| r.settings.issuer.clone()),
            unsent_grades,
            unsent_unknown,
            grading_rules_kept,
        };
        match &live {
            Some(live) => {
                let outcome = live.session.revoke_and_end().await;
                report.revoked = outcome.revoked;
                report.revocation_problem = outcome.revocation_problem;
                report.end_session_url = outcome.end_session_url;
            }
            None => {
                if let Some(record) = &record {
                    report.revocation_problem = Some("keychain_unreadable".into());
                    report.end_session_url = record
                        .settings
                        .client_config()
                        .ok()
                        .and_then(|client| {
                            Provider::with_metadata(
                                client,
                                record.metadata.clone(),
                                self.http.clone(),
                                Arc::clone(&self.clock),
                            )
                            .ok()
                        })
                        .and_then(|provider| provider.end_session_url());
                }
            }
        }
        self.live.lock().await.take();
        if report.shared_machine {
            crate::shared_session::note_ended(&self.paths)?;
        }
        let owner = match &live {
            Some(live) => Some(live.session.store_key().account()),
            None => record
                .as_ref()
                .and_then(|r| r.store_key().ok())
                .map(|k| k.account()),
        };
        if if_unsent == IfUnsent::Keep {
            drop(self.local.lock().await.take());
            report.unsent_grades = 0;
        } else {
            self.delete_local_store(owner.as_deref()).await?;
        }
        let _others_wait = self.process_lock.acquire().await?;
        // A session the keychain holds (or may hold: it could not be opened) is listed
        // before its record goes, so the list always finds what the record named.
        let persisted = live.as_ref().is_none_or(|l| l.session.is_persisted());
        if let Some(key) = record.as_ref().and_then(|r| r.store_key().ok()) {
            if persisted {
                wipe::remember(&self.paths, &key)?;
            }
            SessionRecord::delete_if_names(&self.paths, &key)?;
        }
        wipe::finish_pending(&self.paths, &self.store, &self.recorded_key()).await?;
        Ok(report)
    }

    /// Checks the saved session against the policy in force and acts on a change, at
    /// every start (the window's, every `rollbook` command's). A session policy now
    /// forbids (a provider no longer allowed, the demo district turned off, a kept
    /// session on a computer made shared) ends: its waiting grades are sent first, and
    /// what cannot be sent is kept, encrypted, for the same sign-in. A gradebook kept on
    /// disk where `LocalStoreAllowed` is now off is emptied once what waits is sent.
    /// `None` when nothing needed doing.
    pub async fn apply_policy(&self) -> Result<Option<PolicyAction>, CoreError> {
        if self.live.lock().await.is_some() {
            // Signed in or checked already in this process, under this policy.
            return Ok(None);
        }
        let Some(record) = SessionRecord::load(&self.paths)? else {
            return Ok(None);
        };
        let resolved = self.effective_settings();
        let issuer = record.settings.issuer.clone();
        if let Err(refusal) = resolved.session_permitted(&record.settings) {
            let reason = match refusal {
                CoreError::ForbiddenByPolicy(reason) => reason,
                other => other.to_string(),
            };
            tracing::warn!(%reason, "policy ends the saved session");
            let (unsent_kept, unsent_unknown) = ENDING_FOR_POLICY
                .scope((), self.end_session_for_policy())
                .await?;
            return Ok(Some(PolicyAction {
                kind: PolicyActionKind::SessionEnded,
                reason,
                issuer,
                unsent_kept,
                unsent_unknown,
            }));
        }
        if !resolved.local_store_allowed() {
            let drained = match self.live().await {
                Ok(_) => self.drain_disk_store(SEND_BEFORE_POLICY).await?,
                // Not restorable now (keychain locked, offline refresh): the next start
                // tries again; nothing is deleted unsent meanwhile.
                Err(e) => {
                    tracing::info!(code = %e.code(), "the saved session could not be opened to empty its gradebook");
                    None
                }
            };
            if let Some(unsent_kept) = drained {
                return Ok(Some(PolicyAction {
                    kind: PolicyActionKind::StoreEmptied,
                    reason: "your school does not allow gradebooks to be kept on this computer"
                        .into(),
                    issuer,
                    unsent_kept,
                    unsent_unknown: false,
                }));
            }
        }
        Ok(None)
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

    /// Sends what waits (bounded), then signs out; unsent grades left are kept. The
    /// count kept, and whether it could not be told.
    async fn end_session_for_policy(&self) -> Result<(u32, bool), CoreError> {
        match tokio::time::timeout(SEND_BEFORE_POLICY, self.sync_grades(false)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(code = %e.code(), "grades could not be sent before policy ended the session");
            }
            Err(_) => tracing::warn!("sending grades took too long; policy ends the session"),
        }
        let unsent = self
            .unsent_for_sign_out()
            .await
            .map(rollbook_gradebook::Unsent::total);
        let if_unsent = match unsent {
            Ok(0) => IfUnsent::Refuse,
            _ => IfUnsent::Keep,
        };
        match self.sign_out(if_unsent).await {
            Ok(_) | Err(CoreError::Auth(AuthError::NotSignedIn)) => {}
            // The session is over in this process and its record gone; the keychain
            // entry is listed for the next start.
            Err(e @ CoreError::SignOutUnfinished(_)) => {
                tracing::warn!(code = %e.code(), "the ended session's keychain entry is still to be deleted");
            }
            Err(e) => return Err(e),
        }
        Ok(match unsent {
            Ok(n) => (n, false),
            Err(_) => (0, true),
        })
    }

    /// The teacher's classes (this term's, or all), with schools, terms and counts.
    pub async fn classes(&self, filter: TermFilter) -> Result<Vec<ClassSummary>, CoreError> {
        let today = self.today();
        self.with_roster(|client, teacher| {
            let today = today.clone();
            async move { roster::my_classes(&client, &teacher, filter, &today).await }
        })
        .await
    }

    /// All classes of a school, for a principal's sign-in.
    pub async fn school_classes(&self, school_id: &str) -> Result<Vec<ClassSummary>, CoreError> {
        self.with_roster(
            |client, _| async move { roster::school_classes(&client, school_id).await },
        )
        .await
    }

    /// A class's students, in the roster server's order.
    pub async fn roster(&self, class_id: &str) -> Result<Vec<Student>, CoreError> {
        self.with_roster(|client, _| async move { roster::class_roster(&client, class_id).await })
            .await
    }

    /// A class's line items and results.
    pub async fn gradebook(&self, class_id: &str) -> Result<Gradebook, CoreError> {
        self.with_roster(
            |client, _| async move { roster::class_gradebook(&client, class_id).await },
        )
        .await
    }

    /// Runs a roster call. When the roster server refuses the access token before its
    /// stated expiry (revoked, the provider's keys rotated, a clock out of step), the
    /// session is refreshed once and the call made again. Without a refresh token
    /// (ClassLink) the refusal is reported as it is: ending the session on a roster
    /// server's word would sign the teacher out over a misconfigured server.
    pub(crate) async fn with_roster<T, F, Fut>(&self, call: F) -> Result<T, CoreError>
    where
        F: Fn(RosterClient, RosterIdentity) -> Fut,
        Fut: Future<Output = Result<T, CoreError>>,
    {
        // Finding the teacher's id (ClassLink's `my/info`) can meet the same refusal.
        let first = match self.roster_context().await {
            Ok((client, teacher)) => call(client, teacher).await,
            Err(e) => Err(e),
        };
        if !matches!(
            first,
            Err(CoreError::Roster(RosterError::Unauthorized { .. }))
        ) {
            return first;
        }
        let session = self.session().await?;
        if !session.has_refresh_token().await {
            return first;
        }
        tracing::info!("the roster server refused the access token; refreshing it once");
        if let Err(e) = session.refresh().await {
            if matches!(e, AuthError::SignInAgain) {
                self.drop_ended_session().await?;
            }
            return Err(e.into());
        }
        let (client, teacher) = self.roster_context().await?;
        call(client, teacher).await
    }

    /// A roster client with a valid access token, and the teacher's OneRoster id
    /// (found once per session, then kept in the session record).
    pub(crate) async fn roster_context(&self) -> Result<(RosterClient, RosterIdentity), CoreError> {
        let LiveSession { session, record } = self.live().await?;
        let base = record
            .settings
            .oneroster_base()?
            .ok_or(CoreError::RosterNotConfigured)?;
        let token = match session.access_token().await {
            Ok(token) => token,
            Err(e) => {
                if matches!(e, AuthError::SignInAgain) {
                    self.drop_ended_session().await?;
                }
                return Err(e.into());
            }
        };
        let client = RosterClient::new(self.http.clone(), base, Bearer::new(token.secret()))
            .with_settings(self.roster_settings.clone());
        if let Some(teacher) = record.roster.clone() {
            return Ok((client, teacher));
        }
        let teacher = roster::resolve_teacher(
            &record.settings,
            session.identity(),
            &self.http,
            &client,
            token.secret(),
        )
        .await?;
        tracing::info!(source = %teacher.source, "found the teacher's roster id");
        if let Some(live) = self.live.lock().await.as_mut()
            && Arc::ptr_eq(&live.session, &session)
        {
            live.record.roster = Some(teacher.clone());
            if session.is_persisted() {
                live.record.save(&self.paths)?;
            }
        }
        Ok((client, teacher))
    }

    /// Deletes any saved session without contacting the provider.
    /// Forgets the previous session before a new sign-in is stored (under the process
    /// lock): its record goes, and its keychain entry is deleted, or listed for the next
    /// start when the keychain will not delete it now.
    async fn forget_local(&self) -> Result<(), CoreError> {
        *self.live.lock().await = None;
        if let Ok(Some(record)) = SessionRecord::load(&self.paths)
            && let Ok(key) = record.store_key()
        {
            wipe::remember(&self.paths, &key)?;
        }
        SessionRecord::delete(&self.paths)?;
        if let Err(e) = wipe::finish_pending(&self.paths, &self.store, &None).await {
            tracing::warn!(code = %e.code(), "the previous session's keychain entry is still to be deleted");
        }
        Ok(())
    }
}

fn open_browser(
    opener: &dyn BrowserOpener,
    pending: &PendingSignIn,
    show_url: &mut (dyn FnMut(&Url, Option<&str>) + Send),
) {
    let url = pending.authorization_url();
    match opener.open(url) {
        Ok(()) => show_url(url, None),
        Err(problem) => show_url(url, Some(&problem)),
    }
}

/// Waits for the deep link that carries this attempt's `state`. Links for other
/// attempts (a second click, an old tab) are skipped; a wrong `state` still fails the
/// attempt at the deadline, so a forged link cannot pass for a timeout.
async fn receive_scheme_callback(
    pending: &PendingSignIn,
    callbacks: &mut mpsc::Receiver<Url>,
    timeout: Duration,
) -> Result<Url, AuthError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut saw_other_state = false;
    loop {
        match tokio::time::timeout_at(deadline, callbacks.recv()).await {
            Ok(Some(url)) => {
                let state = url
                    .query_pairs()
                    .find(|(k, _)| k == "state")
                    .map(|(_, v)| v.into_owned());
                if state.as_deref().is_some_and(|s| pending.state_matches(s)) {
                    return Ok(url);
                }
                saw_other_state = true;
            }
            Ok(None) | Err(_) if saw_other_state => return Err(AuthError::StateMismatch),
            Ok(None) => return Err(AuthError::Cancelled),
            Err(_) => {
                return Err(AuthError::SignInTimedOut {
                    seconds: timeout.as_secs(),
                });
            }
        }
    }
}
