//! A class's gradebook: read from the district into the store, edited, written back
//! and exported.

use std::path::PathBuf;
use std::sync::Arc;

use rollbook_gradebook::store::{CellChange, CellView, GradebookView, NewLineItem, Resolution};
use rollbook_gradebook::{
    ClassId, GradebookError, GradingRules, LineItemId, StudentId, SyncError, SyncOptions,
    SyncReport,
};
use serde::Serialize;

use super::Grades;
use super::local_store::{MemoryReason, StoreLocation, note_unsent, with_store};
use crate::set_aside::SetAsideStore;
use crate::{Account, CoreError};

/// A class's gradebook for the window or the CLI: the store's view, where the store
/// lives, and whether this read reached the server.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GradebookPage {
    pub gradebook: GradebookView,
    pub location: StoreLocation,
    /// `None` when the server answered; otherwise why the saved copy is shown.
    pub offline_reason: Option<String>,
    /// A store set aside when this one was opened (code `store_set_aside`): the window
    /// tells the teacher, with how many unsent grades it held.
    pub set_aside: Option<SetAsideStore>,
}

impl Account {
    pub(crate) fn now_rfc3339(&self) -> String {
        let seconds = self.clock().unix_now();
        jiff::Timestamp::from_second(seconds)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string())
            .unwrap_or_default()
    }
}
impl Grades<'_> {
    /// The class's gradebook as last saved on this computer (a warm start, or offline).
    pub async fn saved_gradebook(
        self,
        class_id: &ClassId,
    ) -> Result<Option<GradebookPage>, CoreError> {
        let open = self.account.local_store().await?;
        let id = class_id.clone();
        let view = with_store(&open.store, move |s| s.gradebook(&id)).await?;
        Ok(view.map(|gradebook| GradebookPage {
            gradebook,
            location: open.location.clone(),
            offline_reason: None,
            set_aside: open.set_aside_notice(),
        }))
    }

    /// Reads the class's gradebook from the roster source into the store and returns it
    /// with the teacher's edits on top. When the source cannot be reached, the saved copy
    /// is returned with the reason (a class never read before is an error then).
    pub async fn gradebook_page(self, class_id: &ClassId) -> Result<GradebookPage, CoreError> {
        let open = self.account.local_store().await?;
        let now = self.account.now_rfc3339();
        let fetched = self
            .account
            .with_roster(|client, _| {
                let now = now.clone();
                async move {
                    let (class, snapshot) = tokio::join!(
                        client.class(class_id.as_str()),
                        rollbook_gradebook::fetch_snapshot(&client, class_id.as_str(), "", &now)
                    );
                    let mut snapshot = snapshot?;
                    snapshot.title = class?.title;
                    Ok::<_, CoreError>(snapshot)
                }
            })
            .await;
        let offline_reason = match fetched {
            Ok(snapshot) => {
                with_store(&open.store, move |s| s.save_snapshot(&snapshot)).await?;
                note_unsent(&open).await;
                None
            }
            Err(e) if e.is_offline() => Some(e.to_string()),
            Err(e) => return Err(e),
        };
        let id = class_id.clone();
        match with_store(&open.store, move |s| s.gradebook(&id)).await? {
            Some(gradebook) => Ok(GradebookPage {
                gradebook,
                location: open.location.clone(),
                offline_reason,
                set_aside: open.set_aside_notice(),
            }),
            None => Err(GradebookError::NotFound {
                what: "class",
                id: class_id.as_str().to_owned(),
            }
            .into()),
        }
    }

    /// Changes one cell; when this returns the change is committed on this computer.
    pub async fn enter_grade(
        self,
        class_id: &ClassId,
        line_item_id: &LineItemId,
        student_id: &StudentId,
        change: CellChange,
    ) -> Result<CellView, CoreError> {
        let open = self.account.local_store().await?;
        let (class, item, student, now) = (
            class_id.clone(),
            line_item_id.clone(),
            student_id.clone(),
            self.account.now_rfc3339(),
        );
        let cell = with_store(&open.store, move |s| {
            s.enter(&class, &item, &student, change, &now)
        })
        .await?;
        note_unsent(&open).await;
        Ok(cell)
    }

    /// Adds an assignment (a line item with a client-chosen id) to the class.
    pub async fn create_assignment(
        self,
        class_id: &ClassId,
        new: NewLineItem,
    ) -> Result<String, CoreError> {
        let open = self.account.local_store().await?;
        let class = class_id.clone();
        let id = with_store(&open.store, move |s| s.create_line_item(&class, &new)).await?;
        note_unsent(&open).await;
        Ok(id)
    }

    pub async fn resolve_conflict(
        self,
        line_item_id: &LineItemId,
        student_id: &StudentId,
        resolution: Resolution,
    ) -> Result<rollbook_gradebook::CellState, CoreError> {
        let open = self.account.local_store().await?;
        let (item, student) = (line_item_id.clone(), student_id.clone());
        let state =
            with_store(&open.store, move |s| s.resolve(&item, &student, resolution)).await?;
        note_unsent(&open).await;
        Ok(state)
    }

    pub async fn set_grading_rules(
        self,
        class_id: &ClassId,
        rules: GradingRules,
    ) -> Result<(), CoreError> {
        let open = self.account.local_store().await?;
        let class = class_id.clone();
        let kept = rules.clone();
        with_store(&open.store, move |s| s.set_rules(&class, &rules)).await?;
        // Kept outside the store too, so they outlive a sign-out; not where the rule is
        // that nothing is kept on this computer (a shared one, or the district's policy).
        let keep_on_disk = !matches!(
            open.location,
            StoreLocation::Memory {
                why: MemoryReason::SharedMachine | MemoryReason::Policy
            }
        );
        if keep_on_disk {
            let owner = self.account.live_session_info().await?.owner;
            crate::grading_rules::save(self.account.paths(), &owner, class_id.as_str(), &kept)?;
        }
        Ok(())
    }

    /// Sends every waiting write. With `now`, writes waiting out a backoff go too: only
    /// for the teacher's own "Sync now" (`rollbook sync`, the window's button). Automatic
    /// syncs pass `false`, so a district's `Retry-After` is honoured.
    pub async fn sync_grades(self, now: bool) -> Result<SyncReport, CoreError> {
        let open = self.account.local_store().await?;
        if now {
            with_store(&open.store, |s| s.retry_now()).await?;
        }
        let store = Arc::clone(&open.store);
        let options = SyncOptions::default();
        let reached = self
            .account
            .with_roster(|client, _| {
                let store = Arc::clone(&store);
                let options = options.clone();
                async move {
                    rollbook_gradebook::sync(&store, &client, &options)
                        .await
                        .map_err(|e| match e {
                            SyncError::Store(g) => CoreError::Gradebook(g),
                            SyncError::Unauthorized(r) => CoreError::Roster(r),
                        })
                }
            })
            .await;
        note_unsent(&open).await;
        match reached {
            // No roster source at all (offline before the first call): nothing was sent.
            Err(e) if e.is_offline() => {
                let (waiting, held) = with_store(&open.store, |s| s.outbox_counts()).await?;
                Ok(SyncReport {
                    offline: true,
                    waiting,
                    held,
                    ..SyncReport::default()
                })
            }
            other => other,
        }
    }

    /// The class's gradebook as CSV (from this computer's copy, edits included).
    pub async fn gradebook_csv(self, class_id: &ClassId) -> Result<String, CoreError> {
        // ExportAllowed (H7): every export, the CLI's and the window's, passes here.
        self.account.allow_export()?;
        let page =
            self.saved_gradebook(class_id)
                .await?
                .ok_or_else(|| GradebookError::NotFound {
                    what: "class",
                    id: class_id.as_str().to_owned(),
                })?;
        rollbook_gradebook::export::gradebook_csv(&page.gradebook).map_err(|e| {
            CoreError::Gradebook(GradebookError::Store {
                action: "exported",
                detail: e.to_string(),
            })
        })
    }

    /// Writes the CSV export into the teacher's Downloads folder (their home folder when
    /// there is none) as "<class> gradebook <date>.csv", never over an existing file.
    /// This is the one place grades leave the encrypted store, at the teacher's request.
    pub async fn export_gradebook(self, class_id: &ClassId) -> Result<PathBuf, CoreError> {
        let csv = self.gradebook_csv(class_id).await?;
        let title = self
            .saved_gradebook(class_id)
            .await?
            .map(|p| p.gradebook.title)
            .unwrap_or_default();
        let dirs = directories::UserDirs::new().ok_or(CoreError::NoAppFolders)?;
        let folder = dirs
            .download_dir()
            .unwrap_or_else(|| dirs.home_dir())
            .to_path_buf();
        let safe = file_name_title(&title);
        let stem = format!(
            "{} gradebook {}",
            if safe.is_empty() { "Class" } else { &safe },
            self.account.today()
        );
        std::fs::create_dir_all(&folder).map_err(|source| CoreError::Io {
            action: "create",
            path: folder.display().to_string(),
            source,
        })?;
        for n in 1..1000 {
            let name = if n == 1 {
                format!("{stem}.csv")
            } else {
                format!("{stem} ({n}).csv")
            };
            let path = folder.join(name);
            match rollbook_owner_only::open(
                std::fs::OpenOptions::new().write(true).create_new(true),
                &path,
            ) {
                Ok(mut file) => {
                    use std::io::Write;
                    file.write_all(csv.as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(|source| CoreError::Io {
                            action: "write",
                            path: path.display().to_string(),
                            source,
                        })?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => {
                    return Err(CoreError::Io {
                        action: "write",
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }
        Err(GradebookError::Invalid("too many exports of this class today".into()).into())
    }
}

/// A class's title as the start of a file name: letters, digits, spaces, `-` and `_`
/// only, and at most [`FILE_TITLE_CHARS`] characters (a district's title has no limit,
/// and Windows refuses paths past 260 characters and names past 255).
fn file_name_title(title: &str) -> String {
    let words = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " -_".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    words
        .chars()
        .take(FILE_TITLE_CHARS)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

const FILE_TITLE_CHARS: usize = 80;

#[cfg(test)]
mod file_name_tests {
    use super::*;

    #[test]
    fn a_class_title_becomes_a_short_safe_file_name() {
        assert_eq!(
            file_name_title("Algebra I: Period 3/4"),
            "Algebra I Period 3 4"
        );
        assert_eq!(file_name_title("..\\..//"), "");
        let long = file_name_title(&"Very long title ".repeat(40));
        assert!(long.chars().count() <= FILE_TITLE_CHARS, "{long}");
        assert!(!long.ends_with(' '));
    }
}
