//! ID token verification (OpenID Connect Core §3.1.3.7): signature against the
//! provider's JWKS with an asymmetric-only allowlist, then the claims, with an
//! injectable clock and 60 s of leeway.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{AuthError, Clock, ErrorCode, IdTokenJwt, JwksCache};

/// Asymmetric algorithms only. `none` is not an algorithm, and HS* would need a shared
/// secret that a public client does not have (an attacker would sign with the public key).
const ALLOWED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

pub const LEEWAY_SECS: i64 = 60;

/// Why an ID token was refused. Each has a stable code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("it is not a well-formed signed JWT")]
    Malformed,
    #[error("it is signed with `{0}`, which Rollbook does not accept")]
    AlgorithmNotAllowed(String),
    #[error("no key of the provider matches it")]
    NoMatchingKey,
    #[error("its signature is not valid")]
    BadSignature,
    #[error("it was issued by `{found}`, not `{expected}`")]
    WrongIssuer { expected: String, found: String },
    #[error("it has no subject (`sub`)")]
    MissingSubject,
    #[error("it is not meant for this app (audience)")]
    WrongAudience,
    #[error("it has several audiences but no `azp` naming this app")]
    MissingAuthorizedParty,
    #[error("its `azp` names another app")]
    WrongAuthorizedParty,
    #[error("it has no issue time (`iat`)")]
    MissingIssuedAt,
    #[error("it claims to be issued in the future; check this computer's clock")]
    IssuedInFuture,
    #[error("it has no expiry (`exp`)")]
    MissingExpiry,
    #[error("it has expired; check this computer's clock")]
    Expired,
    #[error("its nonce does not match this sign-in")]
    NonceMismatch,
    #[error("it has no nonce")]
    MissingNonce,
    #[error("a refreshed ID token names another user or issuer")]
    RefreshedIdentityChanged,
}

impl IdTokenError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Malformed => ErrorCode::IdTokenMalformed,
            Self::AlgorithmNotAllowed(_) => ErrorCode::IdTokenAlgNotAllowed,
            Self::NoMatchingKey => ErrorCode::IdTokenNoMatchingKey,
            Self::BadSignature => ErrorCode::IdTokenBadSignature,
            Self::WrongIssuer { .. } => ErrorCode::IdTokenWrongIssuer,
            Self::MissingSubject => ErrorCode::IdTokenMissingSub,
            Self::WrongAudience => ErrorCode::IdTokenWrongAudience,
            Self::MissingAuthorizedParty => ErrorCode::IdTokenMissingAzp,
            Self::WrongAuthorizedParty => ErrorCode::IdTokenWrongAzp,
            Self::MissingIssuedAt => ErrorCode::IdTokenMissingIat,
            Self::IssuedInFuture => ErrorCode::IdTokenIatInFuture,
            Self::MissingExpiry => ErrorCode::IdTokenMissingExp,
            Self::Expired => ErrorCode::IdTokenExpired,
            Self::NonceMismatch => ErrorCode::IdTokenNonceMismatch,
            Self::MissingNonce => ErrorCode::IdTokenMissingNonce,
            Self::RefreshedIdentityChanged => ErrorCode::IdTokenRefreshedIdentityChanged,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims Rollbook reads from an ID token. Unknown claims are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub exp: Option<f64>,
    #[serde(default)]
    pub iat: Option<f64>,
    #[serde(default)]
    pub nonce: Option<String>,
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
    /// Every other claim, for deployments that name one (say, a roster id).
    #[serde(flatten, default)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl IdTokenClaims {
    /// The subject; present once the claims have passed verification.
    pub fn subject(&self) -> &str {
        self.sub.as_deref().unwrap_or_default()
    }

    fn audiences(&self) -> Vec<&str> {
        match &self.aud {
            Some(Audience::One(aud)) => vec![aud.as_str()],
            Some(Audience::Many(auds)) => auds.iter().map(String::as_str).collect(),
            None => Vec::new(),
        }
    }
}

/// Which nonce the token must carry.
#[derive(Debug, Clone, Copy)]
pub enum NonceRule<'a> {
    /// A fresh sign-in: the nonce must equal this attempt's.
    Equal(&'a str),
    /// A refresh: no nonce, or the original one (OpenID Connect Core §12.2).
    AbsentOr(Option<&'a str>),
}

/// Verifies ID tokens for one client of one issuer.
#[derive(Debug)]
pub struct IdTokenVerifier<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub clock: &'a dyn Clock,
}

/// The claims of `token` if one of `keys` verifies its signature (claims are checked
/// separately, with our own clock and rules).
fn verify_with_any(
    token: &IdTokenJwt,
    alg: Algorithm,
    keys: &[jsonwebtoken::jwk::Jwk],
) -> Result<Option<IdTokenClaims>, AuthError> {
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    for key in keys {
        let Ok(key) = DecodingKey::from_jwk(key) else {
            continue;
        };
        match jsonwebtoken::decode::<IdTokenClaims>(token.secret(), &key, &validation) {
            Ok(data) => return Ok(Some(data.claims)),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::Json(_)) => {
                return Err(IdTokenError::Malformed.into());
            }
            Err(_) => continue,
        }
    }
    Ok(None)
}

impl IdTokenVerifier<'_> {
    /// Verifies signature and claims; what a sign-in does with every ID token.
    pub async fn verify(
        &self,
        token: &IdTokenJwt,
        jwks: &JwksCache,
        nonce: NonceRule<'_>,
    ) -> Result<IdTokenClaims, AuthError> {
        let claims = self.verify_signature(token, jwks).await?;
        self.check_claims(&claims, nonce)?;
        Ok(claims)
    }

    async fn verify_signature(
        &self,
        token: &IdTokenJwt,
        jwks: &JwksCache,
    ) -> Result<IdTokenClaims, AuthError> {
        let header = read_header(token.secret())?;
        let alg = header
            .get("alg")
            .and_then(|a| a.as_str())
            .ok_or(IdTokenError::Malformed)?;
        let alg = Algorithm::from_str(alg)
            .ok()
            .filter(|a| ALLOWED.contains(a))
            .ok_or_else(|| IdTokenError::AlgorithmNotAllowed(alg.to_owned()))?;
        let kid = header.get("kid").and_then(|k| k.as_str());

        let keys = jwks.candidates(kid, alg).await?;
        if keys.is_empty() {
            return Err(IdTokenError::NoMatchingKey.into());
        }
        if let Some(claims) = verify_with_any(token, alg, &keys)? {
            return Ok(claims);
        }
        // With no `kid`, a key the provider rotated in looks like a bad signature against
        // the cached keys: ask for the current ones (rate-limited) before refusing.
        if kid.is_none()
            && let Some(fresh) = jwks.refetched_candidates(kid, alg).await?
            && let Some(claims) = verify_with_any(token, alg, &fresh)?
        {
            return Ok(claims);
        }
        Err(IdTokenError::BadSignature.into())
    }

    /// The claim rules of OpenID Connect Core §3.1.3.7, steps 2–11.
    pub fn check_claims(
        &self,
        claims: &IdTokenClaims,
        nonce: NonceRule<'_>,
    ) -> Result<(), IdTokenError> {
        if claims.iss != self.issuer {
            return Err(IdTokenError::WrongIssuer {
                expected: self.issuer.to_owned(),
                found: claims.iss.clone(),
            });
        }
        if claims.sub.as_deref().is_none_or(str::is_empty) {
            return Err(IdTokenError::MissingSubject);
        }
        let audiences = claims.audiences();
        if !audiences.contains(&self.client_id) {
            return Err(IdTokenError::WrongAudience);
        }
        match claims.azp.as_deref() {
            Some(azp) if azp != self.client_id => return Err(IdTokenError::WrongAuthorizedParty),
            None if audiences.len() > 1 => return Err(IdTokenError::MissingAuthorizedParty),
            _ => {}
        }
        let now = self.clock.unix_now() as f64;
        let leeway = LEEWAY_SECS as f64;
        let exp = claims.exp.ok_or(IdTokenError::MissingExpiry)?;
        if now > exp + leeway {
            return Err(IdTokenError::Expired);
        }
        let iat = claims.iat.ok_or(IdTokenError::MissingIssuedAt)?;
        if iat > now + leeway {
            return Err(IdTokenError::IssuedInFuture);
        }
        match nonce {
            NonceRule::Equal(expected) => match claims.nonce.as_deref() {
                None => return Err(IdTokenError::MissingNonce),
                Some(found)
                    if !crate::secret_compare::constant_time_eq(
                        found.as_bytes(),
                        expected.as_bytes(),
                    ) =>
                {
                    return Err(IdTokenError::NonceMismatch);
                }
                Some(_) => {}
            },
            NonceRule::AbsentOr(original) => {
                if let Some(found) = claims.nonce.as_deref()
                    && original.is_some_and(|o| o != found)
                {
                    return Err(IdTokenError::NonceMismatch);
                }
            }
        }
        Ok(())
    }
}

fn read_header(token: &str) -> Result<serde_json::Map<String, serde_json::Value>, IdTokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| IdTokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| IdTokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::ManualClock;

    const NOW: u64 = 1_800_000_000;

    fn claims(edit: impl FnOnce(&mut serde_json::Value)) -> IdTokenClaims {
        let mut value = serde_json::json!({
            "iss": "https://op.example", "sub": "t-1", "aud": "rollbook",
            "exp": NOW + 300, "iat": NOW, "nonce": "n-1",
        });
        edit(&mut value);
        serde_json::from_value(value).unwrap()
    }

    fn check(claims: &IdTokenClaims) -> Result<(), IdTokenError> {
        let clock = ManualClock::starting_at(UNIX_EPOCH + Duration::from_secs(NOW));
        IdTokenVerifier {
            issuer: "https://op.example",
            client_id: "rollbook",
            clock: &clock,
        }
        .check_claims(claims, NonceRule::Equal("n-1"))
    }

    #[test]
    fn accepts_a_good_token_and_an_array_audience() {
        assert_eq!(check(&claims(|_| {})), Ok(()));
        assert_eq!(
            check(&claims(|c| c["aud"] = serde_json::json!(["rollbook"]))),
            Ok(())
        );
    }

    #[test]
    fn rejects_each_broken_claim() {
        use serde_json::json;
        type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<(Edit, IdTokenError)> = vec![
            (
                Box::new(|c| c["iss"] = json!("https://evil.example")),
                IdTokenError::WrongIssuer {
                    expected: "https://op.example".into(),
                    found: "https://evil.example".into(),
                },
            ),
            (
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("sub");
                }),
                IdTokenError::MissingSubject,
            ),
            (
                Box::new(|c| c["aud"] = json!("someone-else")),
                IdTokenError::WrongAudience,
            ),
            (
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("aud");
                }),
                IdTokenError::WrongAudience,
            ),
            (
                Box::new(|c| c["aud"] = json!(["rollbook", "other"])),
                IdTokenError::MissingAuthorizedParty,
            ),
            (
                Box::new(|c| c["azp"] = json!("other")),
                IdTokenError::WrongAuthorizedParty,
            ),
            (
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("iat");
                }),
                IdTokenError::MissingIssuedAt,
            ),
            (
                Box::new(|c| c["iat"] = json!(NOW + 3600)),
                IdTokenError::IssuedInFuture,
            ),
            (
                Box::new(|c| c["exp"] = json!(NOW - 61)),
                IdTokenError::Expired,
            ),
            (
                Box::new(|c| c["nonce"] = json!("n-2")),
                IdTokenError::NonceMismatch,
            ),
            (
                Box::new(|c| {
                    c.as_object_mut().unwrap().remove("nonce");
                }),
                IdTokenError::MissingNonce,
            ),
        ];
        for (edit, expected) in cases {
            assert_eq!(check(&claims(edit)), Err(expected));
        }
    }

    #[test]
    fn leeway_is_sixty_seconds() {
        assert_eq!(
            check(&claims(|c| c["exp"] = serde_json::json!(NOW - 59))),
            Ok(())
        );
        assert_eq!(
            check(&claims(|c| c["iat"] = serde_json::json!(NOW + 59))),
            Ok(())
        );
    }

    #[test]
    fn extra_audience_with_matching_azp_is_fine() {
        let c = claims(|c| {
            c["aud"] = serde_json::json!(["rollbook", "other"]);
            c["azp"] = serde_json::json!("rollbook");
        });
        assert_eq!(check(&c), Ok(()));
    }
}
