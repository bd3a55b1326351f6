//! The commands the UI calls. Each one calls core and maps its answer; none holds logic
//! of its own, and none returns a token.

use std::time::Duration;

use tauri::State;
use tauri::ipc::Channel;
use tokio::sync::oneshot;
use url::Url;

use rollbook_core::auth::AuthError;
use rollbook_core::{
    BuildDefaults, ClassSummary, CoreError, ErrorCode, Gradebook, LastView, Preferences,
    ProviderSettings, RedirectMode, RosterSort, Student, TermFilter, sort_students,
};

use crate::browser::Browser;
use crate::dto::{AppError, Provider, SessionInfo, SignInPresets, SignInProgress, SignInRequest};
use crate::state::{AppState, PendingSignIn, focus_main};

const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(300);

type Answer<T> = Result<T, AppError>;

fn to_info(
    identity_name: &str,
    email: Option<String>,
    issuer: &str,
    expires_at: Option<i64>,
    renews: bool,
    last_view: Option<LastView>,
) -> SessionInfo {
    SessionInfo {
        name: identity_name.to_owned(),
        email,
        issuer: issuer.to_owned(),
        expires_at,
        renews,
        demo: issuer == crate::demo::EMBEDDED_ISSUER,
        last_view,
    }
}

/// The saved session, restored silently (refreshing if needed); `None` when signed out.
#[tauri::command]
pub async fn session_info(state: State<'_, AppState>) -> Answer<Option<SessionInfo>> {
    let started = std::time::Instant::now();
    state.resume_demo_if_needed().await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis(),
        "demo district checked"
    );
    let restored = state.account.whoami(false).await;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis(),
        "session restored"
    );
    match restored {
        Ok(me) => Ok(Some(to_info(
            me.identity.display_name(),
            me.identity.email.clone(),
            &me.identity.issuer,
            me.expires_at,
            me.has_refresh_token,
            state.account.last_view().await?,
        ))),
        Err(CoreError::Auth(AuthError::NotSignedIn)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A field the teacher filled in, trimmed; `config_invalid` when it is empty.
fn required(value: &Option<String>, what: &str) -> Answer<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::ConfigInvalid,
                format!("The {what} is missing."),
                "Fill it in, or ask your IT team for it.",
            )
        })
}

/// The settings for ClassLink or another OpenID provider, from the sign-in form.
fn form_settings(mut settings: ProviderSettings, request: &SignInRequest) -> ProviderSettings {
    settings.oneroster_url = request
        .oneroster_url
        .clone()
        .filter(|u| !u.trim().is_empty());
    settings
}

/// ClassLink: what the teacher typed, else what this build presets
/// (`crates/core/build-defaults.toml`).
fn classlink_settings(request: &SignInRequest) -> Answer<ProviderSettings> {
    let defaults = BuildDefaults::of_this_build();
    if request
        .client_id
        .as_deref()
        .is_none_or(|c| c.trim().is_empty())
        && defaults.classlink.client_id.is_none()
    {
        required(&request.client_id, "client id")?;
    }
    Ok(defaults.classlink_settings(
        request.client_id.as_deref(),
        request.oneroster_url.as_deref(),
    )?)
}

/// What this build presets for "Sign in with ClassLink", so the window asks only for
/// the rest (nothing, in a vendor build).
#[tauri::command]
pub fn sign_in_presets() -> SignInPresets {
    let defaults = BuildDefaults::of_this_build();
    SignInPresets {
        classlink_client_id: defaults.classlink.client_id.is_some(),
        classlink_roster: defaults.classlink.roster_gateway_url.is_some(),
    }
}

/// Signs in; progress goes to `progress`, a channel of this call only (no app-wide
/// event, so the webview needs no permission to listen to events at all).
#[tauri::command]
pub async fn sign_in(
    request: SignInRequest,
    progress: Channel<SignInProgress>,
    state: State<'_, AppState>,
) -> Answer<SessionInfo> {
    if request.provider != Provider::Demo {
        // Switching providers: the embedded demo district is no longer needed.
        state.stop_demo().await;
    }
    let mut settings = match request.provider {
        Provider::Demo => state.demo_settings().await?,
        Provider::Classlink => classlink_settings(&request)?,
        Provider::Oidc => form_settings(
            ProviderSettings::new(
                required(&request.issuer, "issuer")?,
                required(&request.client_id, "client id")?,
            ),
            &request,
        ),
    };
    // Loopback unless the teacher (or IT) chose the app link in the sign-in options.
    settings.redirect = Preferences::load(state.account.paths()).redirect;
    let browser = Browser::new(state.app.clone())
        .map_err(|e| AppError::new(ErrorCode::ConfigInvalid, e, "Check ROLLBOOK_BROWSER."))?;
    let (cancel, cancelled) = oneshot::channel::<()>();
    if let Ok(mut pending) = state.pending.lock() {
        *pending = Some(PendingSignIn {
            cancel: Some(cancel),
            url: None,
        });
    }
    let scheme_callbacks =
        (settings.redirect == RedirectMode::Scheme).then(|| state.open_deep_link_channel());
    let _ = progress.send(SignInProgress::Starting);
    let pending = &state.pending;
    let waiting = progress.clone();
    let mut show_url = move |url: &Url, problem: Option<&str>| {
        if let Ok(mut p) = pending.lock()
            && let Some(p) = p.as_mut()
        {
            p.url = Some(url.clone());
        }
        let _ = waiting.send(SignInProgress::Waiting {
            url: url.to_string(),
            browser_problem: problem.map(str::to_owned),
        });
    };
    let outcome = tokio::select! {
        report = state.account.sign_in(settings, &browser, scheme_callbacks, SIGN_IN_TIMEOUT, &mut show_url) => Some(report),
        _ = cancelled => None,
    };
    state.close_deep_link_channel();
    if let Ok(mut p) = state.pending.lock() {
        *p = None;
    }
    let report = match outcome {
        None => {
            return Err(AppError::new(
                ErrorCode::SignInCancelled,
                "Sign-in was cancelled.",
                "Choose a way to sign in when you are ready.",
            ));
        }
        Some(report) => report?,
    };
    let _ = progress.send(SignInProgress::Finishing);
    focus_main(&state.app);
    if let Some(problem) = &report.keychain_problem {
        tracing::warn!("the session could not be saved in the keychain: {problem}");
    }
    Ok(to_info(
        report.identity.display_name(),
        report.identity.email.clone(),
        &report.identity.issuer,
        report.expires_at,
        report.has_refresh_token,
        None,
    ))
}

#[tauri::command]
pub async fn cancel_sign_in(state: State<'_, AppState>) -> Answer<()> {
    if let Ok(mut pending) = state.pending.lock()
        && let Some(cancel) = pending.as_mut().and_then(|p| p.cancel.take())
    {
        let _ = cancel.send(());
    }
    Ok(())
}

#[tauri::command]
pub async fn open_sign_in_again(state: State<'_, AppState>) -> Answer<()> {
    let url = state
        .pending
        .lock()
        .ok()
        .and_then(|p| p.as_ref().and_then(|p| p.url.clone()));
    let Some(url) = url else { return Ok(()) };
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

/// The sign-in options (how the browser returns to the app).
#[tauri::command]
pub async fn preferences(state: State<'_, AppState>) -> Answer<Preferences> {
    Ok(Preferences::load(state.account.paths()))
}

#[tauri::command]
pub async fn save_preferences(preferences: Preferences, state: State<'_, AppState>) -> Answer<()> {
    preferences.save(state.account.paths())?;
    Ok(())
}

#[tauri::command]
pub async fn classes(state: State<'_, AppState>) -> Answer<Vec<ClassSummary>> {
    // The UI asks for classes alongside the session at start-up, maybe before the
    // demo district a saved demo session needs is up.
    state.resume_demo_if_needed().await?;
    Ok(state.account.classes(TermFilter::Current).await?)
}

#[tauri::command]
pub async fn roster(class_id: String, state: State<'_, AppState>) -> Answer<Vec<Student>> {
    let mut students = state.account.roster(&class_id).await?;
    sort_students(&mut students, RosterSort::Name, false);
    Ok(students)
}

#[tauri::command]
pub async fn gradebook(class_id: String, state: State<'_, AppState>) -> Answer<Gradebook> {
    Ok(state.account.gradebook(&class_id).await?)
}

/// Remembers the class page the window shows (`null`: the class list) for the next start.
#[tauri::command]
pub async fn remember_view(view: Option<LastView>, state: State<'_, AppState>) -> Answer<()> {
    Ok(state.account.remember_view(view).await?)
}

/// Revokes at the provider and forgets everything on this computer.
#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> Answer<()> {
    let was_demo = state.account.saved_issuer()?.as_deref() == Some(crate::demo::EMBEDDED_ISSUER);
    let outcome = state.account.sign_out().await;
    if was_demo {
        state.stop_demo().await;
    }
    match outcome {
        Ok(outcome) => {
            if let Some(problem) = outcome.revocation_problem {
                tracing::warn!("the provider did not confirm revoking the session: {problem}");
            }
            Ok(())
        }
        Err(CoreError::Auth(AuthError::NotSignedIn)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_required_field_is_a_config_error_naming_it() {
        for blank in [None, Some(String::new()), Some("   ".to_owned())] {
            let error = required(&blank, "client id").unwrap_err();
            assert_eq!(error.code, "config_invalid");
            assert_eq!(error.message, "The client id is missing.");
        }
        assert_eq!(required(&Some(" abc ".into()), "x").unwrap(), "abc");
    }

    #[test]
    fn a_blank_oneroster_address_means_none() {
        let request = |url: &str| SignInRequest {
            provider: Provider::Oidc,
            issuer: None,
            client_id: None,
            oneroster_url: Some(url.to_owned()),
        };
        let base = || ProviderSettings::new("https://login.example.org", "rollbook");
        assert_eq!(form_settings(base(), &request("  ")).oneroster_url, None);
        assert_eq!(
            form_settings(
                base(),
                &request("https://sis.example.org/ims/oneroster/v1p1")
            )
            .oneroster_url
            .as_deref(),
            Some("https://sis.example.org/ims/oneroster/v1p1")
        );
    }
}
