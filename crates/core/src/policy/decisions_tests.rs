//! The decisions of the settings in force, each path through them.

#![allow(clippy::unwrap_used)]
use std::collections::BTreeMap;

use url::Url;

use super::*;
use crate::{BuildDefaults, CLASSLINK_ISSUER, Preferences, ProviderSettings, RedirectMode};

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
    let classlink_only =
        r#"{"RosterUrl": "https://gateway.district.example/ims/oneroster/v1p1", "ClientId": "cl"}"#;
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
    // IT meant to say something about updates, and it cannot be read: nothing is asked
    // (a lab that meant 0 must not reach Rollbook's own address).
    for bad in [
        r#"{"AutoUpdate": "no"}"#,
        r#"{"AutoUpdate": 2}"#,
        r#"{"AutoUpdate": "off", "UpdateUrl": "https://u.example/latest.json"}"#,
    ] {
        let resolved = with(bad);
        assert!(
            matches!(resolved.update_check(), UpdateCheck::Off { ref why } if why.contains("AutoUpdate")),
            "{bad}: {:?}",
            resolved.update_check()
        );
    }
}

#[test]
fn a_policy_source_not_read_turns_updates_off_until_it_is_fixed() {
    for problem in [
        SourceProblem::Unreadable("not JSON".into()),
        SourceProblem::Untrusted("owned by user 1000".into()),
    ] {
        let sources: Vec<Box<dyn PolicySource>> = vec![Box::new(Broken(problem.clone()))];
        let resolved = resolve(&sources, &Preferences::default(), &BuildDefaults::default());
        assert!(
            matches!(resolved.update_check(), UpdateCheck::Off { ref why } if why.contains("/etc/rollbook/policy.json")),
            "{problem:?}: {:?}",
            resolved.update_check()
        );
    }
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
