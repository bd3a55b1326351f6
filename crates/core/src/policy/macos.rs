//! macOS: managed preferences for `org.rollbook.desktop`, pushed by an MDM configuration
//! profile (`packaging/macos/org.rollbook.desktop.mobileconfig`).
//!
//! A value counts as policy only when `CFPreferencesAppValueIsForced` says so: the same
//! domain also holds whatever the user wrote with `defaults write`, and a user must not
//! be able to set policy for themselves. The rule lives in [`ManagedPreferencesPolicy`],
//! over the [`ManagedPreferences`] trait, so it is tested on every platform with a fake;
//! only the thin Core Foundation reader is macOS's own (and compiled only there).

use std::collections::BTreeMap;
use std::fmt;

use super::{Key, PolicyLevel, PolicySource, RawValue, SourceProblem};

/// The preferences domain (the app's bundle identifier).
pub const PREFERENCES_DOMAIN: &str = "org.rollbook.desktop";

/// What the preferences system tells about one key of the app's domain.
pub trait ManagedPreferences: Send + Sync + fmt::Debug {
    /// The value in force, from any source (a profile, or the user's own defaults).
    fn value(&self, key: &str) -> Option<RawValue>;
    /// Whether a configuration profile forces it (the user cannot change it).
    fn is_forced(&self, key: &str) -> bool;
}

/// The managed preferences as a policy source: forced values only.
#[derive(Debug)]
pub struct ManagedPreferencesPolicy<P> {
    preferences: P,
}

impl<P: ManagedPreferences> ManagedPreferencesPolicy<P> {
    pub fn new(preferences: P) -> Self {
        Self { preferences }
    }
}

impl<P: ManagedPreferences> PolicySource for ManagedPreferencesPolicy<P> {
    fn location(&self) -> String {
        format!("managed preferences ({PREFERENCES_DOMAIN})")
    }

    /// Profiles may be installed for the device or for one user; Core Foundation does
    /// not say which, and either way IT set it, so it ranks as machine policy.
    fn level(&self) -> PolicyLevel {
        PolicyLevel::Machine
    }

    /// Looks up each known setting by name (a domain's key list would mix in the user's
    /// own defaults, which are not policy).
    fn read(&self) -> Result<BTreeMap<String, RawValue>, SourceProblem> {
        let mut values = BTreeMap::new();
        for key in Key::ALL {
            let name = key.name();
            if !self.preferences.is_forced(name) {
                if self.preferences.value(name).is_some() {
                    tracing::debug!(
                        "{name} is set in the user's own defaults, not by a profile; not policy"
                    );
                }
                continue;
            }
            if let Some(value) = self.preferences.value(name) {
                values.insert(name.to_owned(), value);
            }
        }
        Ok(values)
    }
}

/// The real reader: Core Foundation's preferences API (objc2-core-foundation's safe
/// bindings). Built and run on macOS only; the Linux machines that run our CI cannot
/// compile it, so the release workflow's macOS job is where it is type-checked.
#[cfg(target_os = "macos")]
#[derive(Debug, Default)]
pub struct CoreFoundationPreferences;

#[cfg(target_os = "macos")]
impl ManagedPreferences for CoreFoundationPreferences {
    fn value(&self, key: &str) -> Option<RawValue> {
        use objc2_core_foundation::{CFBoolean, CFNumber, CFPreferencesCopyAppValue, CFString};
        let value = CFPreferencesCopyAppValue(
            &CFString::from_str(key),
            &CFString::from_str(PREFERENCES_DOMAIN),
        )?;
        if let Some(text) = value.downcast_ref::<CFString>() {
            return Some(RawValue::Text(text.to_string()));
        }
        if let Some(flag) = value.downcast_ref::<CFBoolean>() {
            return Some(RawValue::Bool(flag.as_bool()));
        }
        if let Some(number) = value.downcast_ref::<CFNumber>() {
            return number.as_i64().map(RawValue::Number);
        }
        // Any other type (an array, a date) is passed on as text that `check` refuses
        // by name, rather than silently dropped.
        Some(RawValue::Text("(a value of another type)".into()))
    }

    fn is_forced(&self, key: &str) -> bool {
        use objc2_core_foundation::{CFPreferencesAppValueIsForced, CFString};
        CFPreferencesAppValueIsForced(
            &CFString::from_str(key),
            &CFString::from_str(PREFERENCES_DOMAIN),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Origin, resolve};
    use crate::{BuildDefaults, Preferences};

    /// Values as `defaults read` would show them, and which of them a profile forces.
    #[derive(Debug, Default)]
    struct FakePreferences {
        values: BTreeMap<&'static str, RawValue>,
        forced: Vec<&'static str>,
    }

    impl ManagedPreferences for FakePreferences {
        fn value(&self, key: &str) -> Option<RawValue> {
            self.values.get(key).cloned()
        }
        fn is_forced(&self, key: &str) -> bool {
            self.forced.contains(&key)
        }
    }

    #[test]
    fn only_values_a_profile_forces_are_policy() {
        let preferences = FakePreferences {
            values: BTreeMap::from([
                ("AllowedProviders", RawValue::Text("classlink".into())),
                ("ClientId", RawValue::Text("district-client".into())),
                // Written by the teacher with `defaults write`: not policy.
                ("DemoDistrictAllowed", RawValue::Bool(true)),
                ("SharedMachine", RawValue::Bool(false)),
                ("IdleSignOutMinutes", RawValue::Number(20)),
            ]),
            forced: vec!["AllowedProviders", "ClientId", "IdleSignOutMinutes"],
        };
        let sources: Vec<Box<dyn PolicySource>> =
            vec![Box::new(ManagedPreferencesPolicy::new(preferences))];
        let resolved = resolve(&sources, &Preferences::default(), &BuildDefaults::default());
        assert!(resolved.problems.is_empty(), "{:?}", resolved.problems);
        assert!(resolved.is_locked(Key::AllowedProviders));
        assert_eq!(
            resolved.locked_text(Key::ClientId).as_deref(),
            Some("district-client")
        );
        assert_eq!(resolved.idle_sign_out_minutes(), 20);
        for unforced in [Key::DemoDistrictAllowed, Key::SharedMachine] {
            assert!(
                !resolved.is_locked(unforced),
                "{unforced:?} came from the user's defaults"
            );
            assert!(!matches!(
                resolved.get(unforced).map(|e| &e.origin),
                Some(Origin::MachinePolicy { .. })
            ));
        }
    }

    #[test]
    fn a_forced_bad_value_is_named_and_ignored() {
        let preferences = FakePreferences {
            values: BTreeMap::from([("Issuer", RawValue::Text("http://login.example".into()))]),
            forced: vec!["Issuer"],
        };
        let sources: Vec<Box<dyn PolicySource>> =
            vec![Box::new(ManagedPreferencesPolicy::new(preferences))];
        let resolved = resolve(&sources, &Preferences::default(), &BuildDefaults::default());
        assert_eq!(resolved.problems.len(), 1);
        assert_eq!(resolved.problems[0].key.as_deref(), Some("Issuer"));
        assert!(resolved.problems[0].location.contains(PREFERENCES_DOMAIN));
        assert!(resolved.get(Key::Issuer).is_none());
    }
}
