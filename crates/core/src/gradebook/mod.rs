//! The gradebook use cases: the teacher's encrypted local store (opened once per
//! process, its key in the OS keychain), reading a class's gradebook from the roster
//! source into it, entering grades, write-back, and export.
//!
//! Where the store lives:
//! - normally `gradebook.db` in the data folder, encrypted with a random key kept in the
//!   keychain under the account [`STORE_KEY_ACCOUNT`];
//! - in memory only on a shared machine, when the district's policy says
//!   `LocalStoreAllowed = false`, or when the keychain cannot give a key right now (the
//!   window then says grades are kept only until Rollbook closes).
//!
//! A store belongs to one sign-in: another teacher signing in on the same computer
//! account starts from an empty one. Signing out deletes the file and its key (never
//! while grades wait, unless the teacher says so); the grading rules stay
//! (`crate::grading_rules`).
//!
//! A store that cannot be opened (its key gone from the keychain, damaged, another
//! sign-in's) is set aside, never deleted (`crate::set_aside`), and the teacher is told
//! with what it held: beside each store a count of unsent writes is kept outside the
//! encryption, as a number only.

mod attention;
mod grades;
mod local_store;
mod store_key;
mod unsent;

pub use attention::{
    Attention, AttentionCounts, AttentionItem, HeldAssignment, HeldReason, OrphanEdit, SettleAction,
};
pub use grades::GradebookPage;
pub use local_store::{LocalStorePolicy, MemoryReason, StoreLocation};
pub(crate) use local_store::{OpenStore, owner_digest, with_store};
pub use store_key::{STORE_KEY_ACCOUNT, store_key_account};

use rollbook_gradebook::GradebookError;

use crate::{Account, CoreError};

/// The teacher's gradebooks in the local store: reading a class's into it, entering
/// grades and assignments, writing them back, exporting, what waits to be sent, and what
/// waits for the teacher outside the cells. Got from [`Account::grades`].
#[derive(Debug, Clone, Copy)]
pub struct Grades<'a> {
    account: &'a Account,
}

impl Account {
    /// The gradebooks of this session.
    pub fn grades(&self) -> Grades<'_> {
        Grades { account: self }
    }
}

impl From<GradebookError> for CoreError {
    fn from(e: GradebookError) -> Self {
        CoreError::Gradebook(e)
    }
}
