//! A district's answer as it goes to the teacher: the envelope the address names, the
//! allowed fields, the JSON headers.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rollbook_oneroster::{Fetched, RosterError};

/// A district's answer as the teacher gets it: only the envelope the address asked for
/// (see [`envelopes_of`]) and only the allowed fields of its records. An answer that is
/// not a JSON object (other than an empty one, as after a DELETE) is not passed on.
pub(super) fn json_response(fetched: Fetched, segments: &[&str]) -> Response {
    let status = StatusCode::from_u16(fetched.status).unwrap_or(StatusCode::OK);
    let body = if fetched.body.iter().all(u8::is_ascii_whitespace) {
        Vec::new()
    } else {
        match crate::fields::filter(&fetched.body, envelopes_of(segments)) {
            Some(body) => body,
            None => {
                return crate::error::Denied::Upstream(Arc::new(RosterError::Malformed(
                    "the answer is not a JSON object".into(),
                )))
                .into_response();
            }
        }
    };
    let mut response = (status, body).into_response();
    set_json_headers(&mut response, fetched.total_count);
    response
}

/// The envelopes an answer to `segments` may hold: every check reads only the one the
/// address names, so a district that adds others (`{"lineItem": {…}, "users": […]}`,
/// related records "included") must not get them past the check to the teacher.
pub(super) fn envelopes_of(segments: &[&str]) -> &'static [&'static str] {
    match segments {
        [_, _, "classes"] => &["classes"],
        [_, _, "students" | "teachers"] => &["users"],
        [_, _, "lineItems"] => &["lineItems"],
        [_, _, "results"] => &["results"],
        ["classes", _] => &["class"],
        ["schools", _] => &["org", "school"],
        ["users", _] => &["user"],
        ["categories"] => &["categories"],
        ["categories", _] => &["category"],
        ["academicSessions"] => &["academicSessions"],
        ["academicSessions", _] => &["academicSession"],
        ["terms"] => &["terms", "academicSessions"],
        ["terms", _] => &["term", "academicSession"],
        ["lineItems", _] => &["lineItem"],
        ["results", _] => &["result"],
        _ => &[],
    }
}

fn set_json_headers(response: &mut Response, total_count: Option<u64>) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(total) = total_count
        && let Ok(value) = HeaderValue::from_str(&total.to_string())
    {
        headers.insert("x-total-count", value);
    }
}
