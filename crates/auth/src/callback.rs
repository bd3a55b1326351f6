//! The authorization response (RFC 6749 §4.1.2, RFC 9207) and the page the browser shows.

use url::Url;

use crate::secret_compare::constant_time_eq;
use crate::{AuthError, ErrorCode};

/// The query of a redirect back to the app, as received.
#[derive(Debug)]
pub struct AuthorizationResponse {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl AuthorizationResponse {
    pub fn from_url(url: &Url) -> Self {
        let mut response = Self {
            code: None,
            state: None,
            iss: None,
            error: None,
            error_description: None,
        };
        for (key, value) in url.query_pairs() {
            let slot = match key.as_ref() {
                "code" => &mut response.code,
                "state" => &mut response.state,
                "iss" => &mut response.iss,
                "error" => &mut response.error,
                "error_description" => &mut response.error_description,
                _ => continue,
            };
            // A repeated parameter is ambiguous: keep the first, as servers do.
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        response
    }

    pub fn state_matches(&self, expected: &str) -> bool {
        self.state
            .as_deref()
            .is_some_and(|state| constant_time_eq(state.as_bytes(), expected.as_bytes()))
    }

    /// [`Self::into_code`] for the fuzz targets.
    #[cfg(feature = "fuzzing")]
    pub fn check_for_fuzzing(
        self,
        expected_state: &str,
        issuer: &str,
        iss_required: bool,
    ) -> Result<String, AuthError> {
        self.into_code(expected_state, issuer, iss_required)
    }

    /// Runs the checks of RFC 6749 §4.1.2 and RFC 9207 §2.4, in the order that leaks
    /// least: `state` first, then `iss`, then the provider's error, then the code.
    pub(crate) fn into_code(
        self,
        expected_state: &str,
        issuer: &str,
        iss_required: bool,
    ) -> Result<String, AuthError> {
        if !self.state_matches(expected_state) {
            return Err(AuthError::StateMismatch);
        }
        match self.iss {
            Some(iss) if iss != issuer => {
                return Err(AuthError::ResponseIssuerMismatch {
                    expected: issuer.to_owned(),
                    found: iss,
                });
            }
            None if iss_required => return Err(AuthError::ResponseIssuerMissing),
            _ => {}
        }
        if let Some(code) = self.error {
            return Err(AuthError::AuthorizationDenied {
                code,
                description: self.error_description,
            });
        }
        self.code
            .filter(|c| !c.is_empty())
            .ok_or(AuthError::CodeMissing)
    }
}

/// The small page the browser tab shows once the app has the answer.
#[derive(Debug, Clone)]
pub enum CallbackPage {
    SignedIn { name: String },
    Failed { code: ErrorCode, message: String },
}

impl CallbackPage {
    pub fn html(&self) -> String {
        let (title, body) = match self {
            Self::SignedIn { name } => (
                "You're signed in".to_owned(),
                format!(
                    "<p>Welcome, {}. You can close this tab and go back to Rollbook.</p>",
                    escape_html(name)
                ),
            ),
            Self::Failed { code, message } => (
                "Sign-in didn't work".to_owned(),
                format!(
                    "<p>{}</p><p class=\"code\">Error code: <code>{}</code></p><p>Go back to Rollbook to try again.</p>",
                    escape_html(message),
                    code.as_str()
                ),
            ),
        };
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rollbook: {title}</title>\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<style>body{{font:16px/1.5 system-ui,sans-serif;background:#f6f7f9;color:#1d2330;display:grid;place-items:center;min-height:90vh;margin:0}}\
main{{background:#fff;border-radius:12px;padding:2rem 2.5rem;box-shadow:0 2px 12px #0001;max-width:32rem}}\
h1{{font-size:1.4rem;margin:0 0 .5rem}}.brand{{color:#2f5bd3;font-weight:700;letter-spacing:.02em}}.code{{color:#555;font-size:.9rem}}</style>\
</head><body><main><div class=\"brand\">Rollbook</div><h1>{title}</h1>{body}</main></body></html>"
        )
    }
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(query: &str) -> AuthorizationResponse {
        AuthorizationResponse::from_url(
            &Url::parse(&format!("http://127.0.0.1:1/callback?{query}")).unwrap(),
        )
    }

    const ISS: &str = "https://op.example";

    #[test]
    fn good_response_yields_the_code() {
        let code = response("code=abc&state=s1&iss=https%3A%2F%2Fop.example")
            .into_code("s1", ISS, true)
            .unwrap();
        assert_eq!(code, "abc");
    }

    #[test]
    fn state_is_checked_before_anything_else() {
        let err = response("error=access_denied&state=evil").into_code("s1", ISS, false);
        assert!(matches!(err, Err(AuthError::StateMismatch)));
        let err = response("code=abc").into_code("s1", ISS, false);
        assert!(matches!(err, Err(AuthError::StateMismatch)));
    }

    #[test]
    fn iss_must_match_and_is_required_when_advertised() {
        let err =
            response("code=a&state=s1&iss=https%3A%2F%2Fevil.example").into_code("s1", ISS, false);
        assert!(matches!(err, Err(AuthError::ResponseIssuerMismatch { .. })));
        let err = response("code=a&state=s1").into_code("s1", ISS, true);
        assert!(matches!(err, Err(AuthError::ResponseIssuerMissing)));
        assert!(
            response("code=a&state=s1")
                .into_code("s1", ISS, false)
                .is_ok()
        );
    }

    #[test]
    fn provider_errors_keep_their_code() {
        let err = response("error=access_denied&error_description=nope&state=s1")
            .into_code("s1", ISS, false)
            .unwrap_err();
        assert_eq!(err.code(), "authorization_access_denied");
    }

    #[test]
    fn error_page_escapes_echoed_values() {
        let page = CallbackPage::Failed {
            code: ErrorCode::StateMismatch,
            message: "<script>alert(1)</script>\"><img src=x onerror=alert(1)>".into(),
        }
        .html();
        assert!(!page.contains("<script>alert"));
        assert!(!page.contains("<img"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
