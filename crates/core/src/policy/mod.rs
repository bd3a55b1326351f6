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

mod decisions;
mod key;
mod resolve;
mod source;

pub use decisions::UpdateCheck;
pub use key::{AllowedProviders, Key, Value};
pub use resolve::{Effective, Origin, PolicyProblem, ResolvedSettings, resolve};
pub use source::{PolicyLevel, PolicySource, RawValue, SourceProblem, system_sources};

pub use idle::{IdleVerdict, OsIdle, SystemIdle, idle_verdict};
pub use linux::{POLICY_FILE, POLICY_FILE_ENV, POLICY_FILE_OWNER_ENV, PolicyFile};
#[cfg(target_os = "macos")]
pub use macos::CoreFoundationPreferences;
pub use macos::{ManagedPreferences, ManagedPreferencesPolicy, PREFERENCES_DOMAIN};
pub use registry::{REGISTRY_PATH, RegistryData, RegistryHive, RegistryPolicy};
#[cfg(windows)]
pub use windows::WindowsHive;

use crate::{BuildDefaults, Preferences};

/// The settings in force on this computer for the user whose folders are `paths`.
pub fn in_force(paths: &crate::AppPaths) -> ResolvedSettings {
    resolve(
        &system_sources(),
        &Preferences::load(paths),
        &BuildDefaults::of_this_build(),
    )
}

#[cfg(test)]
mod decisions_tests;
#[cfg(test)]
mod resolve_tests;
