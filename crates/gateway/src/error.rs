//! Every refusal and failure as a OneRoster 1.1 `imsx_` envelope with a stable status.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rollbook_oneroster::{ImsxStatus, RosterError};

/// Why the gateway did not (or could not) serve a request.
#[derive(Debug)]
pub enum Denied {
    /// Missing, malformed, expired or refused bearer.
    InvalidToken(&'static str),
    /// The provider could not be asked who the caller is.
    IdentityUnavailable(String),
    /// The caller's district has not granted the application access.
    UnknownTenant,
    /// The tenant list has not been loaded yet.
    NotReady,
    Forbidden(&'static str),
    /// A write this district's server cannot be trusted with (see `Creates`).
    Unsupported(&'static str),
    /// The district did something other than what was asked; already alerted.
    Misbehaved,
    BadRequest(String),
    RateLimited(Duration),
    /// The district's server failed or refused; `tenant` is for the metrics.
    Upstream(Arc<RosterError>),
}

pub const UNKNOWN_TENANT: &str = "Your district has not granted Rollbook roster access. Ask your district's IT to approve Rollbook's OneRoster application.";

/// The OneRoster 1.1 error envelope.
pub fn imsx(status: StatusCode, description: &str, minor: &str) -> Response {
    (status, Json(ImsxStatus::failure(description, minor))).into_response()
}

fn with_retry_after(mut response: Response, wait: Duration) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0);
    if let Ok(value) = HeaderValue::from_str(&format!("{seconds:.0}")) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

impl Denied {
    /// A short stable word for the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidToken(_) => "invalid_token",
            Self::IdentityUnavailable(_) => "identity_unavailable",
            Self::UnknownTenant => "unknown_tenant",
            Self::NotReady => "not_ready",
            Self::Forbidden(_) => "forbidden",
            Self::Unsupported(_) => "unsupported",
            Self::Misbehaved => "upstream_misbehaved",
            Self::BadRequest(_) => "bad_request",
            Self::RateLimited(_) => "rate_limited",
            Self::Upstream(e) => e.code().as_str(),
        }
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Self::InvalidToken(why) => {
                let mut response = imsx(StatusCode::UNAUTHORIZED, why, "unauthorisedrequest");
                let challenge = format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    why.replace('"', "'")
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            Self::IdentityUnavailable(detail) => with_retry_after(
                imsx(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!(
                        "Rollbook cannot check who you are right now ({detail}); try again in a minute."
                    ),
                    "server_busy",
                ),
                Duration::from_secs(5),
            ),
            Self::UnknownTenant => {
                imsx(StatusCode::FORBIDDEN, UNKNOWN_TENANT, "unauthorisedrequest")
            }
            Self::NotReady => with_retry_after(
                imsx(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The roster gateway is still loading its list of districts; try again shortly.",
                    "server_busy",
                ),
                Duration::from_secs(5),
            ),
            Self::Forbidden(why) => imsx(StatusCode::FORBIDDEN, why, "forbidden"),
            Self::Unsupported(why) => imsx(StatusCode::CONFLICT, why, "unsupported"),
            Self::Misbehaved => imsx(
                StatusCode::BAD_GATEWAY,
                "Your district's roster server did not store this the way Rollbook sent it. Rollbook's gateway has alerted its operators and stopped creating records there; check this grade in your district's system.",
                "server_busy",
            ),
            Self::BadRequest(why) => imsx(StatusCode::BAD_REQUEST, &why, "invalid_data"),
            Self::RateLimited(wait) => with_retry_after(
                imsx(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests from your account; slow down and try again.",
                    "server_busy",
                ),
                wait,
            ),
            Self::Upstream(error) => upstream_response(&error),
        }
    }
}

/// An upstream failure, passed on with its meaning and the server's own words.
fn upstream_response(error: &RosterError) -> Response {
    let said = error
        .imsx()
        .and_then(|s| s.description.clone())
        .map(|d| format!(" The district's server said: \"{d}\""))
        .unwrap_or_default();
    match error {
        RosterError::Unauthorized { .. } => imsx(
            StatusCode::BAD_GATEWAY,
            &format!(
                "The district's roster server refused Rollbook's credentials; ask your district's IT to check Rollbook's OneRoster access.{said}"
            ),
            "unauthorisedrequest",
        ),
        RosterError::Forbidden { .. } => imsx(
            StatusCode::FORBIDDEN,
            &format!("The district's roster server refused this request.{said}"),
            "forbidden",
        ),
        RosterError::NotFound { .. } => imsx(
            StatusCode::NOT_FOUND,
            &format!("The district's roster server has no such record.{said}"),
            "unknownobject",
        ),
        RosterError::BadRequest { http, .. } => {
            let status = StatusCode::from_u16(*http)
                .ok()
                .filter(|s| s.is_client_error())
                .unwrap_or(StatusCode::BAD_GATEWAY);
            let minor = if *http == 405 || *http == 501 {
                "unsupported"
            } else {
                "invalid_data"
            };
            imsx(
                status,
                &format!(
                    "The district's roster server did not accept this request (HTTP {http}).{said}"
                ),
                minor,
            )
        }
        RosterError::RateLimited { retry_after, .. } => with_retry_after(
            imsx(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("The district's roster server is busy; try again shortly.{said}"),
                "server_busy",
            ),
            retry_after.unwrap_or(Duration::from_secs(1)),
        ),
        RosterError::ServerError { http, .. } => {
            let status = if *http == 503 {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::BAD_GATEWAY
            };
            imsx(
                status,
                &format!(
                    "The district's roster server failed (HTTP {http}); try again in a few minutes.{said}"
                ),
                "server_busy",
            )
        }
        RosterError::TimedOut => imsx(
            StatusCode::GATEWAY_TIMEOUT,
            "The district's roster server did not answer in time; try again.",
            "server_busy",
        ),
        RosterError::Unreachable(_) => imsx(
            StatusCode::BAD_GATEWAY,
            "The district's roster server cannot be reached right now; try again in a few minutes.",
            "server_busy",
        ),
        RosterError::Malformed(_) => imsx(
            StatusCode::BAD_GATEWAY,
            "The district's roster server sent an answer Rollbook cannot read.",
            "server_busy",
        ),
    }
}
