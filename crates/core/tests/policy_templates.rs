//! The policy templates IT deploys (the Group Policy ADMX/ADML, the macOS configuration
//! profile, the Linux example file) against the settings Rollbook reads: every setting
//! is offered, every offered value is one Rollbook accepts, and every string and
//! presentation a template refers to exists. A setting added to `Key` without its
//! template entries fails here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rollbook_core::policy::{
    Key, ManagedPreferences, ManagedPreferencesPolicy, PolicyFile, PolicySource, RawValue, resolve,
};
use rollbook_core::{BuildDefaults, Preferences};

fn packaging(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(packaging(path)).unwrap()
}

/// `$(string.X)` → `X`.
fn reference<'a>(text: &'a str, kind: &str) -> &'a str {
    text.strip_prefix(&format!("$({kind}."))
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text} is not a $({kind}.…) reference"))
}

#[test]
fn the_admx_template_offers_every_setting_with_values_rollbook_accepts() {
    let admx_text = read("windows/rollbook.admx");
    let adml_text = read("windows/en-US/rollbook.adml");
    let admx = roxmltree::Document::parse(&admx_text).unwrap();
    let adml = roxmltree::Document::parse(&adml_text).unwrap();

    let strings: BTreeSet<&str> = adml
        .descendants()
        .filter(|n| n.has_tag_name("string"))
        .map(|n| n.attribute("id").unwrap())
        .collect();
    let presentations: BTreeMap<&str, roxmltree::Node> = adml
        .descendants()
        .filter(|n| n.has_tag_name("presentation"))
        .map(|n| (n.attribute("id").unwrap(), n))
        .collect();
    // Every displayName anywhere in the ADMX names a string the ADML has.
    for node in admx.descendants().filter(|n| n.is_element()) {
        for attribute in ["displayName", "explainText"] {
            if let Some(text) = node.attribute(attribute) {
                let id = reference(text, "string");
                assert!(strings.contains(id), "the ADML has no string {id}");
            }
        }
    }

    // Intune's ADMX import refuses a namespace the template declares but never uses.
    for using in admx.descendants().filter(|n| n.has_tag_name("using")) {
        let prefix = using.attribute("prefix").unwrap();
        assert!(
            admx_text.contains(&format!("\"{prefix}:")),
            "the ADMX declares the namespace prefix {prefix} and never uses it"
        );
    }
    // Every explain text says what "Disabled" (or "Not configured") means.
    for policy in admx.descendants().filter(|n| n.has_tag_name("policy")) {
        let id = reference(policy.attribute("explainText").unwrap(), "string");
        let text = adml
            .descendants()
            .find(|n| n.has_tag_name("string") && n.attribute("id") == Some(id))
            .and_then(|n| n.text())
            .unwrap();
        assert!(
            text.contains("Disabled"),
            "{id} does not say what Disabled means"
        );
    }

    let mut offered = BTreeMap::new();
    for policy in admx.descendants().filter(|n| n.has_tag_name("policy")) {
        assert_eq!(policy.attribute("key"), Some(r"Software\Policies\Rollbook"));
        assert_eq!(
            policy.attribute("class"),
            Some("Both"),
            "machine and user policy"
        );
        // A policy is either a flag (valueName on the policy, 1/0) or one element.
        let (value_name, samples) = match policy.attribute("valueName") {
            Some(name) => {
                let decimal = |tag: &str| {
                    policy
                        .descendants()
                        .find(|n| n.has_tag_name(tag))
                        .and_then(|n| n.descendants().find(|d| d.has_tag_name("decimal")))
                        .and_then(|d| d.attribute("value"))
                        .unwrap()
                        .parse::<i64>()
                        .unwrap()
                };
                (
                    name,
                    vec![
                        RawValue::Number(decimal("enabledValue")),
                        RawValue::Number(decimal("disabledValue")),
                    ],
                )
            }
            None => {
                let elements = policy
                    .children()
                    .find(|n| n.has_tag_name("elements"))
                    .unwrap();
                let element = elements.children().find(|n| n.is_element()).unwrap();
                let presentation = presentations
                    [reference(policy.attribute("presentation").unwrap(), "presentation")];
                let id = element.attribute("id").unwrap();
                assert!(
                    presentation
                        .descendants()
                        .any(|n| n.attribute("refId") == Some(id)),
                    "presentation of {id} does not show it"
                );
                let samples = match element.tag_name().name() {
                    "enum" => element
                        .descendants()
                        .filter(|n| n.has_tag_name("string"))
                        .map(|n| RawValue::Text(n.text().unwrap().to_owned()))
                        .collect(),
                    "decimal" => ["minValue", "maxValue"]
                        .iter()
                        .map(|a| RawValue::Number(element.attribute(*a).unwrap().parse().unwrap()))
                        .collect(),
                    "text" => vec![RawValue::Text(match id {
                        "ClientId" => "client".into(),
                        _ => "https://login.district.example".into(),
                    })],
                    other => panic!("unexpected element {other}"),
                };
                (element.attribute("valueName").unwrap(), samples)
            }
        };
        assert_eq!(policy.attribute("name"), Some(value_name));
        offered.insert(value_name.to_owned(), samples);
    }

    let names: BTreeSet<String> = Key::ALL.iter().map(|k| k.name().to_owned()).collect();
    assert_eq!(
        offered.keys().cloned().collect::<BTreeSet<_>>(),
        names,
        "the ADMX offers exactly Rollbook's settings"
    );
    // Each value a GPO can write is one Rollbook accepts (as the registry reader sees it).
    for (name, samples) in offered {
        for sample in samples {
            let resolved = resolve(
                &[Box::new(Fixed(vec![(name.clone(), sample.clone())])) as Box<dyn PolicySource>],
                &Preferences::default(),
                &BuildDefaults::default(),
            );
            assert!(
                resolved.problems.is_empty(),
                "{name} = {sample}: {:?}",
                resolved.problems
            );
        }
    }
}

#[derive(Debug)]
struct Fixed(Vec<(String, RawValue)>);

impl PolicySource for Fixed {
    fn location(&self) -> String {
        "a template".into()
    }
    fn level(&self) -> rollbook_core::policy::PolicyLevel {
        rollbook_core::policy::PolicyLevel::Machine
    }
    fn read(&self) -> Result<BTreeMap<String, RawValue>, rollbook_core::policy::SourceProblem> {
        Ok(self.0.iter().cloned().collect())
    }
}

/// The profile's settings, as macOS would hand them to Rollbook (all forced).
#[derive(Debug)]
struct Profile(BTreeMap<String, RawValue>);

impl ManagedPreferences for Profile {
    fn value(&self, key: &str) -> Option<RawValue> {
        self.0.get(key).cloned()
    }
    fn is_forced(&self, _key: &str) -> bool {
        true
    }
}

#[test]
fn the_configuration_profile_sets_known_settings_to_values_rollbook_accepts() {
    let profile: plist::Dictionary =
        plist::from_file(packaging("macos/org.rollbook.desktop.mobileconfig")).unwrap();
    let content = profile["PayloadContent"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    let payload = content[0].as_dictionary().unwrap();
    assert_eq!(
        payload["PayloadType"].as_string(),
        Some(rollbook_core::policy::PREFERENCES_DOMAIN),
        "a custom-settings payload for Rollbook's preferences domain"
    );
    let mut settings = BTreeMap::new();
    for (key, value) in payload.iter().filter(|(k, _)| !k.starts_with("Payload")) {
        let raw = match value {
            plist::Value::String(s) => RawValue::Text(s.clone()),
            plist::Value::Boolean(b) => RawValue::Bool(*b),
            plist::Value::Integer(n) => RawValue::Number(n.as_signed().unwrap()),
            other => panic!("{key} has a type Rollbook does not read: {other:?}"),
        };
        settings.insert(key.clone(), raw);
    }
    let known: BTreeSet<&str> = Key::ALL.iter().map(|k| k.name()).collect();
    for key in settings.keys() {
        assert!(
            known.contains(key.as_str()),
            "{key} is not a Rollbook setting"
        );
    }
    // Everything but the issuer (the example is for ClassLink) is shown.
    assert_eq!(settings.len(), Key::ALL.len() - 1);
    let sources: Vec<Box<dyn PolicySource>> =
        vec![Box::new(ManagedPreferencesPolicy::new(Profile(settings)))];
    let resolved = resolve(&sources, &Preferences::default(), &BuildDefaults::default());
    assert!(resolved.problems.is_empty(), "{:?}", resolved.problems);
    assert!(resolved.shared_machine());
}

#[test]
fn the_example_policy_file_is_one_rollbook_accepts() {
    // The file's content is checked here, not its owner (the checkout's user's).
    let owner = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(packaging("policy.example.json"))
            .unwrap()
            .uid()
    };
    let sources: Vec<Box<dyn PolicySource>> = vec![Box::new(
        PolicyFile::new(packaging("policy.example.json")).trusting_owner(owner),
    )];
    let resolved = resolve(&sources, &Preferences::default(), &BuildDefaults::default());
    assert!(resolved.problems.is_empty(), "{:?}", resolved.problems);
    assert_eq!(resolved.idle_sign_out_minutes(), 15);
}

#[test]
fn the_it_admin_guide_documents_every_setting() {
    let guide = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/it-admins.md"),
    )
    .unwrap();
    for key in Key::ALL {
        assert!(
            guide.contains(&format!("`{}`", key.name())),
            "docs/it-admins.md does not document {}",
            key.name()
        );
    }
}
