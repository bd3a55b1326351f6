//! How a sign-in opens the system browser; the shell and the CLI each bring their own.

use url::Url;

/// Opens the authorization URL outside the app (RFC 8252 §8.12: never an embedded view).
pub trait BrowserOpener: Send + Sync {
    fn open(&self, url: &Url) -> Result<(), String>;
}
