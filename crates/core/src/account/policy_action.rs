//! What the policy in force does to a saved session at start: ends it, or empties the
//! gradebook kept on disk, sending what waits first.

use std::time::Duration;

use serde::Serialize;

use rollbook_auth::AuthError;

use crate::CoreError;
use crate::record::SessionRecord;

use super::{Account, ENDING_FOR_POLICY, IfUnsent};

/// What the policy in force did to the saved session at start ([`Account::apply_policy`]).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyAction {
    /// `SessionEnded`: the saved session is gone; `StoreEmptied`: the session stays,
    /// the gradebook kept on this computer does not.
    pub kind: PolicyActionKind,
    /// Why, in the school's words ("your school allows signing in with ClassLink only").
    pub reason: String,
    /// The provider of the session concerned.
    pub issuer: String,
    /// Grades and assignments that could not be sent first, and stay on this computer
    /// (encrypted) for the same sign-in to send later.
    pub unsent_kept: u32,
    /// Rollbook could not count what stayed (a locked keychain): `unsent_kept` is then
    /// 0 but may not be, and the store is kept.
    pub unsent_unknown: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyActionKind {
    SessionEnded,
    StoreEmptied,
}

impl PolicyAction {
    /// One sentence for the teacher.
    pub fn describe(&self) -> String {
        let what = match self.kind {
            PolicyActionKind::SessionEnded => {
                format!("Your saved sign-in with {} was ended", self.issuer)
            }
            PolicyActionKind::StoreEmptied => {
                "The gradebook saved on this computer was emptied".to_owned()
            }
        };
        let kept = match (self.kind, self.unsent_kept) {
            _ if self.unsent_unknown => " Rollbook could not tell whether grades were waiting, so the gradebook stays on this computer, encrypted, for the same account to send.".to_owned(),
            (_, 0) => " Everything waiting was sent to the district first.".to_owned(),
            (PolicyActionKind::SessionEnded, n) => format!(
                " {n} unsent grade(s) could not be sent first; they are kept on this computer, encrypted, and are sent when you sign in again with the same account (or ask your IT team)."
            ),
            (PolicyActionKind::StoreEmptied, n) => format!(
                " Except for {n} unsent grade(s) that could not be sent yet: they stay on this computer, encrypted, and Rollbook tries again at every start."
            ),
        };
        let what = match (self.kind, self.unsent_kept) {
            (PolicyActionKind::StoreEmptied, n) if n > 0 => {
                "The gradebook saved on this computer is to be emptied".to_owned()
            }
            _ => what,
        };
        format!("{what}: {}.{kept}", self.reason)
    }
}

/// How long a start waits for grades to be sent before policy ends a session or empties
/// a store (the rest is kept).
const SEND_BEFORE_POLICY: Duration = Duration::from_secs(10);

impl Account {
    /// Checks the saved session against the policy in force and acts on a change, at
    /// every start (the window's, every `rollbook` command's). A session policy now
    /// forbids (a provider no longer allowed, the demo district turned off, a kept
    /// session on a computer made shared) ends: its waiting grades are sent first, and
    /// what cannot be sent is kept, encrypted, for the same sign-in. A gradebook kept on
    /// disk where `LocalStoreAllowed` is now off is emptied once what waits is sent.
    /// `None` when nothing needed doing.
    pub async fn apply_policy(&self) -> Result<Option<PolicyAction>, CoreError> {
        if self.live.lock().await.is_some() {
            // Signed in or checked already in this process, under this policy.
            return Ok(None);
        }
        let Some(record) = SessionRecord::load(&self.paths)? else {
            return Ok(None);
        };
        let resolved = self.effective_settings();
        let issuer = record.settings.issuer.clone();
        if let Err(refusal) = resolved.session_permitted(&record.settings) {
            let reason = match refusal {
                CoreError::ForbiddenByPolicy(reason) => reason,
                other => other.to_string(),
            };
            tracing::warn!(%reason, "policy ends the saved session");
            let (unsent_kept, unsent_unknown) = ENDING_FOR_POLICY
                .scope((), self.end_session_for_policy())
                .await?;
            return Ok(Some(PolicyAction {
                kind: PolicyActionKind::SessionEnded,
                reason,
                issuer,
                unsent_kept,
                unsent_unknown,
            }));
        }
        if !resolved.local_store_allowed() {
            let drained = match self.live().await {
                Ok(_) => self.drain_disk_store(SEND_BEFORE_POLICY).await?,
                // Not restorable now (keychain locked, offline refresh): the next start
                // tries again; nothing is deleted unsent meanwhile.
                Err(e) => {
                    tracing::info!(code = %e.code(), "the saved session could not be opened to empty its gradebook");
                    None
                }
            };
            if let Some(unsent_kept) = drained {
                return Ok(Some(PolicyAction {
                    kind: PolicyActionKind::StoreEmptied,
                    reason: "your school does not allow gradebooks to be kept on this computer"
                        .into(),
                    issuer,
                    unsent_kept,
                    unsent_unknown: false,
                }));
            }
        }
        Ok(None)
    }

    /// Sends what waits (bounded), then signs out; unsent grades left are kept. The
    /// count kept, and whether it could not be told.
    pub(super) async fn end_session_for_policy(&self) -> Result<(u32, bool), CoreError> {
        match tokio::time::timeout(SEND_BEFORE_POLICY, self.grades().sync_grades(false)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(code = %e.code(), "grades could not be sent before policy ended the session");
            }
            Err(_) => tracing::warn!("sending grades took too long; policy ends the session"),
        }
        let unsent = self
            .unsent_for_sign_out()
            .await
            .map(rollbook_gradebook::Unsent::total);
        let if_unsent = match unsent {
            Ok(0) => IfUnsent::Refuse,
            _ => IfUnsent::Keep,
        };
        match self.sign_out(if_unsent).await {
            Ok(_) | Err(CoreError::Auth(AuthError::NotSignedIn)) => {}
            // The session is over in this process and its record gone; the keychain
            // entry is listed for the next start.
            Err(e @ CoreError::SignOutUnfinished(_)) => {
                tracing::warn!(code = %e.code(), "the ended session's keychain entry is still to be deleted");
            }
            Err(e) => return Err(e),
        }
        Ok(match unsent {
            Ok(n) => (n, false),
            Err(_) => (0, true),
        })
    }
}
