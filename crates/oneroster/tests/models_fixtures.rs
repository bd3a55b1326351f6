//! The models against payloads shaped like real OneRoster 1.1/1.2 servers send them
//! (see ../shared/DESIGN.md, "ClassLink as it really is" and "OneRoster").

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rollbook_oneroster::{
    AcademicSession, Class, GradeResult, LineItem, Resource, ScoreStatus, User,
};

fn list<T: Resource>(fixture: &str) -> Vec<T> {
    let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let body = std::fs::read(path).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    serde_json::from_value(value[T::COLLECTION].clone()).unwrap()
}

#[test]
fn classes_with_empty_codes_single_refs_and_string_lists() {
    let classes: Vec<Class> = list("classes_v1p1.json");
    assert_eq!(classes[0].class_code.as_deref(), Some("MATH-101-02"));
    assert_eq!(classes[0].periods, ["2"]);
    assert_eq!(classes[0].terms[0].sourced_id, "t-fall");
    assert_eq!(classes[1].class_code, None, "empty classCode is absent");
    assert!(
        classes[1].periods.is_empty(),
        "empty periods string is no period"
    );
    assert_eq!(classes[1].grades, ["09", "10"]);
    assert_eq!(
        classes[1].terms.len(),
        1,
        "a single term object is a list of one"
    );
}

#[test]
fn hrefs_are_never_kept() {
    let classes: Vec<Class> = list("classes_v1p1.json");
    let out = serde_json::to_string(&classes).unwrap();
    assert!(
        !out.contains("href") && !out.contains("roster.example-district.org"),
        "{out}"
    );
}

#[test]
fn users_v1p1_string_booleans_and_secret_fields_dropped() {
    let users: Vec<User> = list("users_v1p1.json");
    assert!(users[0].enabled_user);
    assert!(!users[1].enabled_user, "\"FALSE\" is false");
    assert_eq!(users[0].primary_role(), Some("student"));
    assert_eq!(users[0].middle_name, None);
    assert_eq!(users[1].grades, ["10"]);
    assert_eq!(users[1].orgs[0].sourced_id, "s-1");
    let out = serde_json::to_string(&users).unwrap();
    for secret in ["Winter2026!", "555", "agents", "g-1"] {
        assert!(
            !out.contains(secret),
            "{secret} must not survive parsing: {out}"
        );
    }
}

#[test]
fn users_v1p2_roles_and_preferred_names() {
    let users: Vec<User> = list("users_v1p2.json");
    let rosa = &users[0];
    assert_eq!(
        rosa.primary_role(),
        Some("teacher"),
        "the primary role wins over order"
    );
    assert!(rosa.has_role("administrator"));
    assert_eq!(rosa.first_name_to_show(), "Rosie");
    assert_eq!(rosa.family_name, "Martínez-Ortega");
}

#[test]
fn debug_never_shows_a_students_name_or_score() {
    let users: Vec<User> = list("users_v1p1.json");
    let shown = format!("{users:?}");
    assert!(shown.contains("u-17") && !shown.contains("Aaliyah") && !shown.contains("ajohnson"));
    let results: Vec<GradeResult> = list("gradebook_v1p1.json");
    let shown = format!("{results:?}");
    assert!(
        !shown.contains("92.5") && !shown.contains("Great work"),
        "{shown}"
    );
}

#[test]
fn gradebook_numbers_as_strings_and_every_score_status() {
    let items: Vec<LineItem> = list("gradebook_v1p1.json");
    assert_eq!(items[0].result_value_min, Some(0.0));
    assert_eq!(items[0].result_value_max, Some(100.0));
    assert_eq!(items[0].category.as_ref().unwrap().sourced_id, "cat-tests");
    let results: Vec<GradeResult> = list("gradebook_v1p1.json");
    let statuses: Vec<&ScoreStatus> = results.iter().map(|r| &r.score_status).collect();
    assert_eq!(
        statuses[..5],
        [
            &ScoreStatus::FullyGraded,
            &ScoreStatus::NotSubmitted,
            &ScoreStatus::PartiallyGraded,
            &ScoreStatus::Exempt,
            &ScoreStatus::Submitted
        ]
    );
    assert_eq!(
        results[5].score_status,
        ScoreStatus::Other("late-ish".into())
    );
    assert_eq!(results[1].score, None);
    assert_eq!(results[2].score, Some(41.0));
    // Written back with the spec's spelling.
    let out = serde_json::to_value(&results[1]).unwrap();
    assert_eq!(out["scoreStatus"], "not submitted");
}

#[test]
fn academic_sessions_and_the_current_term() {
    let sessions: Vec<AcademicSession> = list("academic_sessions_v1p1.json");
    assert_eq!(
        sessions[1].school_year.as_deref(),
        Some("2027"),
        "numeric schoolYear"
    );
    assert!(sessions[1].contains("2026-11-27"));
    assert!(!sessions[2].contains("2026-11-27"));
    assert!(
        sessions[2].contains("2027-07-31"),
        "datetime end dates compare by day"
    );
    assert!(sessions[0].contains("2026-08-01"));
}
