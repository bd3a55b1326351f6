//! Which provider to sign in with, and how.

use serde::{Deserialize, Serialize};

use url::Url;

use rollbook_auth::{
    AuthError, AuthorizationOptions, ClientConfig, IssuerUrl, NonConfidentialSecret,
    require_secure_url,
};

use crate::CoreError;

/// How the browser hands the answer back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum RedirectMode {
    /// `http://127.0.0.1:{port}/callback` (RFC 8252 §7.3). The default.
    #[default]
    Loopback,
    /// `org.rollbook.desktop:/oauth/callback` (RFC 8252 §7.1).
    Scheme,
}

/// Which provider family this is, for what happens after sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Any OpenID provider; the teacher's OneRoster id comes from a configured claim
    /// or an email lookup.
    #[default]
    Oidc,
    /// ClassLink: `/v2/my/info` on the ClassLink API gives the OneRoster `SourcedId`.
    #[serde(rename = "classlink")]
    ClassLink,
}

/// The app's registration at the demo district (the sandbox registers the same id).
pub const DEMO_CLIENT_ID: &str = "rollbook-desktop";

/// ClassLink's API base, where `/v2/my/info` lives.
pub const CLASSLINK_API_URL: &str = "https://nodeapi.classlink.com";

/// A provider registration as configured by the teacher, a preset or IT.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderSettings {
    pub issuer: String,
    pub client_id: String,
    /// Scopes besides `openid`. `offline_access` is added when the provider offers it.
    pub scopes: Vec<String>,
    #[serde(default)]
    pub redirect: RedirectMode,
    /// For providers that insist on a secret; it is not confidential in a shipped app
    /// (RFC 8252 §8.5), but it still never goes into a file: the session keeps it in the
    /// keychain beside the tokens, and `Debug` prints it redacted.
    #[serde(skip)]
    pub client_secret: Option<NonConfidentialSecret>,
    /// Shared-machine mode: `prompt=login`, and nothing persisted.
    #[serde(default)]
    pub shared_machine: bool,
    #[serde(default)]
    pub profile: Profile,
    /// The OneRoster 1.1 base (`…/ims/oneroster/v1p1`) of the district or gateway.
    #[serde(default)]
    pub oneroster_url: Option<String>,
    /// The ClassLink API base; [`CLASSLINK_API_URL`] when absent.
    #[serde(default)]
    pub classlink_api_url: Option<String>,
    /// An ID-token or userinfo claim that holds the teacher's OneRoster `sourcedId`.
    #[serde(default)]
    pub teacher_id_claim: Option<String>,
    /// The demo district (its own policy, `DemoDistrictAllowed`, applies instead of the
    /// provider rules).
    #[serde(default)]
    pub demo: bool,
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
            profile: Profile::default(),
            oneroster_url: None,
            classlink_api_url: None,
            teacher_id_claim: None,
            demo: false,
        }
    }

    /// ClassLink, as this build or the district registered Rollbook there.
    pub fn classlink(client_id: impl Into<String>) -> Self {
        Self::new(crate::CLASSLINK_ISSUER, client_id).with_profile(Profile::ClassLink)
    }

    /// Sets the provider family. ClassLink means the `oneroster` scope: without it
    /// ClassLink's `/v2/my/info` does not give the teacher's OneRoster id.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        if profile == Profile::ClassLink && !self.scopes.iter().any(|s| s == "oneroster") {
            self.scopes.push("oneroster".into());
        }
        self
    }

    /// Whether this is the demo district: marked so since sessions remember it, and
    /// before that recognised by its registration on a loopback address (no real
    /// provider may use plain http off loopback).
    pub fn is_demo(&self) -> bool {
        self.demo
            || (self.client_id == DEMO_CLIENT_ID
                && Url::parse(&self.issuer).is_ok_and(|u| {
                    u.scheme() == "http"
                        && u.host_str()
                            .is_some_and(|h| h == "127.0.0.1" || h == "localhost" || h == "[::1]")
                }))
    }

    /// The demo district at `base` (`http://127.0.0.1:{port}`): the ClassLink profile
    /// with the sandbox as provider and ClassLink API, and rosters from `oneroster_url`
    /// (the roster gateway in front of it, as for a real district).
    pub fn demo(base: &str, oneroster_url: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            oneroster_url: Some(oneroster_url.to_owned()),
            classlink_api_url: Some(base.to_owned()),
            demo: true,
            ..Self::new(base, DEMO_CLIENT_ID).with_profile(Profile::ClassLink)
        }
    }

    /// Checks everything a sign-in and the roster calls need, before the browser opens.
    pub fn validate(&self) -> Result<(), CoreError> {
        self.client_config()?;
        self.oneroster_base()?;
        self.classlink_api_base()?;
        Ok(())
    }

    /// The OneRoster base URL, checked like the issuer (https, or http on loopback).
    pub fn oneroster_base(&self) -> Result<Option<Url>, CoreError> {
        self.oneroster_url
            .as_deref()
            .map(|u| checked_url(u, "OneRoster URL"))
            .transpose()
    }

    pub fn classlink_api_base(&self) -> Result<Url, CoreError> {
        checked_url(
            self.classlink_api_url
                .as_deref()
                .unwrap_or(CLASSLINK_API_URL),
            "ClassLink API URL",
        )
    }

    pub(crate) fn client_config(&self) -> Result<ClientConfig, CoreError> {
        if self.client_id.trim().is_empty() {
            return Err(AuthError::InvalidConfig("the client id is empty".into()).into());
        }
        Ok(ClientConfig {
            issuer: IssuerUrl::new(self.issuer.clone())?,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
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

/// Where a running standalone demo district at `base` serves rosters: the roster gateway
/// it publishes at `/.well-known/rollbook-demo`, or (a district started with
/// `--no-gateway`) its own OneRoster API.
///
/// `http` is the account's client ([`crate::Account::http`]), so the `ProxyUrl` policy
/// applies to this call as to every other.
pub async fn demo_roster_url(http: &reqwest::Client, base: &str) -> Result<String, CoreError> {
    let base = base.trim_end_matches('/');
    let url = checked_url(
        &format!("{base}/.well-known/rollbook-demo"),
        "demo district URL",
    )?;
    let unreachable = |detail: String| {
        CoreError::Auth(AuthError::ProviderUnreachable {
            what: "demo district",
            detail,
        })
    };
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| unreachable(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(unreachable(format!("HTTP {}", response.status().as_u16())));
    }
    let document: serde_json::Value = response
        .json()
        .await
        .map_err(|_| unreachable("its /.well-known/rollbook-demo is not JSON".into()))?;
    match document.get("roster_gateway_url").and_then(|v| v.as_str()) {
        Some(gateway) => Ok(checked_url(gateway, "roster gateway URL")?.to_string()),
        None => Ok(format!("{base}/ims/oneroster/v1p1")),
    }
}

pub(crate) fn checked_url(text: &str, what: &str) -> Result<Url, CoreError> {
    let url = Url::parse(text.trim())
        .map_err(|e| AuthError::InvalidConfig(format!("the {what} `{text}` is not a URL ({e})")))?;
    require_secure_url(&url, what)?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lab behind `ProxyUrl` with no direct route out: the lookup of a demo district
    /// must go to the proxy (`.example` names never resolve, so a direct call fails
    /// before anyone is asked).
    #[tokio::test]
    async fn the_demo_lookup_goes_through_the_configured_proxy() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = format!("http://{}", listener.local_addr().unwrap());
        let asked = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0; 1024];
            let n = socket.read(&mut request).await.unwrap();
            let _ = socket
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                .await;
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        let http = rollbook_auth::build_http_client(&rollbook_auth::HttpSettings {
            proxy: Some(Url::parse(&proxy).unwrap()),
            ..rollbook_auth::HttpSettings::default()
        })
        .unwrap();
        let result = demo_roster_url(&http, "https://demo-district.example").await;
        assert!(result.is_err(), "the proxy refused: {result:?}");
        let request = tokio::time::timeout(std::time::Duration::from_secs(10), asked)
            .await
            .expect("the proxy was asked")
            .unwrap();
        assert!(
            request.starts_with("CONNECT demo-district.example:443"),
            "{request}"
        );
    }

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

    #[test]
    fn the_client_secret_never_reaches_a_file_or_a_log() {
        let mut settings = ProviderSettings::new("https://op.example", "app");
        settings.client_secret = Some(NonConfidentialSecret::new("s3cret-value"));
        let json = serde_json::to_string(&settings).unwrap();
        assert!(
            !json.contains("s3cret-value") && !json.contains("client_secret"),
            "{json}"
        );
        assert!(!format!("{settings:?}").contains("s3cret-value"));
        assert_eq!(
            settings
                .client_config()
                .unwrap()
                .client_secret
                .unwrap()
                .secret(),
            "s3cret-value"
        );
    }

    #[test]
    fn roster_urls_follow_the_https_rule() {
        let mut settings = ProviderSettings::demo(
            "http://127.0.0.1:47600/",
            "http://127.0.0.1:47600/ims/oneroster/v1p1",
        );
        assert_eq!(settings.issuer, "http://127.0.0.1:47600");
        assert!(settings.validate().is_ok());
        assert_eq!(
            settings.oneroster_base().unwrap().unwrap().as_str(),
            "http://127.0.0.1:47600/ims/oneroster/v1p1"
        );
        settings.oneroster_url = Some("http://roster.example.org/ims/oneroster/v1p1".into());
        assert!(settings.validate().is_err(), "plain http off loopback");
        settings.oneroster_url = None;
        settings.classlink_api_url = None;
        assert_eq!(
            settings.classlink_api_base().unwrap().as_str(),
            "https://nodeapi.classlink.com/"
        );
        settings.classlink_api_url = Some("not a url".into());
        assert!(settings.validate().is_err());
    }
}
