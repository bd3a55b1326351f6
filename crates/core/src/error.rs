//! The error every use case returns: the engine's, or a local file problem.

use rollbook_auth::{AuthError, ErrorClass, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Auth(#[from] AuthError),
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
    #[error("the browser could not be opened ({0}); open the link above by hand")]
    BrowserFailed(String),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        Self::Auth(AuthError::Store(e))
    }
}

impl CoreError {
    pub fn code(&self) -> String {
        match self {
            Self::Auth(e) => e.code(),
            Self::Io { .. } => "file_error".into(),
            Self::RecordCorrupt { .. } => "session_record_corrupt".into(),
            Self::NoAppFolders => "no_app_folders".into(),
            Self::BrowserFailed(_) => "browser_failed".into(),
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Auth(e) => e.class(),
            Self::RecordCorrupt { .. } => ErrorClass::SignInRequired,
            Self::NoAppFolders => ErrorClass::Config,
            Self::Io { .. } | Self::BrowserFailed(_) => ErrorClass::Other,
        }
    }
}
