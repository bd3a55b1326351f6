//! The subcommands: each parses its input, calls core, and prints the result.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use url::Url;

use rollbook_core::auth::{AuthError, Identity, KEYCHAIN_SERVICE, KeychainStore};
use rollbook_core::{
    Account, AppPaths, CheckStatus, ClassId, CoreError, FlagProvider, IfUnsent, LineItemId,
    LocalStorePolicy, RedirectMode, SignInDesk, SignInFlags, SignInProgress, SignOutReport,
    StudentId,
};

use crate::browser::Browser;
use crate::output::{format_time, note, print_json, print_line};
use crate::{Command, LoginArgs};

/// The keychain service name. Debug builds (the tests) take `ROLLBOOK_KEYCHAIN_SERVICE`,
/// so a test run never touches a real session; a release build always uses the
/// product's, as the window does, so nobody can point a lab's `rollbook` at entries
/// another program keeps (or hide its own from IT's `cmdkey`/`secret-tool` clean-up).
fn keychain_service() -> String {
    service_for(
        HONOURS_KEYCHAIN_SERVICE_ENV,
        std::env::var("ROLLBOOK_KEYCHAIN_SERVICE").ok(),
    )
}

/// Whether this build takes the keychain service from the environment: debug builds
/// only. Release builds have no debug assertions unless a profile turns them on, which
/// `release_builds_ignore_the_keychain_service_env` checks the workspace never does.
const HONOURS_KEYCHAIN_SERVICE_ENV: bool = cfg!(debug_assertions);

fn service_for(honour_env: bool, env: Option<String>) -> String {
    match env {
        Some(service) if honour_env => service,
        _ => KEYCHAIN_SERVICE.to_owned(),
    }
}

pub fn account() -> Result<Account, CoreError> {
    let store = KeychainStore::new().with_service(keychain_service());
    let account = Account::new(AppPaths::from_os()?, Arc::new(store))?;
    let policy = if account
        .effective_settings()
        .flag(rollbook_core::policy::Key::LocalStoreAllowed)
        == Some(false)
    {
        LocalStorePolicy::MemoryOnly
    } else {
        LocalStorePolicy::Allowed
    };
    Ok(account.with_local_store_policy(policy))
}

pub async fn run(command: Command) -> Result<(), CoreError> {
    // Every command but `doctor` (which reports, and changes nothing) starts by holding
    // the saved session to the policy in force now, not the policy at its sign-in.
    if !matches!(command, Command::Doctor { .. }) {
        apply_policy().await?;
    }
    match command {
        Command::Login(args) => login(*args).await,
        Command::Whoami { refresh, json } => whoami(refresh, json).await,
        Command::Logout {
            discard_unsent,
            json,
        } => logout(discard_unsent, json).await,
        Command::Doctor {
            wipe_local_data: true,
            discard_unsent,
            json,
            ..
        } => wipe_local_data(discard_unsent, json).await,
        Command::Doctor { issuer, json, .. } => doctor(issuer.as_deref(), json).await,
        Command::Classes { all_terms, json } => {
            crate::roster::classes(&account()?, all_terms, json).await
        }
        Command::Roster {
            class,
            sort,
            desc,
            json,
            csv,
        } => {
            crate::roster::roster(
                &account()?,
                &ClassId::from(class),
                sort.into(),
                desc,
                json,
                csv,
            )
            .await
        }
        Command::Gradebook { class, json, csv } => {
            crate::gradebook::gradebook(&account()?, &ClassId::from(class), json, csv).await
        }
        Command::Grade {
            class,
            line_item,
            student,
            value,
            comment,
            json,
        } => {
            crate::gradebook::grade(
                &account()?,
                &ClassId::from(class),
                &LineItemId::from(line_item),
                &StudentId::from(student),
                &value,
                comment,
                json,
            )
            .await
        }
        Command::Sync { json } => crate::gradebook::sync(&account()?, json).await,
    }
}

/// Acts on a policy change since the saved session began, and says what it did.
async fn apply_policy() -> Result<(), CoreError> {
    let account = account()?;
    match account.apply_policy().await {
        Ok(Some(action)) => note(&format!("note: {}", action.describe())),
        Ok(None) => {}
        // The command's own restore meets the same policy and refuses with its code.
        Err(e) => note(&format!(
            "warning: the saved sign-in could not be brought in line with your school's policy ({}: {e})",
            e.code()
        )),
    }
    Ok(())
}

async fn login(args: LoginArgs) -> Result<(), CoreError> {
    let browser =
        Browser::from_command(args.browser_command.as_deref()).map_err(AuthError::InvalidConfig)?;
    if args.client_secret.is_some() && std::env::var_os("ROLLBOOK_CLIENT_SECRET").is_none() {
        note(
            "warning: --client-secret can be read by other users of this computer (ps); set ROLLBOOK_CLIENT_SECRET instead",
        );
    }
    let account = account()?;
    let provider = if args.demo {
        FlagProvider::Demo { url: args.demo_url }
    } else {
        FlagProvider::Named {
            issuer: args.issuer.unwrap_or_default(),
            client_id: args.client_id.unwrap_or_default(),
            profile: args.profile.into(),
            oneroster_url: args.oneroster_url,
            classlink_api_url: args.classlink_api_url,
        }
    };
    let settings = SignInFlags {
        provider,
        scope: args.scope,
        teacher_id_claim: args.teacher_id_claim,
        redirect: args.redirect.into(),
        client_secret: args.client_secret,
        shared_machine: args.shared_machine,
    }
    .settings(account.http(), &account.effective_settings())
    .await?;

    let desk = SignInDesk::new();
    let attempt = desk.begin()?;
    let scheme = settings.redirect == RedirectMode::Scheme;
    if scheme {
        read_callbacks_from_stdin(desk.clone());
    }
    // Ctrl-C cancels cleanly: nothing is stored unless the sign-in was already storing.
    let interrupt = desk.clone();
    let interrupted = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            interrupt.cancel();
        }
    });
    let mut show_progress = move |stage: SignInProgress| {
        let SignInProgress::Waiting {
            url,
            browser_problem,
        } = stage
        else {
            return;
        };
        match browser_problem {
            None => note("Opening your browser to sign in…"),
            Some(problem) => note(&format!("Could not open a browser ({problem}).")),
        }
        note(&format!(
            "If it does not open, visit this address:\n\n  {url}\n"
        ));
        if scheme {
            note(
                "After signing in, paste the address your browser was sent to (it starts with org.rollbook.desktop:) and press Enter.",
            );
        }
    };
    let report = account
        .sign_in(
            settings,
            &browser,
            &attempt,
            Duration::from_secs(args.timeout),
            &mut show_progress,
        )
        .await;
    interrupted.abort();
    let report = report?;
    if let Some(problem) = &report.keychain_problem {
        note(&format!("warning: {problem}"));
    }
    if args.json {
        let mut out = identity_json(
            &report.identity,
            report.expires_at,
            report.has_refresh_token,
        );
        out["persisted"] = json!(report.persisted);
        print_json(&out);
    } else {
        print_line(&format!(
            "Signed in as {}{} ({}).",
            report.identity.display_name(),
            report
                .identity
                .email
                .as_deref()
                .map(|e| format!(" <{e}>"))
                .unwrap_or_default(),
            report.identity.issuer
        ));
        print_line(&session_lifetime(
            report.expires_at,
            report.has_refresh_token,
            report.persisted,
        ));
    }
    if report.shared_machine {
        end_shared_login(&account).await;
    }
    Ok(())
}

/// A shared-computer sign-in lives in this process only, so it ends with the command:
/// as the window does on closing, it is revoked at the provider, the note kept for a
/// crash goes, and the teacher is told how to end the browser's session too (or the next
/// person at this computer could be signed in by the browser).
async fn end_shared_login(account: &Account) {
    match account.end_shared_session().await {
        Some(Ok(ended)) => {
            note("This is a shared computer: the session ended with this command.");
            match ended.end_session_url {
                Some(url) => note(&format!(
                    "To sign out of the provider in your browser too, open:\n  {url}"
                )),
                None => note("Close your web browser to finish signing out."),
            }
        }
        Some(Err(e)) => note(&format!(
            "warning: the shared session could not be ended cleanly ({}: {e})",
            e.code()
        )),
        None => {}
    }
}

/// The identity as `login --json` and `whoami --json` print it (`sub`, not `subject`).
fn identity_json(
    identity: &Identity,
    expires_at: Option<i64>,
    has_refresh_token: bool,
) -> serde_json::Value {
    json!({
        "sub": identity.subject,
        "issuer": identity.issuer,
        "name": identity.name,
        "email": identity.email,
        "expires_at": expires_at,
        "has_refresh_token": has_refresh_token,
    })
}

fn session_lifetime(expires_at: Option<i64>, has_refresh_token: bool, persisted: bool) -> String {
    let kept = if persisted {
        "saved in the system keychain"
    } else {
        "kept in memory only; it ends when this command exits"
    };
    match (has_refresh_token, expires_at) {
        (true, _) => format!("The session is {kept} and renews itself."),
        (false, Some(at)) => format!(
            "The session is {kept}. The provider gave no refresh token, so you will need to sign in again after {}.",
            format_time(at)
        ),
        (false, None) => format!("The session is {kept}."),
    }
}

/// Reads pasted deep-link URLs, one per line, for `--redirect scheme`.
/// Pasted deep links (the custom-scheme redirect) go to the waiting sign-in; the end of
/// standard input tells it no more will come.
fn read_callbacks_from_stdin(desk: SignInDesk) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match Url::parse(line.trim()) {
                Ok(url) => {
                    desk.deliver_deep_link(url);
                }
                Err(_) if line.trim().is_empty() => {}
                Err(_) => {
                    note("That is not an address; paste the whole org.rollbook.desktop:… address.")
                }
            }
        }
        desk.end_deep_links();
    });
}

async fn whoami(refresh: bool, json_output: bool) -> Result<(), CoreError> {
    let me = account()?.whoami(refresh).await?;
    if json_output {
        print_json(&identity_json(
            &me.identity,
            me.expires_at,
            me.has_refresh_token,
        ));
    } else {
        print_line(&format!(
            "{}{} at {}",
            me.identity.display_name(),
            me.identity
                .email
                .as_deref()
                .map(|e| format!(" <{e}>"))
                .unwrap_or_default(),
            me.identity.issuer
        ));
        if let Some(at) = me.expires_at {
            print_line(&format!("Access valid until {}.", format_time(at)));
        }
    }
    Ok(())
}

async fn logout(discard_unsent: bool, json_output: bool) -> Result<(), CoreError> {
    let account = account()?;
    // Core refuses while grades wait, or while it cannot tell whether they do.
    let signed_out = account.sign_out_teacher(discard_unsent).await;
    crate::gradebook::say_store_set_aside(&account).await;
    if let Some(discarded) = &signed_out.discarded {
        crate::gradebook::say_discarded(discarded);
    }
    let SignOutReport {
        revoked,
        revocation_problem,
        end_session_url,
        unsent_grades,
        unsent_unknown,
        grading_rules_kept,
        ..
    } = signed_out.result?;
    if json_output {
        print_json(&json!({
            "revoked": revoked,
            "revocation_problem": revocation_problem,
            "end_session_url": end_session_url.as_ref().map(Url::as_str),
            "unsent_grades_deleted": unsent_grades,
            "unsent_unknown": unsent_unknown,
            "grading_rules_kept": grading_rules_kept,
        }));
        return Ok(());
    }
    print_line("Signed out. Nothing of the session is left on this computer.");
    if grading_rules_kept > 0 {
        print_line(&format!(
            "Your grading rules for {} stay here for your next sign-in.",
            if grading_rules_kept == 1 {
                "1 class".to_owned()
            } else {
                format!("{grading_rules_kept} classes")
            }
        ));
    }
    if let Some(problem) = revocation_problem {
        note(&format!(
            "warning: the provider did not confirm revoking the session ({problem})."
        ));
    }
    if let Some(url) = end_session_url {
        print_line(&format!(
            "To sign out of the provider in your browser too, open:\n  {url}"
        ));
    }
    Ok(())
}

/// `rollbook doctor --wipe-local-data`: the documented clean-up for IT (docs/it-admins.md).
async fn wipe_local_data(discard_unsent: bool, json_output: bool) -> Result<(), CoreError> {
    let account = account()?;
    let wiped = account
        .wipe_local_data(IfUnsent::teacher_said_discard(discard_unsent))
        .await?;
    if json_output {
        print_json(&json!({ "ok": wiped.problems.is_empty(), "wiped": wiped }));
    } else {
        if wiped.signed_out {
            print_line("Signed out.");
        }
        if wiped.unsent_discarded > 0 {
            print_line(&format!(
                "Deleted {} grade(s) and assignment(s) that were not yet sent.",
                wiped.unsent_discarded
            ));
        }
        for path in &wiped.removed {
            print_line(&format!("Deleted {}", path.display()));
        }
        if wiped.removed.is_empty() {
            print_line("There was no Rollbook data for this user on this computer.");
        }
        for problem in &wiped.problems {
            note(&format!("warning: {problem}"));
        }
    }
    Ok(())
}

async fn doctor(issuer: Option<&str>, json_output: bool) -> Result<(), CoreError> {
    let account = account()?;
    let settings = account.effective_settings();
    let checks = account.doctor(issuer, &settings).await;
    let set_aside = account.grades().set_aside_stores();
    let failed = checks.iter().any(|c| c.status == CheckStatus::Fail);
    if json_output {
        print_json(&json!({
            "ok": !failed,
            "checks": checks,
            "set_aside_stores": set_aside,
            "settings": settings.settings,
            "policy_problems": settings.problems,
            "log_file": rollbook_core::log_dir(account.paths()).join(rollbook_core::LOG_FILE_NAME),
            // Windows: what the one-time move left in the old roaming folder (null: nothing).
            "roaming_data_kept": account.roaming_data_kept().map(|(folder, entries)| json!({
                "folder": folder,
                "entries": entries,
            })),
        }));
    } else {
        for check in &checks {
            let mark = match check.status {
                CheckStatus::Ok => "ok  ",
                CheckStatus::Warn => "warn",
                CheckStatus::Fail => "FAIL",
            };
            let code = check
                .code
                .as_deref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default();
            print_line(&format!("{mark} {:<10} {}{code}", check.name, check.detail));
        }
        print_line("");
        print_line("Settings in force:");
        for setting in &settings.settings {
            print_line(&format!(
                "  {:<20} {:<40} {}",
                setting.key.name(),
                setting.value.to_string(),
                setting.origin
            ));
        }
    }
    if failed {
        let first = checks.iter().find(|c| c.status == CheckStatus::Fail);
        return Err(AuthError::InvalidConfig(format!(
            "doctor found problems{}",
            first
                .map(|c| format!(", first: {}", c.name))
                .unwrap_or_default()
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod keychain_gate_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn release_builds_ignore_the_keychain_service_env() {
        let asked = Some("someone-elses-service".to_owned());
        assert_eq!(service_for(false, asked.clone()), KEYCHAIN_SERVICE);
        assert_eq!(service_for(true, asked), "someone-elses-service");
        assert_eq!(service_for(true, None), KEYCHAIN_SERVICE);
        // The gate is the build's debug assertions (this test build has them).
        assert_eq!(HONOURS_KEYCHAIN_SERVICE_ENV, cfg!(debug_assertions));
        // …and no release profile that ships (`release`, or one inheriting from it) turns
        // them on: `rollbook` from an installer always uses the product's service.
        let manifest = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml"),
        )
        .unwrap();
        let profiles = manifest
            .split("\n[")
            .filter(|section| section.starts_with("profile."))
            .filter(|section| {
                !section.starts_with("profile.dev") && !section.starts_with("profile.test")
            });
        for profile in profiles {
            let settings: String = profile
                .lines()
                .skip(1)
                .map(|l| l.split('#').next().unwrap_or("").replace(' ', ""))
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                !settings.contains("debug-assertions=true"),
                "[{} turns debug assertions on: a release `rollbook` would honour ROLLBOOK_KEYCHAIN_SERVICE",
                profile.lines().next().unwrap_or_default()
            );
        }
    }
}
