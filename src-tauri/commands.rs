//! The commands the UI calls. Each one calls core and maps its answer; none holds logic
//! of its own, and none returns a token.

use std::time::Duration;

use tauri::State;
use tauri::ipc::Channel;

use rollbook_core::auth::{AuthError, Identity};
use rollbook_core::grades::store::{CellState, CellView, NewLineItem, Resolution};
use rollbook_core::grades::{GradingRules, SyncReport};
use rollbook_core::policy::{AllowedProviders, Key};
use rollbook_core::{
    Attention, AttentionItem, ClassId, ClassSummary, CoreError, Dated, ErrorCode, GradebookPage,
    LastView, LineItemId, Preferences, SettleAction, SignInProgress, SignInProvider, SignInRequest,
    Student, StudentId, TermFilter,
};

use crate::browser::Browser;
use crate::dto::{
    AppError, BrowserSession, GradeChange, IdleCheck, SavedStart, SessionInfo, SignInPresets,
    SignedOut,
};
use crate::state::{AppState, focus_main};
use crate::update::UpdateStatus;

const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

type Answer<T> = Result<T, AppError>;

fn to_info(
    identity: &Identity,
    expires_at: Option<i64>,
    renews: bool,
    shared_machine: bool,
    last_view: Option<LastView>,
    export_allowed: bool,
) -> SessionInfo {
    SessionInfo {
        name: identity.display_name().to_owned(),
        email: identity.email.clone(),
        issuer: identity.issuer.clone(),
        expires_at,
        renews,
        demo: identity.issuer == crate::demo::EMBEDDED_ISSUER,
        last_view,
        shared_machine,
        export_allowed,
    }
}

/// The saved session, restored silently (refreshing if needed); `None` when signed out.
/// A sign-out the keychain did not let finish is finished first, or reported.
#[tauri::command]
pub async fn session_info(state: State<'_, AppState>) -> Answer<Option<SessionInfo>> {
    let started = std::time::Instant::now();
    state.apply_policy().await;
    state.account.finish_pending_sign_out().await?;
    let restored = state.account.whoami(false).await;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis(),
        "session restored"
    );
    match restored {
        Ok(me) => Ok(Some(to_info(
            &me.identity,
            me.expires_at,
            me.has_refresh_token,
            me.shared_machine,
            state.account.warm_start().last_view().await?,
            state.account.allow_export().is_ok(),
        ))),
        Err(CoreError::Auth(AuthError::NotSignedIn)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What this build and the district's policy preset, so the window asks only for the
/// rest (nothing, in a vendor build or a managed lab) and hides what policy forbids.
#[tauri::command]
pub async fn sign_in_presets(state: State<'_, AppState>) -> Answer<SignInPresets> {
    let policy_notice = state.apply_policy().await;
    let resolved = state.account.effective_settings();
    for problem in &resolved.problems {
        tracing::warn!("ignored policy value: {problem}");
    }
    Ok(SignInPresets {
        classlink_client_id: resolved.text(Key::ClientId).is_some(),
        classlink_roster: resolved.text(Key::RosterUrl).is_some(),
        classlink_allowed: resolved.allowed_providers() != AllowedProviders::Issuer,
        other_providers_allowed: resolved.allowed_providers() != AllowedProviders::Classlink,
        demo_allowed: rollbook_core::allow_demo(&resolved).is_ok(),
        redirect_set_by_school: resolved.is_locked(Key::RedirectMode),
        shared_machine_set_by_school: resolved.is_locked(Key::SharedMachine),
        idle_sign_out_seconds: idle_limit_seconds(resolved.idle_sign_out_minutes()),
        policy_problems: resolved.problems.iter().map(ToString::to_string).collect(),
        policy_notice,
    })
}

/// The idle limit in seconds, one computation for the window's timer
/// (`sign_in_presets`) and core's decision (`idle_check`), so the two cannot disagree.
fn idle_limit_seconds(minutes: u32) -> u32 {
    minutes.saturating_mul(seconds_per_minute())
}

/// 60; builds with the `test-hooks` feature take `ROLLBOOK_TEST_SECONDS_PER_MINUTE`, so
/// the window test of idle sign-out does not wait a real minute.
fn seconds_per_minute() -> u32 {
    #[cfg(feature = "test-hooks")]
    if let Some(seconds) = std::env::var("ROLLBOOK_TEST_SECONDS_PER_MINUTE")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return seconds;
    }
    60
}

/// Signs in; progress goes to `progress`, a channel of this call only (no app-wide
/// event, so the webview needs no permission to listen to events at all). The use case
/// (one attempt at a time, cancel, deep links) is core's; this only wires it up.
#[tauri::command]
pub async fn sign_in(
    request: SignInRequest,
    progress: Channel<SignInProgress>,
    state: State<'_, AppState>,
) -> Answer<SessionInfo> {
    // First, so a second click while a sign-in waits is refused before anything starts.
    let attempt = state.sign_ins.begin()?;
    // Policy, the teacher's sign-in options and this build's defaults, resolved now.
    let resolved = state.account.effective_settings();
    let settings = if request.provider == SignInProvider::Demo {
        rollbook_core::allow_demo(&resolved)?;
        let mut settings = state.demo_settings().await?;
        settings.redirect = resolved.redirect();
        settings.shared_machine = resolved.shared_machine();
        resolved.enforce(settings)?
    } else {
        // Switching providers: the embedded demo district is no longer needed.
        state.stop_demo().await;
        request.settings(&resolved)?
    };
    let browser = Browser::new(state.app.clone())
        .map_err(|e| AppError::new(ErrorCode::ConfigInvalid, e, "Check ROLLBOOK_BROWSER."))?;
    let mut report_progress = |stage: SignInProgress| {
        let _ = progress.send(stage);
    };
    let report = state
        .account
        .sign_in(
            settings,
            &browser,
            &attempt,
            SIGN_IN_TIMEOUT,
            &mut report_progress,
        )
        .await?;
    drop(attempt);
    focus_main(&state.app);
    if let Some(problem) = &report.keychain_problem {
        tracing::warn!("the session could not be saved in the keychain: {problem}");
    }
    Ok(to_info(
        &report.identity,
        report.expires_at,
        report.has_refresh_token,
        report.shared_machine,
        None,
        state.account.allow_export().is_ok(),
    ))
}

#[tauri::command]
pub async fn cancel_sign_in(state: State<'_, AppState>) -> Answer<()> {
    state.sign_ins.cancel();
    Ok(())
}

#[tauri::command]
pub async fn open_sign_in_again(state: State<'_, AppState>) -> Answer<()> {
    let Some(url) = state.sign_ins.waiting_url() else {
        return Ok(());
    };
    let browser = Browser::new(state.app.clone())
        .map_err(|e| AppError::new(ErrorCode::ConfigInvalid, e, "Check ROLLBOOK_BROWSER."))?;
    rollbook_core::BrowserOpener::open(&browser, &url).map_err(|e| {
        AppError::new(
            ErrorCode::BrowserFailed,
            format!("The browser could not be opened ({e})."),
            "Use Copy link and open it yourself.",
        )
    })
}

/// The sign-in options in force (how the browser returns to the app): the teacher's,
/// unless the district's policy sets them.
#[tauri::command]
pub async fn preferences(state: State<'_, AppState>) -> Answer<Preferences> {
    let resolved = state.account.effective_settings();
    Ok(Preferences {
        redirect: resolved.redirect(),
        shared_machine: resolved.shared_machine(),
    })
}

#[tauri::command]
pub async fn save_preferences(preferences: Preferences, state: State<'_, AppState>) -> Answer<()> {
    preferences.save(state.account.paths())?;
    Ok(())
}

/// What a signed-in start shows at once, before any network call; `None` when there is
/// nothing to show yet (signed out, a sign-out to finish, a shared-machine session).
#[tauri::command]
pub async fn saved_start(state: State<'_, AppState>) -> Answer<Option<SavedStart>> {
    let started = std::time::Instant::now();
    // Nothing saved is shown before the policy in force has had its say about it.
    state.apply_policy().await;
    let Some(start) = state.account.warm_start().saved_start().await? else {
        return Ok(None);
    };
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis(),
        classes = start.classes.is_some(),
        roster = start.roster.is_some(),
        "saved start read"
    );
    Ok(Some(SavedStart {
        session: to_info(
            &start.who.identity,
            start.who.expires_at,
            start.who.has_refresh_token,
            start.who.shared_machine,
            start.last_view,
            state.account.allow_export().is_ok(),
        ),
        classes: start.classes,
        roster: start.roster,
    }))
}

/// This term's classes from the district (kept for the next start); offline, the copy
/// saved on this computer with the reason.
#[tauri::command]
pub async fn classes(state: State<'_, AppState>) -> Answer<Dated<Vec<ClassSummary>>> {
    Ok(state
        .account
        .rosters()
        .classes_page(TermFilter::Current)
        .await?)
}

/// A class's roster by name (kept for the next start); offline, the saved copy.
#[tauri::command]
pub async fn roster(class_id: String, state: State<'_, AppState>) -> Answer<Dated<Vec<Student>>> {
    Ok(state
        .account
        .rosters()
        .roster_page(&ClassId::from(class_id))
        .await?)
}

/// The class's gradebook read from the district into the local store, with the
/// teacher's edits on top; offline, the saved copy with the reason.
#[tauri::command]
pub async fn gradebook(class_id: String, state: State<'_, AppState>) -> Answer<GradebookPage> {
    Ok(state
        .account
        .grades()
        .gradebook_page(&ClassId::from(class_id))
        .await?)
}

/// The copy on this computer, at once (a warm start); `null` if never read here.
#[tauri::command]
pub async fn saved_gradebook(
    class_id: String,
    state: State<'_, AppState>,
) -> Answer<Option<GradebookPage>> {
    Ok(state
        .account
        .grades()
        .saved_gradebook(&ClassId::from(class_id))
        .await?)
}

/// Changes one cell. Answers once the change is committed on this computer.
#[tauri::command]
pub async fn enter_grade(
    class_id: String,
    line_item_id: String,
    student_id: String,
    change: GradeChange,
    state: State<'_, AppState>,
) -> Answer<CellView> {
    let change = change.into_core()?;
    Ok(state
        .account
        .grades()
        .enter_grade(
            &ClassId::from(class_id),
            &LineItemId::from(line_item_id),
            &StudentId::from(student_id),
            change,
        )
        .await?)
}

#[tauri::command]
pub async fn create_assignment(
    class_id: String,
    assignment: NewLineItem,
    state: State<'_, AppState>,
) -> Answer<String> {
    Ok(state
        .account
        .grades()
        .create_assignment(&ClassId::from(class_id), assignment)
        .await?)
}

#[tauri::command]
pub async fn resolve_conflict(
    line_item_id: String,
    student_id: String,
    resolution: Resolution,
    state: State<'_, AppState>,
) -> Answer<CellState> {
    Ok(state
        .account
        .grades()
        .resolve_conflict(
            &LineItemId::from(line_item_id),
            &StudentId::from(student_id),
            resolution,
        )
        .await?)
}

#[tauri::command]
pub async fn set_grading_rules(
    class_id: String,
    rules: GradingRules,
    state: State<'_, AppState>,
) -> Answer<()> {
    Ok(state
        .account
        .grades()
        .set_grading_rules(&ClassId::from(class_id), rules)
        .await?)
}

/// Sends the grades waiting on this computer; says what was sent, refused and in
/// conflict, or that the district could not be reached. `now: true` only for the
/// teacher's "Sync now" (writes waiting out a district's Retry-After go too); the
/// window's automatic syncs leave it out, so a back-off is honoured.
#[tauri::command]
pub async fn sync_grades(now: Option<bool>, state: State<'_, AppState>) -> Answer<SyncReport> {
    Ok(state
        .account
        .grades()
        .sync_grades(now == Some(true))
        .await?)
}

/// What waits for the teacher outside the class's cells: set-aside stores, edits whose
/// assignment or student is gone, new assignments the district refused.
#[tauri::command]
pub async fn gradebook_attention(
    class_id: String,
    state: State<'_, AppState>,
) -> Answer<Attention> {
    Ok(state
        .account
        .grades()
        .gradebook_attention(&ClassId::from(class_id))
        .await?)
}

/// Keeps, retries or discards one of them (the window asks twice before a discard).
#[tauri::command]
pub async fn settle_attention(
    item: AttentionItem,
    action: SettleAction,
    state: State<'_, AppState>,
) -> Answer<()> {
    Ok(state
        .account
        .grades()
        .settle_attention(item, action)
        .await?)
}

/// Writes the gradebook as CSV into the teacher's Downloads folder; answers its path.
#[tauri::command]
pub async fn export_gradebook(class_id: String, state: State<'_, AppState>) -> Answer<String> {
    Ok(state
        .account
        .grades()
        .export_gradebook(&ClassId::from(class_id))
        .await?
        .display()
        .to_string())
}

/// Remembers the class page the window shows (`null`: the class list) for the next start.
#[tauri::command]
pub async fn remember_view(view: Option<LastView>, state: State<'_, AppState>) -> Answer<()> {
    Ok(state.account.warm_start().remember_view(view).await?)
}

/// Revokes at the provider and forgets everything on this computer. On a shared
/// computer the browser's provider session is ended too (or the teacher is told to
/// close the browser), so the next person is not signed in silently.
#[tauri::command]
pub async fn sign_out(
    discard_unsent: Option<bool>,
    state: State<'_, AppState>,
) -> Answer<SignedOut> {
    // Grades not yet sent would go with the store: the teacher decides, and core refuses
    // (`unsent_grades`, or `unsent_unknown` when it cannot count them) unless told to
    // discard them.
    let signed_out = state
        .account
        .sign_out_teacher(discard_unsent == Some(true))
        .await;
    let outcome = match signed_out.result {
        // Nothing happened and the teacher is still signed in: the demo district stays.
        Err(e) if e.is_unsent_refusal() => return Err(e.into()),
        other => other,
    };
    // Whatever the teacher signed out of, the demo district is no longer needed.
    state.stop_demo().await;
    match outcome {
        Ok(report) => Ok(state.end_browser_session(&report)),
        Err(CoreError::Auth(AuthError::NotSignedIn)) => Ok(SignedOut {
            browser_session: BrowserSession::Kept,
            issuer: None,
            unsent_grades_deleted: 0,
            grading_rules_kept: 0,
        }),
        Err(e) => Err(e.into()),
    }
}

/// The window saw no keyboard or pointer input for `window_idle_seconds` (the idle
/// limit): signs out only if nobody used the computer either (Windows and macOS tell;
/// on Linux the window's activity decides alone).
#[tauri::command]
pub async fn idle_check(window_idle_seconds: u32, state: State<'_, AppState>) -> Answer<IdleCheck> {
    use rollbook_core::policy::{IdleVerdict, OsIdle, SystemIdle, idle_verdict};
    let minutes = state.account.effective_settings().idle_sign_out_minutes();
    let verdict = idle_verdict(
        Duration::from_secs(u64::from(idle_limit_seconds(minutes))),
        Duration::from_secs(u64::from(window_idle_seconds)),
        OsIdle.idle_for(),
    );
    Ok(match verdict {
        IdleVerdict::SignOut => IdleCheck {
            sign_out: true,
            check_again_seconds: 0,
        },
        IdleVerdict::CheckAgainIn(wait) => IdleCheck {
            sign_out: false,
            check_again_seconds: u32::try_from(wait.as_secs()).unwrap_or(u32::MAX),
        },
    })
}

/// What the check at start found: nothing, a newer release, or why it did not ask.
#[tauri::command]
pub async fn update_status(updates: State<'_, crate::update::Updates>) -> Answer<UpdateStatus> {
    Ok(updates.status().await)
}

/// The teacher clicked Install: the grades that wait are sent (or kept on disk) first,
/// then the update is checked against the release key, installed, and Rollbook restarts.
#[tauri::command]
pub async fn install_update(
    app: tauri::AppHandle,
    updates: State<'_, crate::update::Updates>,
) -> Answer<UpdateStatus> {
    Ok(updates.install(&app).await)
}

/// Takes the embedded demo district's roster gateway down or brings it back (the
/// window's offline test). Test builds only, and granted only when the test asks.
#[cfg(feature = "test-hooks")]
#[tauri::command]
pub async fn test_demo_roster(online: bool, state: State<'_, AppState>) -> Answer<()> {
    Ok(state.demo.set_roster_online(online).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollbook_core::BuildDefaults;

    #[test]
    fn a_blank_required_field_is_a_config_error_naming_it() {
        for blank in [None, Some(String::new()), Some("   ".to_owned())] {
            let request = SignInRequest {
                provider: SignInProvider::Oidc,
                issuer: Some("https://login.example.org".into()),
                client_id: blank,
                oneroster_url: None,
            };
            let resolved = rollbook_core::policy::resolve(
                &[],
                &Preferences::default(),
                &BuildDefaults::default(),
            );
            let error = AppError::from(request.settings(&resolved).unwrap_err());
            assert_eq!(error.code, ErrorCode::ConfigInvalid);
            assert_eq!(error.message, "The client id is missing.");
        }
    }

    /// The commands are named in five places: build.rs (their permissions), lib.rs (the
    /// handler), the capability file (what the window may call), the generated
    /// permission files and the UI's TauriBackend. One left out is a command the window
    /// cannot call, found only by a teacher.
    #[test]
    fn every_list_of_commands_names_the_same_commands() {
        use std::collections::BTreeSet;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
        // Granted at run time to test and benchmark builds only.
        let runtime_only = ["bench_mark", "test_demo_roster"];
        let quoted = |text: &str, open: &str, close: &str| -> BTreeSet<String> {
            text.split(open)
                .skip(1)
                .filter_map(|rest| rest.split_once(close).map(|(name, _)| name.to_owned()))
                .filter(|name| !runtime_only.contains(&name.as_str()))
                .collect()
        };

        let build = read("src-tauri/build.rs");
        let build = build.split("];").next().unwrap();
        let declared = quoted(build, "\n    \"", "\",");
        assert!(declared.contains("sign_in"), "{declared:?}");

        let lib = read("src-tauri/lib.rs");
        let handler = lib
            .split("fn app_commands")
            .nth(1)
            .and_then(|rest| rest.split("]").next())
            .unwrap();
        let handled = quoted(handler, "commands::", ",");

        let capability = read("src-tauri/capabilities/main.json").replace('-', "_");
        let granted = quoted(&capability, "\"allow_", "\"");

        let generated: BTreeSet<String> = std::fs::read_dir(root.join("permissions/autogenerated"))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.strip_suffix(".toml").map(str::to_owned)
            })
            .filter(|name| !runtime_only.contains(&name.as_str()))
            .collect();

        let ui = read("ui/src/backend/tauri.ts");
        let called = quoted(&ui, "invoke(\"", "\"");

        for (what, names) in [
            ("lib.rs's handler", &handled),
            ("capabilities/main.json", &granted),
            ("permissions/autogenerated", &generated),
            ("ui/src/backend/tauri.ts", &called),
        ] {
            assert_eq!(
                names, &declared,
                "{what} and build.rs name different commands"
            );
        }
    }
}
