//! What crosses into the webview. No tokens, ever.

use serde::{Deserialize, Serialize};

use rollbook_core::{ClassSummary, CoreError, Dated, ErrorClass, ErrorCode, LastView, Student};

/// Who is signed in, for the account menu.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub name: String,
    pub email: Option<String>,
    pub issuer: String,
    pub expires_at: Option<i64>,
    pub renews: bool,
    pub demo: bool,
    /// The class page to reopen (the last one shown in this session).
    pub last_view: Option<LastView>,
    /// Shared-machine mode: the session ends when the window closes.
    pub shared_machine: bool,
    /// Export (CSV) and printing are allowed (`ExportAllowed`; off by default on shared
    /// computers). Core refuses an export either way; the window hides the buttons.
    pub export_allowed: bool,
}

/// What a signed-in start shows at once, from this computer only (no network call):
/// who was signed in (not yet checked with the provider), the class list and the last
/// roster as they were last read. `session_info` then confirms the session.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SavedStart {
    pub session: SessionInfo,
    pub classes: Option<Dated<Vec<ClassSummary>>>,
    /// The last view's roster, when the last view was a roster.
    pub roster: Option<Dated<Vec<Student>>>,
}

/// What this build and the district's policy preset for signing in: the window hides
/// preset fields and forbidden choices, and shows policy-locked ones as "set by your
/// school". (Core enforces the same rules when the sign-in starts.)
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignInPresets {
    pub classlink_client_id: bool,
    pub classlink_roster: bool,
    /// ClassLink may be used (not when policy allows only the district's own `Issuer`).
    pub classlink_allowed: bool,
    /// Providers other than ClassLink may be used.
    pub other_providers_allowed: bool,
    /// The built-in demo district may be used.
    pub demo_allowed: bool,
    /// Policy fixes how the browser returns to the app.
    pub redirect_set_by_school: bool,
    /// Policy fixes whether this is a shared computer.
    pub shared_machine_set_by_school: bool,
    /// Seconds without keyboard or pointer activity before the window signs the teacher
    /// out (policy's `IdleSignOutMinutes`); 0 is never.
    pub idle_sign_out_seconds: u32,
    /// Policy values that were ignored, each naming the setting, where it was set and
    /// why ("Issuer in /etc/rollbook/policy.json: …"), for the teacher to pass on to IT.
    pub policy_problems: Vec<String>,
    /// What the policy in force did to the saved session at this start (ended it, or
    /// emptied the gradebook kept on this computer), in a sentence; `None` when nothing.
    pub policy_notice: Option<String>,
}

/// What the browser's provider session needs after a sign-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum BrowserSession {
    /// Not a shared computer: the browser's provider session is the teacher's to keep.
    Kept,
    /// The provider's end-session page was opened in the browser.
    Ending,
    /// The provider has no end-session page: the teacher must close the browser.
    CloseBrowser,
}

/// How a sign-out went, for the window.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignedOut {
    pub browser_session: BrowserSession,
    /// The provider, for "close the browser to sign out of …".
    pub issuer: Option<String>,
    /// What went: grades not yet sent that the teacher chose to discard (with the saved
    /// class lists, rosters and gradebooks, which the district still has).
    pub unsent_grades_deleted: u32,
    /// What stayed: the grading rules of this many classes, for the next sign-in.
    pub grading_rules_kept: u32,
}

/// An error as the UI shows it: what happened, what to do, and the stable code.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    pub next_step: String,
    /// The district or the provider could not be reached: what is saved on this
    /// computer still works (sent only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub offline: bool,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>, next_step: &str) -> Self {
        Self {
            code,
            message: message.into(),
            next_step: next_step.to_owned(),
            offline: false,
        }
    }
}

fn sentence(text: String) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        let code = e.code();
        let next_step = match (code, e.class()) {
            (ErrorCode::KeychainLocked, _) => {
                "Unlock your keychain (or sign in to your computer again), then try again."
            }
            (ErrorCode::SignInCancelled, _) => "Choose a way to sign in when you are ready.",
            (ErrorCode::SignInTimeout, _) => {
                "Try again, and finish signing in in the browser that opens."
            }
            (ErrorCode::SignInInProgress, _) => {
                "Finish the sign-in in your browser, or cancel it first."
            }
            (ErrorCode::UnsentGrades, _) => {
                "Send them first, or sign out anyway (they are then deleted)."
            }
            (ErrorCode::UnsentUnknown, _) => {
                "Unlock your keychain (or sign in to your computer again) and try again, or sign out anyway (anything unsent is then deleted)."
            }
            (ErrorCode::GradeInvalid, _) => "Check what you typed.",
            (ErrorCode::GradebookNotFound, _) => {
                "Open the class's gradebook again while connected, then try again."
            }
            (_, ErrorClass::SignInRequired) => "Sign in again.",
            (_, ErrorClass::Rejected) => {
                "Sign in again. If it keeps failing, tell your IT team the code below."
            }
            (_, ErrorClass::Unavailable) => "Check your network connection, then try again.",
            (_, ErrorClass::RosterFailed) => {
                "Try again in a few minutes. If it keeps failing, tell your IT team the code below."
            }
            (_, ErrorClass::Config) => "Check the sign-in settings, or ask your IT team.",
            (_, ErrorClass::Other) => {
                "Try again. If it keeps happening, tell your IT team the code below."
            }
        };
        Self {
            offline: e.is_offline(),
            ..Self::new(code, sentence(e.to_string()), next_step)
        }
    }
}

/// A change the grid makes to one cell.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum GradeChange {
    /// What the teacher typed: a score, a mark key, or "" to clear.
    Typed { text: String },
    /// A whole value (undo, redo, paste, fill down).
    Value {
        value: rollbook_core::grades::CellValue,
    },
    /// The cell's comment (`null` removes it).
    Comment { comment: Option<String> },
}

impl GradeChange {
    pub fn into_core(self) -> Result<rollbook_core::grades::CellChange, CoreError> {
        use rollbook_core::grades::{CellChange, CellInput};
        Ok(match self {
            GradeChange::Typed { text } => CellChange::Input(CellInput::parse(&text)?),
            GradeChange::Value { value } => CellChange::Value(value),
            GradeChange::Comment { comment } => CellChange::Comment(comment),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollbook_core::auth::AuthError;
    use rollbook_core::oneroster::RosterError;

    /// The window keeps working from the saved copy only on errors that say "cannot be
    /// reached"; a refusal or a wrong setting must not look like one.
    #[test]
    fn only_unreachable_sources_are_marked_offline() {
        let offline = AppError::from(CoreError::Roster(RosterError::Unreachable(
            "connection refused".into(),
        )));
        assert!(offline.offline);
        let json = serde_json::to_value(&offline).unwrap();
        assert_eq!(json["offline"], true);
        for refused in [
            CoreError::Auth(AuthError::SignInAgain),
            CoreError::RosterNotConfigured,
        ] {
            let error = AppError::from(refused);
            assert!(!error.offline, "{}", error.message);
            let json = serde_json::to_value(&error).unwrap();
            assert!(json.get("offline").is_none(), "{json}");
        }
    }
}

/// What the window does when it has seen no input for the idle limit: the person may only
/// be at another program (the system's idle time says; core's `idle_verdict` decides).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct IdleCheck {
    /// Nobody has used the computer for the whole limit: send what waits, sign out.
    pub sign_out: bool,
    /// Otherwise, when to ask again.
    pub check_again_seconds: u32,
}
