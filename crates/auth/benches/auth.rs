//! Criterion benchmarks for the engine's CPU-bound steps, each beside a baseline
//! measured in the same run (see docs/benchmarks.md):
//! - ID-token verification (ours, with JWKS cache lookup and claim checks) against
//!   jsonwebtoken's bare signature check with a prebuilt key;
//! - callback parsing and the `state` check against a bare `Url::parse`.

#![allow(clippy::unwrap_used)] // benchmark setup

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rollbook_auth::{
    AuthorizationResponse, IdTokenJwt, IdTokenVerifier, JwksCache, NonceRule, SystemClock,
    build_http_client,
};
use rollbook_fake_op::{CLIENT_ID, FakeOp};

fn id_token_verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let op = runtime.block_on(FakeOp::start());
    op.publish_all_keys();
    let clock = SystemClock;
    let jwks = JwksCache::new(
        url::Url::parse(&format!("{}/jwks", op.issuer())).unwrap(),
        build_http_client(&Default::default()).unwrap(),
        Arc::new(SystemClock),
    );
    let verifier = IdTokenVerifier {
        issuer: op.issuer(),
        client_id: CLIENT_ID,
        clock: &clock,
    };
    let mut group = c.benchmark_group("id_token");
    for (name, es256, alg) in [
        ("RS256", false, Algorithm::RS256),
        ("ES256", true, Algorithm::ES256),
    ] {
        let token = IdTokenJwt::new(op.signed_id_token(es256, "bench-nonce"));
        // Warm the JWKS cache so the loop measures verification, not the fetch.
        runtime
            .block_on(verifier.verify(&token, &jwks, NonceRule::Equal("bench-nonce")))
            .unwrap();
        group.bench_function(format!("verify_{name}"), |b| {
            b.iter(|| {
                runtime
                    .block_on(verifier.verify(
                        black_box(&token),
                        &jwks,
                        NonceRule::Equal("bench-nonce"),
                    ))
                    .unwrap()
            })
        });
        let key = DecodingKey::from_jwk(&op.public_jwk(es256)).unwrap();
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        group.bench_function(format!("baseline_jsonwebtoken_decode_{name}"), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<serde_json::Value>(
                    black_box(token.secret()),
                    &key,
                    &validation,
                )
                .unwrap()
            })
        });
    }
    group.finish();
}

fn callback_parsing(c: &mut Criterion) {
    let text = "http://127.0.0.1:49152/callback?code=SplxlOBeZQQYbYS6WxSbIA-4f3a8d&state=af0ifjsldkj_Yf3nYwVFJX7dqkQ8mYoK&iss=https%3A%2F%2Flaunchpad.classlink.com&session_state=abc";
    let mut group = c.benchmark_group("callback");
    group.bench_function("parse_and_check_state", |b| {
        b.iter(|| {
            let url = url::Url::parse(black_box(text)).unwrap();
            AuthorizationResponse::from_url(&url).state_matches("af0ifjsldkj_Yf3nYwVFJX7dqkQ8mYoK")
        })
    });
    group.bench_function("baseline_url_parse", |b| {
        b.iter(|| url::Url::parse(black_box(text)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, id_token_verification, callback_parsing);
criterion_main!(benches);
