//! Token-endpoint calls through the oauth2 crate: code exchange, refresh, revocation.

use std::borrow::Cow;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    ExtraTokenFields, RedirectUrl, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::http::{OAuth2Http, oauth2_error};
use crate::{AccessToken, AuthError, IdTokenJwt, ProviderMetadata, RefreshToken};

/// The one extra field of an OpenID Connect token response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdTokenField {
    #[serde(default)]
    id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type OidcTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

pub(crate) type OidcClient = oauth2::Client<
    BasicErrorResponse,
    OidcTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// What a token endpoint handed out.
#[derive(Debug)]
pub(crate) struct TokenGrant {
    pub access_token: AccessToken,
    pub expires_in: Option<std::time::Duration>,
    pub refresh_token: Option<RefreshToken>,
    pub id_token: Option<IdTokenJwt>,
}

impl TokenGrant {
    fn from_response(response: OidcTokenResponse) -> Self {
        Self {
            access_token: AccessToken::new(response.access_token().secret().clone()),
            expires_in: response.expires_in(),
            refresh_token: response
                .refresh_token()
                .map(|t| RefreshToken::new(t.secret().clone())),
            id_token: response
                .extra_fields()
                .id_token
                .clone()
                .map(IdTokenJwt::new),
        }
    }
}

fn bad_url(what: &str, e: url::ParseError) -> AuthError {
    AuthError::InvalidConfig(format!("the provider's {what} is not a valid URL: {e}"))
}

pub(crate) fn oauth2_client(
    metadata: &ProviderMetadata,
    client_id: &str,
    client_secret: Option<&str>,
) -> Result<OidcClient, AuthError> {
    let mut client = oauth2::Client::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(
            AuthUrl::new(metadata.authorization_endpoint.to_string())
                .map_err(|e| bad_url("authorization endpoint", e))?,
        )
        .set_token_uri(
            TokenUrl::new(metadata.token_endpoint.to_string())
                .map_err(|e| bad_url("token endpoint", e))?,
        );
    if let Some(secret) = client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.to_owned()));
    }
    Ok(client)
}

pub(crate) async fn exchange_code(
    http: &reqwest::Client,
    client: &OidcClient,
    code: String,
    redirect_uri: &str,
    verifier: oauth2::PkceCodeVerifier,
) -> Result<TokenGrant, AuthError> {
    let redirect =
        RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| bad_url("redirect URI", e))?;
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .set_redirect_uri(Cow::Owned(redirect))
        .request_async(&OAuth2Http(http))
        .await
        .map_err(|e| oauth2_error("token", e))?;
    Ok(TokenGrant::from_response(response))
}

pub(crate) async fn refresh(
    http: &reqwest::Client,
    client: &OidcClient,
    refresh_token: &RefreshToken,
) -> Result<TokenGrant, AuthError> {
    let token = oauth2::RefreshToken::new(refresh_token.secret().to_owned());
    let response = client
        .exchange_refresh_token(&token)
        .request_async(&OAuth2Http(http))
        .await
        .map_err(|e| oauth2_error("refresh", e))?;
    Ok(TokenGrant::from_response(response))
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before they go into Basic
/// auth, so a `:` or `%` in either cannot be misread by the provider.
fn basic_credentials(client_id: &str, secret: &str) -> (String, String) {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    (encode(client_id), encode(secret))
}

/// Revokes a refresh token (RFC 7009). `Ok(false)` when the provider has no endpoint.
///
/// Sent by hand rather than through oauth2's `revoke_token`, which refuses any
/// non-https endpoint, including the loopback providers our HTTPS rule allows.
pub(crate) async fn revoke(
    http: &reqwest::Client,
    metadata: &ProviderMetadata,
    client_id: &str,
    client_secret: Option<&str>,
    refresh_token: &RefreshToken,
) -> Result<bool, AuthError> {
    let Some(endpoint) = &metadata.revocation_endpoint else {
        return Ok(false);
    };
    let mut form = vec![
        ("token", refresh_token.secret()),
        ("token_type_hint", "refresh_token"),
    ];
    let mut request = http.post(endpoint.clone());
    match client_secret {
        Some(secret) => {
            let (id, secret) = basic_credentials(client_id, secret);
            request = request.basic_auth(id, Some(secret));
        }
        None => form.push(("client_id", client_id)),
    }
    let response = request
        .form(&form)
        .send()
        .await
        .map_err(|e| crate::http::transport_error("revocation", e))?;
    // RFC 7009 §2.2: 200 whether or not the token was still valid.
    if response.status().is_success() {
        Ok(true)
    } else {
        Err(AuthError::ProviderStatus {
            what: "revocation",
            status: response.status().as_u16(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_auth_credentials_are_form_encoded() {
        let (id, secret) = super::basic_credentials("app:one", "s3cr%t&x y");
        assert_eq!(id, "app%3Aone");
        assert_eq!(secret, "s3cr%25t%26x+y");
        assert_eq!(super::basic_credentials("plain", "s").0, "plain");
    }
}
