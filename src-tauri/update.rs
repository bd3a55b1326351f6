//! Updates: when the window starts it asks for a newer Rollbook (if policy allows, at the
//! address policy chooses), tells the teacher, and installs only when the teacher clicks
//! Install, after the grades that wait are sent or kept. `rollbook-desktop --update`
//! runs the same decision and install without the window (IT's scripts, the .deb suite).
//!
//! Every update is checked against the minisign public key built into this binary
//! (`plugins.updater.pubkey`) before anything is installed, whatever address served it;
//! the signature must also name the version the manifest announces
//! (`requireSignedVersion`), so a tampered manifest cannot pass an older signed release off
//! as a newer one.

use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Manager};
use tauri_plugin_updater::{Update, UpdaterExt};
use tokio::sync::Mutex;

use rollbook_core::policy::{ResolvedSettings, UpdateCheck};

use crate::state::AppState;

/// How long a check or a download may take before the teacher is told it failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// How long sending the waiting grades may hold the install.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// What the window shows about updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum UpdateStatus {
    /// Not asked: policy turned updates off, or this build has no update address.
    Off {
        why: String,
    },
    Checking,
    UpToDate,
    /// A newer release the teacher may install.
    Available {
        version: String,
        current: String,
        notes: Option<String>,
    },
    Installing,
    /// Installed; Rollbook restarts (the window) or should be started again (the command).
    Installed {
        version: String,
    },
    /// `code` is stable (`update_unreachable`, `update_signature_invalid`,
    /// `update_install_failed`, `update_waits_for_grades`); `message` says what to do.
    Failed {
        code: String,
        message: String,
    },
}

/// The window's update state: the last status and the release it found.
#[derive(Default)]
pub struct Updates {
    status: Mutex<Option<UpdateStatus>>,
    found: Mutex<Option<Update>>,
}

impl std::fmt::Debug for Updates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Updates").finish_non_exhaustive()
    }
}

impl Updates {
    pub async fn status(&self) -> UpdateStatus {
        self.status
            .lock()
            .await
            .clone()
            .unwrap_or(UpdateStatus::Checking)
    }

    async fn set(&self, status: UpdateStatus) -> UpdateStatus {
        *self.status.lock().await = Some(status.clone());
        status
    }

    /// The check at start: asks once, if policy allows, and keeps what it found.
    pub async fn check_at_start(&self, app: &AppHandle, settings: &ResolvedSettings) {
        let status = match check(app, settings).await {
            Ok(Some(update)) => {
                let status = available(&update);
                *self.found.lock().await = Some(update);
                status
            }
            Ok(None) => UpdateStatus::UpToDate,
            Err(status) => status,
        };
        if let UpdateStatus::Failed { code, .. } = &status {
            tracing::warn!(code = %code, "the update check failed");
        }
        self.set(status).await;
    }

    /// The teacher clicked Install: grades first, then the update, then a restart.
    pub async fn install(&self, app: &AppHandle) -> UpdateStatus {
        let Some(update) = self.found.lock().await.take() else {
            return self.status().await;
        };
        let state = app.state::<AppState>();
        // Policy read again: IT may have turned updates off since
        // the check at start, and the window may have stayed open for days.
        if let UpdateCheck::Off { why } = state.account.effective_settings().update_check() {
            return self.set(UpdateStatus::Off { why }).await;
        }
        self.set(UpdateStatus::Installing).await;
        if let Err(status) = before_update(&state).await {
            *self.found.lock().await = Some(update);
            return self.set(status).await;
        }
        match download_and_install(&update).await {
            Ok(()) => {
                tracing::info!(version = %update.version, "update installed; restarting");
                let status = self
                    .set(UpdateStatus::Installed {
                        version: update.version.clone(),
                    })
                    .await;
                // Through the usual exit (RunEvent::ExitRequested), so a shared session's
                // clean-up runs as on any other way out.
                app.request_restart();
                status
            }
            Err(status) => {
                *self.found.lock().await = Some(update);
                self.set(status).await
            }
        }
    }
}

fn available(update: &Update) -> UpdateStatus {
    UpdateStatus::Available {
        version: update.version.clone(),
        current: update.current_version.clone(),
        notes: update.body.clone(),
    }
}

/// Asks the update address policy chooses; `Ok(None)` when this is the newest release.
/// No request at all when policy turns updates off or there is no address.
pub async fn check(
    app: &AppHandle,
    settings: &ResolvedSettings,
) -> Result<Option<Update>, UpdateStatus> {
    let mirror = match settings.update_check() {
        UpdateCheck::Off { why } => return Err(UpdateStatus::Off { why }),
        UpdateCheck::Check { mirror } => mirror,
    };
    let configured = app
        .config()
        .plugins
        .0
        .get("updater")
        .and_then(|u| u.get("endpoints"))
        .and_then(|e| e.as_array())
        .is_some_and(|e| !e.is_empty());
    if mirror.is_none() && !configured {
        return Err(UpdateStatus::Off {
            why: "this build has no update address (only release builds have one); set UpdateUrl to use a mirror".into(),
        });
    }
    let failed = |code: &str, e: &dyn std::fmt::Display| UpdateStatus::Failed {
        code: code.into(),
        message: format!(
            "Rollbook could not look for updates: {e}. It tries again at the next start."
        ),
    };
    let mut builder = app.updater_builder().timeout(CHECK_TIMEOUT);
    if let Some(url) = mirror {
        builder = builder
            .endpoints(vec![url])
            .map_err(|e| failed("update_unreachable", &e))?;
    }
    if let Some(proxy) = settings.proxy_url() {
        builder = builder.proxy(proxy);
    }
    let updater = builder
        .build()
        .map_err(|e| failed("update_unreachable", &e))?;
    updater
        .check()
        .await
        .map_err(|e| failed("update_unreachable", &e))
}

/// Before an update replaces the app: the grades that wait are sent, and what cannot be
/// sent stays in the encrypted store on disk (the update does not touch it). Where they
/// are kept in memory only (a shared computer, `LocalStoreAllowed = 0`, a keychain that
/// gave no key), the restart would lose them, so the install waits until they are sent;
/// when Rollbook cannot tell, it waits too. On a shared computer the session then ends,
/// as closing the window would end it.
async fn before_update(state: &AppState) -> Result<(), UpdateStatus> {
    // The live session, not the record on disk: a shared session keeps no record.
    if state.account.session().await.is_err() {
        return Ok(());
    }
    match tokio::time::timeout(SEND_TIMEOUT, state.account.grades().sync_grades(true)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::info!(code = %e.code(), "grades could not all be sent before the update")
        }
        Err(_) => tracing::info!("sending grades before the update took too long"),
    }
    let waits = |detail: String| UpdateStatus::Failed {
        code: "update_waits_for_grades".into(),
        message: format!(
            "{detail}. Send them (Sync now) when the district can be reached, then install the update."
        ),
    };
    match state.account.grades().unsent_lost_on_restart().await {
        Ok(0) => {}
        Ok(lost) => {
            return Err(waits(format!(
                "{lost} grade(s) are not yet sent, and this computer keeps them only until Rollbook closes"
            )));
        }
        Err(e) => {
            return Err(waits(format!(
                "Rollbook cannot tell whether grades kept only until it closes are still waiting ({})",
                e.code()
            )));
        }
    }
    if let Ok(waiting @ 1..) = state.account.grades().unsent_grades().await {
        tracing::info!(
            waiting,
            "grades not yet sent stay in the store across the update"
        );
    }
    if state.account.effective_settings().shared_machine() {
        state.end_shared_session().await;
    }
    Ok(())
}

async fn download_and_install(update: &Update) -> Result<(), UpdateStatus> {
    let installed = tokio::time::timeout(
        DOWNLOAD_TIMEOUT,
        update.download_and_install(|_, _| {}, || {}),
    )
    .await;
    match installed {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(install_failure(&e)),
        Err(_) => Err(UpdateStatus::Failed {
            code: "update_unreachable".into(),
            message: "The update took too long to download. Try again later.".into(),
        }),
    }
}

/// A failed install in words, with the signature failures apart: they mean the file is
/// not Rollbook's release (or was changed on the way), never "try again".
fn install_failure(e: &tauri_plugin_updater::Error) -> UpdateStatus {
    use tauri_plugin_updater::Error as E;
    match e {
        E::Minisign(_)
        | E::Base64(_)
        | E::SignatureUtf8(_)
        | E::SignedVersionMismatch { .. }
        | E::MissingSignedVersion => UpdateStatus::Failed {
            code: "update_signature_invalid".into(),
            message: format!(
                "The update was refused: its signature is not Rollbook's release signature ({e}). Nothing was installed. Tell your IT team: the update address may not be serving Rollbook's releases."
            ),
        },
        E::Reqwest(_) | E::Network(_) => UpdateStatus::Failed {
            code: "update_unreachable".into(),
            message: format!("The update could not be downloaded ({e}). Try again later."),
        },
        other => UpdateStatus::Failed {
            code: "update_install_failed".into(),
            message: format!(
                "The update could not be installed ({other}). Rollbook is unchanged; installing updates may need an administrator."
            ),
        },
    }
}

/// `rollbook-desktop --update`: checks and installs as the window's Install button does,
/// without a window, and says what happened. Exit code 0 when installed or already
/// newest, 2 when policy turns updates off, 1 on any failure.
pub fn run_command() -> i32 {
    let mut context = tauri::generate_context!();
    // No window: this is a command. (The app still needs a display for GTK on Linux.)
    context.config_mut().app.windows.clear();
    let app = match tauri::Builder::default()
        .plugin(tauri_plugin_updater::Builder::new().build())
        .build(context)
    {
        Ok(app) => app,
        Err(e) => {
            report(&format!("Rollbook could not start: {e}"));
            return 1;
        }
    };
    let handle = app.handle().clone();
    let state = match AppState::new(handle.clone()) {
        Ok(state) => state,
        Err(e) => {
            report(&format!("Rollbook could not start: {e}"));
            return 1;
        }
    };
    app.manage(state);
    let status = tauri::async_runtime::block_on(async {
        let settings = handle.state::<AppState>().account.effective_settings();
        match check(&handle, &settings).await {
            Ok(Some(update)) => {
                report(&format!(
                    "Rollbook {} is available (this is {}); installing.",
                    update.version, update.current_version
                ));
                if let Err(status) = before_update(&handle.state::<AppState>()).await {
                    return status;
                }
                match download_and_install(&update).await {
                    Ok(()) => UpdateStatus::Installed {
                        version: update.version.clone(),
                    },
                    Err(status) => status,
                }
            }
            Ok(None) => UpdateStatus::UpToDate,
            Err(status) => status,
        }
    });
    match status {
        UpdateStatus::Installed { version } => {
            report(&format!(
                "Rollbook {version} is installed; start Rollbook again to use it."
            ));
            0
        }
        UpdateStatus::UpToDate => {
            report("Rollbook is up to date.");
            0
        }
        UpdateStatus::Off { why } => {
            report(&format!("Rollbook does not look for updates here: {why}."));
            2
        }
        UpdateStatus::Failed { code, message } => {
            report(&format!("error [{code}]: {message}"));
            1
        }
        other => {
            report(&format!("unexpected update state: {other:?}"));
            1
        }
    }
}

#[allow(
    clippy::print_stdout,
    reason = "the command's answer, for IT's scripts"
)]
fn report(line: &str) {
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_signature_is_told_apart_from_a_failed_download() {
        let mismatch = tauri_plugin_updater::Error::SignedVersionMismatch {
            signed: "0.1.0".into(),
            announced: "0.9.0".into(),
        };
        assert!(matches!(
            install_failure(&mismatch),
            UpdateStatus::Failed { code, .. } if code == "update_signature_invalid"
        ));
        let failed = tauri_plugin_updater::Error::PackageInstallFailed;
        assert!(matches!(
            install_failure(&failed),
            UpdateStatus::Failed { code, .. } if code == "update_install_failed"
        ));
    }
}
