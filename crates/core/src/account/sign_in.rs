//! Signing in: the browser, the callback, the code exchange, and keeping the session.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use url::Url;

use rollbook_auth::{
    AuthError, CallbackPage, Identity, LoopbackListener, PendingSignIn, Provider, RedirectUri,
    Session, SignedIn,
};

use crate::record::SessionRecord;
use crate::sign_in::{SignInAttempt, SignInProgress};
use crate::wipe;
use crate::{BrowserOpener, CoreError, ProviderSettings, RedirectMode};

use super::{Account, LiveSession};

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

impl Account {
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
    pub(super) async fn authenticate(
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
    pub(super) async fn store_sign_in(
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

    /// Deletes any saved session without contacting the provider.
    /// Forgets the previous session before a new sign-in is stored (under the process
    /// lock): its record goes, and its keychain entry is deleted, or listed for the next
    /// start when the keychain will not delete it now.
    pub(super) async fn forget_local(&self) -> Result<(), CoreError> {
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
