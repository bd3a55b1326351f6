//! A small class for the store's tests: 3 students, 2 line items, one result.
#![allow(dead_code)]

use rollbook_gradebook::store::{ClassSnapshot, StudentName};
use rollbook_oneroster::models::{Category, GradeResult, GuidRef, LineItem, ScoreStatus};

pub const CLASS: &str = "class-1";

pub fn reference(id: &str) -> GuidRef {
    GuidRef {
        sourced_id: id.to_owned(),
        kind: None,
    }
}

pub fn line_item(id: &str, max: f64) -> LineItem {
    serde_json::from_value(serde_json::json!({
        "sourcedId": id,
        "title": format!("Item {id}"),
        "class": { "sourcedId": CLASS },
        "category": { "sourcedId": "hw" },
        "resultValueMin": 0.0,
        "resultValueMax": max,
        "dateLastModified": "2026-08-01T12:00:00.000Z",
    }))
    .unwrap_or_else(|e| panic!("line item: {e}"))
}

pub fn result(id: &str, item: &str, student: &str, score: f64, modified: &str) -> GradeResult {
    serde_json::from_value(serde_json::json!({
        "sourcedId": id,
        "lineItem": { "sourcedId": item },
        "student": { "sourcedId": student },
        "scoreStatus": ScoreStatus::FullyGraded,
        "score": score,
        "dateLastModified": modified,
    }))
    .unwrap_or_else(|e| panic!("result: {e}"))
}

pub fn snapshot() -> ClassSnapshot {
    ClassSnapshot {
        class_id: CLASS.into(),
        title: "Algebra I".into(),
        students: ["s1", "s2", "s3"]
            .iter()
            .map(|id| StudentName {
                sourced_id: (*id).into(),
                given_name: format!("Zanzibar{id}"),
                family_name: "Quillfeather".into(),
            })
            .collect(),
        line_items: vec![line_item("li-1", 10.0), line_item("li-2", 20.0)],
        results: vec![result("r-1", "li-1", "s1", 7.0, "2026-08-01T12:00:00.000Z")],
        categories: vec![Category {
            sourced_id: "hw".into(),
            title: "Homework".into(),
        }],
        synced_at: "2026-09-01T08:00:00Z".into(),
    }
}
