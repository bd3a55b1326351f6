//! OpenID Connect Discovery: fetch the provider's metadata and check it.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::http::get_json;
use crate::{AuthError, IssuerUrl, require_secure_url};

/// The parts of a provider's metadata Rollbook uses. Built by discovery, or by hand for
/// providers without a discovery document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    #[serde(default)]
    pub end_session_endpoint: Option<Url>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

impl ProviderMetadata {
    /// Fetches `{issuer}/.well-known/openid-configuration` and validates it.
    #[tracing::instrument(skip(http), fields(issuer = issuer.as_str()), err(Display))]
    pub async fn discover(http: &reqwest::Client, issuer: &IssuerUrl) -> Result<Self, AuthError> {
        let url = issuer.discovery_url()?;
        let metadata: Self = get_json(http, "discovery", &url).await?;
        metadata.validate(issuer)?;
        Ok(metadata)
    }

    /// The checks every metadata document must pass, discovered or configured.
    pub fn validate(&self, issuer: &IssuerUrl) -> Result<(), AuthError> {
        if self.issuer != issuer.as_str() {
            return Err(AuthError::IssuerMismatch {
                expected: issuer.as_str().to_owned(),
                found: self.issuer.clone(),
            });
        }
        require_secure_url(&self.authorization_endpoint, "authorization endpoint")?;
        require_secure_url(&self.token_endpoint, "token endpoint")?;
        require_secure_url(&self.jwks_uri, "JWKS URL")?;
        for (url, what) in [
            (&self.userinfo_endpoint, "userinfo endpoint"),
            (&self.revocation_endpoint, "revocation endpoint"),
            (&self.end_session_endpoint, "end-session endpoint"),
        ] {
            if let Some(url) = url {
                require_secure_url(url, what)?;
            }
        }
        // A provider that lists its PKCE methods must list S256. One that lists none
        // (ClassLink's document, for one) still gets S256: PKCE is always sent.
        if let Some(methods) = &self.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(AuthError::PkceUnsupported);
        }
        Ok(())
    }

    pub fn supports_scope(&self, scope: &str) -> bool {
        self.scopes_supported
            .as_ref()
            .is_some_and(|scopes| scopes.iter().any(|s| s == scope))
    }
}

/// How far this computer's clock is from the provider's, in seconds (positive: we are
/// ahead), read from the `Date` header of the discovery document.
pub async fn clock_skew(
    http: &reqwest::Client,
    issuer: &IssuerUrl,
    clock: &dyn crate::Clock,
) -> Result<i64, AuthError> {
    let response = http
        .get(issuer.discovery_url()?)
        .send()
        .await
        .map_err(|e| crate::http::transport_error("discovery", e))?;
    let date = response
        .headers()
        .get(http::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .ok_or(AuthError::ProviderBadResponse {
            what: "discovery",
            detail: "no Date header to compare clocks with".to_owned(),
        })?;
    let theirs = date
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    Ok(clock.unix_now() - theirs)
}
