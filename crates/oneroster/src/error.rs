//! What can go wrong talking to a roster server, in words a teacher can act on, each
//! with a stable code. The server's own `imsx_description` is kept when it sent one.

use std::time::Duration;

use rollbook_error_code::ErrorCode;

/// The OneRoster status envelope, as the gateway and the demo district write it.
pub use rollbook_imsx::ImsxStatus;

/// The server's status for an error message: its description and minor code.
fn describe(status: &Option<ImsxStatus>) -> String {
    match status {
        Some(ImsxStatus {
            description: Some(d),
            code_minor,
            ..
        }) if !d.is_empty() => match code_minor {
            Some(minor) => format!(": \"{}\" ({minor})", clip(d)),
            None => format!(": \"{}\"", clip(d)),
        },
        Some(ImsxStatus {
            code_minor: Some(minor),
            ..
        }) => format!(" ({minor})"),
        _ => String::new(),
    }
}

/// Server text goes into one error line; keep it short and on one line.
fn clip(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > 300 {
        one_line.chars().take(300).chain("…".chars()).collect()
    } else {
        one_line
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("the roster server did not accept your sign-in (HTTP 401){}; sign in again, or ask your district whether Rollbook may read rosters", describe(.status))]
    Unauthorized { status: Option<ImsxStatus> },
    #[error("the roster server refused access (HTTP 403){}", describe(.status))]
    Forbidden { status: Option<ImsxStatus> },
    #[error("the roster server has no such record (HTTP 404){}", describe(.status))]
    NotFound { status: Option<ImsxStatus> },
    #[error("the roster server rejected the request (HTTP {http}){}", describe(.status))]
    BadRequest {
        http: u16,
        status: Option<ImsxStatus>,
    },
    #[error("the roster server is busy and asked us to slow down{}; try again {}", describe(.status), retry_hint(*.retry_after))]
    RateLimited {
        retry_after: Option<Duration>,
        status: Option<ImsxStatus>,
    },
    #[error("the roster server failed (HTTP {http}){}; try again in a few minutes", describe(.status))]
    ServerError {
        http: u16,
        status: Option<ImsxStatus>,
    },
    #[error("the roster server did not answer in time; check the network and try again")]
    TimedOut,
    #[error("could not reach the roster server ({0}); check the network, proxy and the roster URL")]
    Unreachable(String),
    #[error("the roster server sent something Rollbook cannot read ({0})")]
    Malformed(String),
}

fn retry_hint(after: Option<Duration>) -> String {
    match after {
        Some(d) if d.as_secs() >= 60 => format!("in {} minutes", d.as_secs().div_ceil(60)),
        Some(d) => format!("in {} seconds", d.as_secs().max(1)),
        None => "in a minute".into(),
    }
}

impl RosterError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthorized { .. } => ErrorCode::RosterUnauthorized,
            Self::Forbidden { .. } => ErrorCode::RosterForbidden,
            Self::NotFound { .. } => ErrorCode::RosterNotFound,
            Self::BadRequest { .. } => ErrorCode::RosterBadRequest,
            Self::RateLimited { .. } => ErrorCode::RosterRateLimited,
            Self::ServerError { .. } => ErrorCode::RosterServerError,
            Self::TimedOut => ErrorCode::RosterTimeout,
            Self::Unreachable(_) => ErrorCode::RosterUnreachable,
            Self::Malformed(_) => ErrorCode::RosterMalformed,
        }
    }

    /// The server's `imsx_` status, when it sent one.
    pub fn imsx(&self) -> Option<&ImsxStatus> {
        match self {
            Self::Unauthorized { status }
            | Self::Forbidden { status }
            | Self::NotFound { status }
            | Self::BadRequest { status, .. }
            | Self::RateLimited { status, .. }
            | Self::ServerError { status, .. } => status.as_ref(),
            _ => None,
        }
    }

    /// Whether a GET may be tried again after this.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::ServerError { .. } | Self::TimedOut | Self::Unreachable(_)
        )
    }

    pub(crate) fn from_status(http: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let status = ImsxStatus::from_body(body);
        match http {
            401 => Self::Unauthorized { status },
            403 => Self::Forbidden { status },
            404 => Self::NotFound { status },
            429 => Self::RateLimited {
                retry_after,
                status,
            },
            500..=599 => Self::ServerError { http, status },
            _ => Self::BadRequest { http, status },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_the_description_and_a_code() {
        let e = RosterError::from_status(
            403,
            br#"{"imsx_codeMajor":"failure","imsx_description":"Not your class\n"}"#,
            None,
        );
        assert_eq!(e.code(), "roster_forbidden");
        assert!(e.to_string().contains("\"Not your class\""), "{e}");
        let e = RosterError::from_status(429, b"", Some(Duration::from_secs(120)));
        assert!(e.to_string().contains("in 2 minutes"), "{e}");
        assert_eq!(
            RosterError::from_status(502, b"", None).code(),
            "roster_server_error"
        );
    }
}
