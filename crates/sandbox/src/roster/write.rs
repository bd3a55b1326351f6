//! The demo district's `PUT` and `DELETE` routes, on line items and results only (kept
//! in memory, see `writes.rs`), each starting from a [`Writer`] (the caller authorized,
//! writes accepted).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::access::{Viewer, authorize};
use super::read::{Item, enrolled_student, line_item_for, result_for, written_result};
use super::render::{Render, view, with_writes};
use super::{bad_data, demo_failed, forbidden, imsx_error, not_found, refused_write, single};
use crate::district::{CATEGORIES, Entity};
use crate::state::State;

/// A caller allowed to write, in a district that takes writes.
pub(super) struct Writer {
    state: Arc<State>,
    scope: super::access::Scope,
    knobs: crate::Knobs,
}

impl FromRequestParts<Arc<State>> for Writer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<State>,
    ) -> Result<Self, Self::Rejection> {
        state.stats.hit(if parts.method == Method::DELETE {
            "roster_delete"
        } else {
            "roster_write"
        });
        let scope = authorize(state, &parts.headers, &parts.method, &parts.uri)?;
        let knobs = state.knobs();
        if knobs.access.refuse_writes {
            return Err(refused_write());
        }
        Ok(Writer {
            state: Arc::clone(state),
            scope,
            knobs,
        })
    }
}

impl Writer {
    pub(super) fn view(&self) -> (Viewer<'_>, Render<'_>) {
        view(&self.state, self.scope, &self.knobs)
    }
}

/// `PUT` on anything but a line item or a result, once the caller is known.
pub(super) async fn not_writable(_: Writer) -> Response {
    imsx_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Only results and lineItems can be written here.",
        "unsupported",
    )
}

/// `DELETE` on anything but a line item or a result, once the caller is known.
pub(super) async fn not_deletable(_: Writer) -> Response {
    imsx_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Only results and lineItems can be deleted here.",
        "unsupported",
    )
}

/// `DELETE /lineItems/{id}`.
pub(super) async fn delete_line_item(w: Writer, Path(id): Path<String>) -> Response {
    let (viewer, _) = w.view();
    match line_item_for(&viewer, &w.state, &id) {
        Ok(_) => delete(&w.state, &id),
        Err(refused) => refused,
    }
}

/// `DELETE /results/{id}`: a written result, or a generated one that has a grade.
pub(super) async fn delete_result(w: Writer, Path(id): Path<String>) -> Response {
    let (viewer, _) = w.view();
    match written_result(&viewer, &w.state, &id) {
        Some(Ok(_)) => delete(&w.state, &id),
        Some(Err(refused)) => refused,
        None => match result_for(&viewer, &w.state, &id) {
            Ok((item, st)) if viewer.district.result(&item, st).is_some() => delete(&w.state, &id),
            Ok(_) => not_found("result"),
            Err(refused) => refused,
        },
    }
}

pub(super) fn delete(state: &State, id: &str) -> Response {
    let Ok(mut writes) = state.writes.write() else {
        return demo_failed();
    };
    writes.delete(id);
    if let Err(e) = writes.keep() {
        tracing::warn!("the demo district could not keep a delete: {e}");
        return demo_failed();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `PUT /results/{id}`.
pub(super) async fn put_result(w: Writer, Path(id): Path<String>, body: Bytes) -> Response {
    put(&w, "result", &id, &body)
}

/// `PUT /lineItems/{id}`.
pub(super) async fn put_line_item(w: Writer, Path(id): Path<String>, body: Bytes) -> Response {
    put(&w, "lineItem", &id, &body)
}

const SCORE_STATUSES: [&str; 5] = [
    "exempt",
    "fully graded",
    "not submitted",
    "partially graded",
    "submitted",
];

/// Replaces an existing record's fields (200), or creates the record under the client's
/// `sourcedId` (201). `envelope` is `result` or `lineItem`.
pub(super) fn put(w: &Writer, envelope: &str, id: &str, body: &[u8]) -> Response {
    let state = &*w.state;
    let (viewer, render) = w.view();
    if id.is_empty() || id.len() > 200 || id.chars().any(|c| c.is_control() || c == '/') {
        return bad_data("The sourcedId in the path is not usable.");
    }
    let Ok(sent) = serde_json::from_slice::<Value>(body) else {
        return bad_data("The body is not JSON.");
    };
    let Some(Value::Object(fields)) = sent.get(envelope) else {
        return bad_data(&format!("The body must be {{\"{envelope}\": {{…}}}}."));
    };
    if let Some(body_id) = fields.get("sourcedId").and_then(Value::as_str)
        && body_id != id
    {
        return bad_data("The body's sourcedId is not the one in the path.");
    }
    let reference = |name: &str| {
        fields
            .get(name)
            .and_then(|r| r.get("sourcedId"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if let Err(refused) = check_fields(envelope, fields, &reference) {
        return refused;
    }
    let existing = match existing_record(&viewer, &render, state, envelope, id) {
        Ok(e) => e,
        Err(r) => return r,
    };
    if existing.is_none() && state.writes.read().is_ok_and(|w| w.is_deleted(id)) {
        return bad_data("A record with this sourcedId was deleted; choose a new sourcedId.");
    }
    let created = existing.is_none();
    // Where a new record belongs, checked before anything is kept.
    let placement = if created {
        match new_record_placement(&viewer, state, envelope, &reference) {
            Ok(p) => Some(p),
            Err(r) => return r,
        }
    } else {
        None
    };
    let mut record = existing.unwrap_or_else(|| json!({ "sourcedId": id, "status": "active" }));
    for (key, value) in fields {
        // The id and, on an update, the references stay the server's.
        let reference_field = matches!(key.as_str(), "lineItem" | "student" | "class");
        if key == "sourcedId" || key == "dateLastModified" || (reference_field && !created) {
            continue;
        }
        record[key] = value.clone();
    }
    let record = match keep(state, envelope, id, record, placement) {
        Ok(record) => record,
        Err(r) => return r,
    };
    let mut response = single(envelope, record);
    if created {
        *response.status_mut() = StatusCode::CREATED;
    }
    response
}

/// Refuses fields OneRoster does not allow: a result's status and score, a line item's
/// title, maximum and category.
pub(super) fn check_fields(
    envelope: &str,
    fields: &Map<String, Value>,
    reference: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Response> {
    if envelope == "result" {
        if let Some(status) = fields.get("scoreStatus")
            && !status.as_str().is_some_and(|s| SCORE_STATUSES.contains(&s))
        {
            return Err(bad_data("scoreStatus is not a OneRoster value."));
        }
        if let Some(score) = fields.get("score")
            && !(score.is_null() || score.as_f64().is_some_and(|s| s.is_finite() && s >= 0.0))
        {
            return Err(bad_data("score must be a number of zero or more."));
        }
    } else {
        if let Some(title) = fields.get("title")
            && title.as_str().is_none_or(|t| t.trim().is_empty())
        {
            return Err(bad_data("A line item needs a title."));
        }
        if let Some(max) = fields.get("resultValueMax")
            && !max.as_f64().is_some_and(|m| m.is_finite() && m >= 0.0)
        {
            return Err(bad_data("resultValueMax must be a number of zero or more."));
        }
        if let Some(category) = reference("category")
            && !CATEGORIES.iter().any(|(c, _)| *c == category)
        {
            return Err(bad_data("The category is not one of this district's."));
        }
    }
    Ok(())
}

/// The record as it stands, or `None` when this `PUT` creates it. A record the caller
/// may not see is refused; one that is not there is created.
pub(super) fn existing_record(
    viewer: &Viewer<'_>,
    render: &Render<'_>,
    state: &State,
    envelope: &str,
    id: &str,
) -> Result<Option<Value>, Response> {
    if envelope == "result" {
        match written_result(viewer, state, id) {
            Some(found) => found.map(Some),
            None => match result_for(viewer, state, id) {
                Ok((item, st)) => Ok(Some(
                    render
                        .result(&item, st)
                        .unwrap_or_else(|| render.blank_result(&item, st)),
                )),
                Err(_) => Ok(None),
            },
        }
    } else {
        match line_item_for(viewer, state, id) {
            Ok(Item::Generated(item)) => {
                Ok(with_writes(state, vec![render.line_item(&item)]).pop())
            }
            Ok(Item::Written(_, record)) => Ok(Some(record)),
            Err(r) if r.status() == StatusCode::FORBIDDEN => Err(r),
            Err(_) => Ok(None),
        }
    }
}

/// Stamps and keeps a written record (and where a new one belongs); the record as kept.
pub(super) fn keep(
    state: &State,
    envelope: &str,
    id: &str,
    mut record: Value,
    placement: Option<Placement>,
) -> Result<Value, Response> {
    let Ok(mut writes) = state.writes.write() else {
        return Err(demo_failed());
    };
    record["dateLastModified"] = json!(writes.stamp());
    match placement {
        Some(Placement::LineItem(c)) => {
            writes.new_line_items.insert(id.to_owned(), c);
        }
        Some(Placement::Result(item, st)) => {
            writes.results_by_cell.insert((item, st), id.to_owned());
        }
        None => {
            if envelope == "result"
                && let Some((item, student)) = id.split_once('.')
                && let Some(Entity::Student(st)) = state.district.lookup(student)
                && let Ok(st) = u32::try_from(st)
            {
                writes
                    .results_by_cell
                    .insert((item.to_owned(), st), id.to_owned());
            }
        }
    }
    writes.records.insert(id.to_owned(), record.clone());
    if let Err(e) = writes.keep() {
        tracing::warn!("the demo district could not keep a write: {e}");
        return Err(demo_failed());
    }
    Ok(record)
}

pub(super) enum Placement {
    LineItem(usize),
    Result(String, u32),
}

/// Checks a new record's references: a line item's class must be one the caller may
/// write; a result's line item must exist, and its student be enrolled in that class,
/// with no other result for the same cell.
pub(super) fn new_record_placement(
    viewer: &Viewer<'_>,
    state: &State,
    envelope: &str,
    reference: &dyn Fn(&str) -> Option<String>,
) -> Result<Placement, Response> {
    let district = viewer.district;
    if envelope == "lineItem" {
        let class = reference("class")
            .ok_or_else(|| bad_data("A new line item must name its class (class.sourcedId)."))?;
        return match district.lookup(&class) {
            Some(Entity::Class(c)) if viewer.sees_class(c) => Ok(Placement::LineItem(c)),
            Some(Entity::Class(_)) => Err(forbidden()),
            _ => Err(bad_data("The line item's class does not exist.")),
        };
    }
    let item_id = reference("lineItem")
        .ok_or_else(|| bad_data("A new result must name its line item (lineItem.sourcedId)."))?;
    let student = reference("student")
        .ok_or_else(|| bad_data("A new result must name its student (student.sourcedId)."))?;
    let item = match line_item_for(viewer, state, &item_id) {
        Ok(item) => item,
        Err(r) if r.status() == StatusCode::FORBIDDEN => return Err(r),
        Err(_) => return Err(bad_data("The result's line item does not exist.")),
    };
    let st = enrolled_student(district, item.class(), &student)
        .ok_or_else(|| bad_data("The student is not enrolled in the line item's class."))?;
    let taken = state
        .writes
        .read()
        .ok()
        .and_then(|w| {
            w.result_of_cell(&item_id, st)
                .and_then(|r| r["sourcedId"].as_str().map(str::to_owned))
        })
        .or_else(|| match &item {
            Item::Generated(generated) => district.result(generated, st).map(|r| r.id),
            Item::Written(..) => None,
        })
        .filter(|taken| !state.writes.read().is_ok_and(|w| w.is_deleted(taken)));
    if let Some(taken) = taken {
        return Err(bad_data(&format!(
            "This student already has a result for this line item (sourcedId {taken}); write to it instead."
        )));
    }
    Ok(Placement::Result(item_id, st))
}
