//! One error type for the engine: a human sentence (`Display`), a stable `code()` for
//! programs and UIs, and an [`ErrorClass`] that decides exit codes and what to offer next.

use crate::id_token::IdTokenError;
use crate::store::StoreError;
pub use rollbook_error_code::{ErrorClass, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    InvalidConfig(String),
    #[error("the {what} `{url}` does not use https; only loopback addresses may use plain http")]
    InsecureUrl { what: String, url: String },
    #[error(
        "the provider's discovery document says its issuer is `{found}`, but `{expected}` was configured; refusing to continue"
    )]
    IssuerMismatch { expected: String, found: String },
    #[error("the provider does not support PKCE with S256, which Rollbook requires")]
    PkceUnsupported,
    #[error("{}", authorization_error_message(.code, .description.as_deref()))]
    AuthorizationDenied {
        code: String,
        description: Option<String>,
    },
    #[error(
        "the sign-in response did not carry the expected state; it may not come from this sign-in, so it was rejected"
    )]
    StateMismatch,
    #[error("the sign-in response names issuer `{found}`, not `{expected}`; it was rejected")]
    ResponseIssuerMismatch { expected: String, found: String },
    #[error(
        "the provider advertises the `iss` response parameter but the sign-in response had none; it was rejected"
    )]
    ResponseIssuerMissing,
    #[error("the sign-in response has no authorization code")]
    CodeMissing,
    #[error("the sign-in response is not a valid callback URL for this app")]
    CallbackMalformed,
    #[error(
        "the browser did not come back within {seconds} s, so the sign-in was stopped; try again"
    )]
    SignInTimedOut { seconds: u64 },
    #[error("the sign-in was cancelled")]
    Cancelled,
    #[error("the provider refused the token request: {code}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenRejected {
        code: String,
        description: Option<String>,
    },
    #[error("the ID token failed verification: {0}")]
    IdToken(#[from] IdTokenError),
    #[error("the provider's userinfo belongs to a different user than the ID token")]
    UserinfoSubjectMismatch,
    #[error(
        "the provider's access token was rejected by its own userinfo endpoint (HTTP {status})"
    )]
    UserinfoRejected { status: u16 },
    #[error("could not reach the provider ({what}): {detail}")]
    ProviderUnreachable { what: &'static str, detail: String },
    #[error("the provider did not answer in time ({what})")]
    ProviderTimeout { what: &'static str },
    #[error("the provider's {what} answer could not be understood: {detail}")]
    ProviderBadResponse { what: &'static str, detail: String },
    #[error("the provider's {what} failed with HTTP {status}; try again later")]
    ProviderStatus { what: &'static str, status: u16 },
    #[error("you are not signed in")]
    NotSignedIn,
    #[error("your session has ended; please sign in again")]
    SignInAgain,
    #[error("another Rollbook window or command kept the session busy for {seconds} s; try again")]
    SessionBusy { seconds: u64 },
    #[error("the loopback listener for the browser's answer could not start: {0}")]
    ListenerFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    /// A stable, machine-readable code. UIs branch on this, never on the message.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidConfig(_) => ErrorCode::ConfigInvalid,
            Self::InsecureUrl { .. } => ErrorCode::InsecureUrl,
            Self::IssuerMismatch { .. } => ErrorCode::IssuerMismatch,
            Self::PkceUnsupported => ErrorCode::PkceUnsupported,
            Self::AuthorizationDenied { code, .. } => ErrorCode::for_authorization_error(code),
            Self::StateMismatch => ErrorCode::StateMismatch,
            Self::ResponseIssuerMismatch { .. } => ErrorCode::ResponseIssMismatch,
            Self::ResponseIssuerMissing => ErrorCode::ResponseIssMissing,
            Self::CodeMissing => ErrorCode::CodeMissing,
            Self::CallbackMalformed => ErrorCode::CallbackMalformed,
            Self::SignInTimedOut { .. } => ErrorCode::SignInTimeout,
            Self::Cancelled => ErrorCode::SignInCancelled,
            Self::TokenRejected { .. } => ErrorCode::TokenRejected,
            Self::IdToken(e) => e.code(),
            Self::UserinfoSubjectMismatch => ErrorCode::UserinfoSubMismatch,
            Self::UserinfoRejected { .. } => ErrorCode::UserinfoRejected,
            Self::ProviderUnreachable { .. } => ErrorCode::ProviderUnreachable,
            Self::ProviderTimeout { .. } => ErrorCode::ProviderTimeout,
            Self::ProviderBadResponse { .. } => ErrorCode::ProviderBadResponse,
            Self::ProviderStatus { .. } => ErrorCode::ProviderErrorStatus,
            Self::NotSignedIn => ErrorCode::NotSignedIn,
            Self::SignInAgain => ErrorCode::SignInAgain,
            Self::ListenerFailed(_) => ErrorCode::LoopbackFailed,
            Self::SessionBusy { .. } => ErrorCode::SessionBusy,
            Self::Store(e) => e.code(),
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Self::InvalidConfig(_) | Self::InsecureUrl { .. } => ErrorClass::Config,
            Self::NotSignedIn | Self::SignInAgain => ErrorClass::SignInRequired,
            Self::IssuerMismatch { .. }
            | Self::PkceUnsupported
            | Self::AuthorizationDenied { .. }
            | Self::StateMismatch
            | Self::ResponseIssuerMismatch { .. }
            | Self::ResponseIssuerMissing
            | Self::CodeMissing
            | Self::CallbackMalformed
            | Self::TokenRejected { .. }
            | Self::IdToken(_)
            | Self::UserinfoSubjectMismatch
            | Self::UserinfoRejected { .. } => ErrorClass::Rejected,
            Self::ProviderUnreachable { .. }
            | Self::ProviderTimeout { .. }
            | Self::ProviderBadResponse { .. }
            | Self::ProviderStatus { .. }
            | Self::SignInTimedOut { .. }
            | Self::SessionBusy { .. } => ErrorClass::Unavailable,
            Self::Cancelled | Self::ListenerFailed(_) | Self::Store(_) => ErrorClass::Other,
        }
    }
}

/// Human text for the `error` codes of RFC 6749 §4.1.2.1 and OpenID Connect §3.1.2.6.
fn authorization_error_message(code: &str, description: Option<&str>) -> String {
    let human = match code {
        "access_denied" => "You cancelled the sign-in, or the provider denied access",
        "invalid_scope" => {
            "The provider does not allow the access Rollbook asked for (scope); ask your IT admin"
        }
        "unauthorized_client" => {
            "This app is not allowed to sign in with this provider; ask your IT admin to check its registration"
        }
        "invalid_request" => {
            "The provider rejected the sign-in request as malformed; ask your IT admin to check the configuration"
        }
        "unsupported_response_type" => {
            "The provider does not support the sign-in method Rollbook uses (code flow)"
        }
        "server_error" => "The provider had an internal error; try again in a few minutes",
        "temporarily_unavailable" => {
            "The provider is busy or down for maintenance; try again in a few minutes"
        }
        "login_required"
        | "interaction_required"
        | "consent_required"
        | "account_selection_required" => {
            "The provider needs you to sign in interactively; try again"
        }
        _ => "The provider refused the sign-in",
    };
    match description {
        Some(d) if !d.is_empty() => format!("{human} (provider said `{code}`: {d})"),
        _ => format!("{human} (provider said `{code}`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_errors_read_as_sentences_with_the_code() {
        let denied = AuthError::AuthorizationDenied {
            code: "access_denied".into(),
            description: None,
        };
        assert_eq!(denied.code(), "authorization_access_denied");
        assert!(denied.to_string().starts_with("You cancelled"));
        assert!(denied.to_string().contains("access_denied"));
        assert_eq!(denied.class(), ErrorClass::Rejected);
    }
}
