//! What the build presets (`crates/core/build-defaults.toml`, compiled in): Rollbook's
//! ClassLink client id and the roster gateway a vendor runs, so "Sign in with ClassLink"
//! needs no typing. A build without them asks the teacher.

use serde::Deserialize;

use crate::settings::checked_url;
use crate::{CoreError, ProviderSettings};

const BUILD_DEFAULTS: &str = include_str!("../build-defaults.toml");

/// ClassLink's issuer (`https://launchpad.classlink.com`).
pub const CLASSLINK_ISSUER: &str = "https://launchpad.classlink.com";

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct BuildDefaults {
    #[serde(default)]
    pub classlink: ClassLinkDefaults,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ClassLinkDefaults {
    #[serde(default, deserialize_with = "blank_is_none")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "blank_is_none")]
    pub roster_gateway_url: Option<String>,
}

fn blank_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value: Option<String> = Option::deserialize(d)?;
    Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
}

impl BuildDefaults {
    /// The defaults compiled into this build.
    pub fn of_this_build() -> Self {
        Self::parse(BUILD_DEFAULTS).unwrap_or_default()
    }

    pub fn parse(text: &str) -> Result<Self, CoreError> {
        let defaults: Self = toml::from_str(text).map_err(|e| {
            CoreError::Auth(rollbook_auth::AuthError::InvalidConfig(format!(
                "build-defaults.toml: {e}"
            )))
        })?;
        if let Some(url) = &defaults.classlink.roster_gateway_url {
            checked_url(url, "roster gateway URL")?;
        }
        Ok(defaults)
    }

    /// ClassLink sign-in settings: what the teacher typed wins, then the build's
    /// defaults. `Err` names what is still missing.
    pub fn classlink_settings(
        &self,
        client_id: Option<&str>,
        oneroster_url: Option<&str>,
    ) -> Result<ProviderSettings, CoreError> {
        let given = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let client_id = given(client_id)
            .or_else(|| self.classlink.client_id.clone())
            .ok_or_else(|| {
                CoreError::Auth(rollbook_auth::AuthError::InvalidConfig(
                    "Rollbook's ClassLink client id is missing".into(),
                ))
            })?;
        let mut settings = ProviderSettings::classlink(client_id);
        settings.oneroster_url =
            given(oneroster_url).or_else(|| self.classlink.roster_gateway_url.clone());
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;

    #[test]
    fn the_checked_in_file_parses_and_blanks_mean_ask() {
        assert_eq!(
            BuildDefaults::parse(BUILD_DEFAULTS).unwrap(),
            BuildDefaults::default()
        );
        let vendor = BuildDefaults::parse(
            "[classlink]\nclient_id = \"c-123\"\nroster_gateway_url = \"https://gw.example/ims/oneroster/v1p1\"\n",
        )
        .unwrap();
        let settings = vendor.classlink_settings(None, Some("  ")).unwrap();
        assert_eq!(settings.client_id, "c-123");
        assert_eq!(
            settings.oneroster_url.as_deref(),
            Some("https://gw.example/ims/oneroster/v1p1")
        );
        assert_eq!(settings.profile, Profile::ClassLink);
        let typed = vendor
            .classlink_settings(Some("mine"), Some("https://other.example/x"))
            .unwrap();
        assert_eq!(
            (typed.client_id.as_str(), typed.oneroster_url.as_deref()),
            ("mine", Some("https://other.example/x"))
        );
        assert!(
            BuildDefaults::default()
                .classlink_settings(None, None)
                .is_err()
        );
        assert!(
            BuildDefaults::parse("[classlink]\nroster_gateway_url = \"http://gw.example\"\n")
                .is_err()
        );
    }
}
