//! What waits to be written back: the counts a sign-out, the window and the CLI ask for.

use rollbook_gradebook::store::Unsent;

use super::Grades;
use super::local_store::{MemoryReason, StoreLocation, store_path, with_store};
use crate::set_aside;
use crate::{Account, CoreError};

impl Account {
    /// What a sign-out would delete unsent: the count, or `UnsentUnknown` when it cannot
    /// be told (the session or the store cannot be opened while a store file exists).
    /// Not signed in, or no store at all, is none: nothing can be lost then.
    pub(crate) async fn unsent_for_sign_out(&self) -> Result<Unsent, CoreError> {
        match self.grades().unsent().await {
            Ok(n) => Ok(n),
            Err(CoreError::Auth(rollbook_auth::AuthError::NotSignedIn)) => Ok(Unsent::default()),
            Err(e @ CoreError::UnsentUnknown { .. }) => Err(e),
            Err(e) => {
                let path = crate::record::SessionRecord::load(self.paths())
                    .ok()
                    .flatten()
                    .and_then(|r| r.store_key().ok())
                    .map(|k| store_path(self, &k.account()));
                match path {
                    Some(path) if !path.exists() => Ok(Unsent::default()),
                    // A record whose owner is unknown, or whose store exists: fail closed.
                    path => Err(unsent_unknown(
                        &format!("{}: {e}", e.code()),
                        path.as_deref().and_then(set_aside::read_unsent),
                    )),
                }
            }
        }
    }

    /// How many classes' grading rules this sign-in keeps outside the store.
    pub(crate) async fn grading_rules_kept(&self) -> u32 {
        match self.live_session_info().await {
            Ok(live) => crate::grading_rules::count(self.paths(), &live.owner),
            Err(_) => 0,
        }
    }
}
impl Grades<'_> {
    /// How many grades and assignments wait to be written back (0 when the store was
    /// never opened in this process and has no file). `UnsentUnknown` when the store on
    /// disk cannot be opened now (the keychain would not give its key): the grades in
    /// memory can be counted, the ones on disk cannot.
    pub async fn unsent_grades(self) -> Result<u32, CoreError> {
        Ok(self.unsent().await?.total())
    }

    /// [`Self::unsent_grades`], grades apart from new assignments (as the status line
    /// counts them).
    pub async fn unsent(self) -> Result<Unsent, CoreError> {
        let Some(open) = self.account.existing_local_store().await? else {
            return Ok(Unsent::default());
        };
        let waiting = with_store(&open.store, |s| s.unsent()).await?;
        if open.location
            == (StoreLocation::Memory {
                why: MemoryReason::KeychainUnavailable,
            })
        {
            let owner = self.account.live_session_info().await?.owner;
            let path = store_path(self.account, &owner);
            if path.exists() {
                return Err(unsent_unknown(
                    "the keychain would not give the key of the gradebook saved on this computer",
                    set_aside::read_unsent(&path).map(|n| n.saturating_add(waiting.total())),
                ));
            }
        }
        Ok(waiting)
    }

    /// What `sign_out(IfUnsent::Discard)` would delete unsent, asked before it: a
    /// sign-out the keychain leaves unfinished (`sign_out_unfinished`) has deleted them
    /// all the same, and the teacher is told how many.
    pub async fn unsent_to_discard(self) -> Result<u32, CoreError> {
        Ok(self.account.unsent_for_sign_out().await?.total())
    }

    /// The grades and new assignments waiting to be sent that Rollbook closing would
    /// lose: those of a store kept in memory (a shared computer, `LocalStoreAllowed = 0`,
    /// a keychain that gave no key). An update must not restart over them. A store on
    /// disk keeps what waits across a restart: 0.
    pub async fn unsent_lost_on_restart(self) -> Result<u32, CoreError> {
        let waiting = self.unsent_grades().await?;
        let in_memory = matches!(
            self.account
                .local
                .lock()
                .await
                .as_ref()
                .map(|open| &open.location),
            Some(crate::gradebook::StoreLocation::Memory { .. })
        );
        Ok(if in_memory { waiting } else { 0 })
    }
}

pub(super) fn unsent_unknown(reason: &str, last_known: Option<u32>) -> CoreError {
    CoreError::UnsentUnknown {
        reason: reason.to_owned(),
        last_known: match last_known {
            Some(1) => ", 1 was waiting when last counted".to_owned(),
            Some(n) => format!(", {n} were waiting when last counted"),
            None => String::new(),
        },
    }
}
