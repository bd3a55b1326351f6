//! The window's state: the teacher's account (core), the embedded demo district, and
//! the sign-in in progress (its cancel switch, its URL, its deep-link channel).

use std::sync::{Arc, Mutex};

use tauri::{AppHandle, Manager};
use tokio::sync::{mpsc, oneshot};
use url::Url;

use rollbook_core::auth::{KEYCHAIN_SERVICE, KeychainStore};
use rollbook_core::{Account, AppPaths, CoreError};

use crate::demo::{EMBEDDED_ISSUER, EmbeddedDemo};

/// The sign-in waiting for the browser.
pub struct PendingSignIn {
    pub cancel: Option<oneshot::Sender<()>>,
    pub url: Option<Url>,
}

pub struct AppState {
    pub app: AppHandle,
    pub account: Account,
    pub demo: tokio::sync::Mutex<Option<EmbeddedDemo>>,
    pub pending: Mutex<Option<PendingSignIn>>,
    deep_links: Mutex<Option<mpsc::Sender<Url>>>,
}

impl AppState {
    pub fn new(app: AppHandle) -> Result<Self, CoreError> {
        let store = KeychainStore::new().with_service(keychain_service());
        Ok(Self {
            app,
            account: Account::new(AppPaths::from_os()?, Arc::new(store))?,
            demo: tokio::sync::Mutex::new(None),
            pending: Mutex::new(None),
            deep_links: Mutex::new(None),
        })
    }

    /// A channel for the next sign-in's deep links (custom-scheme redirect).
    pub fn open_deep_link_channel(&self) -> mpsc::Receiver<Url> {
        let (sender, receiver) = mpsc::channel(8);
        if let Ok(mut slot) = self.deep_links.lock() {
            *slot = Some(sender);
        }
        receiver
    }

    /// Hands a deep link to the sign-in waiting for one, and brings the window forward,
    /// only when its `state` is that sign-in's: any web page can open an
    /// `org.rollbook.desktop:` link, and must not be able to raise the window with it.
    /// (Core checks `state` again, in constant time, before completing anything.)
    pub fn deliver_deep_link(&self, url: Url) {
        if url.scheme() != "org.rollbook.desktop" {
            return;
        }
        let Some(sender) = self.deep_links.lock().ok().and_then(|s| s.clone()) else {
            tracing::info!("a sign-in link arrived, but no sign-in is waiting for one");
            return;
        };
        let expected = self.pending.lock().ok().and_then(|p| {
            p.as_ref()
                .and_then(|p| p.url.as_ref())
                .and_then(|u| query_value(u, "state"))
        });
        if !link_is_for(&url, expected.as_deref()) {
            tracing::info!("a sign-in link for another sign-in attempt was ignored");
            return;
        }
        focus_main(&self.app);
        let _ = sender.try_send(url);
    }

    pub fn close_deep_link_channel(&self) {
        if let Ok(mut slot) = self.deep_links.lock() {
            *slot = None;
        }
    }

    /// Starts the embedded demo district if it is not running; its settings.
    pub async fn demo_settings(&self) -> Result<rollbook_core::ProviderSettings, CoreError> {
        let mut demo = self.demo.lock().await;
        let district = match demo.take() {
            Some(running) => running,
            None => EmbeddedDemo::start(self.account.paths()).await?,
        };
        let settings = district.settings();
        *demo = Some(district);
        Ok(settings)
    }

    /// Stops the embedded demo district and its gateway, if they run: when the teacher
    /// signs out of the demo or signs in somewhere else.
    pub async fn stop_demo(&self) {
        let running = self.demo.lock().await.take();
        if let Some(demo) = running {
            demo.stop().await;
            tracing::info!("the demo district stopped");
        }
    }

    /// Starts what a saved session needs while the window opens. Failures are only
    /// logged: the UI's own calls meet them again and show them properly. (The
    /// keychain is not read here: a locked one would make the UI's first call wait
    /// out a second timeout.)
    pub async fn prepare(&self) {
        if let Err(e) = self.resume_demo_if_needed().await {
            tracing::warn!(code = %e.code(), "the demo district did not start");
        }
    }

    /// After a restart, a saved demo session needs its district running again.
    pub async fn resume_demo_if_needed(&self) -> Result<(), CoreError> {
        if self.account.saved_issuer()?.as_deref() == Some(EMBEDDED_ISSUER) {
            self.demo_settings().await?;
        }
        Ok(())
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

fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Whether a callback link carries the `state` of the sign-in waiting (`expected`).
fn link_is_for(link: &Url, expected: Option<&str>) -> bool {
    match (query_value(link, "state"), expected) {
        (Some(state), Some(expected)) => !expected.is_empty() && state == expected,
        _ => false,
    }
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
    fn only_the_waiting_sign_ins_link_counts() {
        let link =
            |q: &str| Url::parse(&format!("org.rollbook.desktop:/oauth/callback?{q}")).unwrap();
        assert!(link_is_for(&link("code=c&state=abc"), Some("abc")));
        assert!(!link_is_for(&link("code=c&state=abd"), Some("abc")));
        assert!(!link_is_for(&link("code=c"), Some("abc")));
        assert!(
            !link_is_for(&link("code=c&state=abc"), None),
            "no sign-in waiting"
        );
        assert!(!link_is_for(&link("code=c&state="), Some("")));
        assert!(is_deep_link_launch(&[
            "rollbook".into(),
            "org.rollbook.desktop:/oauth/callback?x".into()
        ]));
        assert!(!is_deep_link_launch(&["rollbook".into()]));
    }
}
