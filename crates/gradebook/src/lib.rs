//! Rollbook's gradebook, free of any UI: what a cell holds and how it maps onto
//! OneRoster ([`entry`]), averages a teacher can explain ([`averages`]), the encrypted
//! local store with its outbox ([`store`]), write-back ([`sync`]) and CSV export
//! ([`export`]). The desktop shell and the CLI are thin faces over this crate, through
//! `rollbook-core`, which supplies the key (the OS keychain) and the roster client.

pub mod averages;
pub mod entry;
pub mod error;
pub mod export;
pub mod fetch;
pub mod ids;
pub mod store;
pub mod sync;

pub use averages::{GradingRules, StudentAverage};
pub use entry::{CellInput, CellValue, Mark};
pub use error::GradebookError;
pub use fetch::fetch_snapshot;
pub use ids::{ClassId, LineItemId, ResultId, StudentId};
pub use store::{
    CellChange, CellState, CellView, ClassSnapshot, Clock, GradeStore, GradebookView, NewLineItem,
    Orphan, OrphanAction, OrphanReason, Pause, Resolution, SavedPage, StoreKey, StudentName,
    Unsent, UnsentByClass,
};
pub use sync::{SyncError, SyncOptions, SyncReport, WriteServer, sync};
