//! A signed-in session: its tokens, single-flight refresh, persistence, sign-out.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use crate::process_lock::{ProcessLock, ProcessLockGuard};
use crate::store::call_store;
use crate::userinfo::UserInfo;
use crate::{
    AccessToken, AuthError, IdTokenClaims, IdTokenJwt, Provider, RefreshToken, SignedIn,
    StoreError, StoreKey, StoredCredentials, TokenStore,
};

/// Refresh this long before the access token's stated expiry, so a call made just
/// before expiry does not arrive at the API just after it.
const EXPIRY_MARGIN_SECS: i64 = 30;

/// Who is signed in. Not secret; this is what the UI and `whoami` show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub preferred_username: Option<String>,
    /// Whether the provider says `email` is verified (`email_verified`, from the same
    /// source as `email`). An unverified address must never be used to find who you are.
    #[serde(default)]
    pub email_verified: bool,
    /// Other string or number claims from the ID token and userinfo (userinfo wins),
    /// without the protocol's own (`nonce`, `at_hash`, `auth_time`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, String>,
}

/// Claims that describe the token, not the person; never copied into [`Identity`].
const PROTOCOL_CLAIMS: [&str; 13] = [
    "acr",
    "amr",
    "at_hash",
    "auth_time",
    "c_hash",
    "email_verified",
    "jti",
    "nbf",
    "nonce",
    "sid",
    "s_hash",
    "typ",
    "updated_at",
];

fn person_claims<'a>(
    claims: impl Iterator<Item = (&'a String, &'a serde_json::Value)>,
) -> impl Iterator<Item = (String, String)> {
    claims
        .filter(|(k, _)| !PROTOCOL_CLAIMS.contains(&k.as_str()))
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k.clone(), s.clone())),
            serde_json::Value::Number(n) => Some((k.clone(), n.to_string())),
            _ => None,
        })
}

/// `email_verified`: a JSON `true`, or the string `"true"` some providers send.
fn verified(claim: Option<&serde_json::Value>) -> bool {
    match claim {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

impl Identity {
    pub(crate) fn from_claims(claims: &IdTokenClaims, info: Option<&UserInfo>) -> Self {
        let pick = |from_info: Option<&Option<String>>, from_token: &Option<String>| {
            from_info
                .and_then(Clone::clone)
                .or_else(|| from_token.clone())
        };
        let email_from_info = info.and_then(|i| i.email.clone());
        let email_verified = match &email_from_info {
            Some(_) => info.is_some_and(|i| verified(i.other.get("email_verified"))),
            None => verified(claims.other.get("email_verified")),
        };
        Self {
            issuer: claims.iss.clone(),
            subject: claims.subject().to_owned(),
            name: pick(info.map(|i| &i.name), &claims.name),
            email: email_from_info.or_else(|| claims.email.clone()),
            email_verified,
            given_name: pick(info.map(|i| &i.given_name), &claims.given_name),
            family_name: pick(info.map(|i| &i.family_name), &claims.family_name),
            preferred_username: pick(
                info.map(|i| &i.preferred_username),
                &claims.preferred_username,
            ),
            claims: person_claims(claims.other.iter())
                .chain(person_claims(info.into_iter().flat_map(|i| i.other.iter())))
                .collect(),
        }
    }

    /// A name to greet the teacher with.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.preferred_username.as_deref())
            .or(self.email.as_deref())
            .unwrap_or(&self.subject)
    }
}

/// The tokens of a session. Secrets; `Debug` prints them redacted.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: AccessToken,
    /// Unix seconds; `None` when the provider did not say (`expires_in` absent).
    pub access_expires_at: Option<i64>,
    pub refresh_token: Option<RefreshToken>,
    pub id_token: Option<IdTokenJwt>,
}

#[derive(Debug)]
struct Live {
    tokens: Tokens,
    original_nonce: Option<String>,
    /// New tokens that the keychain has not accepted yet: not handed out until it does.
    unsaved: bool,
    ended: bool,
}

/// How sign-out went.
#[derive(Debug, Clone, Serialize)]
pub struct SignOutOutcome {
    /// `true` when the provider confirmed revoking the refresh token.
    pub revoked: bool,
    /// Why revocation did not happen, when it did not (the code of the error).
    pub revocation_problem: Option<String>,
    /// Open this to sign out of the provider in the browser too.
    pub end_session_url: Option<Url>,
}

/// A live session. Cheap to share behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Session {
    provider: Arc<Provider>,
    identity: Identity,
    key: StoreKey,
    store: Option<Arc<dyn TokenStore>>,
    /// Shared with the other Rollbook processes of this user; held around a refresh.
    process_lock: Option<ProcessLock>,
    live: Mutex<Live>,
}

impl Session {
    /// Starts a session from a finished sign-in and saves it to `store`. With no store
    /// (shared-machine mode) the session lives in memory only. If saving fails, the
    /// session still works in memory and the error says why it will not survive a restart.
    pub async fn start(
        provider: Arc<Provider>,
        signed_in: SignedIn,
        store: Option<Arc<dyn TokenStore>>,
    ) -> (Self, Result<(), StoreError>) {
        let key = provider.client().store_key(&signed_in.identity.subject);
        let mut session = Self {
            provider,
            identity: signed_in.identity,
            key,
            store,
            process_lock: None,
            live: Mutex::new(Live {
                tokens: signed_in.tokens,
                original_nonce: signed_in.original_nonce,
                unsaved: false,
                ended: false,
            }),
        };
        let saved = session.persist_current().await;
        if saved.is_err() {
            session.store = None;
        }
        (session, saved)
    }

    /// Reopens a saved session from the keychain. `Err(NotSignedIn)` when none is saved.
    pub async fn restore(
        provider: Arc<Provider>,
        identity: Identity,
        store: Arc<dyn TokenStore>,
    ) -> Result<Self, AuthError> {
        let key = provider.client().store_key(&identity.subject);
        let lookup = key.clone();
        let saved = call_store(&store, move |s| s.load(&lookup))
            .await?
            .ok_or(AuthError::NotSignedIn)?;
        // The client secret (for providers that insist on one) is kept in the keychain,
        // never in the session record, so the provider gets it back from there.
        let provider = match (&saved.client_secret, &provider.client().client_secret) {
            (Some(secret), None) => Arc::new(provider.with_client_secret(secret.clone())?),
            _ => provider,
        };
        Ok(Self {
            provider,
            identity,
            key,
            store: Some(store),
            process_lock: None,
            live: Mutex::new(Live {
                tokens: Tokens {
                    access_token: saved.access_token,
                    access_expires_at: saved.access_expires_at,
                    refresh_token: saved.refresh_token,
                    id_token: None,
                },
                original_nonce: saved.original_nonce,
                unsaved: false,
                ended: false,
            }),
        })
    }

    /// Coordinates refreshes with other processes that use the same keychain entry: under
    /// `lock`, a refresh first reads the keychain again and adopts tokens another process
    /// saved, so a rotated refresh token is never spent twice.
    pub fn with_process_lock(mut self, lock: ProcessLock) -> Self {
        self.process_lock = Some(lock);
        self
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn store_key(&self) -> &StoreKey {
        &self.key
    }

    /// Whether the session survives a restart (it is in the keychain).
    pub fn is_persisted(&self) -> bool {
        self.store.is_some()
    }

    pub async fn access_expires_at(&self) -> Option<i64> {
        self.live.lock().await.tokens.access_expires_at
    }

    pub async fn has_refresh_token(&self) -> bool {
        self.live.lock().await.tokens.refresh_token.is_some()
    }

    /// A valid access token, refreshing first when it has expired. However many tasks
    /// call this at once, at most one refresh runs: the others wait for its result.
    pub async fn access_token(&self) -> Result<AccessToken, AuthError> {
        let mut live = self.live.lock().await;
        self.ensure_usable(&mut live).await?;
        let now = self.provider.clock().unix_now();
        let expired = live
            .tokens
            .access_expires_at
            .is_some_and(|at| now >= at - EXPIRY_MARGIN_SECS);
        if expired {
            let _others_wait = self.lock_other_processes().await?;
            // Another process may have refreshed already: its access token will do.
            let adopted_fresh = self.adopt_saved(&mut live).await?;
            if !adopted_fresh {
                self.refresh_locked(&mut live).await?;
            }
        }
        Ok(live.tokens.access_token.clone())
    }

    /// Refreshes now, whatever the expiry says (`rollbook whoami --refresh`).
    pub async fn refresh(&self) -> Result<(), AuthError> {
        let mut live = self.live.lock().await;
        self.ensure_usable(&mut live).await?;
        let _others_wait = self.lock_other_processes().await?;
        self.adopt_saved(&mut live).await?;
        self.refresh_locked(&mut live).await
    }

    async fn lock_other_processes(&self) -> Result<Option<ProcessLockGuard>, AuthError> {
        match &self.process_lock {
            Some(lock) => Ok(Some(lock.acquire().await?)),
            None => Ok(None),
        }
    }

    /// Reads the keychain entry again (under the process lock) and takes the tokens in it
    /// when another process saved newer ones. Returns whether this session now holds an
    /// access token that is not about to expire. An entry that is gone means the session
    /// was ended elsewhere (sign-out, or a refresh the provider refused).
    async fn adopt_saved(&self, live: &mut Live) -> Result<bool, AuthError> {
        let (Some(store), Some(_)) = (&self.store, &self.process_lock) else {
            return Ok(false);
        };
        let key = self.key.clone();
        let Some(saved) = call_store(store, move |s| s.load(&key)).await? else {
            live.ended = true;
            return Err(AuthError::SignInAgain);
        };
        let same_refresh = match (&saved.refresh_token, &live.tokens.refresh_token) {
            (Some(a), Some(b)) => a.secret() == b.secret(),
            (None, None) => true,
            _ => false,
        };
        if !same_refresh || saved.access_token.secret() != live.tokens.access_token.secret() {
            tracing::debug!("adopting the tokens another Rollbook process saved");
            live.tokens.access_token = saved.access_token;
            live.tokens.access_expires_at = saved.access_expires_at;
            live.tokens.refresh_token = saved.refresh_token;
            live.unsaved = false;
        }
        let now = self.provider.clock().unix_now();
        Ok(live
            .tokens
            .access_expires_at
            .is_none_or(|at| now < at - EXPIRY_MARGIN_SECS))
    }

    async fn ensure_usable(&self, live: &mut Live) -> Result<(), AuthError> {
        if live.ended {
            return Err(AuthError::SignInAgain);
        }
        if live.unsaved {
            self.save(&live.tokens, live.original_nonce.clone()).await?;
            live.unsaved = false;
        }
        Ok(())
    }

    async fn refresh_locked(&self, live: &mut Live) -> Result<(), AuthError> {
        let Some(refresh_token) = live.tokens.refresh_token.clone() else {
            // No refresh token (ClassLink issues none): the session ends with the access token.
            self.end(live).await;
            return Err(AuthError::SignInAgain);
        };
        let refreshed = match self
            .provider
            .refresh(
                &refresh_token,
                &self.identity,
                live.original_nonce.as_deref(),
            )
            .await
        {
            Ok(refreshed) => refreshed,
            Err(AuthError::TokenRejected { code, .. }) if code == "invalid_grant" => {
                tracing::info!("the provider no longer accepts the refresh token");
                self.end(live).await;
                return Err(AuthError::SignInAgain);
            }
            // A refreshed identity that is not this one: the provider already rotated the
            // refresh token we hold, and the engine revoked the new one, so nothing here
            // can be used any more.
            Err(e @ AuthError::IdToken(_)) => {
                tracing::warn!(code = %e.code(), "the refreshed ID token was refused; the session ends");
                self.end(live).await;
                return Err(e);
            }
            // Anything else (provider down, bad answer) leaves the session as it was.
            Err(other) => return Err(other),
        };
        let tokens = self.provider.tokens_from(refreshed, Some(refresh_token));
        // A rotated refresh token goes to the keychain before the new access token is used.
        let saved = self.save(&tokens, live.original_nonce.clone()).await;
        live.tokens = tokens;
        if let Err(e) = saved {
            live.unsaved = true;
            return Err(e.into());
        }
        tracing::debug!("tokens refreshed");
        Ok(())
    }

    async fn persist_current(&self) -> Result<(), StoreError> {
        let live = self.live.lock().await;
        self.save(&live.tokens, live.original_nonce.clone()).await
    }

    async fn save(
        &self,
        tokens: &Tokens,
        original_nonce: Option<String>,
    ) -> Result<(), StoreError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let credentials = StoredCredentials {
            client_secret: self.provider.client().client_secret.clone(),
            refresh_token: tokens.refresh_token.clone(),
            access_token: tokens.access_token.clone(),
            access_expires_at: tokens.access_expires_at,
            original_nonce,
        };
        let key = self.key.clone();
        call_store(store, move |s| s.save(&key, &credentials)).await
    }

    /// Forgets the session locally: keychain entry gone, no more tokens handed out.
    async fn end(&self, live: &mut Live) {
        live.ended = true;
        if let Some(store) = &self.store {
            let key = self.key.clone();
            if let Err(e) = call_store(store, move |s| s.clear(&key)).await {
                tracing::warn!(code = %e.code(), "could not delete the saved session");
            }
        }
    }

    /// Signs out: revokes the refresh token where the provider allows, deletes the
    /// keychain entry, and returns the provider's end-session URL when it has one.
    pub async fn sign_out(&self) -> Result<SignOutOutcome, AuthError> {
        let outcome = self.revoke_and_end().await;
        if let Some(store) = &self.store {
            let key = self.key.clone();
            call_store(store, move |s| s.clear(&key)).await?;
        }
        Ok(outcome)
    }

    /// Revokes the refresh token where the provider allows and ends the session in this
    /// process (no more tokens handed out), leaving the keychain entry to the caller
    /// (which may need to delete it in a way that survives a locked keychain).
    pub async fn revoke_and_end(&self) -> SignOutOutcome {
        let mut live = self.live.lock().await;
        let (revoked, revocation_problem) = match &live.tokens.refresh_token {
            Some(token) if !live.ended => match self.provider.revoke(token).await {
                Ok(true) => (true, None),
                Ok(false) => (false, Some("revocation_unsupported".to_owned())),
                Err(e) => {
                    tracing::warn!(code = %e.code(), "revocation failed; forgetting the session anyway");
                    (false, Some(e.code().to_string()))
                }
            },
            _ => (false, None),
        };
        live.ended = true;
        SignOutOutcome {
            revoked,
            revocation_problem,
            end_session_url: self.provider.end_session_url(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(extra: serde_json::Value) -> IdTokenClaims {
        let mut base = json!({"iss": "https://op.example", "sub": "u1", "aud": "app"});
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    fn info(extra: serde_json::Value) -> UserInfo {
        let mut base = json!({"sub": "u1"});
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn email_verified_comes_from_where_the_email_came_from() {
        let token = claims(json!({"email": "a@x", "email_verified": true}));
        assert!(Identity::from_claims(&token, None).email_verified);
        assert!(
            Identity::from_claims(
                &claims(json!({"email": "a@x", "email_verified": "true"})),
                None
            )
            .email_verified
        );
        assert!(!Identity::from_claims(&claims(json!({"email": "a@x"})), None).email_verified);
        assert!(
            !Identity::from_claims(
                &claims(json!({"email": "a@x", "email_verified": false})),
                None
            )
            .email_verified
        );
        // Userinfo's address wins, and with it its own verification (or lack of it).
        let unverified = info(json!({"email": "b@x"}));
        let identity = Identity::from_claims(&token, Some(&unverified));
        assert_eq!(identity.email.as_deref(), Some("b@x"));
        assert!(
            !identity.email_verified,
            "the token vouched for another address"
        );
        let verified = info(json!({"email": "b@x", "email_verified": true}));
        assert!(Identity::from_claims(&claims(json!({})), Some(&verified)).email_verified);
        // Userinfo without an email leaves the token's, verified as the token says.
        assert!(Identity::from_claims(&token, Some(&info(json!({})))).email_verified);
        assert!(
            !Identity::from_claims(&token, None)
                .claims
                .contains_key("email_verified")
        );
    }
}
