//! Group Policy's registry values as a policy source: `HKLM` (machine) or `HKCU` (user)
//! `\SOFTWARE\Policies\Rollbook`, as the ADMX template writes them (text as `REG_SZ`,
//! flags and minutes as `REG_DWORD`).
//!
//! The rule (which types are read how, a missing key is no policy, an unreadable one is
//! one problem) is here, over the [`RegistryHive`] trait, so it is tested on every
//! platform with a fake hive; Windows' own hive (winreg) is in `windows.rs`.

use std::collections::BTreeMap;
use std::fmt;

use super::{PolicyLevel, PolicySource, RawValue, SourceProblem};

/// Where Rollbook's policy lives under each hive.
pub const REGISTRY_PATH: &str = r"SOFTWARE\Policies\Rollbook";

/// A registry value as the hive returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryData {
    /// `REG_SZ` or `REG_EXPAND_SZ`.
    Text(String),
    /// `REG_DWORD`.
    Dword(u32),
    /// `REG_QWORD`.
    Qword(u64),
    /// Any other type (`REG_BINARY`, `REG_MULTI_SZ`, …), by name.
    Other(String),
    /// A value that could not be decoded, and why.
    Unreadable(String),
}

/// One hive's view of a key.
pub trait RegistryHive: Send + Sync + fmt::Debug {
    /// The values under `path`; `Ok(None)` when the key does not exist.
    fn values(&self, path: &str) -> Result<Option<Vec<(String, RegistryData)>>, String>;
    /// `HKLM` or `HKCU`, for messages.
    fn name(&self) -> &'static str;
}

/// The registry as a policy source.
#[derive(Debug)]
pub struct RegistryPolicy<H> {
    hive: H,
    level: PolicyLevel,
}

impl<H: RegistryHive> RegistryPolicy<H> {
    pub fn new(hive: H, level: PolicyLevel) -> Self {
        Self { hive, level }
    }
}

fn to_raw(data: RegistryData) -> RawValue {
    match data {
        RegistryData::Text(text) => RawValue::Text(text),
        RegistryData::Dword(n) => RawValue::Number(n.into()),
        RegistryData::Qword(n) => RawValue::Number(i64::try_from(n).unwrap_or(i64::MAX)),
        // Passed on as text that `check` refuses by name, rather than silently dropped.
        RegistryData::Other(kind) => RawValue::Text(format!("<a {kind} value>")),
        RegistryData::Unreadable(why) => RawValue::Text(format!("<unreadable: {why}>")),
    }
}

impl<H: RegistryHive> PolicySource for RegistryPolicy<H> {
    fn location(&self) -> String {
        format!(r"{}\{REGISTRY_PATH}", self.hive.name())
    }

    fn level(&self) -> PolicyLevel {
        self.level
    }

    fn read(&self) -> Result<BTreeMap<String, RawValue>, SourceProblem> {
        match self.hive.values(REGISTRY_PATH) {
            Ok(None) => Ok(BTreeMap::new()),
            Ok(Some(values)) => Ok(values
                .into_iter()
                .map(|(name, data)| (name, to_raw(data)))
                .collect()),
            Err(e) => Err(SourceProblem::Unreadable(format!(
                "it cannot be read ({e})"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{AllowedProviders, Key, resolve};
    use crate::{BuildDefaults, Preferences};

    #[derive(Debug)]
    struct FakeHive {
        name: &'static str,
        key: Result<Option<Vec<(String, RegistryData)>>, String>,
    }

    impl RegistryHive for FakeHive {
        fn values(&self, path: &str) -> Result<Option<Vec<(String, RegistryData)>>, String> {
            assert_eq!(path, r"SOFTWARE\Policies\Rollbook");
            self.key.clone()
        }
        fn name(&self) -> &'static str {
            self.name
        }
    }

    fn hive(name: &'static str, values: &[(&str, RegistryData)]) -> FakeHive {
        FakeHive {
            name,
            key: Ok(Some(
                values
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            )),
        }
    }

    #[test]
    fn values_as_group_policy_writes_them_are_read_machine_first() {
        let machine = hive(
            "HKLM",
            &[
                ("AllowedProviders", RegistryData::Text("classlink".into())),
                ("SharedMachine", RegistryData::Dword(1)),
                ("IdleSignOutMinutes", RegistryData::Dword(20)),
            ],
        );
        let user = hive(
            "HKCU",
            &[
                ("IdleSignOutMinutes", RegistryData::Dword(5)),
                ("DemoDistrictAllowed", RegistryData::Dword(0)),
            ],
        );
        let sources: Vec<Box<dyn PolicySource>> = vec![
            Box::new(RegistryPolicy::new(machine, PolicyLevel::Machine)),
            Box::new(RegistryPolicy::new(user, PolicyLevel::User)),
        ];
        let resolved = resolve(&sources, &Preferences::default(), &BuildDefaults::default());
        assert!(resolved.problems.is_empty(), "{:?}", resolved.problems);
        assert_eq!(resolved.allowed_providers(), AllowedProviders::Classlink);
        assert!(resolved.shared_machine());
        assert_eq!(resolved.idle_sign_out_minutes(), 20, "machine wins");
        assert_eq!(resolved.flag(Key::DemoDistrictAllowed), Some(false));
        assert!(
            resolved
                .get(Key::DemoDistrictAllowed)
                .unwrap()
                .origin
                .to_string()
                .contains(r"HKCU\SOFTWARE\Policies\Rollbook")
        );
    }

    #[test]
    fn a_missing_key_is_no_policy_and_an_unreadable_one_fails_closed() {
        let missing = FakeHive {
            name: "HKLM",
            key: Ok(None),
        };
        let denied = FakeHive {
            name: "HKCU",
            key: Err("access is denied".into()),
        };
        let sources: Vec<Box<dyn PolicySource>> = vec![
            Box::new(RegistryPolicy::new(missing, PolicyLevel::Machine)),
            Box::new(RegistryPolicy::new(denied, PolicyLevel::User)),
        ];
        let resolved = resolve(&sources, &Preferences::default(), &BuildDefaults::default());
        assert_eq!(resolved.problems.len(), 1);
        assert!(resolved.problems[0].location.starts_with("HKCU"));
        assert!(resolved.problems[0].unreadable);
        assert!(
            resolved.problems[0]
                .message
                .contains("policy present but unreadable"),
            "{}",
            resolved.problems[0]
        );
        // IT meant something: the data-protecting settings take their safest values.
        assert!(resolved.shared_machine() && resolved.is_locked(Key::SharedMachine));
        assert!(!resolved.local_store_allowed());
        assert!(resolved.allow_export().is_err());
        // Nothing else is invented: the provider rules stay as they were.
        assert!(!resolved.is_locked(Key::AllowedProviders));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_and_ignored() {
        let machine = hive(
            "HKLM",
            &[
                ("SharedMachine", RegistryData::Other("REG_BINARY".into())),
                ("ClientId", RegistryData::Dword(7)),
                ("IdleSignOutMinutes", RegistryData::Qword(u64::MAX)),
                ("RosterUrl", RegistryData::Unreadable("bad UTF-16".into())),
            ],
        );
        let sources: Vec<Box<dyn PolicySource>> =
            vec![Box::new(RegistryPolicy::new(machine, PolicyLevel::Machine))];
        let resolved = resolve(&sources, &Preferences::default(), &BuildDefaults::default());
        let named: Vec<&str> = resolved
            .problems
            .iter()
            .filter_map(|p| p.key.as_deref())
            .collect();
        assert_eq!(
            named,
            vec![
                "ClientId",
                "IdleSignOutMinutes",
                "RosterUrl",
                "SharedMachine"
            ]
        );
        // A data-protecting setting IT set to something unreadable fails closed.
        assert!(resolved.shared_machine());
    }
}
