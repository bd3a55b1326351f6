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

    /// Hands a deep link to the sign-in waiting for one; others are ignored (core
    /// matches them by `state`, so a stale or forged link cannot complete anything).
    pub fn deliver_deep_link(&self, url: Url) {
        if url.scheme() != "org.rollbook.desktop" {
            return;
        }
        focus_main(&self.app);
        let sender = self.deep_links.lock().ok().and_then(|s| s.clone());
        match sender {
            Some(sender) => {
                let _ = sender.try_send(url);
            }
            None => tracing::info!("a sign-in link arrived, but no sign-in is waiting for one"),
        }
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

/// Brings the main window to the front (after sign-in, or when a second instance starts).
pub fn focus_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}
