//! The OneRoster status envelope (`imsx_codeMajor`, `imsx_severity`, `imsx_description`,
//! `imsx_codeMinor`), defined once: the roster gateway and the demo district write it,
//! the OneRoster client reads it (re-exported as `rollbook_oneroster::ImsxStatus`).
//!
//! A crate of its own, below all three, because the demo district must not link the
//! OneRoster client it is used to test (docs/architecture.md, Dependency rules).

use serde::{Deserialize, Serialize};

/// A OneRoster status: what a server says went wrong. Read tolerantly (1.1 and 1.2
/// spellings, the minor code as fields or text); written in the 1.1 shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImsxStatus {
    pub code_major: Option<String>,
    pub severity: Option<String>,
    pub description: Option<String>,
    pub code_minor: Option<String>,
}

impl ImsxStatus {
    /// A failure (`codeMajor` "failure", severity "error") with the teacher-readable
    /// `description` and the 1.1 minor code (`unknownobject`, `forbidden`, …).
    pub fn failure(description: &str, code_minor: &str) -> Self {
        Self {
            code_major: Some("failure".to_owned()),
            severity: Some("error".to_owned()),
            description: Some(description.to_owned()),
            code_minor: Some(code_minor.to_owned()),
        }
    }

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
            let raw = ReadStatus::deserialize(v).ok()?;
            let code_minor = match raw.code_minor {
                Some(ReadCodeMinor::Text(t)) => Some(t),
                Some(ReadCodeMinor::Fields { field }) => match field {
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
}

/// The 1.1 shape. Fields in alphabetical order: the bytes are those the gateway and the
/// demo district wrote before this type (serde_json's maps sort their keys).
impl Serialize for ImsxStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WriteStatus {
            code_major: self.code_major.as_deref(),
            code_minor: self.code_minor.as_deref().map(|value| WriteCodeMinor {
                field: [WriteMinorField {
                    name: "TargetEndSystem",
                    value,
                }],
            }),
            description: self.description.as_deref(),
            severity: self.severity.as_deref(),
        }
        .serialize(serializer)
    }
}

#[derive(Serialize)]
struct WriteStatus<'a> {
    #[serde(rename = "imsx_codeMajor", skip_serializing_if = "Option::is_none")]
    code_major: Option<&'a str>,
    #[serde(rename = "imsx_codeMinor", skip_serializing_if = "Option::is_none")]
    code_minor: Option<WriteCodeMinor<'a>>,
    #[serde(rename = "imsx_description", skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(rename = "imsx_severity", skip_serializing_if = "Option::is_none")]
    severity: Option<&'a str>,
}

#[derive(Serialize)]
struct WriteCodeMinor<'a> {
    #[serde(rename = "imsx_codeMinorField")]
    field: [WriteMinorField<'a>; 1],
}

#[derive(Serialize)]
struct WriteMinorField<'a> {
    #[serde(rename = "imsx_codeMinorFieldName")]
    name: &'a str,
    #[serde(rename = "imsx_codeMinorFieldValue")]
    value: &'a str,
}

#[derive(Debug, Deserialize)]
struct ReadStatus {
    #[serde(rename = "imsx_codeMajor", alias = "imsx_CodeMajor")]
    code_major: Option<String>,
    #[serde(rename = "imsx_severity", alias = "imsx_Severity")]
    severity: Option<String>,
    #[serde(rename = "imsx_description", alias = "imsx_Description")]
    description: Option<String>,
    #[serde(rename = "imsx_codeMinor", alias = "imsx_CodeMinor")]
    code_minor: Option<ReadCodeMinor>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ReadCodeMinor {
    Fields {
        #[serde(rename = "imsx_codeMinorField", alias = "imsx_CodeMinorField")]
        field: OneOrMany<ReadMinorField>,
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
struct ReadMinorField {
    #[serde(
        rename = "imsx_codeMinorFieldValue",
        alias = "imsx_CodeMinorFieldValue"
    )]
    value: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_failure_is_written_in_the_1_1_shape_and_read_back() {
        let written =
            serde_json::to_string(&ImsxStatus::failure("Class not found", "unknownobject"))
                .unwrap();
        // What the gateway and the demo district wrote with `json!` before this type.
        assert_eq!(
            written,
            serde_json::json!({
                "imsx_codeMajor": "failure",
                "imsx_severity": "error",
                "imsx_description": "Class not found",
                "imsx_codeMinor": { "imsx_codeMinorField": [
                    { "imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": "unknownobject" }
                ]},
            })
            .to_string()
        );
        assert_eq!(
            ImsxStatus::from_body(written.as_bytes()),
            Some(ImsxStatus::failure("Class not found", "unknownobject"))
        );
    }

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
}
