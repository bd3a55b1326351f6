//! The userinfo endpoint (OpenID Connect Core §5.3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::http::{read_body, transport_error};
use crate::{AccessToken, AuthError};

/// The standard claims Rollbook shows. The `sub` is checked against the ID token's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// Every other claim (see [`crate::IdTokenClaims::other`]).
    #[serde(flatten, default)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// Reads userinfo with the access token in the `Authorization` header only (RFC 6750 §2.1).
pub(crate) async fn fetch(
    http: &reqwest::Client,
    endpoint: &Url,
    token: &AccessToken,
    expected_sub: &str,
) -> Result<UserInfo, AuthError> {
    let response = http
        .get(endpoint.clone())
        .bearer_auth(token.secret())
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| transport_error("userinfo", e))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(AuthError::UserinfoRejected {
            status: status.as_u16(),
        });
    }
    if !status.is_success() {
        return Err(AuthError::ProviderStatus {
            what: "userinfo",
            status: status.as_u16(),
        });
    }
    let body = read_body("userinfo", response).await?;
    let info: UserInfo =
        serde_json::from_slice(&body).map_err(|e| AuthError::ProviderBadResponse {
            what: "userinfo",
            detail: e.to_string(),
        })?;
    if info.sub != expected_sub {
        return Err(AuthError::UserinfoSubjectMismatch);
    }
    Ok(info)
}
