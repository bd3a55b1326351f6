//! The stable error codes of Rollbook, and the classes of failure, in one place.
//!
//! Programs and the UI branch on these, never on messages. Every layer's error type
//! (`AuthError`, `RosterError`, `CoreError`) maps each of its variants to one code here,
//! and the window's TypeScript sees the same list as a string union (ts-rs), so a code
//! the UI waits for but Rust never sends fails the UI's type check instead of leaving a
//! dead branch.
//!
//! A code, once shipped, keeps its spelling: scripts parse `rollbook --json` output and IT
//! teams search for the codes the window shows.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $code:literal, )+) => {
        /// A stable, machine-readable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* #[serde(rename = $code)] $variant, )+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as it is written in JSON, logs and the window.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }
        }
    };
}

error_codes! {
    // Configuration.
    /// A setting or argument is wrong.
    ConfigInvalid = "config_invalid",
    /// A provider or roster address is plain http and not loopback.
    InsecureUrl = "insecure_url",
    /// The discovery document names another issuer.
    IssuerMismatch = "issuer_mismatch",
    /// The provider does not offer PKCE with S256.
    PkceUnsupported = "pkce_unsupported",

    // The provider's answer to the authorization request (RFC 6749 §4.1.2.1, OIDC §3.1.2.6).
    AuthorizationAccessDenied = "authorization_access_denied",
    AuthorizationInvalidRequest = "authorization_invalid_request",
    AuthorizationUnauthorizedClient = "authorization_unauthorized_client",
    AuthorizationUnsupportedResponseType = "authorization_unsupported_response_type",
    AuthorizationInvalidScope = "authorization_invalid_scope",
    AuthorizationServerError = "authorization_server_error",
    AuthorizationTemporarilyUnavailable = "authorization_temporarily_unavailable",
    AuthorizationLoginRequired = "authorization_login_required",
    AuthorizationConsentRequired = "authorization_consent_required",
    AuthorizationInteractionRequired = "authorization_interaction_required",
    AuthorizationAccountSelectionRequired = "authorization_account_selection_required",
    /// An `error` code outside the standard lists; the message carries the provider's.
    AuthorizationFailed = "authorization_failed",

    // The callback.
    StateMismatch = "state_mismatch",
    ResponseIssMismatch = "response_iss_mismatch",
    ResponseIssMissing = "response_iss_missing",
    CodeMissing = "code_missing",
    CallbackMalformed = "callback_malformed",
    SignInTimeout = "sign_in_timeout",
    SignInCancelled = "sign_in_cancelled",
    /// Another sign-in is already waiting for the browser.
    SignInInProgress = "sign_in_in_progress",
    LoopbackFailed = "loopback_failed",
    /// The browser page for a second answer to a sign-in that already completed.
    SignInAlreadyUsed = "sign_in_already_used",
    /// The browser page when the app took the answer but did not say how it went.
    SignInUnfinished = "sign_in_unfinished",
    /// The browser page for any other address on the loopback listener.
    CallbackNotFound = "callback_not_found",

    // Tokens and identity.
    TokenRejected = "token_rejected",
    IdTokenMalformed = "id_token_malformed",
    IdTokenAlgNotAllowed = "id_token_alg_not_allowed",
    IdTokenNoMatchingKey = "id_token_no_matching_key",
    IdTokenBadSignature = "id_token_bad_signature",
    IdTokenWrongIssuer = "id_token_wrong_issuer",
    IdTokenMissingSub = "id_token_missing_sub",
    IdTokenWrongAudience = "id_token_wrong_audience",
    IdTokenMissingAzp = "id_token_missing_azp",
    IdTokenWrongAzp = "id_token_wrong_azp",
    IdTokenMissingIat = "id_token_missing_iat",
    IdTokenIatInFuture = "id_token_iat_in_future",
    IdTokenMissingExp = "id_token_missing_exp",
    IdTokenExpired = "id_token_expired",
    IdTokenNonceMismatch = "id_token_nonce_mismatch",
    IdTokenMissingNonce = "id_token_missing_nonce",
    IdTokenRefreshedIdentityChanged = "id_token_refreshed_identity_changed",
    UserinfoSubMismatch = "userinfo_sub_mismatch",
    UserinfoRejected = "userinfo_rejected",

    // The provider's availability.
    ProviderUnreachable = "provider_unreachable",
    ProviderTimeout = "provider_timeout",
    ProviderBadResponse = "provider_bad_response",
    ProviderErrorStatus = "provider_error_status",

    // The session.
    NotSignedIn = "not_signed_in",
    SignInAgain = "sign_in_again",
    SessionRecordCorrupt = "session_record_corrupt",
    /// Another Rollbook process held the session lock too long.
    SessionBusy = "session_busy",
    /// Signed out, but the saved sign-in could not be deleted from the keychain yet
    /// (Rollbook retries at its next start).
    SignOutUnfinished = "sign_out_unfinished",

    // The keychain.
    KeychainUnavailable = "keychain_unavailable",
    KeychainLocked = "keychain_locked",
    KeychainError = "keychain_error",
    KeychainTooLarge = "keychain_too_large",
    KeychainCorrupt = "keychain_corrupt",

    // The roster server (OneRoster, the gateway, ClassLink's API).
    RosterUnauthorized = "roster_unauthorized",
    RosterForbidden = "roster_forbidden",
    RosterNotFound = "roster_not_found",
    RosterBadRequest = "roster_bad_request",
    RosterRateLimited = "roster_rate_limited",
    RosterServerError = "roster_server_error",
    RosterTimeout = "roster_timeout",
    RosterUnreachable = "roster_unreachable",
    RosterMalformed = "roster_malformed",
    RosterNotConfigured = "roster_not_configured",
    RosterTeacherNotFound = "roster_teacher_not_found",

    // The gradebook.
    /// What was typed into a cell is not a score or a mark.
    GradeInvalid = "grade_invalid",
    /// No such class, line item or student in this teacher's gradebook.
    GradebookNotFound = "gradebook_not_found",
    /// The encrypted local store could not be opened, read or written.
    LocalStoreFailed = "local_store_failed",
    /// Signing out would delete grades not yet written back.
    UnsentGrades = "unsent_grades",
    /// Rollbook cannot tell whether grades wait to be sent (a locked keychain, a store
    /// that cannot be opened), so signing out, which would delete them, is refused.
    UnsentUnknown = "unsent_unknown",
    /// A notice, not a failure: the local store could not be opened and was set aside
    /// (renamed, never deleted); a new one was started.
    StoreSetAside = "store_set_aside",

    /// The district's managed policy does not allow this here.
    PolicyForbidden = "policy_forbidden",

    // This computer.
    FileError = "file_error",
    NoAppFolders = "no_app_folders",
    BrowserFailed = "browser_failed",
    DemoFailed = "demo_failed",
    /// The `rollbook` command could not write its answer (a closed pipe, a full disk).
    OutputFailed = "output_failed",

    // The tools beside the app (their own binaries).
    /// The demo district (`rollbook-sandbox`) could not start.
    SandboxFailed = "sandbox_failed",
    /// The roster gateway could not start or listen.
    GatewayFailed = "gateway_failed",
    /// A failure the UI could not classify (a broken IPC answer, a bug).
    Internal = "internal",
}

/// What kind of failure this is, for whoever must react to it: the CLI's exit code, the
/// window's next step. Every layer's error type has a `class()`; the engine never says
/// `RosterFailed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The configuration or the request is wrong; fix it and retry.
    Config,
    /// There is no usable session; the teacher must sign in (again).
    SignInRequired,
    /// The provider said no, or its answer failed a security check.
    Rejected,
    /// The provider could not be reached, timed out or answered garbage.
    Unavailable,
    /// The roster server (or ClassLink's API) refused or failed.
    RosterFailed,
    /// Anything else (keychain trouble, internal failures).
    Other,
}

impl ErrorCode {
    /// The code for an OAuth `error` value from the authorization response.
    pub fn for_authorization_error(error: &str) -> Self {
        match error {
            "access_denied" => Self::AuthorizationAccessDenied,
            "invalid_request" => Self::AuthorizationInvalidRequest,
            "unauthorized_client" => Self::AuthorizationUnauthorizedClient,
            "unsupported_response_type" => Self::AuthorizationUnsupportedResponseType,
            "invalid_scope" => Self::AuthorizationInvalidScope,
            "server_error" => Self::AuthorizationServerError,
            "temporarily_unavailable" => Self::AuthorizationTemporarilyUnavailable,
            "login_required" => Self::AuthorizationLoginRequired,
            "consent_required" => Self::AuthorizationConsentRequired,
            "interaction_required" => Self::AuthorizationInteractionRequired,
            "account_selection_required" => Self::AuthorizationAccountSelectionRequired,
            _ => Self::AuthorizationFailed,
        }
    }
}

/// Lets tests and logs compare with the written code: `assert_eq!(e.code(), "sign_in_again")`.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn json_spelling_is_the_stable_code() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *code);
        }
    }

    #[test]
    fn codes_are_unique_lowercase_words() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(
                text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{text}"
            );
        }
    }

    /// The binaries print `error: CODE: message`; every such code is one of the enum's,
    /// so scripts and the UI meet no code outside the list.
    #[test]
    fn codes_the_binaries_print_are_in_the_enum() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        let mut dirs = vec![root.join("src-tauri")];
        dirs.extend(
            std::fs::read_dir(root.join("crates"))
                .unwrap()
                .map(|e| e.unwrap().path().join("src")),
        );
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for path in entries.map(|e| e.unwrap().path()) {
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    files.push(path);
                }
            }
        }
        let known: HashSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let mut printed = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for (at, _) in text.match_indices("\"error: ") {
                let rest = &text[at + "\"error: ".len()..];
                let word: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if word.is_empty() || !rest[word.len()..].starts_with(':') {
                    continue;
                }
                printed += 1;
                assert!(
                    known.contains(word.as_str()),
                    "{}: prints `{word}`, which is not in ErrorCode",
                    file.display()
                );
            }
        }
        assert!(
            printed > 0,
            "no `error: CODE:` found under {}",
            root.display()
        );
    }

    #[test]
    fn standard_authorization_errors_keep_their_name() {
        for error in ["access_denied", "login_required", "temporarily_unavailable"] {
            assert_eq!(
                ErrorCode::for_authorization_error(error).as_str(),
                format!("authorization_{error}")
            );
        }
        assert_eq!(
            ErrorCode::for_authorization_error("made_up\u{1b}[31m"),
            ErrorCode::AuthorizationFailed
        );
    }
}
