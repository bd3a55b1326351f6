//! PUT and DELETE of line items and results: the body checked and made canonical, the
//! record's class checked before and the district's answer after.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use reqwest::Method;
use serde_json::Value;

use crate::config::Creates;
use crate::error::Denied;
use crate::scope;

use super::answer::{envelopes_of, json_response};
use super::teacher::{Existing, Teacher, checked_id, class_of_result, existing_result};

impl Teacher {
    /// Sends a checked PUT, then checks what the district says it did: a create must come
    /// back as one (201), the record written must be the addressed one, and its stored
    /// references must be the body's. Anything else is
    /// an alert in the audit log, stops creates for the tenant, and is answered 502.
    async fn write_checked(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Vec<u8>>,
        expected: &Expected<'_>,
    ) -> Response {
        let fetched = match self
            .upstream
            .writer
            .fetch(method, segments, &[], body)
            .await
        {
            Ok(f) => f,
            Err(e) => return self.upstream_failed(e),
        };
        // The one record envelope a PUT's address names (`lineItem`, `result`).
        let envelope = envelopes_of(segments).first().copied().unwrap_or_default();
        let returned = serde_json::from_slice::<Value>(&fetched.body)
            .ok()
            .and_then(|v| v.get(envelope).cloned());
        let refs_differ = returned.as_ref().is_some_and(|r| {
            expected.refs.iter().any(|(field, want)| {
                r.get(*field)
                    .and_then(|x| x.get("sourcedId"))
                    .and_then(Value::as_str)
                    != Some(*want)
            })
        });
        // The record the district says it wrote must be the one the address names.
        let id_differs = returned.as_ref().is_some_and(|r| {
            r.get("sourcedId")
                .is_some_and(|got| got.as_str() != segments.last().copied())
        });
        let anomaly = if expected.create && fetched.status != 201 {
            Some("a create was answered as a change to an existing record")
        } else if id_differs {
            Some("the district wrote a record other than the one addressed")
        } else if refs_differ {
            Some("the district stored other references than the body's")
        } else {
            None
        };
        if let Some(alert) = anomaly {
            self.upstream.stop_creates();
            self.audit.update(|a| a.alert = Some(alert));
            tracing::error!(
                tenant = %self.upstream.tenant,
                collection = expected.collection,
                alert,
                "the district's roster server did not do what the gateway asked; creates through the gateway are stopped for this tenant until it is restarted or reloaded"
            );
            return self.deny(Denied::Misbehaved);
        }
        if expected.create
            && self.upstream.creates == Creates::Checked
            && self.upstream.reads_by_id(expected.collection).is_none()
        {
            // Its first create: can the district read back what it just made?
            let found = self
                .upstream
                .roster
                .fetch(Method::GET, segments, &[], None)
                .await
                .is_ok();
            self.upstream.saw_read_by_id(expected.collection, found);
        }
        json_response(fetched, segments)
    }

    /// Forwards a DELETE of a record already checked to be in the caller's class.
    async fn delete(&self, segments: &[&str]) -> Response {
        match self
            .upstream
            .writer
            .fetch(Method::DELETE, segments, &[], None)
            .await
        {
            Ok(fetched) => json_response(fetched, segments),
            Err(e) => self.upstream_failed(e),
        }
    }
}

/// The `{"<envelope>": {…}}` body of a write, checked against the path's id.
fn write_body<'a>(
    body: &'a Value,
    envelope: &str,
    id: &str,
) -> Result<&'a serde_json::Map<String, Value>, Denied> {
    let record = body
        .get(envelope)
        .and_then(Value::as_object)
        .ok_or_else(|| {
            Denied::BadRequest(format!("The body must be {{\"{envelope}\": {{…}}}}."))
        })?;
    match record.get("sourcedId") {
        None => Ok(record),
        Some(Value::String(s)) if s == id => Ok(record),
        Some(_) => Err(Denied::BadRequest(
            "The body's sourcedId differs from the one in the address.".into(),
        )),
    }
}

/// `field.sourcedId` of a record, a reference the body must carry.
fn reference_id<'a>(
    record: &'a serde_json::Map<String, Value>,
    field: &str,
) -> Result<&'a str, Denied> {
    record
        .get(field)
        .and_then(|r| r.get("sourcedId"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Denied::BadRequest(format!(
                "The body must name its {field} ({field}.sourcedId)."
            ))
        })
}

/// A write's body as every check reads it and as it goes upstream. Parsed strictly: a
/// key given twice, or in two spellings (`class` and `Class`), is refused, since a
/// lenient server may bind the one the gateway did not check. Then reduced to the
/// record's allowed fields under their exact names (the allow-list of [`crate::fields`]:
/// references to their `sourcedId`, nothing nested, no other envelope), with `sourcedId`
/// set to the address's: a district that matches keys case-insensitively, or takes a
/// record's id from its body, must not find another id (`"SourcedId": "theirs"`) the
/// checks never read.
fn canonical_body(body: &Bytes, envelope: &str, id: &str) -> Result<(Value, Vec<u8>), Denied> {
    let not_json = || Denied::BadRequest("The body is not JSON.".into());
    let parsed = crate::strict_json::parse(body).map_err(|e| match e {
        crate::strict_json::StrictError::RepeatedKey(key) => Denied::BadRequest(format!(
            "The body names `{key}` twice (or in two spellings); send each field once."
        )),
        crate::strict_json::StrictError::NotJson => not_json(),
    })?;
    write_body(&parsed, envelope, id)?;
    let bytes = serde_json::to_vec(&parsed).map_err(|_| not_json())?;
    let mut kept: Value = crate::fields::filter(&bytes, &[envelope])
        .and_then(|kept| serde_json::from_slice(&kept).ok())
        .ok_or_else(not_json)?;
    let record = kept
        .get_mut(envelope)
        .and_then(Value::as_object_mut)
        .ok_or_else(not_json)?;
    record.insert("sourcedId".to_owned(), Value::String(id.to_owned()));
    // A reference keeps its `type` (OneRoster's GUIDRef requires it; the app sends it),
    // when it is one of the spec's record types.
    for (field, reference) in record.iter_mut() {
        let Some(reference) = reference.as_object_mut() else {
            continue;
        };
        let kind = parsed
            .get(envelope)
            .and_then(|r| r.get(field))
            .and_then(|r| r.get("type"))
            .and_then(Value::as_str)
            .filter(|t| REFERENCE_TYPES.contains(t));
        if let Some(kind) = kind {
            reference.insert("type".to_owned(), Value::String(kind.to_owned()));
        }
    }
    let bytes = serde_json::to_vec(&kept).map_err(|_| not_json())?;
    Ok((kept, bytes))
}

/// OneRoster 1.1's GUIDRef types.
const REFERENCE_TYPES: &[&str] = &[
    "academicSession",
    "category",
    "class",
    "course",
    "demographics",
    "enrollment",
    "gradingPeriod",
    "lineItem",
    "org",
    "resource",
    "result",
    "student",
    "teacher",
    "term",
    "user",
];

/// What a write is about, for the checks after the district answers.
struct Expected<'a> {
    collection: &'static str,
    /// `lineItem.class`, or `result.lineItem` and `result.student`.
    refs: &'a [(&'static str, &'a str)],
    /// The gateway believed it a create (the district said the record is not there).
    create: bool,
}

pub(super) async fn put_line_item(
    teacher: Teacher,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    let scope = match teacher.teaching_scope().await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (parsed, canonical) = match canonical_body(&body, "lineItem", &id) {
        Ok(v) => v,
        Err(d) => return teacher.deny(d),
    };
    let new_class =
        match write_body(&parsed, "lineItem", &id).and_then(|r| reference_id(r, "class")) {
            Ok(class) => class.to_owned(),
            Err(d) => return teacher.deny(d),
        };
    if let Err(r) = checked_id(&teacher, &new_class) {
        return r;
    }
    teacher.note_class(&new_class);
    if !scope.teaches(&new_class) {
        return teacher.not_there();
    }
    let existing = match teacher.existing_line_item(&id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match &existing {
        Existing::In(class) if !scope.teaches(class) => {
            return teacher
                .not_yours_put("lineItems", &id, None, &new_class)
                .await;
        }
        Existing::ClassUnknown => {
            return teacher
                .not_yours_put("lineItems", &id, None, &new_class)
                .await;
        }
        // Moving a line item would take its grades, of students who may not be in the
        // other class, with it.
        Existing::In(class) if *class != new_class => {
            return teacher.deny(Denied::Unsupported(scope::NO_MOVES));
        }
        Existing::In(_) => {}
        Existing::Missing => {
            if let Err(r) = teacher.may_create("lineItems", &id, None, &new_class).await {
                return r;
            }
        }
    }
    let expected = Expected {
        collection: "lineItems",
        refs: &[("class", &new_class)],
        create: matches!(existing, Existing::Missing),
    };
    teacher
        .write_checked(Method::PUT, &["lineItems", &id], Some(canonical), &expected)
        .await
}

pub(super) async fn delete_line_item(teacher: Teacher, Path(id): Path<String>) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    let scope = match teacher.teaching_scope().await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match teacher.class_of_line_item(&id).await {
        Ok(Some(class)) if scope.teaches(&class) => {
            teacher.note_class(&class);
            teacher.delete(&["lineItems", &id]).await
        }
        Ok(_) => teacher.not_there(),
        Err(r) => r,
    }
}

pub(super) async fn put_result(teacher: Teacher, Path(id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    let scope = match teacher.teaching_scope().await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (parsed, canonical) = match canonical_body(&body, "result", &id) {
        Ok(v) => v,
        Err(d) => return teacher.deny(d),
    };
    let refs = write_body(&parsed, "result", &id).and_then(|r| {
        Ok((
            reference_id(r, "lineItem")?.to_owned(),
            reference_id(r, "student")?.to_owned(),
        ))
    });
    let (line_item, student) = match refs {
        Ok(pair) => pair,
        Err(d) => return teacher.deny(d),
    };
    for id in [&line_item, &student] {
        if let Err(r) = checked_id(&teacher, id) {
            return r;
        }
    }
    teacher.audit.update(|a| a.student = Some(student.clone()));
    let new_class = match teacher.class_of_line_item(&line_item).await {
        Ok(Some(class)) if scope.teaches(&class) => class,
        Ok(_) => return teacher.not_there(),
        Err(r) => return r,
    };
    teacher.note_class(&new_class);
    match teacher
        .shared
        .scopes
        .students_of(&teacher.upstream, &new_class)
        .await
    {
        Ok(students) if students.contains(&student) => {}
        Ok(_) => return teacher.deny(Denied::Forbidden(scope::STUDENT_NOT_IN_CLASS)),
        Err(e) => return teacher.deny(Denied::Upstream(e)),
    }
    let existing = match existing_result(&teacher, &id).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    match &existing {
        Existing::In((class, _)) if !scope.teaches(class) => {
            return teacher
                .not_yours_put("results", &id, Some((&line_item, &student)), &new_class)
                .await;
        }
        Existing::ClassUnknown => {
            return teacher
                .not_yours_put("results", &id, Some((&line_item, &student)), &new_class)
                .await;
        }
        Existing::In((_, result))
            if result.line_item.sourced_id != line_item || result.student.sourced_id != student =>
        {
            return teacher.deny(Denied::Unsupported(scope::NO_CELL_MOVES));
        }
        Existing::In(_) => {}
        Existing::Missing => {
            if let Err(r) = teacher
                .may_create("results", &id, Some((&line_item, &student)), &new_class)
                .await
            {
                return r;
            }
        }
    }
    let expected = Expected {
        collection: "results",
        refs: &[("lineItem", &line_item), ("student", &student)],
        create: matches!(existing, Existing::Missing),
    };
    teacher
        .write_checked(Method::PUT, &["results", &id], Some(canonical), &expected)
        .await
}

pub(super) async fn delete_result(teacher: Teacher, Path(id): Path<String>) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    let scope = match teacher.teaching_scope().await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match class_of_result(&teacher, &id).await {
        Ok(Some((class, result))) if scope.teaches(&class) => {
            teacher.note_class(&class);
            teacher
                .audit
                .update(|a| a.student = Some(result.student.sourced_id.clone()));
            teacher.delete(&["results", &id]).await
        }
        Ok(_) => teacher.not_there(),
        Err(r) => r,
    }
}
