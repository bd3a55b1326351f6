//! Resolving: which source wins, and how bad values are named and fail closed.

#![allow(clippy::unwrap_used)]
use std::collections::BTreeMap;

use super::*;
use crate::{BuildDefaults, Preferences, ProviderSettings, RedirectMode};

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
