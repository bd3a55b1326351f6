//! A OneRoster 1.1/1.2 REST client for Rollbook.
//!
//! - [`models`]: typed records that tolerate what real servers send (booleans as
//!   strings, `role` or `roles[]`, empty codes, numbers as strings). `href`s are never
//!   kept, so they can never be followed.
//! - [`paging`]: every record exactly once, with or without `X-Total-Count`.
//! - [`RosterClient`]: bearer calls with bounded concurrency, `Retry-After`-aware retries,
//!   and errors that carry the server's `imsx_` description.
//!
//! Nothing here logs a payload or a student field: only paths, counts and timings.

mod client;
mod envelope;
mod error;
mod lenient;
pub mod models;
pub mod paging;
mod retry;

pub use client::{
    AuthorizationFuture, Authorize, Bearer, ClientSettings, Fetched, Query, RosterClient, Streamed,
    read_limited,
};
pub use error::{ImsxStatus, RosterError};
pub use models::{
    AcademicSession, Category, Class, Enrollment, GradeResult, GuidRef, LineItem, Org, Resource,
    RoleAssignment, ScoreStatus, User,
};
pub use retry::RetryPolicy;

/// The parsers a response goes through, for the fuzz targets.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    pub use crate::envelope::{parse_list, parse_single};

    /// The error a failed response becomes.
    pub fn error_from_status(http: u16, body: &[u8]) -> crate::RosterError {
        crate::RosterError::from_status(http, body, None)
    }
}
