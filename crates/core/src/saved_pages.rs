//! The pages the window shows (the class list and each class's roster), kept in the
//! teacher's encrypted local store as they were last read:
//! - **warm start:** a signed-in start shows the last copy at once, from this computer,
//!   before the session is checked or the roster source is asked, then replaces it;
//! - **offline:** when the roster source or the provider cannot be reached, the saved
//!   copy is shown with when it was read and why it is not fresher.
//!
//! The copies live only in the store (never a plain file), go with it at sign-out, and
//! stay in memory on a shared machine. Keeping one is never worth failing a page over:
//! a store that cannot save or read is logged and the page is shown without it.

use std::future::Future;

use rollbook_gradebook::ClassId;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::gradebook::with_store;
use crate::{
    Account, ClassSummary, CoreError, LastView, RosterSort, Rosters, Student, TermFilter, WhoAmI,
    sort_students, wipe,
};

/// A page's data with when the server gave it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Dated<T> {
    pub value: T,
    /// When the server gave it (RFC 3339).
    pub read_at: String,
    /// `None` when this read reached the server; otherwise why the saved copy is shown.
    pub offline_reason: Option<String>,
}

/// What a signed-in start can show before anything is asked of the network: who is
/// signed in (not yet checked with the provider), the last class list, and the class
/// page the window showed last.
#[derive(Debug, Clone)]
pub struct SavedStart {
    pub who: WhoAmI,
    pub last_view: Option<LastView>,
    pub classes: Option<Dated<Vec<ClassSummary>>>,
    /// The last view's roster, when the last view was a roster.
    pub roster: Option<Dated<Vec<Student>>>,
}

fn classes_page_name(filter: TermFilter) -> &'static str {
    match filter {
        TermFilter::Current => "classes:current",
        TermFilter::All => "classes:all",
    }
}

fn roster_page_name(class_id: &str) -> String {
    format!("roster:{class_id}")
}

impl Rosters<'_> {
    /// The teacher's classes from the roster source, kept for the next start; offline,
    /// the saved copy with the reason (an error when there is none).
    pub async fn classes_page(
        self,
        filter: TermFilter,
    ) -> Result<Dated<Vec<ClassSummary>>, CoreError> {
        self.account
            .read_and_keep(classes_page_name(filter), self.classes(filter))
            .await
    }

    /// A class's roster from the roster source in the roster's default order (family
    /// name, then first name), kept for the next start; offline, the saved copy with the
    /// reason (an error when there is none).
    pub async fn roster_page(self, class_id: &ClassId) -> Result<Dated<Vec<Student>>, CoreError> {
        let mut page = self
            .account
            .read_and_keep(
                &roster_page_name(class_id.as_str()),
                self.students(class_id),
            )
            .await?;
        sort_students(&mut page.value, RosterSort::default(), false);
        Ok(page)
    }
}

/// What a signed-in start shows before the network answers: the last class list and
/// class page, and which page the window showed last. Got from [`Account::warm_start`].
#[derive(Debug, Clone, Copy)]
pub struct WarmStart<'a> {
    account: &'a Account,
}

impl Account {
    /// What this session keeps for the next start.
    pub fn warm_start(&self) -> WarmStart<'_> {
        WarmStart { account: self }
    }
}

impl WarmStart<'_> {
    /// What a signed-in start shows at once, from this computer only: no provider or
    /// roster call is made. `None` when signed out, when an earlier sign-out still has
    /// to finish (the window must say so first), or in a shared-machine session.
    pub async fn saved_start(self) -> Result<Option<SavedStart>, CoreError> {
        if !wipe::pending(self.account.paths()).is_empty() {
            return Ok(None);
        }
        let Some(who) = self.account.who_is_saved().await? else {
            return Ok(None);
        };
        if who.shared_machine {
            return Ok(None);
        }
        let last_view = self.account.last_view().await?;
        let classes = self
            .account
            .saved(classes_page_name(TermFilter::Current))
            .await;
        let roster = match &last_view {
            Some(view) if view.page == crate::ClassPage::Roster => self
                .account
                .saved(&roster_page_name(&view.class_id))
                .await
                .map(|mut page: Dated<Vec<Student>>| {
                    sort_students(&mut page.value, RosterSort::default(), false);
                    page
                }),
            _ => None,
        };
        Ok(Some(SavedStart {
            who,
            last_view,
            classes,
            roster,
        }))
    }

    /// The class page the window showed last in this session, if any.
    pub async fn last_view(self) -> Result<Option<LastView>, CoreError> {
        self.account.last_view().await
    }

    /// Remembers the class page the window shows (`None`: the class list), so the next
    /// start reopens it. Kept in the session record, so it goes with the session.
    pub async fn remember_view(self, view: Option<LastView>) -> Result<(), CoreError> {
        self.account.remember_view(view).await
    }
}

impl Account {
    pub(crate) async fn read_and_keep<T, F>(
        &self,
        name: &str,
        read: F,
    ) -> Result<Dated<T>, CoreError>
    where
        T: Serialize + DeserializeOwned,
        F: Future<Output = Result<T, CoreError>>,
    {
        let read_at = self.now_rfc3339();
        match read.await {
            Ok(value) => {
                self.keep(name, &value, &read_at).await;
                Ok(Dated {
                    value,
                    read_at,
                    offline_reason: None,
                })
            }
            Err(e) if e.is_offline() => match self.saved(name).await {
                Some(saved) => Ok(Dated {
                    offline_reason: Some(e.to_string()),
                    ..saved
                }),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn keep<T: Serialize>(&self, name: &str, value: &T, read_at: &str) {
        let Ok(body) = serde_json::to_string(value) else {
            return;
        };
        let kept = async {
            let open = self.local_store().await?;
            let (name, read_at) = (name.to_owned(), read_at.to_owned());
            with_store(&open.store, move |s| s.save_page(&name, &body, &read_at)).await
        };
        if let Err(e) = kept.await {
            tracing::warn!(code = %e.code(), page = name.split(':').next().unwrap_or_default(), "a page could not be kept on this computer for the next start");
        }
    }

    /// The copy saved under `name`, if the store has one and it still reads.
    async fn saved<T: DeserializeOwned>(&self, name: &str) -> Option<Dated<T>> {
        let found = async {
            // Looking never creates a store (and a keychain key) that was not there.
            let Some(open) = self.existing_local_store().await? else {
                return Ok(None);
            };
            let owned = name.to_owned();
            with_store(&open.store, move |s| s.saved_page(&owned)).await
        };
        match found.await {
            Ok(Some(page)) => match serde_json::from_str(&page.body) {
                Ok(value) => Some(Dated {
                    value,
                    read_at: page.read_at,
                    offline_reason: None,
                }),
                // Kept by an older build in another shape: not shown, replaced next read.
                Err(_) => None,
            },
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(code = %e.code(), "the saved copy of a page could not be read");
                None
            }
        }
    }
}
