//! OneRoster records as Rollbook reads them: the fields the app uses, from 1.1 or 1.2,
//! tolerant of common server quirks. Unknown fields (passwords, phones, guardians, …)
//! are dropped at parse time, and `href`s are never kept, so they cannot be followed.
//!
//! `Debug` on records about a person prints only the `sourcedId`, so a stray `{:?}` in
//! a log or a panic cannot leak a student's name, email or score.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::lenient;

/// A collection or single record served under a known envelope name.
pub trait Resource: for<'de> Deserialize<'de> + Send + 'static {
    /// The envelope key of a list (`{"users":[…]}`).
    const COLLECTION: &'static str;
    /// The envelope key of one record (`{"user":{…}}`).
    const SINGLE: &'static str;
    fn sourced_id(&self) -> &str;
}

macro_rules! resource {
    ($ty:ty, $collection:literal, $single:literal) => {
        impl Resource for $ty {
            const COLLECTION: &'static str = $collection;
            const SINGLE: &'static str = $single;
            fn sourced_id(&self) -> &str {
                &self.sourced_id
            }
        }
    };
}

/// A reference to another record. The `href` is deliberately not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GuidRef {
    pub sourced_id: String,
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub sourced_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(default = "enabled", deserialize_with = "lenient::bool")]
    pub enabled_user: bool,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// 1.2 only.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_first_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_last_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// 1.1: one role.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// 1.2: role assignments per org.
    #[serde(default, deserialize_with = "lenient::one_or_many")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleAssignment>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub grades: Vec<String>,
    #[serde(default, deserialize_with = "lenient::one_or_many")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<GuidRef>,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub role_type: Option<String>,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub org: Option<GuidRef>,
}

impl User {
    /// The primary role, from 1.1's `role` or 1.2's `roles[]` (primary first).
    pub fn primary_role(&self) -> Option<&str> {
        self.role.as_deref().or_else(|| {
            self.roles
                .iter()
                .find(|r| r.role_type.as_deref() == Some("primary"))
                .or_else(|| self.roles.first())
                .map(|r| r.role.as_str())
        })
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.role
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(role))
            || self.roles.iter().any(|r| r.role.eq_ignore_ascii_case(role))
    }

    /// The first name to show: the preferred one when the SIS has it.
    pub fn first_name_to_show(&self) -> &str {
        self.preferred_first_name
            .as_deref()
            .unwrap_or(&self.given_name)
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("sourced_id", &self.sourced_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Class {
    pub sourced_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub class_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub grades: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course: Option<GuidRef>,
    #[serde(default)]
    pub school: Option<GuidRef>,
    #[serde(default, deserialize_with = "lenient::one_or_many")]
    pub terms: Vec<GuidRef>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub periods: Vec<String>,
}
resource!(Class, "classes", "class");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcademicSession {
    pub sourced_id: String,
    #[serde(default)]
    pub title: String,
    /// `term`, `semester`, `schoolYear` or `gradingPeriod`.
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub start_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub end_date: Option<String>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<GuidRef>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub school_year: Option<String>,
}
resource!(AcademicSession, "academicSessions", "academicSession");

impl AcademicSession {
    /// Whether `today` (`YYYY-MM-DD`) falls inside this session. Sessions without dates
    /// count as current, so a server that omits them still shows its classes.
    pub fn contains(&self, today: &str) -> bool {
        let day = |d: &Option<String>| d.as_deref().map(|d| d.get(..10).unwrap_or(d).to_owned());
        let after_start = day(&self.start_date).is_none_or(|s| s.as_str() <= today);
        let before_end = day(&self.end_date).is_none_or(|e| today <= e.as_str());
        after_start && before_end
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Org {
    pub sourced_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
}
resource!(Org, "orgs", "org");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    pub sourced_id: String,
    #[serde(default)]
    pub role: String,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub primary: bool,
    pub user: GuidRef,
    pub class: GuidRef,
    #[serde(default)]
    pub school: Option<GuidRef>,
}
resource!(Enrollment, "enrollments", "enrollment");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    pub sourced_id: String,
    #[serde(default)]
    pub title: String,
}
resource!(Category, "categories", "category");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    pub sourced_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub assign_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub due_date: Option<String>,
    #[serde(default)]
    pub class: Option<GuidRef>,
    #[serde(default)]
    pub category: Option<GuidRef>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grading_period: Option<GuidRef>,
    #[serde(default, deserialize_with = "lenient::opt_number")]
    pub result_value_min: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_number")]
    pub result_value_max: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_last_modified: Option<String>,
}
resource!(LineItem, "lineItems", "lineItem");

/// A `scoreStatus`. The spec's values contain spaces; anything else is kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS), ts(type = "string"))]
#[serde(from = "String", into = "String")]
pub enum ScoreStatus {
    Exempt,
    FullyGraded,
    NotSubmitted,
    PartiallyGraded,
    Submitted,
    Other(String),
}

impl ScoreStatus {
    pub const ALL: [ScoreStatus; 5] = [
        Self::Exempt,
        Self::FullyGraded,
        Self::NotSubmitted,
        Self::PartiallyGraded,
        Self::Submitted,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Self::Exempt => "exempt",
            Self::FullyGraded => "fully graded",
            Self::NotSubmitted => "not submitted",
            Self::PartiallyGraded => "partially graded",
            Self::Submitted => "submitted",
            Self::Other(s) => s,
        }
    }
}

impl From<String> for ScoreStatus {
    fn from(s: String) -> Self {
        // Some servers send camelCase or underscores; compare on letters only.
        let key: String = s
            .chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "exempt" => Self::Exempt,
            "fullygraded" => Self::FullyGraded,
            "notsubmitted" => Self::NotSubmitted,
            "partiallygraded" => Self::PartiallyGraded,
            "submitted" => Self::Submitted,
            _ => Self::Other(s),
        }
    }
}

impl From<ScoreStatus> for String {
    fn from(s: ScoreStatus) -> Self {
        s.as_str().to_owned()
    }
}

/// A OneRoster `result` (named so it does not shadow `std::result::Result`).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GradeResult {
    pub sourced_id: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    pub line_item: GuidRef,
    pub student: GuidRef,
    pub score_status: ScoreStatus,
    #[serde(default, deserialize_with = "lenient::opt_number")]
    pub score: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub score_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When the server last changed it: the base of a conflict check (OneRoster has no
    /// ETags).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_last_modified: Option<String>,
    /// OneRoster 1.2's flags (`"true"`/`"false"`, or booleans from some servers).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}
resource!(GradeResult, "results", "result");

impl fmt::Debug for GradeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GradeResult")
            .field("sourced_id", &self.sourced_id)
            .finish_non_exhaustive()
    }
}

resource!(User, "users", "user");

/// Records with any shape, for counting (`fields=sourcedId`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdOnly {
    pub sourced_id: String,
}

impl Resource for IdOnly {
    const COLLECTION: &'static str = "";
    const SINGLE: &'static str = "";
    fn sourced_id(&self) -> &str {
        &self.sourced_id
    }
}
