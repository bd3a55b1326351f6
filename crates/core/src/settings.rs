//! Which provider to sign in with, and how.

use serde::{Deserialize, Serialize};

use rollbook_auth::{AuthorizationOptions, ClientConfig, IssuerUrl, NonConfidentialSecret};

use crate::CoreError;

/// How the browser hands the answer back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedirectMode {
    /// `http://127.0.0.1:{port}/callback` (RFC 8252 §7.3). The default.
    #[default]
    Loopback,
    /// `org.rollbook.desktop:/oauth/callback` (RFC 8252 §7.1).
    Scheme,
}

/// A provider registration as configured by the teacher, a preset or IT.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderSettings {
    pub issuer: String,
    pub client_id: String,
    /// Scopes besides `openid`. `offline_access` is added when the provider offers it.
    pub scopes: Vec<String>,
    #[serde(default)]
    pub redirect: RedirectMode,
    /// For providers that insist on a secret; it is not confidential in a shipped app.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Shared-machine mode: `prompt=login`, and nothing persisted.
    #[serde(default)]
    pub shared_machine: bool,
}

impl ProviderSettings {
    pub const DEFAULT_SCOPES: [&'static str; 2] = ["profile", "email"];

    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            scopes: Self::DEFAULT_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            redirect: RedirectMode::default(),
            client_secret: None,
            shared_machine: false,
        }
    }

    pub(crate) fn client_config(&self) -> Result<ClientConfig, CoreError> {
        if self.client_id.trim().is_empty() {
            return Err(
                rollbook_auth::AuthError::InvalidConfig("the client id is empty".into()).into(),
            );
        }
        Ok(ClientConfig {
            issuer: IssuerUrl::new(self.issuer.clone())?,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone().map(NonConfidentialSecret::new),
        })
    }

    /// The authorization request's scopes and prompt for this provider.
    pub(crate) fn authorization_options(
        &self,
        offers_offline_access: bool,
    ) -> AuthorizationOptions {
        let mut scopes: Vec<String> = self
            .scopes
            .iter()
            .flat_map(|s| s.split_whitespace())
            .filter(|s| *s != "openid")
            .map(str::to_owned)
            .collect();
        let mut prompt = Vec::new();
        if self.shared_machine {
            prompt.push("login".to_owned());
            scopes.retain(|s| s != "offline_access");
        } else if offers_offline_access && !scopes.iter().any(|s| s == "offline_access") {
            scopes.push("offline_access".to_owned());
        }
        // OpenID Connect Core §11: offline_access is only granted with prompt=consent.
        if scopes.iter().any(|s| s == "offline_access") {
            prompt.push("consent".to_owned());
        }
        AuthorizationOptions {
            scopes,
            prompt,
            login_hint: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_access_comes_with_consent_and_not_on_shared_machines() {
        let mut settings = ProviderSettings::new("https://op.example", "app");
        let options = settings.authorization_options(true);
        assert!(options.scopes.contains(&"offline_access".to_owned()));
        assert_eq!(options.prompt, vec!["consent"]);
        assert!(
            !settings
                .authorization_options(false)
                .scopes
                .contains(&"offline_access".to_owned())
        );
        settings.shared_machine = true;
        let shared = settings.authorization_options(true);
        assert!(!shared.scopes.contains(&"offline_access".to_owned()));
        assert_eq!(shared.prompt, vec!["login"]);
    }
}
