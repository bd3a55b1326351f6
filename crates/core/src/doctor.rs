//! `rollbook doctor`: checks that explain what stands between this computer and a
//! working sign-in.

use serde::Serialize;

use rollbook_auth::{IssuerUrl, ProviderMetadata, call_store, clock_skew};

use crate::policy::{self, ResolvedSettings};
use crate::record::SessionRecord;
use crate::{Account, BuildDefaults, CoreError, Preferences};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Warn,
    Fail,
}

/// One check's verdict with an explanation a teacher or IT admin can act on.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: CheckStatus,
    pub detail: String,
    pub code: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: CheckStatus::Ok,
            detail: detail.into(),
            code: None,
        }
    }

    fn problem(
        name: &'static str,
        status: CheckStatus,
        code: impl std::fmt::Display,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
            code: Some(code.to_string()),
        }
    }
}

/// Largest clock difference that still lets ID tokens verify (their leeway is 60 s).
const MAX_SKEW_SECS: i64 = 60;

impl Account {
    /// Every setting in force on this computer and where it came from: managed policy
    /// (machine, then user), the teacher's settings, this build's defaults.
    pub fn effective_settings(&self) -> ResolvedSettings {
        policy::resolve(
            &policy::system_sources(),
            &Preferences::load(self.paths()),
            &BuildDefaults::of_this_build(),
        )
    }

    /// Runs every check, starting with `settings` (from [`Self::effective_settings`],
    /// which the caller also prints, so policy is read once). `issuer` overrides the
    /// signed-in session's provider.
    pub async fn doctor(&self, issuer: Option<&str>, settings: &ResolvedSettings) -> Vec<Check> {
        let mut checks = self.settings_checks(settings);
        let record = self.record_check(&mut checks);
        let issuer_text = issuer
            .map(str::to_owned)
            .or_else(|| record.as_ref().map(|r| r.settings.issuer.clone()));
        checks.extend(self.provider_checks(issuer_text).await);
        // Why a sign-in page might not open (the window offers the link after a few seconds).
        checks.push(match crate::browser::browser_problem() {
            None => Check::ok("browser", "sign-in pages can open in a browser"),
            Some((code, detail)) => Check::problem("browser", CheckStatus::Warn, code, detail),
        });
        checks.push(match call_store(self.store(), |s| s.probe()).await {
            Ok(()) => Check::ok("keychain", "the system keychain stores and returns secrets"),
            Err(e) => Check::problem("keychain", CheckStatus::Fail, e.code(), e.to_string()),
        });
        if issuer.is_none()
            && let Some(record) = &record
        {
            checks.push(self.roster_check(record).await);
        }
        checks.extend(self.set_aside_checks());
        if let Some((folder, names)) = self.roaming_data_kept() {
            checks.push(Check::problem(
                "data",
                CheckStatus::Warn,
                "roaming_data_kept",
                format!(
                    "the old roaming data folder {} still holds {} entr{} ({}) that were not moved to the local data folder, because it has entries of those names or they were in use; compare, then delete one (docs/it-admins.md)",
                    folder.display(),
                    names.len(),
                    if names.len() == 1 { "y" } else { "ies" },
                    names.join(", ")
                ),
            ));
        }
        checks
    }

    /// What the settings in force say: policy read (and what it ignored), the log, updates.
    fn settings_checks(&self, settings: &ResolvedSettings) -> Vec<Check> {
        let mut checks = Vec::new();
        if settings.problems.is_empty() {
            let locked = settings
                .settings
                .iter()
                .filter(|e| e.origin.is_policy())
                .count();
            checks.push(Check::ok(
                "policy",
                format!("{locked} setting(s) set by policy, none ignored"),
            ));
        }
        for problem in &settings.problems {
            // Unreadable policy fails closed, and IT must hear of it (H7).
            let (status, code) = if problem.unreadable {
                (CheckStatus::Fail, "policy_unreadable")
            } else {
                (CheckStatus::Warn, "policy_invalid")
            };
            checks.push(Check::problem("policy", status, code, problem.to_string()));
        }
        // Where IT finds what happened (H7).
        checks.push(Check::ok(
            "log",
            format!(
                "log file: {} (level {}, from {})",
                crate::log_dir(self.paths())
                    .join(crate::LOG_FILE_NAME)
                    .display(),
                settings.log_level(),
                settings
                    .get(crate::policy::Key::LogLevel)
                    .map(|e| e.origin.to_string())
                    .unwrap_or_default()
            ),
        ));
        // Whether the window asks for updates, and where (IT's first question when a lab
        // pushes its own installs).
        checks.push(Check::ok(
            "updates",
            match settings.update_check() {
                policy::UpdateCheck::Off { why } => why,
                policy::UpdateCheck::Check { mirror: Some(url) } => format!(
                    "the window looks for updates when it starts, at {url} (UpdateUrl); the teacher installs them"
                ),
                policy::UpdateCheck::Check { mirror: None } => {
                    "the window looks for updates when it starts, at Rollbook's releases; the teacher installs them".to_owned()
                }
            },
        ));
        checks
    }

    /// The saved session's record, checked as it is read.
    fn record_check(&self, checks: &mut Vec<Check>) -> Option<SessionRecord> {
        match SessionRecord::load(self.paths()) {
            Ok(record) => {
                checks.push(Check::ok(
                    "config",
                    match &record {
                        Some(r) => format!(
                            "signed in with {} as client {}",
                            r.settings.issuer, r.settings.client_id
                        ),
                        None => "not signed in; no saved session".to_owned(),
                    },
                ));
                record
            }
            Err(e) => {
                checks.push(Check::problem(
                    "config",
                    CheckStatus::Fail,
                    e.code(),
                    e.to_string(),
                ));
                None
            }
        }
    }

    /// Whether the provider at `issuer` answers, and whether this computer's clock agrees
    /// with it.
    async fn provider_checks(&self, issuer: Option<String>) -> Vec<Check> {
        let mut checks = Vec::new();
        match issuer.map(IssuerUrl::new) {
            None => checks.push(Check::problem(
                "discovery",
                CheckStatus::Warn,
                "no_issuer",
                "no provider configured; pass --issuer to check one",
            )),
            Some(Err(e)) => checks.push(Check::problem(
                "discovery",
                CheckStatus::Fail,
                e.code(),
                e.to_string(),
            )),
            Some(Ok(issuer)) => {
                match ProviderMetadata::discover(self.http(), &issuer).await {
                    Ok(_) => checks.push(Check::ok("discovery", format!("{} answers and its metadata checks out", issuer.as_str()))),
                    Err(e) => checks.push(Check::problem(
                        "discovery",
                        CheckStatus::Fail,
                        e.code(),
                        format!("{e}. Check the issuer URL, the network, and any proxy or TLS inspection (Rollbook trusts the system's certificate store)"),
                    )),
                }
                match clock_skew(self.http(), &issuer, self.clock().as_ref()).await {
                    Ok(skew) if skew.abs() <= MAX_SKEW_SECS => checks.push(Check::ok("clock", format!("within {} s of the provider's clock", skew.abs()))),
                    Ok(skew) => checks.push(Check::problem(
                        "clock",
                        CheckStatus::Fail,
                        "clock_skew",
                        format!("this computer's clock is {skew} s off the provider's; sign-in will fail until the clock is set right"),
                    )),
                    Err(e) => checks.push(Check::problem("clock", CheckStatus::Warn, e.code(), format!("could not compare clocks: {e}"))),
                }
            }
        }
        checks
    }

    /// One warning per gradebook store set aside (never deleted), with when and what it
    /// held, so IT can find the file and the teacher's unsent grades are not forgotten.
    fn set_aside_checks(&self) -> Vec<Check> {
        let stores = self.grades().set_aside_stores();
        if stores.is_empty() {
            return vec![Check::ok("gradebook", "no gradebook has been set aside")];
        }
        stores
            .into_iter()
            .map(|store| {
                let when = jiff::Timestamp::from_second(store.set_aside_at)
                    .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default();
                let held = match store.unsent {
                    Some(1) => "1 grade not yet sent".to_owned(),
                    Some(n) => format!("{n} grades not yet sent"),
                    None => "an unknown number of grades not yet sent".to_owned(),
                };
                Check::problem(
                    "gradebook",
                    CheckStatus::Warn,
                    store.code,
                    format!(
                        "{} was set aside on {when} because {}; it holds {held}",
                        store.path,
                        store.reason.why()
                    ),
                )
            })
            .collect()
    }

    /// Whether the signed-in teacher can read rosters: configured, found, answering.
    async fn roster_check(&self, record: &SessionRecord) -> Check {
        if record.settings.oneroster_url.is_none() {
            return Check::problem(
                "roster",
                CheckStatus::Warn,
                "roster_not_configured",
                "no OneRoster server is set up for this sign-in; classes and rosters are unavailable",
            );
        }
        let checked = async {
            let (client, teacher) = self.roster_context().await?;
            client.academic_sessions().await?;
            Ok::<_, crate::CoreError>(teacher)
        };
        match checked.await {
            Ok(teacher) => Check::ok(
                "roster",
                format!(
                    "the roster server answers; you are {} there (found by {})",
                    teacher.sourced_id, teacher.source
                ),
            ),
            Err(e) => Check::problem("roster", CheckStatus::Fail, e.code(), e.to_string()),
        }
    }
}

/// The Tauri identifier the window's web view names its folders after.
const WEBVIEW_IDENTIFIER: &str = "org.rollbook.desktop";

/// What `rollbook doctor --wipe-local-data` removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LocalDataWiped {
    /// The folders and files deleted (those that were there).
    pub removed: Vec<std::path::PathBuf>,
    /// Grades and assignments deleted unsent (`--discard-unsent`), in the store and in
    /// set-aside stores.
    pub unsent_discarded: u32,
    /// A session was signed out (revoked at the provider when it answered).
    pub signed_out: bool,
    /// What could not be done, in words (a keychain that refused, a folder in use).
    pub problems: Vec<String>,
}

/// The folders of the window's web view (cache, cookies, local storage) for this user:
/// Rollbook's own data never goes there, but a wipe for the next user removes them too.
fn webview_dirs() -> Vec<std::path::PathBuf> {
    let Some(base) = directories::BaseDirs::new() else {
        return Vec::new();
    };
    let mut dirs = vec![
        // Windows: %LOCALAPPDATA%\org.rollbook.desktop (EBWebView inside); Linux:
        // ~/.local/share/org.rollbook.desktop; macOS: ~/Library/Application Support/….
        base.data_local_dir().join(WEBVIEW_IDENTIFIER),
        base.cache_dir().join(WEBVIEW_IDENTIFIER),
    ];
    if cfg!(target_os = "macos") {
        dirs.push(
            base.home_dir()
                .join("Library/WebKit")
                .join(WEBVIEW_IDENTIFIER),
        );
    }
    dirs.dedup();
    dirs
}

/// The old roaming data folder of earlier Windows releases, when this platform has one
/// apart from the local data folder.
fn roaming_data_dir() -> Option<std::path::PathBuf> {
    let dirs = directories::ProjectDirs::from("org", "rollbook", "Rollbook")?;
    (dirs.data_dir() != dirs.data_local_dir()).then(|| dirs.data_dir().to_path_buf())
}

/// What the start-up move left in the old roaming data folder (entry names only; file
/// names carry a digest, never a teacher's name): kept because the local folder has an
/// entry of that name (`roaming_data_kept`), or not movable yet.
pub fn roaming_leftovers(roaming: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(roaming) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// What waits in the stores on disk other than the signed-in teacher's own.
#[derive(Debug, Default)]
struct KeptStores {
    /// The sum of their counts (`<store>.unsent`).
    counted: u32,
    /// The file names of those with no count: what they hold cannot be told.
    uncounted: Vec<String>,
}

impl Account {
    /// The stores a wipe would delete besides the live session's, and what waits in them:
    /// set-aside stores, a store a sign-out kept for the same sign-in to send later
    /// (policy ended the session, `IfUnsent::Keep`), and the store of another teacher
    /// who used this computer account and has not signed out. Only their counts can be
    /// read (their keys may be gone), so a store without one fails closed. The live
    /// session's store is left out only once it is open, its waiting writes counted.
    async fn unsent_in_other_stores(&self) -> KeptStores {
        let live_is_counted = matches!(
            self.local.lock().await.as_ref().map(|open| &open.location),
            Some(crate::gradebook::StoreLocation::Disk)
        );
        let live = SessionRecord::load(self.paths())
            .ok()
            .flatten()
            .and_then(|r| r.store_key().ok())
            .filter(|_| live_is_counted)
            .map(|k| {
                format!(
                    "gradebook-{}.db",
                    crate::gradebook::owner_digest(&k.account())
                )
            });
        let mut kept = KeptStores::default();
        let mut add = |name: String, count: Option<u32>| match count {
            Some(n) => kept.counted = kept.counted.saturating_add(n),
            None => kept.uncounted.push(name),
        };
        for aside in crate::set_aside::list(self.paths()) {
            let name = std::path::Path::new(&aside.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(aside.path);
            add(name, aside.unsent);
        }
        let Ok(entries) = std::fs::read_dir(&self.paths().data_dir) else {
            return kept;
        };
        let mut stores: Vec<(String, std::path::PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
            // Databases only: SQLite's companions and the counts end otherwise, and a
            // set-aside store's name goes on after `.db.`.
            .filter(|(name, _)| name.starts_with("gradebook") && name.ends_with(".db"))
            .filter(|(name, _)| live.as_deref() != Some(name.as_str()))
            .collect();
        stores.sort();
        for (name, path) in stores {
            add(name, crate::set_aside::read_unsent(&path));
        }
        kept
    }
}

impl Account {
    /// The old roaming data folder and what is still in it (`roaming_data_kept` in
    /// `rollbook doctor --json`); `None` where there is none or it is empty.
    pub fn roaming_data_kept(&self) -> Option<(std::path::PathBuf, Vec<String>)> {
        let roaming = roaming_data_dir()?;
        let left = roaming_leftovers(&roaming);
        (!left.is_empty()).then_some((roaming, left))
    }

    /// Removes this user's Rollbook data from this computer (the MSI-era clean-up, and a
    /// laptop handed to someone else): signs out (revoking at the provider, deleting the
    /// keychain entries), then deletes what the data folder holds (session record,
    /// gradebook stores, set-aside stores, grading rules; not the log), the sign-in
    /// options, the old roaming data folder and the web view's folders. Refuses
    /// (`unsent_grades`, with the count) while grades wait to be sent in any store it
    /// would delete (the session's, one kept after policy ended a session, another
    /// teacher's, a set-aside one), and (`unsent_unknown`) while a store's count cannot
    /// be read, unless `if_unsent` is `Discard`. Close Rollbook's window first.
    pub async fn wipe_local_data(
        &self,
        if_unsent: crate::IfUnsent,
    ) -> Result<LocalDataWiped, CoreError> {
        let mut waiting = match self.unsent_for_sign_out().await {
            Ok(unsent) => unsent,
            Err(e) if if_unsent == crate::IfUnsent::Refuse => return Err(e),
            Err(_) => rollbook_gradebook::Unsent::default(),
        };
        let kept = self.unsent_in_other_stores().await;
        waiting.grades = waiting.grades.saturating_add(kept.counted);
        if if_unsent == crate::IfUnsent::Refuse {
            if !kept.uncounted.is_empty() {
                return Err(CoreError::UnsentUnknown {
                    reason: format!(
                        "no count of waiting grades was kept for {} in {}",
                        kept.uncounted.join(", "),
                        self.paths().data_dir.display()
                    ),
                    last_known: String::new(),
                });
            }
            if waiting.total() > 0 {
                return Err(CoreError::UnsentGrades(waiting));
            }
        }
        let mut wiped = LocalDataWiped {
            unsent_discarded: waiting.total(),
            ..LocalDataWiped::default()
        };
        if SessionRecord::load(self.paths()).ok().flatten().is_some() {
            match self.sign_out(crate::IfUnsent::Discard).await {
                Ok(report) => {
                    wiped.signed_out = true;
                    if let Some(problem) = report.revocation_problem {
                        wiped.problems.push(format!(
                            "the provider did not confirm revoking the session ({problem})"
                        ));
                    }
                }
                Err(e) => wiped.problems.push(format!(
                    "signing out did not finish ({}: {e}); delete the keychain entries under the service {} by hand",
                    e.code(),
                    rollbook_auth::KEYCHAIN_SERVICE
                )),
            }
        }
        // Entries an earlier sign-out could not delete (a locked keychain) are listed in
        // pending-wipes.json; the list goes only once they are gone, since it is the one
        // pointer to a refresh token left in the keychain.
        let pending_list = self.paths().pending_wipes();
        let keep_pending_list = match self.finish_pending_sign_out().await {
            Ok(()) => false,
            Err(e) => {
                wiped.problems.push(format!(
                    "keychain entries an earlier sign-out left could not be deleted ({}: {e}); {} keeps them listed for the next start",
                    e.code(),
                    pending_list.display()
                ));
                true
            }
        };
        // Everything in the data folder but the log folder: the log records this wipe and
        // holds no names or tokens (IT may delete it too; it is listed in the guide).
        let logs = crate::log_dir(self.paths());
        let mut targets: Vec<std::path::PathBuf> = std::fs::read_dir(&self.paths().data_dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| *p != logs && !(keep_pending_list && *p == pending_list))
                    .collect()
            })
            .unwrap_or_default();
        targets.sort();
        targets.push(self.paths().preferences());
        targets.extend(roaming_data_dir());
        targets.extend(webview_dirs());
        for target in targets {
            let removed = if target.is_dir() {
                std::fs::remove_dir_all(&target)
            } else if target.exists() {
                std::fs::remove_file(&target)
            } else {
                continue;
            };
            match removed {
                Ok(()) => wiped.removed.push(target),
                Err(e) => wiped
                    .problems
                    .push(format!("{} could not be deleted ({e})", target.display())),
            }
        }
        tracing::info!(
            removed = wiped.removed.len(),
            unsent_discarded = wiped.unsent_discarded,
            "this user's Rollbook data was wiped"
        );
        Ok(wiped)
    }
}

#[cfg(test)]
mod wipe_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn what_the_move_left_in_the_roaming_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(roaming_leftovers(&dir.path().join("absent")).is_empty());
        std::fs::write(dir.path().join("gradebook-abc.db"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        assert_eq!(
            roaming_leftovers(dir.path()),
            vec!["gradebook-abc.db".to_owned(), "logs".to_owned()]
        );
    }
}
