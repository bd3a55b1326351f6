//! The sandbox's ID-token signing keys: ES256 key pairs generated at start-up (never
//! stored), rotated on demand. The JWKS keeps the previous key so tokens signed just
//! before a rotation still verify.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::SandboxError;

struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: serde_json::Value,
}

pub struct KeySet {
    current: SigningKey,
    previous: Option<SigningKey>,
    generation: u32,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("current", &self.current.kid)
            .finish_non_exhaustive()
    }
}

impl KeySet {
    pub fn generate() -> Result<Self, SandboxError> {
        Ok(Self {
            current: new_key(1)?,
            previous: None,
            generation: 1,
        })
    }

    /// A new signing key; the old one stays published until the next rotation.
    pub fn rotate(&mut self) -> Result<(), SandboxError> {
        self.generation += 1;
        let next = new_key(self.generation)?;
        self.previous = Some(std::mem::replace(&mut self.current, next));
        Ok(())
    }

    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .map(|k| k.jwk.clone())
            .collect();
        serde_json::json!({ "keys": keys })
    }

    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, SandboxError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.current.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.current.encoding)
            .map_err(|e| SandboxError::Crypto(e.to_string()))
    }
}

fn new_key(generation: u32) -> Result<SigningKey, SandboxError> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|e| SandboxError::Crypto(e.to_string()))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .map_err(|e| SandboxError::Crypto(e.to_string()))?;
    // Uncompressed point: 0x04 || x || y.
    let point: &[u8] = pair.public_key().as_ref();
    if point.len() != 65 || point[0] != 4 {
        return Err(SandboxError::Crypto(
            "unexpected P-256 public key encoding".into(),
        ));
    }
    let kid = format!(
        "demo-{generation}-{}",
        &URL_SAFE_NO_PAD.encode(&point[1..7])
    );
    let jwk = serde_json::json!({
        "kty": "EC",
        "crv": "P-256",
        "alg": "ES256",
        "use": "sig",
        "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });
    Ok(SigningKey {
        kid,
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk,
    })
}
