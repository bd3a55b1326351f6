//! One sign-in attempt: fresh PKCE S256 verifier, `state` and `nonce`, and the
//! authorization URL built from them. The attempt is not `Clone` and is consumed by
//! [`crate::Provider::complete`], so none of its values can be used twice.

use std::time::SystemTime;

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use url::Url;

use crate::AuthError;
use crate::secret_compare::constant_time_eq;

/// The custom-scheme redirect URI registered for the desktop app (RFC 8252 §7.1).
pub const SCHEME_REDIRECT_URI: &str = "org.rollbook.desktop:/oauth/callback";

/// Where the provider sends the browser back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectUri {
    /// `http://127.0.0.1:{port}/callback` (or `[::1]`), served by a [`crate::LoopbackListener`].
    Loopback(Url),
    /// [`SCHEME_REDIRECT_URI`], delivered by the OS as a deep link.
    Scheme,
}

impl RedirectUri {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Loopback(url) => url.as_str(),
            Self::Scheme => SCHEME_REDIRECT_URI,
        }
    }

    /// Whether `callback` was sent to this redirect URI: same scheme, host, port, path.
    pub fn accepts(&self, callback: &Url) -> bool {
        let expected = match self {
            Self::Loopback(url) => url.clone(),
            Self::Scheme => match Url::parse(SCHEME_REDIRECT_URI) {
                Ok(url) => url,
                Err(_) => return false,
            },
        };
        callback.scheme() == expected.scheme()
            && callback.host() == expected.host()
            && callback.port() == expected.port()
            && callback.path() == expected.path()
    }
}

/// What the teacher's sign-in should ask the provider for.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationOptions {
    /// Scopes in addition to `openid`.
    pub scopes: Vec<String>,
    /// `prompt` values, such as `login` on shared machines or `consent` for refresh tokens.
    pub prompt: Vec<String>,
    pub login_hint: Option<String>,
}

/// A random value for `nonce` (OpenID Connect §3.1.2.1). Not `Clone`; never logged.
pub(crate) struct Nonce(String);

impl Nonce {
    fn new_random() -> Self {
        Self(CsrfToken::new_random_len(32).into_secret())
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

/// A sign-in in progress. Holds the secrets that prove the answer belongs to it.
pub struct PendingSignIn {
    pub(crate) verifier: PkceCodeVerifier,
    pub(crate) state: CsrfToken,
    pub(crate) nonce: Nonce,
    pub(crate) redirect_uri: RedirectUri,
    authorization_url: Url,
    started_at: SystemTime,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

impl PendingSignIn {
    /// Builds a fresh attempt. `build_url` receives the challenge, state and nonce and
    /// returns the provider's authorization URL.
    pub(crate) fn new(
        redirect_uri: RedirectUri,
        started_at: SystemTime,
        build_url: impl FnOnce(PkceCodeChallenge, &CsrfToken, &Nonce) -> Result<Url, AuthError>,
    ) -> Result<Self, AuthError> {
        // 32 random bytes → a 43-character verifier (RFC 7636 §4.1 minimum).
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random_len(24);
        let nonce = Nonce::new_random();
        let authorization_url = build_url(challenge, &state, &nonce)?;
        Ok(Self {
            verifier,
            state,
            nonce,
            redirect_uri,
            authorization_url,
            started_at,
        })
    }

    /// An attempt whose state is the fixed `fuzz-state`, for the fuzz targets (a real
    /// attempt's state is random, which a fuzzer could never match).
    #[cfg(feature = "fuzzing")]
    pub fn for_fuzzing(redirect_uri: RedirectUri) -> Self {
        let (_, verifier) = PkceCodeChallenge::new_random_sha256();
        Self {
            verifier,
            state: CsrfToken::new("fuzz-state".to_owned()),
            nonce: Nonce::new_random(),
            authorization_url: Url::parse("https://op.invalid/authorize")
                .unwrap_or_else(|_| unreachable!()),
            redirect_uri,
            started_at: SystemTime::UNIX_EPOCH,
        }
    }

    /// The URL to open in the system browser.
    pub fn authorization_url(&self) -> &Url {
        &self.authorization_url
    }

    pub fn redirect_uri(&self) -> &RedirectUri {
        &self.redirect_uri
    }

    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// Whether a received `state` belongs to this attempt (for deep-link dedupe).
    pub fn state_matches(&self, state: &str) -> bool {
        constant_time_eq(self.state.secret().as_bytes(), state.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_the_rfc_7636_appendix_b_vector() {
        let verifier =
            PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
        assert_eq!(
            challenge.as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(challenge.method().as_str(), "S256");
    }

    #[test]
    fn every_attempt_has_fresh_long_secrets() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let attempt =
                PendingSignIn::new(RedirectUri::Scheme, SystemTime::UNIX_EPOCH, |c, _, _| {
                    assert_eq!(c.method().as_str(), "S256");
                    Ok(Url::parse("https://op.example/auth").unwrap())
                })
                .unwrap();
            assert!(attempt.verifier.secret().len() >= 43);
            assert!(attempt.nonce.secret().len() >= 32);
            assert!(seen.insert(attempt.verifier.secret().clone()));
            assert!(seen.insert(attempt.state.secret().clone()));
            assert!(seen.insert(attempt.nonce.secret().to_owned()));
        }
    }

    #[test]
    fn redirect_uri_accepts_only_its_exact_path() {
        let loopback = RedirectUri::Loopback(Url::parse("http://127.0.0.1:5000/callback").unwrap());
        let ok = Url::parse("http://127.0.0.1:5000/callback?code=1").unwrap();
        assert!(loopback.accepts(&ok));
        for bad in [
            "http://127.0.0.1:5001/callback?code=1",
            "http://127.0.0.1:5000/callback/x?code=1",
            "http://localhost:5000/callback?code=1",
        ] {
            assert!(!loopback.accepts(&Url::parse(bad).unwrap()), "{bad}");
        }
        assert!(
            RedirectUri::Scheme.accepts(
                &Url::parse("org.rollbook.desktop:/oauth/callback?code=1&state=2").unwrap()
            )
        );
        assert!(
            !RedirectUri::Scheme
                .accepts(&Url::parse("org.rollbook.desktop:/other?code=1").unwrap())
        );
    }

    #[test]
    fn debug_shows_no_secrets() {
        let attempt = PendingSignIn::new(RedirectUri::Scheme, SystemTime::UNIX_EPOCH, |_, _, _| {
            Ok(Url::parse("https://op.example/auth").unwrap())
        })
        .unwrap();
        let printed = format!("{attempt:?}");
        assert!(!printed.contains(attempt.state.secret()));
        assert!(!printed.contains(attempt.verifier.secret()));
    }
}
