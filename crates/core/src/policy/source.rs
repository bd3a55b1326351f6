//! Where policy is read from: one source per place IT configures (registry, managed
//! preferences, a file), each yielding raw values by key name.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

#[cfg(not(any(windows, target_os = "macos")))]
use super::PolicyFile;
#[cfg(target_os = "macos")]
use super::{CoreFoundationPreferences, ManagedPreferencesPolicy};
#[cfg(windows)]
use super::{RegistryPolicy, WindowsHive};

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
