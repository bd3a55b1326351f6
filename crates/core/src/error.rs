//! The error every use case returns: the engine's, the roster server's, or a local
//! problem. Each has a human message, a stable code and a class.

use rollbook_auth::{AuthError, StoreError};
use rollbook_oneroster::RosterError;

pub use rollbook_error_code::{ErrorClass, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Roster(#[from] RosterError),
    #[error(
        "no roster server is set up for this sign-in; sign in again with the district's OneRoster address, or ask your IT team for it"
    )]
    RosterNotConfigured,
    #[error("{0}")]
    TeacherNotFound(String),
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the saved session file {path} is damaged ({detail}); sign in again")]
    RecordCorrupt { path: String, detail: String },
    #[error("this computer has no home or app-data folder for Rollbook to use")]
    NoAppFolders,
    #[error("a sign-in is already waiting for the browser; finish or cancel it first")]
    SignInInProgress,
    #[error("{0}")]
    ForbiddenByPolicy(String),
    #[error("the demo district could not start: {0}")]
    DemoFailed(String),
    #[error(
        "you are signed out, but your saved sign-in could not be deleted from this computer's keychain ({0}); Rollbook will try again when it next starts"
    )]
    SignOutUnfinished(StoreError),
    #[error(transparent)]
    Gradebook(rollbook_gradebook::GradebookError),
    /// Something to settle could not be settled as asked (a set-aside store no key opens);
    /// the words say what to do instead.
    #[error("{0}")]
    NotSettled(String),
    /// Grades and new assignments apart: the status line counts the same two.
    #[error("{}", unsent_message(*.0))]
    UnsentGrades(rollbook_gradebook::Unsent),
    #[error(
        "Rollbook cannot tell whether grades saved on this computer are still waiting to be sent ({reason}){last_known}; signing out would delete any that are. Your grading rules stay on this computer either way"
    )]
    UnsentUnknown {
        reason: String,
        /// ", N were waiting when last counted", or empty.
        last_known: String,
    },
}

/// "2 grades and 1 new assignment saved on this computer are not yet sent…": a new
/// assignment is never called a grade, and the numbers are the ones the window's status
/// line adds up to. What to do is the caller's to say (the CLI's hint, the dialog's
/// buttons), not repeated here.
fn unsent_message(unsent: rollbook_gradebook::Unsent) -> String {
    let grades = match unsent.grades {
        0 => None,
        1 => Some("1 grade".to_owned()),
        n => Some(format!("{n} grades")),
    };
    let assignments = match unsent.assignments {
        0 => None,
        1 => Some("1 new assignment".to_owned()),
        n => Some(format!("{n} new assignments")),
    };
    let what = match (grades, assignments) {
        (Some(g), Some(a)) => format!("{g} and {a}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => "Nothing".to_owned(),
    };
    let (are, them) = if unsent.total() == 1 {
        ("is", "it")
    } else {
        ("are", "them")
    };
    format!(
        "{what} saved on this computer {are} not yet sent to the district; signing out would delete {them} (your grading rules stay on this computer)"
    )
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        Self::Auth(AuthError::Store(e))
    }
}

impl CoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Auth(e) => e.code(),
            Self::Roster(e) => e.code(),
            Self::RosterNotConfigured => ErrorCode::RosterNotConfigured,
            Self::TeacherNotFound(_) => ErrorCode::RosterTeacherNotFound,
            Self::Io { .. } => ErrorCode::FileError,
            Self::RecordCorrupt { .. } => ErrorCode::SessionRecordCorrupt,
            Self::NoAppFolders => ErrorCode::NoAppFolders,
            Self::SignInInProgress => ErrorCode::SignInInProgress,
            Self::ForbiddenByPolicy(_) => ErrorCode::PolicyForbidden,
            Self::DemoFailed(_) => ErrorCode::DemoFailed,
            Self::SignOutUnfinished(_) => ErrorCode::SignOutUnfinished,
            Self::Gradebook(e) => e.code(),
            Self::NotSettled(_) => ErrorCode::LocalStoreFailed,
            Self::UnsentGrades(_) => ErrorCode::UnsentGrades,
            Self::UnsentUnknown { .. } => ErrorCode::UnsentUnknown,
        }
    }

    /// A sign-out that did nothing because grades wait to be sent (or may): the teacher
    /// is still signed in and decides.
    pub fn is_unsent_refusal(&self) -> bool {
        matches!(self, Self::UnsentGrades(_) | Self::UnsentUnknown { .. })
    }

    /// Whether this means "the roster source or the provider cannot be reached right
    /// now" (unreachable, timed out, failing, rate-limited): what is saved on this
    /// computer still works, and the same call may succeed later. Not "you may not" or
    /// "this is wrong".
    pub fn is_offline(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::RosterUnreachable
                | ErrorCode::RosterTimeout
                | ErrorCode::RosterServerError
                | ErrorCode::RosterRateLimited
                | ErrorCode::ProviderUnreachable
                | ErrorCode::ProviderTimeout
        )
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Auth(e) => e.class(),
            Self::Roster(_) | Self::TeacherNotFound(_) => ErrorClass::RosterFailed,
            Self::RosterNotConfigured | Self::NoAppFolders | Self::ForbiddenByPolicy(_) => {
                ErrorClass::Config
            }
            Self::RecordCorrupt { .. } => ErrorClass::SignInRequired,
            Self::Io { .. }
            | Self::SignInInProgress
            | Self::DemoFailed(_)
            | Self::SignOutUnfinished(_)
            | Self::NotSettled(_) => ErrorClass::Other,
            Self::Gradebook(rollbook_gradebook::GradebookError::BadScore(_))
            | Self::Gradebook(rollbook_gradebook::GradebookError::Invalid(_)) => ErrorClass::Config,
            Self::Gradebook(_) => ErrorClass::Other,
            Self::UnsentGrades(_) | Self::UnsentUnknown { .. } => ErrorClass::Config,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window shows these messages too, where a command-line flag means nothing; the
    /// CLI adds its flags as hints, by code.
    #[test]
    fn messages_name_no_command_line_flags() {
        let errors = [
            CoreError::RosterNotConfigured,
            CoreError::NoAppFolders,
            CoreError::Auth(AuthError::NotSignedIn),
            CoreError::Auth(AuthError::SignInAgain),
        ];
        for error in errors {
            let text = error.to_string();
            assert!(!text.contains("--"), "{text}");
        }
    }

    /// Said as the status line says it: assignments are not grades, and the total is
    /// what the status line's parts add up to.
    #[test]
    fn unsent_grades_name_assignments_apart_and_agree_in_number() {
        use rollbook_gradebook::Unsent;
        let say = |grades, assignments| {
            CoreError::UnsentGrades(Unsent {
                grades,
                assignments,
            })
            .to_string()
        };
        assert_eq!(
            say(5, 1),
            "5 grades and 1 new assignment saved on this computer are not yet sent to the district; signing out would delete them (your grading rules stay on this computer)"
        );
        assert!(say(1, 0).starts_with("1 grade saved on this computer is not yet sent"));
        assert!(say(0, 1).starts_with("1 new assignment saved on this computer is not"));
        assert!(say(0, 2).starts_with("2 new assignments saved on this computer are not"));
        assert!(!say(0, 2).contains("grade "), "{}", say(0, 2));
        assert!(say(1, 0).contains("delete it "));
    }

    #[test]
    fn codes_come_from_the_shared_enum() {
        assert_eq!(
            CoreError::RosterNotConfigured.code(),
            "roster_not_configured"
        );
        assert_eq!(
            CoreError::Auth(AuthError::Cancelled).code(),
            ErrorCode::SignInCancelled
        );
    }
}
