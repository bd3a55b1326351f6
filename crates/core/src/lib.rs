//! Rollbook's use cases, shared by the desktop shell and the `rollbook` command:
//! where settings and the session record live, signing in and out, restoring the
//! session at start-up, the `doctor` checks, the ClassLink profile, and the roster
//! use cases (my classes, a class roster, a class gradebook).

mod account;
mod browser;
mod classlink;
mod defaults;
mod doctor;
mod error;
mod gradebook;
mod grading_rules;
mod local_district;
mod log_file;
mod paths;
pub mod policy;
mod preferences;
mod record;
mod roster;
mod saved_pages;
mod set_aside;
mod settings;
mod shared_session;
mod sign_in;
mod wipe;

pub use account::{
    Account, IfUnsent, PolicyAction, PolicyActionKind, Rosters, SignInReport, SignOutReport,
    TeacherSignOut, WhoAmI,
};
pub use browser::{BROWSER_ENV, BrowserOpener, CommandBrowser};
pub use classlink::MyInfo;
pub use defaults::{BuildDefaults, CLASSLINK_ISSUER, ClassLinkDefaults};
pub use doctor::{Check, CheckStatus};
pub use error::{CoreError, ErrorClass, ErrorCode};
pub use gradebook::{
    Attention, AttentionCounts, AttentionItem, GradebookPage, Grades, HeldAssignment, HeldReason,
    LocalStorePolicy, MemoryReason, OrphanEdit, STORE_KEY_ACCOUNT, SettleAction, StoreLocation,
    store_key_account,
};
pub use local_district::{LocalDistrict, Starting};
pub use log_file::{LOG_FILE_NAME, LogFile, log_dir};
pub use paths::{AppPaths, write_private};
pub use preferences::Preferences;
pub use record::{ClassPage, LastView};
pub use roster::{
    ClassData, ClassSummary, Gradebook, NamedRef, RosterIdentity, RosterSort, Student, TermFilter,
    TermRef, sort_students, sync_school, sync_teacher, today, today_in,
};
pub use saved_pages::{Dated, SavedStart, WarmStart};
pub use set_aside::{SetAsideReason, SetAsideStore};
pub use settings::{
    CLASSLINK_API_URL, DEMO_CLIENT_ID, Profile, ProviderSettings, RedirectMode, demo_roster_url,
};
pub use shared_session::UnendedSharedSession;
pub use sign_in::{
    DeepLink, FlagProvider, SignInAttempt, SignInDesk, SignInFlags, SignInProgress, SignInProvider,
    SignInRequest, allow_demo,
};

/// The ids core's functions take (a class's, a line item's, a student's, a result's
/// `sourcedId`), each its own type so one cannot be passed for another.
pub use rollbook_gradebook::{ClassId, LineItemId, ResultId, StudentId};

/// The gradebook underneath (cells, averages, the store's views, write-back reports).
pub use rollbook_gradebook as grades;

/// The roster client underneath.
pub use rollbook_oneroster as oneroster;

/// The engine underneath, for callers that need its types.
pub use rollbook_auth as auth;
