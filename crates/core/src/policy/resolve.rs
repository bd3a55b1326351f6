//! Resolving every setting: policy sources in order, then the teacher's settings, then
//! this build's defaults, each effective value with where it came from.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::key::check;
use super::{AllowedProviders, Key, PolicyLevel, PolicySource, RawValue, SourceProblem, Value};
use crate::{BuildDefaults, Preferences};

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

    /// Any problem that made a whole policy source unreadable ("policy present but
    /// unreadable").
    pub fn unreadable(&self) -> impl Iterator<Item = &PolicyProblem> {
        self.problems.iter().filter(|p| p.unreadable)
    }

    pub fn flag(&self, key: Key) -> Option<bool> {
        match self.get(key).map(|e| &e.value) {
            Some(Value::Flag(b)) => Some(*b),
            _ => None,
        }
    }
}

/// The settings that keep student data safe, at their most protective: what applies
/// while policy is present but unreadable.
const PROTECTIVE: [(Key, bool); 3] = [
    (Key::SharedMachine, true),
    (Key::LocalStoreAllowed, false),
    (Key::ExportAllowed, false),
];

/// Resolves every setting: policy sources in order (machine first), then the teacher's
/// settings, then this build's defaults.
pub fn resolve(
    sources: &[Box<dyn PolicySource>],
    teacher: &Preferences,
    build: &BuildDefaults,
) -> ResolvedSettings {
    let mut found = Found::default();
    for source in sources {
        found.read(source.as_ref());
    }
    found.fill_defaults(teacher, build);
    ResolvedSettings {
        settings: found.settings.into_values().collect(),
        problems: found.problems,
    }
}

/// The settings found so far (the first source to set a key wins) and the problems met.
#[derive(Default)]
struct Found {
    settings: BTreeMap<Key, Effective>,
    problems: Vec<PolicyProblem>,
}

impl Found {
    /// Takes every value one source sets that no earlier source set.
    fn read(&mut self, source: &dyn PolicySource) {
        let location = source.location();
        let values = match source.read() {
            Ok(values) => values,
            Err(SourceProblem::Untrusted(message)) => {
                self.problems.push(PolicyProblem {
                    key: None,
                    location,
                    message: format!("{message}; it was ignored"),
                    unreadable: false,
                });
                return;
            }
            Err(SourceProblem::Unreadable(message)) => {
                // Ranked where the source is: a readable machine policy still wins over
                // an unreadable user one.
                for (key, value) in PROTECTIVE {
                    self.settings.entry(key).or_insert(Effective {
                        key,
                        value: Value::Flag(value),
                        origin: Origin::UnreadablePolicy {
                            location: location.clone(),
                        },
                    });
                }
                self.problems.push(PolicyProblem {
                    key: None,
                    location,
                    message: format!(
                        "policy present but unreadable: {message}. Until it is fixed, shared-machine mode is on and local storage and export are off"
                    ),
                    unreadable: true,
                });
                return;
            }
        };
        for (name, raw) in values {
            self.take(source.level(), &location, name, &raw);
        }
    }

    /// Takes one value a source at `level` sets under `name`, or names its problem.
    fn take(&mut self, level: PolicyLevel, location: &str, name: String, raw: &RawValue) {
        let Some(key) = Key::from_name(&name) else {
            self.problems.push(PolicyProblem {
                key: Some(name),
                location: location.to_owned(),
                message: "Rollbook has no such setting; it was ignored".into(),
                unreadable: false,
            });
            return;
        };
        let location = location.to_owned();
        match check(key, raw) {
            Ok(value) => {
                let origin = match level {
                    PolicyLevel::Machine => Origin::MachinePolicy { location },
                    PolicyLevel::User => Origin::UserPolicy { location },
                };
                self.settings
                    .entry(key)
                    .or_insert(Effective { key, value, origin });
            }
            Err(message) => {
                // A bad value of a data-protecting setting must not hand the choice
                // back to the teacher (a lab left in personal mode by a `REG_SZ` typo):
                // it fails closed, ranked where the source is.
                let protective = PROTECTIVE.iter().find(|(k, _)| *k == key);
                if let Some(&(key, value)) = protective {
                    self.settings.entry(key).or_insert(Effective {
                        key,
                        value: Value::Flag(value),
                        origin: Origin::InvalidPolicy {
                            location: location.clone(),
                        },
                    });
                }
                let consequence = match protective {
                    Some((_, true)) => "it was ignored, and the setting is on until it is fixed",
                    Some((_, false)) => "it was ignored, and the setting is off until it is fixed",
                    None => "it was ignored",
                };
                self.problems.push(PolicyProblem {
                    key: Some(name),
                    location,
                    message: format!("{message}; {consequence}"),
                    unreadable: false,
                });
            }
        }
    }

    /// What no policy set: the teacher's settings, then this build's defaults.
    fn fill_defaults(&mut self, teacher: &Preferences, build: &BuildDefaults) {
        let found = &mut self.settings;
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
    }
}
