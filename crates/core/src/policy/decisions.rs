//! What the settings in force decide: which providers and sessions are permitted, the
//! log level, the proxy, local storage, export, idle sign-out and updates.

use serde::Serialize;
use url::Url;

use super::{AllowedProviders, Key, ResolvedSettings, Value};
use crate::{CLASSLINK_ISSUER, CoreError, ProviderSettings, RedirectMode};

impl ResolvedSettings {
    /// Applies policy to settings a face built (the window's form, the CLI's flags, the
    /// demo district): refuses what [`Self::provider_permitted`] refuses, and replaces
    /// what policy fixes. The client id and roster address policy sets belong to the
    /// provider it names (its `Issuer`, else ClassLink), so they never travel to another
    /// provider.
    pub fn enforce(&self, mut settings: ProviderSettings) -> Result<ProviderSettings, CoreError> {
        self.provider_permitted(&settings)?;
        if !settings.is_demo() {
            let classlink = is_classlink(&settings.issuer);
            let describes_this = match self.locked_text(Key::Issuer) {
                Some(_) => !classlink,
                None => classlink,
            };
            if describes_this {
                if let Some(client_id) = self.locked_text(Key::ClientId) {
                    settings.client_id = client_id;
                }
                if let Some(roster) = self.locked_text(Key::RosterUrl) {
                    settings.oneroster_url = Some(roster);
                }
            }
        }
        if self.is_locked(Key::RedirectMode) {
            settings.redirect = self.redirect();
        }
        if self.shared_machine() {
            settings.shared_machine = true;
        }
        Ok(settings)
    }

    /// Whether policy lets a session with `settings` exist on this computer: the one
    /// decision behind every sign-in (window, CLI, demo district) and every restore of
    /// a saved session ([`Self::session_permitted`]).
    pub fn provider_permitted(&self, settings: &ProviderSettings) -> Result<(), CoreError> {
        if settings.is_demo() {
            return crate::allow_demo(self);
        }
        let forbidden = |message: String| Err(CoreError::ForbiddenByPolicy(message));
        let classlink = is_classlink(&settings.issuer);
        let policy_issuer = self.locked_text(Key::Issuer);
        let is_policy_issuer = policy_issuer
            .as_deref()
            .is_some_and(|issuer| same_issuer(issuer, &settings.issuer));
        match (self.allowed_providers(), &policy_issuer) {
            (AllowedProviders::Classlink, _) if !classlink => {
                forbidden("your school allows signing in with ClassLink only".into())
            }
            (AllowedProviders::Issuer, Some(issuer)) if !is_policy_issuer => forbidden(format!(
                "your school allows signing in with its own provider only ({issuer})"
            )),
            (AllowedProviders::Issuer, None) => forbidden(
                "your school allows signing in only with the provider its policy names, and its policy names none (Issuer); ask your IT team"
                    .into(),
            ),
            (AllowedProviders::Any, Some(issuer)) if !classlink && !is_policy_issuer => {
                forbidden(format!(
                    "your school sets the sign-in provider to {issuer}"
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether a saved session may go on: its provider is still permitted, and it is
    /// not a kept (keychain) session on a computer policy now makes shared.
    pub fn session_permitted(&self, settings: &ProviderSettings) -> Result<(), CoreError> {
        self.provider_permitted(settings)?;
        // The roster server and client id policy now sets for this provider: a session
        // begun elsewhere (before IT put a roster gateway in front of the SIS, or moved
        // Rollbook to another client) would go on reading and writing grades where
        // policy no longer sends them.
        let held = self.enforce(settings.clone())?;
        let same = |a: &Option<String>, b: &Option<String>| {
            a.as_deref().map(|u| u.trim_end_matches('/'))
                == b.as_deref().map(|u| u.trim_end_matches('/'))
        };
        if !same(&held.oneroster_url, &settings.oneroster_url) {
            return Err(CoreError::ForbiddenByPolicy(
                "your school has changed the roster server Rollbook uses (RosterUrl); sign in again".into(),
            ));
        }
        if held.client_id != settings.client_id {
            return Err(CoreError::ForbiddenByPolicy(
                "your school has changed Rollbook's client id at your provider (ClientId); sign in again".into(),
            ));
        }
        if self.shared_machine() && self.is_locked(Key::SharedMachine) && !settings.shared_machine {
            return Err(CoreError::ForbiddenByPolicy(
                "your school has made this a shared computer, where sign-ins are not kept".into(),
            ));
        }
        Ok(())
    }

    /// How much goes into the log file (`LogLevel`; `info` unless policy says).
    pub fn log_level(&self) -> tracing::Level {
        match self.text(Key::LogLevel) {
            Some("error") => tracing::Level::ERROR,
            Some("warn") => tracing::Level::WARN,
            Some("debug") => tracing::Level::DEBUG,
            _ => tracing::Level::INFO,
        }
    }

    /// The proxy every provider and roster call goes through (`ProxyUrl`), instead of
    /// the system's settings.
    pub fn proxy_url(&self) -> Option<Url> {
        self.locked_text(Key::ProxyUrl)
            .and_then(|t| Url::parse(&t).ok())
    }

    /// Whether grades may be kept on disk (`LocalStoreAllowed`).
    pub fn local_store_allowed(&self) -> bool {
        self.flag(Key::LocalStoreAllowed) != Some(false)
    }

    /// Whether a gradebook may leave the store as a file or on paper (`ExportAllowed`):
    /// `policy_forbidden` when not.
    pub fn allow_export(&self) -> Result<(), CoreError> {
        if self.flag(Key::ExportAllowed) == Some(false) {
            return Err(CoreError::ForbiddenByPolicy(
                "your school has turned off exporting and printing gradebooks on this computer"
                    .into(),
            ));
        }
        Ok(())
    }

    /// How the browser returns to the app.
    pub fn redirect(&self) -> RedirectMode {
        match self.get(Key::RedirectMode).map(|e| &e.value) {
            Some(Value::Redirect(r)) => *r,
            _ => RedirectMode::default(),
        }
    }

    /// Shared-machine mode (policy's, else the teacher's choice).
    pub fn shared_machine(&self) -> bool {
        self.flag(Key::SharedMachine) == Some(true)
    }

    /// Minutes without activity before the window signs the teacher out; 0 is never.
    pub fn idle_sign_out_minutes(&self) -> u32 {
        match self.get(Key::IdleSignOutMinutes).map(|e| &e.value) {
            Some(Value::Minutes(m)) => *m,
            _ => 0,
        }
    }
}

/// Whether and where the window looks for a newer Rollbook at start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UpdateCheck {
    /// No request at all; `why` says which setting chose it, for `rollbook doctor`.
    Off { why: String },
    /// Ask `mirror` (the `UpdateUrl` policy), or this build's own address when `None`.
    Check { mirror: Option<Url> },
}

impl ResolvedSettings {
    /// The one decision behind the window's check at start, its Install button, and
    /// `rollbook-desktop --update`: `AutoUpdate = 0` asks nothing (labs that push each
    /// release as an MSI or a package), and an `UpdateUrl` IT set but Rollbook cannot use
    /// asks nothing either, rather than going to an address IT did not choose.
    pub fn update_check(&self) -> UpdateCheck {
        if self.flag(Key::AutoUpdate) == Some(false) {
            let by = self
                .get(Key::AutoUpdate)
                .map(|e| e.origin.to_string())
                .unwrap_or_default();
            return UpdateCheck::Off {
                why: format!(
                    "updates are turned off (AutoUpdate = 0, from {by}); IT installs each release"
                ),
            };
        }
        // What IT meant cannot be read: an `AutoUpdate` of `"no"` or `2`, or a whole
        // policy source unreadable or ignored (which may have said 0, or named a mirror).
        // Asking Rollbook's own address then could reach the internet from a lab IT
        // keeps off it, or offer a release IT has not approved; nothing is asked.
        let about = |key: Key| {
            move |p: &&super::PolicyProblem| {
                p.key
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(key.name()))
            }
        };
        if let Some(problem) = self.problems.iter().find(about(Key::AutoUpdate)) {
            return UpdateCheck::Off {
                why: format!(
                    "the policy that turns updates on or off cannot be used ({problem}), so Rollbook asks nothing"
                ),
            };
        }
        if let Some(problem) = self.problems.iter().find(|p| p.key.is_none()) {
            return UpdateCheck::Off {
                why: format!(
                    "a policy source was not read ({problem}), so Rollbook asks nothing until it is fixed"
                ),
            };
        }
        if let Some(problem) = self.problems.iter().find(about(Key::UpdateUrl)) {
            return UpdateCheck::Off {
                why: format!(
                    "the update address policy cannot be used ({problem}), so Rollbook asks no other"
                ),
            };
        }
        UpdateCheck::Check {
            mirror: self
                .locked_text(Key::UpdateUrl)
                .and_then(|t| Url::parse(&t).ok()),
        }
    }
}

fn is_classlink(issuer: &str) -> bool {
    issuer.trim_end_matches('/') == CLASSLINK_ISSUER
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}
