//! The redirect back from the browser: the query of a loopback or custom-scheme callback,
//! through the checks of RFC 6749 §4.1.2 and RFC 9207, and the page the browser shows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollbook_auth::{AuthorizationResponse, CallbackPage};
use url::Url;

const STATE: &str = "fuzz-state";
const ISSUER: &str = "https://op.example";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    // Either a whole URL (a deep link), or a query on the loopback redirect URI.
    let url = if flags & 1 == 0 {
        Url::parse(text)
    } else {
        Url::parse(&format!("http://127.0.0.1:49152/callback?{text}"))
    };
    let Ok(url) = url else { return };
    let response = AuthorizationResponse::from_url(&url);
    let state_matched = response.state_matches(STATE);
    match response.check_for_fuzzing(STATE, ISSUER, flags & 2 != 0) {
        Ok(code) => {
            assert!(state_matched, "a code was accepted without the state");
            assert!(!code.is_empty());
        }
        Err(error) => {
            let page = CallbackPage::Failed {
                code: error.code(),
                message: error.to_string(),
            }
            .html();
            // Whatever the provider (or an attacker) put in the query is escaped.
            assert!(!page.to_ascii_lowercase().contains("<script"), "{page}");
            assert!(!page.contains("<img"), "{page}");
        }
    }
});
