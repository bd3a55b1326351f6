//! Rollbook's use cases, shared by the desktop shell and the `rollbook` command:
//! where settings and the session record live, signing in and out, restoring the
//! session at start-up, and the `doctor` checks.

mod account;
mod browser;
mod doctor;
mod error;
mod paths;
mod record;
mod settings;

pub use account::{Account, SignInReport, WhoAmI};
pub use browser::BrowserOpener;
pub use doctor::{Check, CheckStatus};
pub use error::CoreError;
pub use paths::AppPaths;
pub use settings::{ProviderSettings, RedirectMode};

/// The engine underneath, for callers that need its types.
pub use rollbook_auth as auth;
