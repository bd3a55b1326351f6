//! Signing out: revoking, deleting the session and the local store (the teacher decides
//! about grades not yet sent), and finishing a sign-out the keychain left unfinished.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use rollbook_auth::{AuthError, Provider};

use crate::CoreError;
use crate::record::SessionRecord;
use crate::wipe;

use super::Account;

/// How a sign-out went.
#[derive(Debug, Clone, Serialize)]
pub struct SignOutReport {
    /// `true` when the provider confirmed revoking the refresh token.
    pub revoked: bool,
    /// Why revocation did not happen, when it did not (an error code).
    pub revocation_problem: Option<String>,
    /// The provider's end-session page (RP-initiated logout), when it has one: opening
    /// it ends the browser's provider session too.
    pub end_session_url: Option<Url>,
    /// The session was a shared-machine one: the browser's provider session must end
    /// as well, or the next person at this computer is signed in silently.
    pub shared_machine: bool,
    /// The provider signed out of (`None` when only an unfinished sign-out was finished).
    pub issuer: Option<String>,
    /// Grades not yet written back that the sign-out deleted with the local store
    /// (the teacher chose to discard them).
    pub unsent_grades: u32,
    /// The teacher discarded without Rollbook being able to count what waited (a
    /// locked keychain): `unsent_grades` is then 0 but may not have been.
    pub unsent_unknown: bool,
    /// What stays on this computer: the grading rules of this many classes, kept for
    /// the teacher's next sign-in. (The store goes: unsent grades, saved class lists,
    /// rosters and gradebooks.)
    pub grading_rules_kept: u32,
}

/// What a sign-out does with grades not yet written back to the district.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfUnsent {
    /// Refuse (`unsent_grades`) while any wait, or (`unsent_unknown`) while Rollbook
    /// cannot tell: the default everywhere.
    Refuse,
    /// The teacher said to delete them (`--discard-unsent`, "Sign out anyway").
    Discard,
    /// End the session but keep the local store, unsent grades and all, for the same
    /// sign-in to send later (policy ended the session; nothing was the teacher's choice).
    Keep,
}

impl IfUnsent {
    /// The teacher's answer to "grades not yet sent would be deleted": they go only when
    /// the teacher said so; otherwise nothing happens while any wait.
    pub fn teacher_said_discard(discard: bool) -> Self {
        if discard { Self::Discard } else { Self::Refuse }
    }
}

/// A sign-out the teacher asked for (the window's Sign out, `rollbook logout`), with
/// what it deleted unsent.
#[derive(Debug)]
pub struct TeacherSignOut {
    pub result: Result<SignOutReport, CoreError>,
    /// What went with the store unsent, to tell the teacher: a count, or why it could
    /// not be counted (`unsent_unknown`, with the last count kept beside the store when
    /// there is one). `None` when nothing went, or nothing can be said.
    pub discarded: Option<Result<u32, CoreError>>,
}

impl Account {
    /// Signs out as the teacher asked ([`IfUnsent::teacher_said_discard`]). When they
    /// said to discard, what waits is counted first: a sign-out the keychain leaves
    /// unfinished (`sign_out_unfinished`) has deleted it all the same.
    pub async fn sign_out_teacher(&self, discard_unsent: bool) -> TeacherSignOut {
        let counted = if discard_unsent {
            Some(self.grades().unsent_to_discard().await)
        } else {
            None
        };
        let result = self
            .sign_out(IfUnsent::teacher_said_discard(discard_unsent))
            .await;
        let discarded = match (&result, counted) {
            (Err(CoreError::SignOutUnfinished(_)), counted) => counted,
            (Ok(report), counted) if report.unsent_unknown => Some(match counted {
                // Its words, with the last count kept beside the store.
                Some(Err(e @ CoreError::UnsentUnknown { .. })) => Err(e),
                _ => Err(CoreError::UnsentUnknown {
                    reason: "the gradebook's waiting grades could not be counted".into(),
                    last_known: String::new(),
                }),
            }),
            (Ok(report), _) => Some(Ok(report.unsent_grades)),
            (Err(_), _) => None,
        };
        TeacherSignOut { result, discarded }
    }

    /// Ends the session on this computer after the provider refused it. A keychain
    /// entry that cannot be deleted now stays listed for the next start.
    pub(super) async fn drop_ended_session(&self) -> Result<(), CoreError> {
        let ended = self.live.lock().await.take();
        let _others_wait = self.process_lock.acquire().await?;
        let key = match ended {
            Some(live) => Some(live.session.store_key().clone()),
            None => SessionRecord::load(&self.paths)
                .ok()
                .flatten()
                .and_then(|r| r.store_key().ok()),
        };
        match key {
            Some(key) => {
                wipe::remember(&self.paths, &key)?;
                SessionRecord::delete_if_names(&self.paths, &key)?;
            }
            None => SessionRecord::delete(&self.paths)?,
        }
        if let Err(e) = wipe::finish_pending(&self.paths, &self.store, &self.recorded_key()).await {
            tracing::warn!(code = %e.code(), "the ended session's keychain entry is still to be deleted");
        }
        Ok(())
    }

    /// The keychain entry the current session record names, if any (a newer sign-in's:
    /// a pending deletion of it is struck off, not carried out).
    pub(super) fn recorded_key(&self) -> Option<rollbook_auth::StoreKey> {
        SessionRecord::load(&self.paths)
            .ok()
            .flatten()
            .and_then(|r| r.store_key().ok())
    }

    /// Deletes the keychain entries an earlier sign-out could not (a locked keychain, a
    /// crash). `SignOutUnfinished` while any is left.
    pub async fn finish_pending_sign_out(&self) -> Result<(), CoreError> {
        if wipe::pending(&self.paths).is_empty() {
            return Ok(());
        }
        let _others_wait = self.process_lock.acquire().await?;
        wipe::finish_pending(&self.paths, &self.store, &self.recorded_key()).await
    }

    /// Signs out when the session in use is a shared-machine one (the window closing);
    /// `None` when there is none, or it is a session that should outlive the window.
    pub async fn end_shared_session(&self) -> Option<Result<SignOutReport, CoreError>> {
        let shared = self
            .live
            .lock()
            .await
            .as_ref()
            .is_some_and(|live| live.record.settings.shared_machine);
        if shared {
            // Grades live in memory on a shared computer: send what waits before they go.
            // Bounded, so the sign-out (revocation) still happens when the district is down.
            // Not `now`: a district's Retry-After holds here too.
            match tokio::time::timeout(Duration::from_secs(4), self.grades().sync_grades(false))
                .await
            {
                Ok(Ok(report)) if report.waiting > 0 => {
                    tracing::warn!(
                        waiting = report.waiting,
                        "grades not sent before the shared session ended"
                    );
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(code = %e.code(), "grades could not be sent before the shared session ended")
                }
                Err(_) => tracing::warn!("sending grades took too long; the shared session ends"),
            }
            // In memory, the grades end with the process anyway: nothing to refuse for.
            Some(self.sign_out(IfUnsent::Discard).await)
        } else {
            None
        }
    }

    /// Signs out: revokes at the provider, then deletes the session record and the
    /// keychain entry. The session ends in this process whatever happens. When the
    /// keychain cannot delete the entry (locked, gone), the entry stays listed for the
    /// next start and the answer is `SignOutUnfinished`: the teacher is told the truth,
    /// and nothing is left that Rollbook cannot find again.
    ///
    /// With [`IfUnsent::Refuse`] nothing happens while grades wait to be sent, or while
    /// Rollbook cannot tell whether they do (fail closed: a locked keychain must not
    /// read as "none wait"). The grading rules are kept either way.
    pub async fn sign_out(&self, if_unsent: IfUnsent) -> Result<SignOutReport, CoreError> {
        // Counted first, while the session is still live (the store belongs to it).
        let unsent = self.unsent_for_sign_out().await;
        if if_unsent == IfUnsent::Refuse {
            match unsent {
                Ok(waiting) if waiting.total() == 0 => {}
                Ok(waiting) => return Err(CoreError::UnsentGrades(waiting)),
                Err(e) => return Err(e),
            }
        }
        let grading_rules_kept = self.grading_rules_kept().await;
        // Revoke with the live session's tokens when they can be had; a keychain that
        // cannot be read only means there is nothing to revoke with.
        let live = match self.live().await {
            Ok(live) => Some(live),
            Err(CoreError::Auth(AuthError::NotSignedIn)) => None,
            Err(other) => {
                tracing::warn!(code = %other.code(), "the saved session cannot be opened; signing out without revoking it");
                None
            }
        };
        let record = match &live {
            Some(live) => Some(live.record.clone()),
            None => SessionRecord::load(&self.paths).unwrap_or_else(|e| {
                tracing::warn!(code = %e.code(), "the session record cannot be read; deleting it");
                None
            }),
        };
        let (unsent_grades, unsent_unknown) = match &unsent {
            Ok(n) => (n.total(), false),
            Err(_) => (0, true),
        };
        let pending = !wipe::pending(&self.paths).is_empty();
        if live.is_none() && record.is_none() && !pending {
            self.live.lock().await.take();
            SessionRecord::delete(&self.paths)?;
            return Err(AuthError::NotSignedIn.into());
        }
        let mut report = SignOutReport {
            revoked: false,
            revocation_problem: None,
            end_session_url: None,
            shared_machine: record.as_ref().is_some_and(|r| r.settings.shared_machine),
            issuer: record.as_ref().map(|r| r.settings.issuer.clone()),
            unsent_grades,
            unsent_unknown,
            grading_rules_kept,
        };
        match &live {
            Some(live) => {
                let outcome = live.session.revoke_and_end().await;
                report.revoked = outcome.revoked;
                report.revocation_problem = outcome.revocation_problem;
                report.end_session_url = outcome.end_session_url;
            }
            None => {
                if let Some(record) = &record {
                    report.revocation_problem = Some("keychain_unreadable".into());
                    report.end_session_url = record
                        .settings
                        .client_config()
                        .ok()
                        .and_then(|client| {
                            Provider::with_metadata(
                                client,
                                record.metadata.clone(),
                                self.http.clone(),
                                Arc::clone(&self.clock),
                            )
                            .ok()
                        })
                        .and_then(|provider| provider.end_session_url());
                }
            }
        }
        self.live.lock().await.take();
        if report.shared_machine {
            crate::shared_session::note_ended(&self.paths)?;
        }
        let owner = match &live {
            Some(live) => Some(live.session.store_key().account()),
            None => record
                .as_ref()
                .and_then(|r| r.store_key().ok())
                .map(|k| k.account()),
        };
        if if_unsent == IfUnsent::Keep {
            drop(self.local.lock().await.take());
            report.unsent_grades = 0;
        } else {
            self.delete_local_store(owner.as_deref()).await?;
        }
        let _others_wait = self.process_lock.acquire().await?;
        // A session the keychain holds (or may hold: it could not be opened) is listed
        // before its record goes, so the list always finds what the record named.
        let persisted = live.as_ref().is_none_or(|l| l.session.is_persisted());
        if let Some(key) = record.as_ref().and_then(|r| r.store_key().ok()) {
            if persisted {
                wipe::remember(&self.paths, &key)?;
            }
            SessionRecord::delete_if_names(&self.paths, &key)?;
        }
        wipe::finish_pending(&self.paths, &self.store, &self.recorded_key()).await?;
        Ok(report)
    }
}
