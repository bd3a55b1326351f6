//! What waits for the teacher outside the grid's cells (set-aside stores, orphaned
//! edits, held new assignments) and how each is settled.

use std::path::{Path, PathBuf};

use rollbook_auth::call_store;
use rollbook_gradebook::store::{GradeStore, OrphanAction, OrphanReason, StoreKey};
use rollbook_gradebook::{CellValue, ClassId, GradebookError, LineItemId, StudentId};
use serde::{Deserialize, Serialize};

use super::Grades;
use super::local_store::{note_unsent, store_path, with_store};
use super::store_key::{spelled_key_account, store_key_account};
use crate::set_aside::{self, SetAsideReason, SetAsideStore};
use crate::{Account, CoreError};

/// What waits for the teacher outside the grid's cells: stores set aside, edits whose
/// assignment or student is gone, and new assignments the district refused. Each is
/// settled with `account.grades().settle_attention`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Attention {
    /// This sign-in's set-aside stores the teacher has not kept or discarded.
    pub set_aside: Vec<SetAsideStore>,
    pub orphans: Vec<OrphanEdit>,
    pub held: Vec<HeldAssignment>,
}

/// An edit with no cell to show it (see [`rollbook_gradebook::store::Orphan`]).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OrphanEdit {
    pub line_item_id: String,
    pub student_id: String,
    /// The assignment's title as last known; `None` when the store never had it.
    pub assignment: Option<String>,
    /// "Family, Given" while the student is on the roster; `None` once they left.
    pub student: Option<String>,
    pub why: OrphanReason,
    pub value: CellValue,
    /// When the teacher made the edit (RFC 3339).
    pub edited_at: String,
    /// The teacher chose to keep it (in this window's life): shown, not asked again.
    pub kept: bool,
}

/// A new assignment the district refused (or found in conflict), with the grades
/// waiting behind it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HeldAssignment {
    pub line_item_id: String,
    pub title: String,
    pub why: HeldReason,
    pub grades: u32,
    pub kept: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum HeldReason {
    /// The district refused to create it.
    Refused,
    /// The district holds another record under its id.
    Conflict,
}

/// What waits for the teacher outside the cells, counted over every class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttentionCounts {
    pub orphans: u32,
    pub held_assignments: u32,
}

/// One thing to settle, as the window names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum AttentionItem {
    /// A set-aside store, by the path [`SetAsideStore::path`] gave.
    #[serde(rename_all = "camelCase")]
    SetAside { path: String },
    #[serde(rename_all = "camelCase")]
    Orphan {
        line_item_id: String,
        student_id: String,
    },
    #[serde(rename_all = "camelCase")]
    Held { line_item_id: String },
}

/// What the teacher does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum SettleAction {
    /// Leave it as it is (still counted as unsent); stop asking.
    Keep,
    /// A set-aside store: open it again with a key found in the keychain. An edit or
    /// assignment: send it with the next sync.
    Retry,
    /// Delete it (the window asks twice first).
    Discard,
}

impl From<SettleAction> for OrphanAction {
    fn from(action: SettleAction) -> Self {
        match action {
            SettleAction::Keep => OrphanAction::Keep,
            SettleAction::Retry => OrphanAction::Retry,
            SettleAction::Discard => OrphanAction::Discard,
        }
    }
}

impl Account {
    /// This sign-in's set-aside stores (named after its store) not yet kept.
    pub(super) async fn own_set_aside_stores(&self) -> Result<Vec<SetAsideStore>, CoreError> {
        let owner = self.live_session_info().await?.owner;
        let store = store_path(self, &owner);
        Ok(set_aside::list(self.paths())
            .into_iter()
            .filter(|s| set_aside::store_of(Path::new(&s.path)).as_deref() == Some(&*store))
            .filter(|s| !set_aside::is_kept(Path::new(&s.path)))
            .collect())
    }

    pub(super) async fn settle_set_aside(
        &self,
        path: &str,
        action: SettleAction,
    ) -> Result<(), CoreError> {
        // Only a path Rollbook itself listed for this sign-in: the window's word alone
        // never names a file to delete.
        let owner = self.live_session_info().await?.owner;
        let store = store_path(self, &owner);
        let Some(aside) = set_aside::list(self.paths()).into_iter().find(|s| {
            s.path == path && set_aside::store_of(Path::new(&s.path)).as_deref() == Some(&*store)
        }) else {
            return Err(GradebookError::NotFound {
                what: "set-aside gradebook",
                id: path.to_owned(),
            }
            .into());
        };
        let aside_path = PathBuf::from(&aside.path);
        match action {
            SettleAction::Keep => set_aside::keep(&aside_path),
            SettleAction::Discard => set_aside::discard(&aside_path),
            SettleAction::Retry => self.reopen_set_aside(&aside, &store, &owner).await,
        }
    }

    /// Opens a set-aside store again with a key the keychain holds now (restored, or
    /// saved under another spelling of the data folder), and makes it the store in use
    /// again; the one started in its place must hold nothing unsent.
    pub(super) async fn reopen_set_aside(
        &self,
        aside: &SetAsideStore,
        store: &Path,
        owner: &str,
    ) -> Result<(), CoreError> {
        if aside.reason == SetAsideReason::OtherOwner {
            return Err(CoreError::NotSettled(
                "This set-aside gradebook belongs to another sign-in, so it cannot be opened as yours. Keep it for your IT team, or discard it.".into(),
            ));
        }
        let aside_path = PathBuf::from(&aside.path);
        let mut keys = Vec::new();
        for account in [store_key_account(store), spelled_key_account(store)] {
            let found = call_store(self.store(), move |s| s.load_secret(&account)).await?;
            if let Some(key) = found.as_deref().and_then(StoreKey::from_hex)
                && !keys.contains(&key)
            {
                keys.push(key);
            }
        }
        let opens = {
            let (aside_path, owner) = (aside_path.clone(), owner.to_owned());
            tokio::task::spawn_blocking(move || {
                keys.into_iter().find(|key| {
                    GradeStore::open(&aside_path, key)
                        .and_then(|s| s.owner())
                        .is_ok_and(|o| o.is_none_or(|o| o == owner))
                })
            })
            .await
            .map_err(|e| GradebookError::Store {
                action: "opened",
                detail: e.to_string(),
            })?
        };
        let Some(key) = opens else {
            return Err(CoreError::NotSettled(format!(
                "The set-aside gradebook still cannot be opened: {}, and no key in this computer's keychain opens it. Restore the keychain it was made with and try again, or keep it for your IT team.",
                aside.reason.why()
            )));
        };
        let mut slot = self.local.lock().await;
        if let Some(open) = slot.as_ref() {
            // Counted and closed under one hold of the store's lock: a grade entered by a
            // call that picked this store up before the swap is either counted (and the
            // swap refused) or fails, never written into files about to be deleted.
            let unsent = with_store(&open.store, |s| {
                let unsent = s.unsent_count()?;
                if unsent == 0 {
                    s.close_for_good()?;
                }
                Ok(unsent)
            })
            .await?;
            if unsent > 0 {
                return Err(CoreError::NotSettled(format!(
                    "The gradebook in use holds {} not yet sent. Send {} (Sync now) or settle {} first, then try again.",
                    if unsent == 1 {
                        "1 grade".to_owned()
                    } else {
                        format!("{unsent} grades")
                    },
                    if unsent == 1 { "it" } else { "them" },
                    if unsent == 1 { "it" } else { "them" },
                )));
            }
        }
        // The store started in its place holds nothing unsent: it goes, the set-aside
        // one takes its name, and its key is saved as the store's. The next call opens it.
        drop(slot.take());
        set_aside::delete(store)?;
        set_aside::restore(&aside_path, store)?;
        let (account, text) = (store_key_account(store), key.to_hex());
        call_store(self.store(), move |s| s.save_secret(&account, &text)).await?;
        tracing::info!("a set-aside gradebook was opened again with a key from the keychain");
        Ok(())
    }
}
impl Grades<'_> {
    /// What waits for the teacher outside the class's cells (see [`Attention`]).
    pub async fn gradebook_attention(self, class_id: &ClassId) -> Result<Attention, CoreError> {
        let open = self.account.local_store().await?;
        let class = class_id.clone();
        let (orphans, held, names) = with_store(&open.store, move |s| {
            let orphans: Vec<_> = s
                .orphans()?
                .into_iter()
                .filter(|o| o.class_id == class.as_str())
                .collect();
            let held = s.held_line_items(&class)?;
            let names: std::collections::HashMap<String, String> = s
                .gradebook(&class)?
                .map(|g| {
                    g.students
                        .into_iter()
                        .map(|n| (n.sourced_id, format!("{}, {}", n.family_name, n.given_name)))
                        .collect()
                })
                .unwrap_or_default();
            Ok((orphans, held, names))
        })
        .await?;
        let orphans = orphans
            .into_iter()
            .map(|o| OrphanEdit {
                kept: open.is_kept(&orphan_key(&o.line_item_id, &o.student_id)),
                student: names.get(&o.student_id).cloned(),
                assignment: o.line_item_title,
                line_item_id: o.line_item_id,
                student_id: o.student_id,
                why: o.reason,
                value: o.value,
                edited_at: o.edited_at,
            })
            .collect();
        let held = held
            .into_iter()
            .map(|h| HeldAssignment {
                kept: open.is_kept(&held_key(&h.line_item_id)),
                why: if h.conflict {
                    HeldReason::Conflict
                } else {
                    HeldReason::Refused
                },
                line_item_id: h.line_item_id,
                title: h.title,
                grades: h.grades,
            })
            .collect();
        Ok(Attention {
            set_aside: self.account.own_set_aside_stores().await?,
            orphans,
            held,
        })
    }

    /// How many orphaned edits and held new assignments wait, over every class (the
    /// CLI's sync report); set-aside stores are told apart (`store_set_aside`).
    pub async fn attention_counts(self) -> Result<AttentionCounts, CoreError> {
        let open = self.account.local_store().await?;
        with_store(&open.store, |s| {
            let orphans = u32::try_from(s.orphans()?.len()).unwrap_or(u32::MAX);
            let mut held_assignments = 0u32;
            for (class, _, _) in s.classes()? {
                let held = u32::try_from(s.held_line_items(&ClassId::from(class))?.len())
                    .unwrap_or(u32::MAX);
                held_assignments = held_assignments.saturating_add(held);
            }
            Ok(AttentionCounts {
                orphans,
                held_assignments,
            })
        })
        .await
    }

    /// Keeps, retries or discards one thing waiting for the teacher.
    pub async fn settle_attention(
        self,
        item: AttentionItem,
        action: SettleAction,
    ) -> Result<(), CoreError> {
        match item {
            AttentionItem::SetAside { path } => self.account.settle_set_aside(&path, action).await,
            AttentionItem::Orphan {
                line_item_id,
                student_id,
            } => {
                let open = self.account.local_store().await?;
                let key = orphan_key(&line_item_id, &student_id);
                with_store(&open.store, move |s| {
                    s.settle_orphan(
                        &LineItemId::from(line_item_id),
                        &StudentId::from(student_id),
                        action.into(),
                    )
                })
                .await?;
                open.mark_kept(key, action == SettleAction::Keep);
                note_unsent(&open).await;
                Ok(())
            }
            AttentionItem::Held { line_item_id } => {
                let open = self.account.local_store().await?;
                let key = held_key(&line_item_id);
                with_store(&open.store, move |s| {
                    s.settle_held_line_item(&LineItemId::from(line_item_id), action.into())
                })
                .await?;
                open.mark_kept(key, action == SettleAction::Keep);
                note_unsent(&open).await;
                Ok(())
            }
        }
    }
}

pub(super) fn orphan_key(line_item_id: &str, student_id: &str) -> String {
    format!("o:{line_item_id}\u{1f}{student_id}")
}

pub(super) fn held_key(line_item_id: &str) -> String {
    format!("h:{line_item_id}")
}
