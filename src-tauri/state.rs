//! The window's state: the teacher's account (core), the embedded demo district, and
//! the desk that holds the sign-in in progress (core's, shared with the CLI).

use std::sync::Arc;

use tauri::{AppHandle, Manager};
use url::Url;

use rollbook_core::auth::{KEYCHAIN_SERVICE, KeychainStore};
use rollbook_core::policy::Key;
use rollbook_core::{
    Account, AppPaths, BrowserOpener, CoreError, DeepLink, LocalStorePolicy, SignInDesk,
    SignOutReport,
};

use crate::browser::Browser;
use crate::dto::{BrowserSession, SignedOut};

use crate::demo::EmbeddedDemo;

pub struct AppState {
    pub app: AppHandle,
    pub account: Account,
    /// Core starts it before it uses a demo session (after a restart, too).
    pub demo: Arc<EmbeddedDemo>,
    pub sign_ins: SignInDesk,
    /// What the policy in force did to the saved session at this start, for the
    /// sign-in page to tell the teacher (once checked, `Some` even when nothing).
    pub policy_checked: tokio::sync::Mutex<Option<Option<String>>>,
    /// The ending clean-up has run (window close, quit, logoff): the later exit events
    /// let the app go at once.
    ended: std::sync::atomic::AtomicBool,
}

impl AppState {
    pub fn new(app: AppHandle) -> Result<Self, CoreError> {
        let store = KeychainStore::new().with_service(keychain_service());
        let paths = AppPaths::from_os()?;
        let demo = Arc::new(EmbeddedDemo::new(paths.clone()));
        let account = Account::new(paths, Arc::new(store))?.with_local_district(demo.clone());
        // `LocalStoreAllowed = false`: grades are kept in memory only.
        let policy = if account.effective_settings().flag(Key::LocalStoreAllowed) == Some(false) {
            LocalStorePolicy::MemoryOnly
        } else {
            LocalStorePolicy::Allowed
        };
        Ok(Self {
            app,
            account: account.with_local_store_policy(policy),
            demo,
            sign_ins: SignInDesk::new(),
            policy_checked: tokio::sync::Mutex::new(None),
            ended: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether the ending clean-up ([`Self::end_shared_session`]) has run.
    pub fn shared_session_ended(&self) -> bool {
        self.ended.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Holds the saved session to the policy in force, once per start, before anything
    /// restores it (core refuses to restore a session policy forbids until this ran).
    /// What it did, in a sentence for the teacher.
    pub async fn apply_policy(&self) -> Option<String> {
        let mut checked = self.policy_checked.lock().await;
        if let Some(notice) = checked.as_ref() {
            return notice.clone();
        }
        let unended = self.finish_unended_shared_session();
        let notice = match self.account.apply_policy().await {
            Ok(Some(action)) => {
                tracing::warn!(kind = ?action.kind, unsent_kept = action.unsent_kept, "policy ended or emptied what was saved");
                if action.kind == rollbook_core::PolicyActionKind::SessionEnded {
                    self.stop_demo().await;
                }
                Some(action.describe())
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(code = %e.code(), "the saved session could not be brought in line with policy");
                None
            }
        };
        let notice = match (unended, notice) {
            (Some(a), Some(b)) => Some(format!("{a} {b}")),
            (a, b) => a.or(b),
        };
        *checked = Some(notice.clone());
        notice
    }

    /// A shared-machine session Rollbook could not end last time (a crash, a kill): ends
    /// the browser's provider session now, and says so.
    fn finish_unended_shared_session(&self) -> Option<String> {
        let unended = self.account.take_unended_shared_session()?;
        let opened = unended.end_session_url.as_ref().is_some_and(|url| {
            Browser::new(self.app.clone())
                .and_then(|b| b.open(url))
                .map_err(|e| {
                    tracing::warn!("the provider's end-session page could not be opened: {e}")
                })
                .is_ok()
        });
        Some(if opened {
            "Rollbook closed last time before the shared-computer session ended: your browser now shows the provider's sign-out page to finish it.".to_owned()
        } else {
            "Rollbook closed last time before the shared-computer session ended: close your web browser to finish signing out of the provider.".to_owned()
        })
    }

    /// Hands a deep link to the sign-in waiting for one, and brings the window forward
    /// only when its `state` is that sign-in's: any web page can open an
    /// `org.rollbook.desktop:` link, and must not be able to raise the window with it.
    /// (Core checks `state` again, in constant time, before completing anything.)
    pub fn deliver_deep_link(&self, url: Url) {
        if url.scheme() != "org.rollbook.desktop" {
            return;
        }
        match self.sign_ins.deliver_deep_link(url) {
            DeepLink::ForThisSignIn => focus_main(&self.app),
            DeepLink::NotForThisSignIn => {
                tracing::info!("a sign-in link for another sign-in attempt arrived");
            }
            DeepLink::NoSignInWaiting => {
                tracing::info!("a sign-in link arrived, but no sign-in is waiting for one");
            }
        }
    }

    /// After a shared-machine sign-out, opens the provider's end-session page in the
    /// system browser (the browser's session there ends too).
    pub fn end_browser_session(&self, report: &SignOutReport) -> SignedOut {
        let issuer = report.issuer.clone();
        if !report.shared_machine {
            return SignedOut {
                browser_session: BrowserSession::Kept,
                issuer,
                unsent_grades_deleted: report.unsent_grades,
                grading_rules_kept: report.grading_rules_kept,
            };
        }
        let opened = report.end_session_url.as_ref().is_some_and(|url| {
            match Browser::new(self.app.clone()).and_then(|b| b.open(url)) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!("the provider's end-session page could not be opened: {e}");
                    false
                }
            }
        });
        SignedOut {
            browser_session: if opened {
                BrowserSession::Ending
            } else {
                BrowserSession::CloseBrowser
            },
            issuer,
            unsent_grades_deleted: report.unsent_grades,
            grading_rules_kept: report.grading_rules_kept,
        }
    }

    /// The window is closing: a shared-machine session ends now, at the provider and in
    /// the browser too. Bounded, so a provider that does not answer cannot keep the
    /// window from closing.
    pub async fn end_shared_session(&self) {
        let ended = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            self.account.end_shared_session(),
        )
        .await;
        match ended {
            Ok(Some(Ok(report))) => {
                let browser = self.end_browser_session(&report).browser_session;
                tracing::info!(
                    ?browser,
                    "the shared-machine session ended as the window closed"
                );
            }
            Ok(Some(Err(e))) => {
                tracing::warn!(code = %e.code(), "the shared-machine session did not end cleanly");
            }
            Ok(None) => {}
            Err(_) => {
                tracing::warn!("signing out at close took too long; the session ends with the app")
            }
        }
        self.stop_demo().await;
        self.ended.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Starts the embedded demo district if it is not running; its settings.
    pub async fn demo_settings(&self) -> Result<rollbook_core::ProviderSettings, CoreError> {
        self.demo.settings().await
    }

    /// Stops the embedded demo district and its gateway, if they run: when the teacher
    /// signs out of the demo or signs in somewhere else.
    pub async fn stop_demo(&self) {
        if self.demo.stop().await {
            tracing::info!("the demo district stopped");
        }
    }

    /// Starts what a saved session needs while the window opens. Failures are only
    /// logged: the UI's own calls meet them again and show them properly. (The
    /// keychain is not read here: a locked one would make the UI's first call wait
    /// out a second timeout.)
    pub async fn prepare(&self) {
        // Opening the saved session and the local store (keychain reads, SQLCipher) takes
        // 40–70 ms here; done now, the window's first question (`saved_start`) finds
        // them open and is answered at once.
        self.apply_policy().await;
        let (demo, saved) = tokio::join!(
            self.account.start_saved_district(),
            self.account.warm_start().saved_start()
        );
        if let Err(e) = demo {
            tracing::warn!(code = %e.code(), "the demo district did not start");
        }
        if let Err(e) = saved {
            tracing::debug!(code = %e.code(), "nothing saved could be opened ahead of the window");
        }
    }
}

/// The keychain service name. Builds with the `test-hooks` feature (tests and
/// benchmarks) take `ROLLBOOK_KEYCHAIN_SERVICE`, so a test run never touches a real
/// session; a shipped build always uses the product's name.
fn keychain_service() -> String {
    #[cfg(feature = "test-hooks")]
    if let Ok(service) = std::env::var("ROLLBOOK_KEYCHAIN_SERVICE") {
        return service;
    }
    KEYCHAIN_SERVICE.to_owned()
}

/// Whether a second instance's arguments carry a deep link (which `deliver_deep_link`
/// decides about) rather than being a plain second launch (which brings the window up).
pub fn is_deep_link_launch(argv: &[String]) -> bool {
    argv.iter().any(|a| a.starts_with("org.rollbook.desktop:"))
}

/// Brings the main window to the front (after sign-in, or when a second instance starts).
pub fn focus_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_link_launches_are_told_from_plain_ones() {
        assert!(is_deep_link_launch(&[
            "rollbook".into(),
            "org.rollbook.desktop:/oauth/callback?x".into()
        ]));
        assert!(!is_deep_link_launch(&["rollbook".into()]));
    }
}
