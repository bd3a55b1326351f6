//! A district this process runs itself (the window's demo district): core starts it
//! before it uses a saved session that signs in there, so no caller has to remember to.

use std::future::Future;
use std::pin::Pin;

use crate::CoreError;

/// What starting the district returns.
pub type Starting<'a> = Pin<Box<dyn Future<Output = Result<(), CoreError>> + Send + 'a>>;

/// A district run in this process, started on demand. Core only knows its issuer and how
/// to start it; the face that runs it (the window) supplies it with
/// [`crate::Account::with_local_district`].
pub trait LocalDistrict: Send + Sync + std::fmt::Debug {
    /// The issuer whose sessions need this district running.
    fn issuer(&self) -> &str;
    /// Starts the district unless it runs; `Ok` when it runs.
    fn start(&self) -> Starting<'_>;
}
