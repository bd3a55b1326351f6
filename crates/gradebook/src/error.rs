//! What can go wrong in the gradebook, each with a stable code.

use rollbook_error_code::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum GradebookError {
    #[error(
        "\u{201c}{0}\u{201d} is not a score or a mark; type a number, or M (missing), X or E (exempt), L (late), I (incomplete)"
    )]
    BadScore(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{what} \u{201c}{id}\u{201d} is not in this gradebook; sync, or check the id")]
    NotFound { what: &'static str, id: String },
    #[error("the gradebook on this computer could not be {action} ({detail})")]
    Store {
        action: &'static str,
        detail: String,
    },
    /// The file is not a database this key opens: damaged, or made with another key.
    #[error(
        "the gradebook on this computer cannot be read: it is damaged, or its key in the keychain is not the one it was made with"
    )]
    Unreadable,
}

impl GradebookError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadScore(_) | Self::Invalid(_) => ErrorCode::GradeInvalid,
            Self::NotFound { .. } => ErrorCode::GradebookNotFound,
            Self::Store { .. } | Self::Unreadable => ErrorCode::LocalStoreFailed,
        }
    }

    pub(crate) fn store(action: &'static str) -> impl FnOnce(rusqlite::Error) -> GradebookError {
        move |e| match &e {
            rusqlite::Error::SqliteFailure(code, _)
                if code.code == rusqlite::ErrorCode::NotADatabase =>
            {
                GradebookError::Unreadable
            }
            _ => GradebookError::Store {
                action,
                detail: describe_sqlite(&e),
            },
        }
    }
}

/// SQLite's words without the statement text (which could hold a student's data).
fn describe_sqlite(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(code, _) => match code.code {
            rusqlite::ErrorCode::NotADatabase => {
                "it is damaged, or its key in the keychain is not the one it was made with".into()
            }
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                "another Rollbook window or command is using it; try again".into()
            }
            rusqlite::ErrorCode::DiskFull => "the disk is full".into(),
            rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::PermissionDenied => {
                "Rollbook may not write its data folder".into()
            }
            rusqlite::ErrorCode::CannotOpen => "its file cannot be opened".into(),
            other => format!("SQLite: {other:?}"),
        },
        rusqlite::Error::QueryReturnedNoRows => "a record is missing".into(),
        _ => "SQLite could not run the change".into(),
    }
}

pub type Result<T, E = GradebookError> = std::result::Result<T, E>;
