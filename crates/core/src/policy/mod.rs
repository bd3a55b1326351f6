//! Managed policy: what a district's IT presets for every computer, and how it combines
//! with the teacher's own settings and this build's defaults.
//!
//! Sources, highest first: machine policy, user policy, the teacher's settings, build
//! defaults. Policy is read where IT already configures browsers and editors:
//! - Windows: `HKLM\SOFTWARE\Policies\Rollbook`, then `HKCU\SOFTWARE\Policies\Rollbook`
//!   (Group Policy, with the ADMX template);
//! - macOS: managed preferences for `org.rollbook.desktop` (an MDM configuration
//!   profile), and only the values the profile forces;
//! - Linux: `/etc/rollbook/policy.json` (`ROLLBOOK_POLICY_FILE` points elsewhere, for
//!   tests).
//!
//! Every source yields raw values by key name ([`RawValue`]); [`resolve`] checks each one
//! and reports a bad value by name ([`PolicyProblem`]) instead of using it. A bad value
//! never opens a door: a plain-http issuer is refused, an unknown provider list allows
//! nothing more than the next source does.

mod idle;
mod linux;
mod macos;
mod registry;
#[cfg(windows)]
mod windows;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use url::Url;

use crate::{
    BuildDefaults, CLASSLINK_ISSUER, CoreError, Preferences, ProviderSettings, RedirectMode,
};

pub use idle::{IdleVerdict, OsIdle, SystemIdle, idle_verdict};
pub use linux::{POLICY_FILE, POLICY_FILE_ENV, POLICY_FILE_OWNER_ENV, PolicyFile};
#[cfg(target_os = "macos")]
pub use macos::CoreFoundationPreferences;
pub use macos::{ManagedPreferences, ManagedPreferencesPolicy, PREFERENCES_DOMAIN};
pub use registry::{REGISTRY_PATH, RegistryData, RegistryHive, RegistryPolicy};
#[cfg(windows)]
pub use windows::WindowsHive;

/// A value as a source holds it, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawValue {
    Text(String),
    Number(i64),
    Bool(bool),
}

impl fmt::Display for RawValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(t) => write!(f, "{t:?}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Where a source's values apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyLevel {
    Machine,
    User,
}

/// One place policy is read from.
pub trait PolicySource: Send + Sync + fmt::Debug {
    /// Where it is, for messages (`/etc/rollbook/policy.json`, `HKLM\SOFTWARE\…`).
    fn location(&self) -> String;
    fn level(&self) -> PolicyLevel;
    /// Every value set here, by key name. An unreadable source is one problem, not a
    /// crash: the error says why, and whether the source was unreadable (then the
    /// settings that protect data take their most protective values) or untrusted
    /// (ignored).
    fn read(&self) -> Result<BTreeMap<String, RawValue>, SourceProblem>;
}

/// Why a source gave no values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceProblem {
    /// Policy is there but cannot be read or parsed. IT meant something, so the data
    /// protecting settings (shared machine, local store, export) fail closed until it
    /// is fixed.
    Unreadable(String),
    /// Anyone but IT could have written it (a Linux file not owned by root, or writable by
    /// group or others): nothing from it applies, as if it were absent.
    Untrusted(String),
}

impl From<String> for SourceProblem {
    fn from(message: String) -> Self {
        Self::Unreadable(message)
    }
}

/// The policy sources of this computer, machine first.
pub fn system_sources() -> Vec<Box<dyn PolicySource>> {
    #[cfg(windows)]
    {
        vec![
            Box::new(RegistryPolicy::new(
                WindowsHive::LocalMachine,
                PolicyLevel::Machine,
            )),
            Box::new(RegistryPolicy::new(
                WindowsHive::CurrentUser,
                PolicyLevel::User,
            )),
        ]
    }
    #[cfg(target_os = "macos")]
    {
        vec![Box::new(ManagedPreferencesPolicy::new(
            CoreFoundationPreferences,
        ))]
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    {
        vec![Box::new(PolicyFile::from_env())]
    }
}

/// Which providers a teacher may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowedProviders {
    /// ClassLink only.
    Classlink,
    /// ClassLink and any other OpenID provider.
    Any,
    /// Only the provider the `Issuer` policy names (the district's own); nothing when no
    /// policy names one.
    Issuer,
}

/// A setting's name, as policy spells it (registry value, JSON key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Key {
    AllowedProviders,
    Issuer,
    ClientId,
    RosterUrl,
    RedirectMode,
    SharedMachine,
    IdleSignOutMinutes,
    LocalStoreAllowed,
    DemoDistrictAllowed,
    ExportAllowed,
    LogLevel,
    ProxyUrl,
    AutoUpdate,
    UpdateUrl,
}

impl Key {
    pub const ALL: [Key; 14] = [
        Key::AllowedProviders,
        Key::Issuer,
        Key::ClientId,
        Key::RosterUrl,
        Key::RedirectMode,
        Key::SharedMachine,
        Key::IdleSignOutMinutes,
        Key::LocalStoreAllowed,
        Key::DemoDistrictAllowed,
        Key::ExportAllowed,
        Key::LogLevel,
        Key::ProxyUrl,
        Key::AutoUpdate,
        Key::UpdateUrl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Key::AllowedProviders => "AllowedProviders",
            Key::Issuer => "Issuer",
            Key::ClientId => "ClientId",
            Key::RosterUrl => "RosterUrl",
            Key::RedirectMode => "RedirectMode",
            Key::SharedMachine => "SharedMachine",
            Key::IdleSignOutMinutes => "IdleSignOutMinutes",
            Key::LocalStoreAllowed => "LocalStoreAllowed",
            Key::DemoDistrictAllowed => "DemoDistrictAllowed",
            Key::ExportAllowed => "ExportAllowed",
            Key::LogLevel => "LogLevel",
            Key::ProxyUrl => "ProxyUrl",
            Key::AutoUpdate => "AutoUpdate",
            Key::UpdateUrl => "UpdateUrl",
        }
    }

    fn from_name(name: &str) -> Option<Key> {
        Key::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }
}

/// A checked value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Providers(AllowedProviders),
    Text(String),
    Redirect(RedirectMode),
    Flag(bool),
    Minutes(u32),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Providers(AllowedProviders::Classlink) => f.write_str("classlink"),
            Value::Providers(AllowedProviders::Any) => f.write_str("any"),
            Value::Providers(AllowedProviders::Issuer) => f.write_str("issuer"),
            Value::Text(t) => f.write_str(t),
            Value::Redirect(RedirectMode::Loopback) => f.write_str("loopback"),
            Value::Redirect(RedirectMode::Scheme) => f.write_str("scheme"),
            Value::Flag(b) => write!(f, "{b}"),
            Value::Minutes(0) => f.write_str("never"),
            Value::Minutes(m) => write!(f, "{m} minutes"),
        }
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    MachinePolicy {
        location: String,
    },
    UserPolicy {
        location: String,
    },
    TeacherSetting,
    BuildDefault,
    /// Policy is present at `location` but cannot be read: this data-protecting setting
    /// takes its most protective value until IT fixes it.
    UnreadablePolicy {
        location: String,
    },
    /// Policy at `location` sets this data-protecting setting to a value Rollbook cannot
    /// use (a `REG_BINARY`, `"yes"`): IT meant to set it, so it takes its most protective
    /// value rather than the teacher's choice.
    InvalidPolicy {
        location: String,
    },
}

impl Origin {
    /// Whether the teacher may change it (policy locks it).
    pub fn is_policy(&self) -> bool {
        matches!(
            self,
            Origin::MachinePolicy { .. }
                | Origin::UserPolicy { .. }
                | Origin::UnreadablePolicy { .. }
                | Origin::InvalidPolicy { .. }
        )
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::MachinePolicy { location } => write!(f, "machine policy ({location})"),
            Origin::UserPolicy { location } => write!(f, "user policy ({location})"),
            Origin::TeacherSetting => f.write_str("the teacher's setting"),
            Origin::BuildDefault => f.write_str("this build's default"),
            Origin::UnreadablePolicy { location } => write!(
                f,
                "the most protective value, because the policy at {location} is present but unreadable"
            ),
            Origin::InvalidPolicy { location } => write!(
                f,
                "the most protective value, because the policy at {location} sets it to a value that is not valid"
            ),
        }
    }
}

/// One setting in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effective {
    pub key: Key,
    pub value: Value,
    pub origin: Origin,
}

/// A policy value that was ignored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyProblem {
    /// The key as the source spelled it (`None` when the whole source is unreadable).
    pub key: Option<String>,
    pub location: String,
    pub message: String,
    /// The whole source is present but unreadable ("policy present but unreadable"):
    /// louder than one bad value, since the data-protecting settings fail closed.
    #[serde(default)]
    pub unreadable: bool,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{key} in {}: {}", self.location, self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

/// Every setting in force, with its origin, and the policy values that were ignored.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResolvedSettings {
    pub settings: Vec<Effective>,
    pub problems: Vec<PolicyProblem>,
}

impl ResolvedSettings {
    pub fn get(&self, key: Key) -> Option<&Effective> {
        self.settings.iter().find(|e| e.key == key)
    }

    /// Whether policy fixes this setting ("set by your school").
    pub fn is_locked(&self, key: Key) -> bool {
        self.get(key).is_some_and(|e| e.origin.is_policy())
    }

    pub fn allowed_providers(&self) -> AllowedProviders {
        match self.get(Key::AllowedProviders).map(|e| &e.value) {
            Some(Value::Providers(p)) => *p,
            _ => AllowedProviders::Any,
        }
    }

    pub fn text(&self, key: Key) -> Option<&str> {
        match self.get(key).map(|e| &e.value) {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// A text value that policy (not the teacher or the build) sets.
    pub fn locked_text(&self, key: Key) -> Option<String> {
        if self.is_locked(key) {
            self.text(key).map(str::to_owned)
        } else {
            None
        }
    }

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

    /// Any problem that made a whole policy source unreadable ("policy present but
    /// unreadable").
    pub fn unreadable(&self) -> impl Iterator<Item = &PolicyProblem> {
        self.problems.iter().filter(|p| p.unreadable)
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

    pub fn flag(&self, key: Key) -> Option<bool> {
        match self.get(key).map(|e| &e.value) {
            Some(Value::Flag(b)) => Some(*b),
            _ => None,
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
        if let Some(problem) = self.problems.iter().find(|p| {
            p.key
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(Key::UpdateUrl.name()))
        }) {
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

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn is_classlink(issuer: &str) -> bool {
    issuer.trim_end_matches('/') == CLASSLINK_ISSUER
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The settings that keep student data safe, at their most protective: what applies
/// while policy is present but unreadable.
const PROTECTIVE: [(Key, bool); 3] = [
    (Key::SharedMachine, true),
    (Key::LocalStoreAllowed, false),
    (Key::ExportAllowed, false),
];

/// Checks one raw value for `key`.
fn check(key: Key, raw: &RawValue) -> Result<Value, String> {
    let text = |raw: &RawValue| match raw {
        RawValue::Text(t) if !t.trim().is_empty() => Ok(t.trim().to_owned()),
        RawValue::Text(_) => Err("it is empty".to_owned()),
        other => Err(format!("it must be text, not {other}")),
    };
    let flag = |raw: &RawValue| match raw {
        RawValue::Bool(b) => Ok(*b),
        RawValue::Number(0) => Ok(false),
        RawValue::Number(1) => Ok(true),
        // Text too: a registry preference or a profile written by hand often stores
        // `"1"` as `REG_SZ` or `<string>`.
        RawValue::Text(t) if t.eq_ignore_ascii_case("true") || t.trim() == "1" => Ok(true),
        RawValue::Text(t) if t.eq_ignore_ascii_case("false") || t.trim() == "0" => Ok(false),
        other => Err(format!("it must be true or false (1 or 0), not {other}")),
    };
    let https_url = |raw: &RawValue| -> Result<String, String> {
        let text = text(raw)?;
        let url = Url::parse(&text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
        rollbook_auth::require_secure_url(&url, key.name()).map_err(|e| e.to_string())?;
        Ok(text)
    };
    match key {
        Key::AllowedProviders => match text(raw)?.to_ascii_lowercase().as_str() {
            "classlink" => Ok(Value::Providers(AllowedProviders::Classlink)),
            "any" => Ok(Value::Providers(AllowedProviders::Any)),
            "issuer" => Ok(Value::Providers(AllowedProviders::Issuer)),
            other => Err(format!(
                "{other:?} is not one of \"classlink\", \"issuer\", \"any\""
            )),
        },
        Key::Issuer | Key::RosterUrl => https_url(raw).map(Value::Text),
        Key::ClientId => text(raw).map(Value::Text),
        Key::RedirectMode => match text(raw)?.to_ascii_lowercase().as_str() {
            "loopback" => Ok(Value::Redirect(RedirectMode::Loopback)),
            "scheme" => Ok(Value::Redirect(RedirectMode::Scheme)),
            other => Err(format!("{other:?} is not one of \"loopback\", \"scheme\"")),
        },
        Key::SharedMachine
        | Key::LocalStoreAllowed
        | Key::DemoDistrictAllowed
        | Key::ExportAllowed
        | Key::AutoUpdate => flag(raw).map(Value::Flag),
        Key::UpdateUrl => {
            let text = text(raw)?;
            let url = Url::parse(&text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
            match url.scheme() {
                "https" if url.host_str().is_some() => Ok(Value::Text(text)),
                // The .deb suite's local update server; nothing on the network. The
                // update itself is still checked against the release key.
                "http" if is_loopback(&url) => Ok(Value::Text(text)),
                _ => Err(format!(
                    "{text:?} must be an https:// address of the update manifest, like https://updates.district.example/rollbook/latest.json"
                )),
            }
        }
        Key::LogLevel => match text(raw)?.to_ascii_lowercase().as_str() {
            level @ ("error" | "warn" | "info" | "debug") => Ok(Value::Text(level.to_owned())),
            other => Err(format!(
                "{other:?} is not one of \"error\", \"warn\", \"info\", \"debug\""
            )),
        },
        Key::ProxyUrl => {
            let text = text(raw)?;
            let url = Url::parse(&text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
            match url.scheme() {
                "http" | "https" if url.host_str().is_some() => Ok(Value::Text(text)),
                _ => Err(format!(
                    "{text:?} must be an http:// or https:// proxy address, like http://proxy.district.example:3128"
                )),
            }
        }
        Key::IdleSignOutMinutes => match raw {
            // A week at most: anything longer is a typo for "never" (0).
            RawValue::Number(n) if (0..=10_080).contains(n) => {
                Ok(Value::Minutes(u32::try_from(*n).unwrap_or(0)))
            }
            other => Err(format!(
                "it must be a number of minutes from 0 (never) to 10080, not {other}"
            )),
        },
    }
}

/// The settings in force on this computer for the user whose folders are `paths`.
pub fn in_force(paths: &crate::AppPaths) -> ResolvedSettings {
    resolve(
        &system_sources(),
        &Preferences::load(paths),
        &BuildDefaults::of_this_build(),
    )
}

/// Resolves every setting: policy sources in order (machine first), then the teacher's
/// settings, then this build's defaults.
pub fn resolve(
    sources: &[Box<dyn PolicySource>],
    teacher: &Preferences,
    build: &BuildDefaults,
) -> ResolvedSettings {
    let mut resolved = ResolvedSettings::default();
    let mut found: BTreeMap<Key, Effective> = BTreeMap::new();
    for source in sources {
        let location = source.location();
        let values = match source.read() {
            Ok(values) => values,
            Err(SourceProblem::Untrusted(message)) => {
                resolved.problems.push(PolicyProblem {
                    key: None,
                    location,
                    message: format!("{message}; it was ignored"),
                    unreadable: false,
                });
                continue;
            }
            Err(SourceProblem::Unreadable(message)) => {
                // Ranked where the source is: a readable machine policy still wins over
                // an unreadable user one.
                for (key, value) in PROTECTIVE {
                    found.entry(key).or_insert(Effective {
                        key,
                        value: Value::Flag(value),
                        origin: Origin::UnreadablePolicy {
                            location: location.clone(),
                        },
                    });
                }
                resolved.problems.push(PolicyProblem {
                    key: None,
                    location,
                    message: format!(
                        "policy present but unreadable: {message}. Until it is fixed, shared-machine mode is on and local storage and export are off"
                    ),
                    unreadable: true,
                });
                continue;
            }
        };
        for (name, raw) in values {
            let Some(key) = Key::from_name(&name) else {
                resolved.problems.push(PolicyProblem {
                    key: Some(name),
                    location: location.clone(),
                    message: "Rollbook has no such setting; it was ignored".into(),
                    unreadable: false,
                });
                continue;
            };
            match check(key, &raw) {
                Ok(value) => {
                    let origin = match source.level() {
                        PolicyLevel::Machine => Origin::MachinePolicy {
                            location: location.clone(),
                        },
                        PolicyLevel::User => Origin::UserPolicy {
                            location: location.clone(),
                        },
                    };
                    found.entry(key).or_insert(Effective { key, value, origin });
                }
                Err(message) => {
                    // A bad value of a data-protecting setting must not hand the choice
                    // back to the teacher (a lab left in personal mode by a `REG_SZ` typo):
                    // it fails closed, ranked where the source is.
                    let protective = PROTECTIVE.iter().find(|(k, _)| *k == key);
                    if let Some(&(key, value)) = protective {
                        found.entry(key).or_insert(Effective {
                            key,
                            value: Value::Flag(value),
                            origin: Origin::InvalidPolicy {
                                location: location.clone(),
                            },
                        });
                    }
                    let consequence = match protective {
                        Some((_, true)) => {
                            "it was ignored, and the setting is on until it is fixed"
                        }
                        Some((_, false)) => {
                            "it was ignored, and the setting is off until it is fixed"
                        }
                        None => "it was ignored",
                    };
                    resolved.problems.push(PolicyProblem {
                        key: Some(name),
                        location: location.clone(),
                        message: format!("{message}; {consequence}"),
                        unreadable: false,
                    });
                }
            }
        }
    }
    let mut fallback = |key: Key, value: Option<Value>, origin: Origin| {
        if let (false, Some(value)) = (found.contains_key(&key), value) {
            found.insert(key, Effective { key, value, origin });
        }
    };
    fallback(
        Key::RedirectMode,
        Some(Value::Redirect(teacher.redirect)),
        Origin::TeacherSetting,
    );
    fallback(
        Key::ClientId,
        build.classlink.client_id.clone().map(Value::Text),
        Origin::BuildDefault,
    );
    fallback(
        Key::RosterUrl,
        build.classlink.roster_gateway_url.clone().map(Value::Text),
        Origin::BuildDefault,
    );
    fallback(
        Key::AllowedProviders,
        Some(Value::Providers(AllowedProviders::Any)),
        Origin::BuildDefault,
    );
    fallback(
        Key::SharedMachine,
        Some(Value::Flag(teacher.shared_machine)),
        Origin::TeacherSetting,
    );
    fallback(
        Key::IdleSignOutMinutes,
        Some(Value::Minutes(0)),
        Origin::BuildDefault,
    );
    fallback(
        Key::LocalStoreAllowed,
        Some(Value::Flag(true)),
        Origin::BuildDefault,
    );
    fallback(
        Key::DemoDistrictAllowed,
        Some(Value::Flag(true)),
        Origin::BuildDefault,
    );
    fallback(
        Key::AutoUpdate,
        Some(Value::Flag(true)),
        Origin::BuildDefault,
    );
    found.entry(Key::LogLevel).or_insert(Effective {
        key: Key::LogLevel,
        value: Value::Text("info".into()),
        origin: Origin::BuildDefault,
    });
    // Default on, but off on a shared computer: a CSV in a shared account's Downloads is
    // read by the next person.
    let shared = matches!(
        found.get(&Key::SharedMachine).map(|e| &e.value),
        Some(Value::Flag(true))
    );
    found.entry(Key::ExportAllowed).or_insert(Effective {
        key: Key::ExportAllowed,
        value: Value::Flag(!shared),
        origin: Origin::BuildDefault,
    });
    resolved.settings = found.into_values().collect();
    resolved
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug)]
    struct Fake {
        level: PolicyLevel,
        values: Result<Vec<(&'static str, RawValue)>, String>,
    }

    impl PolicySource for Fake {
        fn location(&self) -> String {
            format!("fake {:?}", self.level)
        }
        fn level(&self) -> PolicyLevel {
            self.level
        }
        fn read(&self) -> Result<BTreeMap<String, RawValue>, SourceProblem> {
            self.values
                .clone()
                .map(|v| v.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                .map_err(SourceProblem::Unreadable)
        }
    }

    fn source(level: PolicyLevel, values: &[(&'static str, RawValue)]) -> Box<dyn PolicySource> {
        Box::new(Fake {
            level,
            values: Ok(values.to_vec()),
        })
    }

    fn text(t: &str) -> RawValue {
        RawValue::Text(t.into())
    }

    #[test]
    fn machine_beats_user_beats_teacher_beats_build() {
        let mut build = BuildDefaults::default();
        build.classlink.client_id = Some("build-client".into());
        let teacher = Preferences {
            redirect: RedirectMode::Scheme,
            shared_machine: true,
        };
        let none: Vec<Box<dyn PolicySource>> = vec![];
        let only_defaults = resolve(&none, &teacher, &build);
        assert_eq!(
            only_defaults.get(Key::ClientId).unwrap().origin,
            Origin::BuildDefault
        );
        assert_eq!(
            only_defaults.get(Key::RedirectMode).unwrap().origin,
            Origin::TeacherSetting
        );
        assert!(!only_defaults.is_locked(Key::RedirectMode));

        let sources = vec![
            source(
                PolicyLevel::Machine,
                &[("ClientId", text("machine-client"))],
            ),
            source(
                PolicyLevel::User,
                &[
                    ("ClientId", text("user-client")),
                    ("RedirectMode", text("loopback")),
                ],
            ),
        ];
        let resolved = resolve(&sources, &teacher, &build);
        assert_eq!(resolved.text(Key::ClientId), Some("machine-client"));
        assert!(matches!(
            resolved.get(Key::ClientId).unwrap().origin,
            Origin::MachinePolicy { .. }
        ));
        let redirect = resolved.get(Key::RedirectMode).unwrap();
        assert_eq!(redirect.value, Value::Redirect(RedirectMode::Loopback));
        assert!(matches!(redirect.origin, Origin::UserPolicy { .. }));
        assert!(resolved.is_locked(Key::RedirectMode));
        assert!(resolved.problems.is_empty());
        assert_eq!(
            resolved.settings.len(),
            Key::ALL.len() - 4,
            "all but the issuer, the roster address, the proxy and the update mirror, which nothing sets here"
        );
    }

    #[test]
    fn shared_machine_mode_is_the_teachers_choice_unless_policy_sets_it() {
        let build = BuildDefaults::default();
        let none: Vec<Box<dyn PolicySource>> = vec![];
        let personal = Preferences::default();
        let shared = Preferences {
            shared_machine: true,
            ..Preferences::default()
        };
        let demo = || ProviderSettings::demo("https://demo.example", "https://demo.example/or");
        assert!(!resolve(&none, &personal, &build).shared_machine());
        let chosen = resolve(&none, &shared, &build);
        assert!(chosen.shared_machine());
        assert!(!chosen.is_locked(Key::SharedMachine));
        assert!(chosen.enforce(demo()).unwrap().shared_machine);

        // Policy decides either way: on, the teacher cannot turn it off; off, the
        // teacher's choice does not apply (the window shows it as set by the school).
        let forced = vec![source(
            PolicyLevel::Machine,
            &[
                ("SharedMachine", RawValue::Bool(true)),
                ("IdleSignOutMinutes", RawValue::Number(15)),
            ],
        )];
        let locked = resolve(&forced, &personal, &build);
        assert!(locked.shared_machine() && locked.is_locked(Key::SharedMachine));
        assert!(locked.enforce(demo()).unwrap().shared_machine);
        assert_eq!(locked.idle_sign_out_minutes(), 15);
        assert_eq!(resolve(&none, &personal, &build).idle_sign_out_minutes(), 0);
        let off = vec![source(
            PolicyLevel::Machine,
            &[("SharedMachine", RawValue::Bool(false))],
        )];
        let off = resolve(&off, &shared, &build);
        assert!(!off.shared_machine() && off.is_locked(Key::SharedMachine));
    }

    #[test]
    fn bad_values_are_named_ignored_and_open_no_door() {
        let sources = vec![
            source(
                PolicyLevel::Machine,
                &[
                    ("Issuer", text("http://login.example.org")),
                    ("AllowedProviders", text("everyone")),
                    ("SharedMachine", RawValue::Number(7)),
                    ("IdleSignOutMinutes", RawValue::Number(-5)),
                    ("Colour", text("blue")),
                ],
            ),
            source(
                PolicyLevel::User,
                &[("AllowedProviders", text("classlink"))],
            ),
        ];
        let resolved = resolve(&sources, &Preferences::default(), &BuildDefaults::default());
        let named: Vec<&str> = resolved
            .problems
            .iter()
            .filter_map(|p| p.key.as_deref())
            .collect();
        for key in [
            "Issuer",
            "AllowedProviders",
            "SharedMachine",
            "IdleSignOutMinutes",
            "Colour",
        ] {
            assert!(named.contains(&key), "{key} not reported: {named:?}");
        }
        assert!(
            resolved.get(Key::Issuer).is_none(),
            "a plain-http issuer is refused"
        );
        // The bad machine value does not fall back to "any": the user policy's applies.
        assert_eq!(resolved.allowed_providers(), AllowedProviders::Classlink);
        // IT meant to set shared-machine mode: a value Rollbook cannot read fails closed.
        assert_eq!(resolved.flag(Key::SharedMachine), Some(true));
        let issuer = resolved
            .problems
            .iter()
            .find(|p| p.key.as_deref() == Some("Issuer"));
        assert!(issuer.unwrap().to_string().contains("https"), "{issuer:?}");
    }

    #[test]
    fn a_bad_value_of_a_data_protecting_setting_fails_closed_not_to_the_teacher() {
        // The teacher chose a personal computer; IT's value is mistyped.
        let teacher = Preferences {
            shared_machine: false,
            ..Preferences::default()
        };
        let sources = vec![
            source(
                PolicyLevel::Machine,
                &[
                    ("SharedMachine", text("yes")),
                    ("LocalStoreAllowed", RawValue::Number(2)),
                    ("ExportAllowed", text("<a REG_BINARY value>")),
                    ("DemoDistrictAllowed", text("nope")),
                ],
            ),
            // A valid user value does not win over the machine's (mistyped) intent.
            source(PolicyLevel::User, &[("SharedMachine", RawValue::Number(0))]),
        ];
        let resolved = resolve(&sources, &teacher, &BuildDefaults::default());
        assert!(resolved.shared_machine() && resolved.is_locked(Key::SharedMachine));
        assert!(matches!(
            resolved.get(Key::SharedMachine).unwrap().origin,
            Origin::InvalidPolicy { .. }
        ));
        assert!(!resolved.local_store_allowed());
        assert!(resolved.allow_export().is_err());
        // Not a data-protecting setting: ignored as before, the default applies.
        assert_eq!(resolved.flag(Key::DemoDistrictAllowed), Some(true));
        let shared = resolved
            .problems
            .iter()
            .find(|p| p.key.as_deref() == Some("SharedMachine"))
            .unwrap();
        assert!(shared.message.contains("on until it is fixed"), "{shared}");

        // A bad user value under a valid machine one changes nothing.
        let sources = vec![
            source(
                PolicyLevel::Machine,
                &[("SharedMachine", RawValue::Number(0))],
            ),
            source(PolicyLevel::User, &[("SharedMachine", text("yes"))]),
        ];
        let resolved = resolve(&sources, &teacher, &BuildDefaults::default());
        assert!(!resolved.shared_machine());
        assert!(matches!(
            resolved.get(Key::SharedMachine).unwrap().origin,
            Origin::MachinePolicy { .. }
        ));
    }

    #[test]
    fn an_unreadable_source_is_one_problem_and_the_rest_still_applies() {
        let sources: Vec<Box<dyn PolicySource>> = vec![
            Box::new(Fake {
                level: PolicyLevel::Machine,
                values: Err("not valid JSON at line 1".into()),
            }),
            source(
                PolicyLevel::User,
                &[("DemoDistrictAllowed", RawValue::Bool(false))],
            ),
        ];
        let resolved = resolve(&sources, &Preferences::default(), &BuildDefaults::default());
        assert_eq!(resolved.problems.len(), 1);
        assert_eq!(resolved.problems[0].key, None);
        assert_eq!(resolved.flag(Key::DemoDistrictAllowed), Some(false));
    }

    #[test]
    fn registry_style_and_json_style_values_both_read() {
        for (shared, expected) in [
            (RawValue::Number(1), true),
            (RawValue::Bool(true), true),
            (text("false"), false),
            (RawValue::Number(0), false),
        ] {
            let resolved = resolve(
                &[source(PolicyLevel::Machine, &[("sharedmachine", shared)])],
                &Preferences::default(),
                &BuildDefaults::default(),
            );
            assert_eq!(resolved.flag(Key::SharedMachine), Some(expected));
        }
        // `REG_SZ` "1"/"0" (Group Policy Preferences, a hand-written profile's <string>).
        for (shared, expected) in [(text("1"), true), (text("0"), false)] {
            let resolved = resolve(
                &[source(PolicyLevel::Machine, &[("SharedMachine", shared)])],
                &Preferences::default(),
                &BuildDefaults::default(),
            );
            assert!(resolved.problems.is_empty(), "{:?}", resolved.problems);
            assert_eq!(resolved.flag(Key::SharedMachine), Some(expected));
        }
        let minutes = resolve(
            &[source(
                PolicyLevel::Machine,
                &[("IdleSignOutMinutes", RawValue::Number(15))],
            )],
            &Preferences::default(),
            &BuildDefaults::default(),
        );
        assert_eq!(
            minutes.get(Key::IdleSignOutMinutes).unwrap().value,
            Value::Minutes(15)
        );
    }
}

#[cfg(test)]
mod every_path_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug)]
    struct Json(&'static str, PolicyLevel);

    impl PolicySource for Json {
        fn location(&self) -> String {
            "test policy".into()
        }
        fn level(&self) -> PolicyLevel {
            self.1
        }
        fn read(&self) -> Result<BTreeMap<String, RawValue>, SourceProblem> {
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(self.0).unwrap();
            Ok(object
                .into_iter()
                .map(|(k, v)| {
                    let raw = match v {
                        serde_json::Value::Bool(b) => RawValue::Bool(b),
                        serde_json::Value::Number(n) => RawValue::Number(n.as_i64().unwrap()),
                        serde_json::Value::String(s) => RawValue::Text(s),
                        other => RawValue::Text(other.to_string()),
                    };
                    (k, raw)
                })
                .collect())
        }
    }

    fn with(json: &'static str) -> ResolvedSettings {
        with_teacher(json, &Preferences::default())
    }

    fn with_teacher(json: &'static str, teacher: &Preferences) -> ResolvedSettings {
        let sources: Vec<Box<dyn PolicySource>> = vec![Box::new(Json(json, PolicyLevel::Machine))];
        resolve(&sources, teacher, &BuildDefaults::default())
    }

    const DISTRICT: &str = "https://login.district.example";

    fn classlink() -> ProviderSettings {
        ProviderSettings::new(CLASSLINK_ISSUER, "x")
    }

    fn demo() -> ProviderSettings {
        ProviderSettings::demo("http://127.0.0.1:4000", "http://127.0.0.1:4000/or")
    }

    #[test]
    fn issuer_and_allowed_providers_lock_teachers_to_exactly_the_districts_provider() {
        let locked =
            with(r#"{"Issuer": "https://login.district.example", "AllowedProviders": "issuer"}"#);
        assert!(locked.enforce(ProviderSettings::new(DISTRICT, "x")).is_ok());
        assert!(
            locked
                .enforce(ProviderSettings::new(format!("{DISTRICT}/"), "x"))
                .is_ok()
        );
        for other in [
            classlink(),
            ProviderSettings::new("https://op.example", "x"),
        ] {
            let refused = locked.enforce(other.clone()).unwrap_err();
            assert_eq!(refused.code().to_string(), "policy_forbidden", "{other:?}");
            assert!(locked.session_permitted(&other).is_err());
        }
        // Without an Issuer, "issuer" allows nothing at all rather than everything.
        let nameless = with(r#"{"AllowedProviders": "issuer"}"#);
        assert!(nameless.enforce(classlink()).is_err());
        assert!(
            nameless
                .enforce(ProviderSettings::new(DISTRICT, "x"))
                .is_err()
        );
        // "any" with an Issuer still allows ClassLink (as before), not another provider.
        let any = with(r#"{"Issuer": "https://login.district.example"}"#);
        assert!(any.enforce(classlink()).is_ok());
        assert!(
            any.enforce(ProviderSettings::new("https://op.example", "x"))
                .is_err()
        );
    }

    #[test]
    fn a_saved_session_meets_the_roster_server_and_client_policy_now_sets() {
        let mut before = ProviderSettings::new(DISTRICT, "old-client");
        before.oneroster_url = Some("https://sis.district.example/ims/oneroster/v1p1".into());
        let gateway = r#"{"Issuer": "https://login.district.example", "RosterUrl": "https://gateway.district.example/ims/oneroster/v1p1", "ClientId": "old-client"}"#;
        let refused = with(gateway).session_permitted(&before).unwrap_err();
        assert!(refused.to_string().contains("RosterUrl"), "{refused}");
        let moved = r#"{"Issuer": "https://login.district.example", "ClientId": "new-client", "RosterUrl": "https://sis.district.example/ims/oneroster/v1p1/"}"#;
        let refused = with(moved).session_permitted(&before).unwrap_err();
        assert!(refused.to_string().contains("ClientId"), "{refused}");
        // A session begun under the same policy goes on (a trailing slash is no change).
        let same = r#"{"Issuer": "https://login.district.example", "ClientId": "old-client", "RosterUrl": "https://sis.district.example/ims/oneroster/v1p1/"}"#;
        assert!(with(same).session_permitted(&before).is_ok());
        // Policy that describes ClassLink says nothing about another provider's session,
        // and the demo district has its own roster server.
        let classlink_only = r#"{"RosterUrl": "https://gateway.district.example/ims/oneroster/v1p1", "ClientId": "cl"}"#;
        assert!(with(classlink_only).session_permitted(&demo()).is_ok());
        let mut at_classlink = classlink();
        at_classlink.oneroster_url = Some("https://old.example/ims/oneroster/v1p1".into());
        assert!(
            with(classlink_only)
                .session_permitted(&at_classlink)
                .is_err()
        );
    }

    #[test]
    fn a_saved_session_is_held_to_the_policy_in_force() {
        let personal = ProviderSettings::new(DISTRICT, "x");
        assert!(with("{}").session_permitted(&personal).is_ok());
        assert!(with("{}").session_permitted(&demo()).is_ok());
        assert!(
            with(r#"{"AllowedProviders": "classlink"}"#)
                .session_permitted(&personal)
                .is_err()
        );
        // The demo district has its own switch, and is not a "provider" to the others.
        assert!(
            with(r#"{"AllowedProviders": "classlink"}"#)
                .session_permitted(&demo())
                .is_ok()
        );
        assert!(
            with(r#"{"DemoDistrictAllowed": false}"#)
                .session_permitted(&demo())
                .is_err()
        );
        // A kept session on a computer policy made shared ends; the teacher's own
        // shared-machine choice applies from the next sign-in only.
        assert!(
            with(r#"{"SharedMachine": true}"#)
                .session_permitted(&personal)
                .is_err()
        );
        let mut shared = personal.clone();
        shared.shared_machine = true;
        assert!(
            with(r#"{"SharedMachine": true}"#)
                .session_permitted(&shared)
                .is_ok()
        );
        let chose_shared = Preferences {
            shared_machine: true,
            ..Preferences::default()
        };
        assert!(
            with_teacher("{}", &chose_shared)
                .session_permitted(&personal)
                .is_ok()
        );
    }

    #[test]
    fn demo_sign_ins_meet_policy_too() {
        let shared = with(r#"{"SharedMachine": true, "RedirectMode": "scheme"}"#);
        let settings = shared.enforce(demo()).unwrap();
        assert!(
            settings.shared_machine,
            "policy's shared mode, not the flag's"
        );
        assert_eq!(settings.redirect, RedirectMode::Scheme);
        assert!(
            with(r#"{"DemoDistrictAllowed": 0}"#)
                .enforce(demo())
                .is_err()
        );
    }

    #[test]
    fn export_is_allowed_by_default_but_not_on_shared_machines_unless_policy_says() {
        assert!(with("{}").allow_export().is_ok());
        assert!(with(r#"{"SharedMachine": 1}"#).allow_export().is_err());
        let chose_shared = Preferences {
            shared_machine: true,
            ..Preferences::default()
        };
        assert!(with_teacher("{}", &chose_shared).allow_export().is_err());
        assert!(
            with(r#"{"SharedMachine": 1, "ExportAllowed": 1}"#)
                .allow_export()
                .is_ok()
        );
        let off = with(r#"{"ExportAllowed": 0}"#);
        assert!(off.allow_export().is_err() && off.is_locked(Key::ExportAllowed));
    }

    #[test]
    fn log_level_and_proxy_are_checked_and_a_bad_one_is_ignored() {
        assert_eq!(with("{}").log_level(), tracing::Level::INFO);
        assert_eq!(
            with(r#"{"LogLevel": "Debug"}"#).log_level(),
            tracing::Level::DEBUG
        );
        let bad = with(r#"{"LogLevel": "everything", "ProxyUrl": "socks5://proxy:1080"}"#);
        assert_eq!(bad.log_level(), tracing::Level::INFO);
        assert_eq!(bad.proxy_url(), None);
        assert_eq!(bad.problems.len(), 2, "{:?}", bad.problems);
        let proxied = with(r#"{"ProxyUrl": "http://proxy.district.example:3128"}"#);
        assert_eq!(
            proxied.proxy_url().unwrap().as_str(),
            "http://proxy.district.example:3128/"
        );
        assert_eq!(with("{}").proxy_url(), None);
    }

    #[test]
    fn updates_are_checked_unless_policy_turns_them_off_and_go_only_where_it_says() {
        assert_eq!(
            with("{}").update_check(),
            UpdateCheck::Check { mirror: None }
        );
        assert!(matches!(
            with(r#"{"AutoUpdate": 0}"#).update_check(),
            UpdateCheck::Off { why } if why.contains("AutoUpdate = 0")
        ));
        assert_eq!(
            with(r#"{"AutoUpdate": 1, "UpdateUrl": "https://updates.district.example/rollbook/latest.json"}"#)
                .update_check(),
            UpdateCheck::Check {
                mirror: Some(
                    Url::parse("https://updates.district.example/rollbook/latest.json").unwrap()
                )
            }
        );
        // A local test server only; plain http elsewhere could be swapped on the way.
        assert!(matches!(
            with(r#"{"UpdateUrl": "http://127.0.0.1:8123/latest.json"}"#).update_check(),
            UpdateCheck::Check { mirror: Some(_) }
        ));
        for bad in [
            r#"{"UpdateUrl": "http://updates.district.example/latest.json"}"#,
            r#"{"UpdateUrl": "ftp://updates.district.example/latest.json"}"#,
            r#"{"UpdateUrl": "not a url"}"#,
        ] {
            let resolved = with(bad);
            assert_eq!(resolved.problems.len(), 1, "{bad}");
            assert!(
                matches!(resolved.update_check(), UpdateCheck::Off { ref why } if why.contains("UpdateUrl")),
                "a mirror IT set but Rollbook cannot use sends no request elsewhere: {bad}"
            );
        }
        // Off wins over a mirror.
        assert!(matches!(
            with(r#"{"AutoUpdate": false, "UpdateUrl": "https://u.example/latest.json"}"#)
                .update_check(),
            UpdateCheck::Off { .. }
        ));
    }

    #[derive(Debug)]
    struct Broken(SourceProblem);

    impl PolicySource for Broken {
        fn location(&self) -> String {
            "/etc/rollbook/policy.json".into()
        }
        fn level(&self) -> PolicyLevel {
            PolicyLevel::Machine
        }
        fn read(&self) -> Result<BTreeMap<String, RawValue>, SourceProblem> {
            Err(self.0.clone())
        }
    }

    #[test]
    fn untrusted_policy_is_ignored_and_unreadable_policy_fails_closed() {
        let resolve_one = |problem: SourceProblem| {
            let sources: Vec<Box<dyn PolicySource>> = vec![Box::new(Broken(problem))];
            resolve(&sources, &Preferences::default(), &BuildDefaults::default())
        };
        let untrusted = resolve_one(SourceProblem::Untrusted("owned by user 1000".into()));
        assert_eq!(untrusted.problems.len(), 1);
        assert!(!untrusted.problems[0].unreadable);
        assert!(!untrusted.shared_machine() && untrusted.local_store_allowed());
        assert!(untrusted.allow_export().is_ok());

        let unreadable = resolve_one(SourceProblem::Unreadable("not JSON".into()));
        assert_eq!(unreadable.unreadable().count(), 1);
        assert!(
            unreadable.problems[0]
                .to_string()
                .contains("policy present but unreadable")
        );
        assert!(unreadable.shared_machine() && unreadable.is_locked(Key::SharedMachine));
        assert!(!unreadable.local_store_allowed());
        assert!(unreadable.allow_export().is_err());
        assert!(matches!(
            unreadable.get(Key::LocalStoreAllowed).unwrap().origin,
            Origin::UnreadablePolicy { .. }
        ));
    }
}
