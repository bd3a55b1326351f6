//! Rollbook's native OpenID Connect client (RFC 8252 public client).
//!
//! The flow, in the order a sign-in walks through it:
//! [`Provider::discover`] → [`Provider::begin`] (a [`PendingSignIn`] with fresh PKCE,
//! `state` and `nonce`) → the system browser → [`LoopbackListener`] or a custom-scheme
//! deep link → [`Provider::complete`] (checks the response, exchanges the code,
//! verifies the ID token, reads userinfo) → [`Session`] (single-flight refresh, keychain
//! persistence through a [`TokenStore`], sign-out).
//!
//! Nothing here knows about Tauri. Tokens are typed secrets that print as `[redacted]`.

mod callback;
mod clock;
mod discovery;
mod error;
mod exchange;
mod http;
mod id_token;
mod jwks;
mod loopback;
mod pending;
mod process_lock;
mod provider;
mod secret;
mod secret_compare;
mod session;
mod store;
mod url_policy;
mod userinfo;

pub use callback::{AuthorizationResponse, CallbackPage};
pub use clock::{Clock, ManualClock, SystemClock};
pub use discovery::{ProviderMetadata, clock_skew};
pub use error::{AuthError, ErrorClass, ErrorCode};
pub use http::{HttpSettings, build_http_client};
pub use id_token::{IdTokenClaims, IdTokenError, IdTokenVerifier, NonceRule};
pub use jwks::JwksCache;
pub use loopback::{LoopbackCallback, LoopbackListener};
pub use pending::{AuthorizationOptions, PendingSignIn, RedirectUri, SCHEME_REDIRECT_URI};
pub use process_lock::{ProcessLock, ProcessLockGuard};
pub use provider::{ClientConfig, Provider, SignedIn};
pub use secret::{AccessToken, IdTokenJwt, NonConfidentialSecret, RefreshToken};
pub use session::{Identity, Session, SignOutOutcome, Tokens};
pub use store::{
    KEYCHAIN_SERVICE, KeychainStore, StoreError, StoreKey, StoredCredentials, TokenStore,
    call_store,
};
pub use url_policy::{IssuerUrl, require_secure_url};
pub use userinfo::UserInfo;
