//! A provider's discovery document (OpenID Connect Discovery 1.0): parsing, then the
//! checks Rollbook makes before trusting it (issuer, https endpoints, PKCE S256).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollbook_auth::{IssuerUrl, ProviderMetadata};

fuzz_target!(|data: &[u8]| {
    let Ok(metadata) = serde_json::from_slice::<ProviderMetadata>(data) else {
        return;
    };
    let issuer = IssuerUrl::new("https://op.example").expect("a valid issuer");
    if metadata.validate(&issuer).is_ok() {
        // What validation promises.
        let json = serde_json::to_value(&metadata).expect("serialises");
        assert_eq!(json["issuer"], "https://op.example");
    }
    let _ = metadata.supports_scope("openid");
});
