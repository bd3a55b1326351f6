//! ID tokens and JWKS (OpenID Connect Core §3.1.3.7): arbitrary key sets and compact
//! tokens, and arbitrary claims signed with a real ES256 key so the claim rules are
//! reached too. Whatever verification accepts must satisfy those rules.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libfuzzer_sys::fuzz_target;
use rollbook_auth::{IdTokenJwt, IdTokenVerifier, JwksCache, ManualClock, NonceRule};

const ISSUER: &str = "https://op.example";
const CLIENT: &str = "rollbook";
const NOW: u64 = 1_800_000_000;
const NONCE: &str = "fuzz-nonce";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    key: EncodingKey,
    jwks: JwkSet,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let pem = include_str!("../../tests/fake-op/keys/ec-a.pem");
        let key = EncodingKey::from_ec_pem(pem.as_bytes()).expect("the test key");
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).expect("a JWK");
        jwk.common.key_id = Some("ec-a".into());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
        Fixture {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            key,
            jwks: JwkSet { keys: vec![jwk] },
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let clock = Arc::new(ManualClock::starting_at(
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW),
    ));
    let (jwks, token) = if mode & 1 == 0 {
        // Arbitrary key set and token: `<jwks json>\0<compact token>`.
        let mut parts = rest.splitn(2, |b| *b == 0);
        let (Some(jwks), Some(token)) = (parts.next(), parts.next()) else {
            return;
        };
        let Ok(jwks) = serde_json::from_slice::<JwkSet>(jwks) else {
            return;
        };
        let Ok(token) = std::str::from_utf8(token) else {
            return;
        };
        (jwks, token.to_owned())
    } else {
        // Arbitrary claims, really signed.
        let Ok(claims) = serde_json::from_slice::<serde_json::Value>(rest) else {
            return;
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = (mode & 2 == 0).then(|| "ec-a".to_owned());
        let Ok(token) = jsonwebtoken::encode(&header, &claims, &f.key) else {
            return;
        };
        (f.jwks.clone(), token)
    };
    let cache = JwksCache::with_keys(jwks, clock.clone());
    let verifier = IdTokenVerifier {
        issuer: ISSUER,
        client_id: CLIENT,
        clock: clock.as_ref(),
    };
    let rule = if mode & 4 == 0 {
        NonceRule::Equal(NONCE)
    } else {
        NonceRule::AbsentOr(Some(NONCE))
    };
    let verified = f
        .runtime
        .block_on(verifier.verify(&IdTokenJwt::new(token), &cache, rule));
    match verified {
        Ok(claims) => {
            assert_eq!(claims.iss, ISSUER);
            assert!(!claims.subject().is_empty());
            let exp = claims.exp.expect("an expiry");
            assert!(exp + 60.0 >= NOW as f64, "expired token accepted: {exp}");
            let iat = claims.iat.expect("an issue time");
            assert!(iat <= (NOW + 60) as f64, "future token accepted: {iat}");
            match claims.nonce.as_deref() {
                Some(n) => assert_eq!(n, NONCE),
                None => assert!(mode & 4 != 0, "a sign-in token without its nonce"),
            }
        }
        Err(e) => assert!(!e.code().as_str().is_empty()),
    }
});
