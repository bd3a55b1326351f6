//! One OpenID provider as this client sees it: metadata, keys, and the sign-in steps.

use std::sync::Arc;

use oauth2::{CsrfToken, Scope};
use url::Url;

use crate::callback::AuthorizationResponse;
use crate::exchange::{self, TokenGrant};
use crate::id_token::NonceRule;
use crate::session::{Identity, Tokens};
use crate::{
    AuthError, AuthorizationOptions, Clock, IdTokenClaims, IdTokenVerifier, IssuerUrl, JwksCache,
    NonConfidentialSecret, PendingSignIn, ProviderMetadata, RedirectUri, RefreshToken, StoreKey,
    userinfo,
};

/// This app's registration at the provider.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub issuer: IssuerUrl,
    pub client_id: String,
    /// Only for providers that insist on one; see [`NonConfidentialSecret`].
    pub client_secret: Option<NonConfidentialSecret>,
}

impl ClientConfig {
    fn secret(&self) -> Option<&str> {
        self.client_secret
            .as_ref()
            .map(NonConfidentialSecret::secret)
    }

    /// The keychain entry of this client's session for `subject`.
    pub fn store_key(&self, subject: &str) -> StoreKey {
        StoreKey {
            issuer: self.issuer.as_str().to_owned(),
            client_id: self.client_id.clone(),
            subject: subject.to_owned(),
        }
    }
}

/// A finished sign-in: who signed in, and the tokens.
#[derive(Debug)]
pub struct SignedIn {
    pub identity: Identity,
    pub tokens: Tokens,
    pub(crate) original_nonce: Option<String>,
}

/// A discovered (or configured) provider, with its keys cached.
#[derive(Debug)]
pub struct Provider {
    client: ClientConfig,
    metadata: ProviderMetadata,
    http: reqwest::Client,
    jwks: JwksCache,
    clock: Arc<dyn Clock>,
}

impl Provider {
    /// Discovers the provider's metadata from its issuer URL.
    pub async fn discover(
        client: ClientConfig,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AuthError> {
        let metadata = ProviderMetadata::discover(&http, &client.issuer).await?;
        Self::with_metadata(client, metadata, http, clock)
    }

    /// For providers without discovery: metadata configured by hand, checked the same way.
    pub fn with_metadata(
        client: ClientConfig,
        metadata: ProviderMetadata,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AuthError> {
        metadata.validate(&client.issuer)?;
        let jwks = JwksCache::new(metadata.jwks_uri.clone(), http.clone(), Arc::clone(&clock));
        Ok(Self {
            client,
            metadata,
            http,
            jwks,
            clock,
        })
    }

    /// The same provider, for a client that authenticates with `secret`.
    pub fn with_client_secret(&self, secret: NonConfidentialSecret) -> Result<Self, AuthError> {
        let client = ClientConfig {
            client_secret: Some(secret),
            ..self.client.clone()
        };
        Self::with_metadata(
            client,
            self.metadata.clone(),
            self.http.clone(),
            Arc::clone(&self.clock),
        )
    }

    pub fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    pub fn client(&self) -> &ClientConfig {
        &self.client
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Starts a sign-in: fresh PKCE, `state` and `nonce`, and the authorization URL.
    pub fn begin(
        &self,
        redirect_uri: RedirectUri,
        options: &AuthorizationOptions,
    ) -> Result<PendingSignIn, AuthError> {
        let client = self.token_client()?;
        let redirect = oauth2::RedirectUrl::new(redirect_uri.as_str().to_owned())
            .map_err(|e| AuthError::InvalidConfig(format!("bad redirect URI: {e}")))?;
        PendingSignIn::new(redirect_uri, self.clock.now(), |challenge, state, nonce| {
            let state = state.clone();
            let mut request = client
                .authorize_url(move || state)
                .set_redirect_uri(std::borrow::Cow::Owned(redirect))
                .set_pkce_challenge(challenge)
                .add_scope(Scope::new("openid".to_owned()))
                .add_extra_param("nonce", nonce.secret().to_owned());
            for scope in options.scopes.iter().filter(|s| s.as_str() != "openid") {
                request = request.add_scope(Scope::new(scope.clone()));
            }
            if !options.prompt.is_empty() {
                request = request.add_extra_param("prompt", options.prompt.join(" "));
            }
            if let Some(hint) = &options.login_hint {
                request = request.add_extra_param("login_hint", hint.clone());
            }
            let (url, _state): (Url, CsrfToken) = request.url();
            Ok(url)
        })
    }

    /// Completes a sign-in from the redirect the browser delivered. Consumes the
    /// attempt: its verifier, state and nonce cannot be used again.
    #[tracing::instrument(skip_all, fields(issuer = self.client.issuer.as_str()), err(Display))]
    pub async fn complete(
        &self,
        pending: PendingSignIn,
        callback: &Url,
    ) -> Result<SignedIn, AuthError> {
        if !pending.redirect_uri.accepts(callback) {
            return Err(AuthError::CallbackMalformed);
        }
        let code = AuthorizationResponse::from_url(callback).into_code(
            pending.state.secret(),
            self.client.issuer.as_str(),
            self.metadata.authorization_response_iss_parameter_supported,
        )?;
        let PendingSignIn {
            verifier,
            nonce,
            redirect_uri,
            ..
        } = pending;
        let client = self.token_client()?;
        let grant =
            exchange::exchange_code(&self.http, &client, code, redirect_uri.as_str(), verifier)
                .await?;
        let id_token = grant
            .id_token
            .as_ref()
            .ok_or(AuthError::ProviderBadResponse {
                what: "token",
                detail: "the answer has no id_token".to_owned(),
            })?;
        let claims = self
            .verifier()
            .verify(id_token, &self.jwks, NonceRule::Equal(nonce.secret()))
            .await?;
        let info = match &self.metadata.userinfo_endpoint {
            Some(endpoint) => Some(
                userinfo::fetch(&self.http, endpoint, &grant.access_token, claims.subject())
                    .await?,
            ),
            None => None,
        };
        tracing::info!("sign-in complete");
        let identity = Identity::from_claims(&claims, info.as_ref());
        Ok(SignedIn {
            identity,
            tokens: self.tokens_from(grant, None),
            original_nonce: claims.nonce,
        })
    }

    fn token_client(&self) -> Result<exchange::OidcClient, AuthError> {
        exchange::oauth2_client(&self.metadata, &self.client.client_id, self.client.secret())
    }

    fn verifier(&self) -> IdTokenVerifier<'_> {
        IdTokenVerifier {
            issuer: self.client.issuer.as_str(),
            client_id: &self.client.client_id,
            clock: self.clock.as_ref(),
        }
    }

    /// Turns a grant into tokens, keeping the old refresh token when none is rotated in.
    pub(crate) fn tokens_from(
        &self,
        grant: TokenGrant,
        previous_refresh: Option<RefreshToken>,
    ) -> Tokens {
        let expires_at = grant.expires_in.map(|lifetime| {
            self.clock.unix_now() + i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2)
        });
        Tokens {
            access_token: grant.access_token,
            access_expires_at: expires_at,
            refresh_token: grant.refresh_token.or(previous_refresh),
            id_token: grant.id_token,
        }
    }

    /// Uses a refresh token. A new ID token must name the same issuer and subject.
    ///
    /// Once the token endpoint has answered, the provider may already have rotated the
    /// refresh token, so what happens to the new grant depends on why its ID token could
    /// not be checked:
    /// - the keys could not be fetched (a network blip, the JWKS down): the grant is
    ///   returned all the same, because throwing it away would leave only the rotated,
    ///   now dead, refresh token (the next refresh would look like reuse and end the
    ///   token family); the next refresh checks its ID token again;
    /// - the keys did not fit (a rotation inside the refetch cooldown): the keys are
    ///   fetched once more, now, and the check repeated;
    /// - the identity is wrong (another `sub` or `iss`, a bad signature with fresh keys,
    ///   failed claims): the new refresh token is revoked and the error returned, and
    ///   the session must end.
    pub(crate) async fn refresh(
        &self,
        refresh_token: &RefreshToken,
        identity: &Identity,
        original_nonce: Option<&str>,
    ) -> Result<TokenGrant, AuthError> {
        let client = self.token_client()?;
        let grant = exchange::refresh(&self.http, &client, refresh_token).await?;
        let Some(id_token) = &grant.id_token else {
            return Ok(grant);
        };
        let mut checked = self
            .check_refreshed(id_token, identity, original_nonce)
            .await;
        if matches!(
            checked,
            Err(AuthError::IdToken(
                crate::IdTokenError::NoMatchingKey | crate::IdTokenError::BadSignature
            ))
        ) {
            // At most once per refresh, so the cooldown's purpose (no refetch storms from
            // forged tokens) holds: refresh answers come from the token endpoint over TLS.
            checked = match self.jwks.refetch_now().await {
                Ok(()) => {
                    self.check_refreshed(id_token, identity, original_nonce)
                        .await
                }
                Err(e) => Err(e),
            };
        }
        match checked {
            Ok(()) => Ok(grant),
            Err(e) if keys_unreachable(&e) => {
                tracing::warn!(
                    code = %e.code(),
                    "the refreshed ID token could not be checked (the provider's keys are unreachable); keeping the new tokens, the next refresh checks again"
                );
                Ok(grant)
            }
            Err(e) => {
                if let Some(rotated) = &grant.refresh_token
                    && let Err(revoke) = self.revoke(rotated).await
                {
                    tracing::warn!(code = %revoke.code(), "could not revoke the refresh token of a refused identity");
                }
                Err(e)
            }
        }
    }

    /// The refreshed ID token's signature and claims, and the same `iss` and `sub`.
    async fn check_refreshed(
        &self,
        id_token: &crate::IdTokenJwt,
        identity: &Identity,
        original_nonce: Option<&str>,
    ) -> Result<(), AuthError> {
        let claims: IdTokenClaims = self
            .verifier()
            .verify(id_token, &self.jwks, NonceRule::AbsentOr(original_nonce))
            .await
            .map_err(|e| match e {
                AuthError::IdToken(crate::IdTokenError::WrongIssuer { .. }) => {
                    AuthError::IdToken(crate::IdTokenError::RefreshedIdentityChanged)
                }
                other => other,
            })?;
        if claims.subject() != identity.subject {
            return Err(crate::IdTokenError::RefreshedIdentityChanged.into());
        }
        Ok(())
    }

    /// Revokes a refresh token where the provider has a revocation endpoint.
    pub(crate) async fn revoke(&self, refresh_token: &RefreshToken) -> Result<bool, AuthError> {
        exchange::revoke(
            &self.http,
            &self.metadata,
            &self.client.client_id,
            self.client.secret(),
            refresh_token,
        )
        .await
    }

    /// The RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0), so a shared
    /// browser forgets the teacher too. It names the client, not the ID token, so the
    /// URL can be shown or opened without leaking a token.
    pub fn end_session_url(&self) -> Option<Url> {
        let mut url = self.metadata.end_session_endpoint.clone()?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.client.client_id);
        Some(url)
    }
}

/// Whether verification failed only because the provider's keys could not be fetched.
fn keys_unreachable(error: &AuthError) -> bool {
    matches!(
        error,
        AuthError::ProviderUnreachable { what: "JWKS", .. }
            | AuthError::ProviderTimeout { what: "JWKS" }
            | AuthError::ProviderStatus { what: "JWKS", .. }
            | AuthError::ProviderBadResponse { what: "JWKS", .. }
    )
}
