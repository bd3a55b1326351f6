//! One JSON answer fetched with a bearer (the provider's my/info or userinfo with the
//! teacher's token, ClassLink's partner API with the developer key): a bounded body,
//! and failures sorted into "refused" and "could not ask".

use serde_json::Value;
use url::Url;

/// Why no JSON came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerJsonError {
    /// 401 or 403: the bearer was refused.
    Refused(u16),
    /// The server could not be asked, failed, or answered something else than JSON.
    Unavailable(String),
}

/// A JSON value as text: a non-blank string (trimmed) or a number. Ids such as
/// ClassLink's `TenantId` come as either.
pub fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `GET url` with `Authorization: Bearer {bearer}`, reading at most `max_bytes`.
pub async fn get_json(
    http: &reqwest::Client,
    url: Url,
    bearer: &str,
    max_bytes: usize,
) -> Result<Value, BearerJsonError> {
    let unavailable = |why: &str| BearerJsonError::Unavailable(why.to_owned());
    let mut response = http
        .get(url)
        .bearer_auth(bearer)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                return unavailable("timed out");
            }
            // The cause chain names a certificate problem ("invalid peer certificate:
            // UnknownIssuer") that the operator needs and the teacher does not.
            tracing::warn!(error = %error_chain(&e), "the sign-in provider cannot be reached");
            unavailable("unreachable")
        })?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(BearerJsonError::Refused(status.as_u16()));
    }
    if !status.is_success() {
        return Err(BearerJsonError::Unavailable(format!(
            "HTTP {}",
            status.as_u16()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| unavailable("the answer broke off"))?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(unavailable("the answer is too large"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|_| unavailable("the answer is not JSON"))
}

/// An error and every cause under it, on one line.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
