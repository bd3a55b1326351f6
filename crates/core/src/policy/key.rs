//! The settings policy may set, and the check each raw value must pass before it is used.

use std::fmt;

use serde::Serialize;
use url::Url;

use super::RawValue;
use crate::RedirectMode;

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

    pub(super) fn from_name(name: &str) -> Option<Key> {
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

/// Checks one raw value for `key`.
pub(super) fn check(key: Key, raw: &RawValue) -> Result<Value, String> {
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

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}
