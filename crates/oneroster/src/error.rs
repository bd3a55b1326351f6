//! What can go wrong talking to a roster server, in words a teacher can act on, each
//! with a stable code. The server's own `imsx_description` is kept when it sent one.

use std::time::Duration;

use rollbook_error_code::ErrorCode;
use serde::Deserialize;

/// The OneRoster status envelope (`imsx_codeMajor`, `imsx_severity`,
/// `imsx_description`, and `imsx_codeMinor` (1.1) or `imsx_CodeMinor` (1.2)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImsxStatus {
    pub code_major: Option<String>,
    pub severity: Option<String>,
    pub description: Option<String>,
    pub code_minor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawStatus {
    #[serde(rename = "imsx_codeMajor", alias = "imsx_CodeMajor")]
    code_major: Option<String>,
    #[serde(rename = "imsx_severity", alias = "imsx_Severity")]
    severity: Option<String>,
    #[serde(rename = "imsx_description", alias = "imsx_Description")]
    description: Option<String>,
    #[serde(rename = "imsx_codeMinor", alias = "imsx_CodeMinor")]
    code_minor: Option<RawCodeMinor>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawCodeMinor {
    Fields {
        #[serde(rename = "imsx_codeMinorField", alias = "imsx_CodeMinorField")]
        field: OneOrMany<RawMinorField>,
    },
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

#[derive(Debug, Deserialize)]
struct RawMinorField {
    #[serde(
        rename = "imsx_codeMinorFieldValue",
        alias = "imsx_CodeMinorFieldValue"
    )]
    value: Option<String>,
}

impl ImsxStatus {
    /// Finds the status in an error body: at the top level, under `imsx_StatusInfo`,
    /// or as the first of `statusInfoSet`. `None` when the body has none.
    pub fn from_body(body: &[u8]) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let candidates = [
            Some(&value),
            value.get("imsx_StatusInfo"),
            value.get("imsx_statusInfo"),
            value.get("statusInfoSet").and_then(|s| s.get(0)),
            value.get("imsx_statusInfoSet").and_then(|s| s.get(0)),
        ];
        candidates.into_iter().flatten().find_map(|v| {
            let raw: RawStatus = serde_json::from_value(v.clone()).ok()?;
            let code_minor = match raw.code_minor {
                Some(RawCodeMinor::Text(t)) => Some(t),
                Some(RawCodeMinor::Fields { field }) => match field {
                    OneOrMany::One(f) => f.value,
                    OneOrMany::Many(fs) => fs.into_iter().find_map(|f| f.value),
                },
                None => None,
            };
            let status = Self {
                code_major: raw.code_major,
                severity: raw.severity,
                description: raw.description.map(|d| d.trim().to_owned()),
                code_minor,
            };
            (status.code_major.is_some() || status.description.is_some()).then_some(status)
        })
    }

    fn describe(status: &Option<Self>) -> String {
        match status {
            Some(Self {
                description: Some(d),
                code_minor,
                ..
            }) if !d.is_empty() => match code_minor {
                Some(minor) => format!(": \"{}\" ({minor})", clip(d)),
                None => format!(": \"{}\"", clip(d)),
            },
            Some(Self {
                code_minor: Some(minor),
                ..
            }) => format!(" ({minor})"),
            _ => String::new(),
        }
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
    #[error("the roster server did not accept your sign-in (HTTP 401){}; sign in again, or ask your district whether Rollbook may read rosters", ImsxStatus::describe(.status))]
    Unauthorized { status: Option<ImsxStatus> },
    #[error("the roster server refused access (HTTP 403){}", ImsxStatus::describe(.status))]
    Forbidden { status: Option<ImsxStatus> },
    #[error("the roster server has no such record (HTTP 404){}", ImsxStatus::describe(.status))]
    NotFound { status: Option<ImsxStatus> },
    #[error("the roster server rejected the request (HTTP {http}){}", ImsxStatus::describe(.status))]
    BadRequest {
        http: u16,
        status: Option<ImsxStatus>,
    },
    #[error("the roster server is busy and asked us to slow down{}; try again {}", ImsxStatus::describe(.status), retry_hint(*.retry_after))]
    RateLimited {
        retry_after: Option<Duration>,
        status: Option<ImsxStatus>,
    },
    #[error("the roster server failed (HTTP {http}){}; try again in a few minutes", ImsxStatus::describe(.status))]
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
    fn reads_both_spellings_of_the_minor_code() {
        let v11 = br#"{"imsx_codeMajor":"failure","imsx_severity":"error","imsx_description":"Class not found","imsx_codeMinor":{"imsx_codeMinorField":[{"imsx_codeMinorFieldName":"TargetEndSystem","imsx_codeMinorFieldValue":"unknownobject"}]}}"#;
        let s = ImsxStatus::from_body(v11).unwrap();
        assert_eq!(s.description.as_deref(), Some("Class not found"));
        assert_eq!(s.code_minor.as_deref(), Some("unknownobject"));
        let v12 = br#"{"imsx_StatusInfo":{"imsx_codeMajor":"failure","imsx_severity":"error","imsx_description":"No access","imsx_CodeMinor":{"imsx_codeMinorField":{"imsx_codeMinorFieldName":"TargetEndSystem","imsx_codeMinorFieldValue":"unauthorisedrequest"}}}}"#;
        let s = ImsxStatus::from_body(v12).unwrap();
        assert_eq!(s.code_minor.as_deref(), Some("unauthorisedrequest"));
        let set =
            br#"{"statusInfoSet":[{"imsx_codeMajor":"failure","imsx_description":"bad filter"}]}"#;
        assert_eq!(
            ImsxStatus::from_body(set).unwrap().description.as_deref(),
            Some("bad filter")
        );
        assert!(ImsxStatus::from_body(b"<html>oops</html>").is_none());
        assert!(ImsxStatus::from_body(br#"{"message":"x"}"#).is_none());
    }

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
