//! The GET handlers: a class and its parts, schools, users, reference lists, a line
//! item or result; a filtered list checked record by record ([`Keep`]); the scope read
//! from a teacher's whole class list.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use reqwest::Method;
use rollbook_oneroster::{Fetched, RosterError};
use serde_json::Value;

use crate::error::Denied;
use crate::scope::{self, Decision, Resource, TeacherScope};

use super::Params;
use super::answer::{envelopes_of, json_response};
use super::teacher::{Teacher, checked_id, class_of_result};

impl Teacher {
    /// GET upstream with the checked query; the answer is held whole, since only its
    /// allowed fields go on (see `fields`).
    async fn pass_on(&self, segments: &[&str], params: &Params, list: bool) -> Response {
        let query = match self.query(params, list) {
            Ok(q) => q,
            Err(r) => return r,
        };
        match self
            .upstream
            .roster
            .fetch(Method::GET, segments, &query, None)
            .await
        {
            Ok(fetched) => json_response(fetched, segments),
            Err(e) => self.upstream_failed(e),
        }
    }

    /// A list asked with a filter, its records checked one by one against `keep`: a
    /// careless district that glues the filter into its query (`… AND a OR b`) answers
    /// more than the class. Records outside are dropped and alerted in the audit log,
    /// and the district's count (which would count them) is not passed on.
    async fn pass_on_kept(
        &self,
        segments: &[&str],
        query: &[(String, String)],
        keep: &Keep,
    ) -> Response {
        let fetched = match self
            .upstream
            .roster
            .fetch(Method::GET, segments, query, None)
            .await
        {
            Ok(f) => f,
            Err(e) => return self.upstream_failed(e),
        };
        // Checked on the bytes the teacher would get (the allow-list's output), so the
        // check and the answer cannot read the district's JSON two ways; an answer the
        // check cannot read is refused, never passed on unchecked.
        let body = crate::fields::filter(&fetched.body, envelopes_of(segments))
            .and_then(|kept| serde_json::from_slice::<Value>(&kept).ok());
        let Some(Value::Object(mut body)) = body else {
            return crate::error::Denied::Upstream(Arc::new(RosterError::Malformed(
                "the answer is not a JSON object".into(),
            )))
            .into_response();
        };
        let mut dropped = 0usize;
        for records in body.values_mut() {
            match records {
                Value::Array(records) => {
                    let before = records.len();
                    records.retain(|r| keep.keeps(r));
                    dropped += before - records.len();
                }
                // A list of one written as the record itself (as XML-to-JSON bridges
                // do): checked the same, and answered as an empty list if it goes.
                record @ Value::Object(_) if !keep.keeps(record) => {
                    *record = Value::Array(Vec::new());
                    dropped += 1;
                }
                _ => {}
            }
        }
        if dropped > 0 {
            self.audit
                .update(|a| a.alert = Some("the district listed records outside the class for a filtered request; they were dropped"));
            tracing::warn!(
                tenant = %self.upstream.tenant,
                dropped,
                "the district's roster server answered a filtered class list with records outside the class (it may build its query from the filter); they were not passed on"
            );
        }
        let body = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        json_response(
            Fetched {
                status: fetched.status,
                total_count: None,
                body,
            },
            segments,
        )
    }

    /// What a filtered list of `part` of `class` may hold, read unfiltered upstream.
    async fn members(&self, class: &str, part: &str) -> Result<Keep, Response> {
        let ids = |users: Vec<rollbook_oneroster::User>| -> HashSet<String> {
            users.into_iter().map(|u| u.sourced_id).collect()
        };
        let roster = &self.upstream.roster;
        let failed = |e| self.upstream_failed(e);
        Ok(match part {
            "lineItems" => Keep::InClass(class.to_owned()),
            "students" => Keep::Ids(ids(roster
                .students_for_class(class)
                .await
                .map_err(failed)?)),
            "teachers" => Keep::Ids(ids(roster
                .teachers_for_class(class)
                .await
                .map_err(failed)?)),
            _ => {
                let (items, students) = tokio::join!(
                    roster.line_items_for_class(class),
                    roster.students_for_class(class)
                );
                Keep::Grades {
                    line_items: items
                        .map_err(failed)?
                        .into_iter()
                        .filter(|li| li.class.as_ref().is_some_and(|c| c.sourced_id == class))
                        .map(|li| li.sourced_id)
                        .collect(),
                    students: ids(students.map_err(failed)?),
                }
            }
        })
    }
}

pub(super) async fn classes_of_teacher(
    teacher: Teacher,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    if let Err(r) = teacher.allow(Resource::ClassesOfTeacher(&id)).await {
        return r;
    }
    let query = match teacher.query(&q, true) {
        Ok(query) => query,
        Err(r) => return r,
    };
    if query.iter().any(|(k, _)| k == "filter") {
        // Checked record by record against the scope read unfiltered.
        let scope = match teacher.scope().await {
            Ok(s) => s,
            Err(r) => return r,
        };
        let segments = ["teachers", id.as_str(), "classes"];
        return teacher
            .pass_on_kept(&segments, &query, &Keep::Classes(scope))
            .await;
    }
    // The teacher's own record is checked alongside, in the same round trip.
    let segments = ["teachers", id.as_str(), "classes"];
    let (fetched, active) = tokio::join!(
        teacher
            .upstream
            .roster
            .fetch(Method::GET, &segments, &query, None),
        // Fresh, since the scope remembered below lives `scope_ttl` from now.
        teacher.shared.scopes.refresh_active(&teacher.upstream, &id)
    );
    match active {
        Ok(true) => {}
        Ok(false) => return teacher.deny(Denied::Forbidden(scope::NOT_ACTIVE)),
        Err(e) => return teacher.deny(Denied::Upstream(e)),
    }
    match fetched {
        Ok(fetched) => {
            if let Some(scope) = complete_scope(&fetched, &q) {
                teacher
                    .shared
                    .scopes
                    .remember(&teacher.upstream.tenant, &id, scope)
                    .await;
            }
            json_response(fetched, &segments)
        }
        Err(e) => teacher.upstream_failed(e),
    }
}

/// The scope in a `/teachers/{id}/classes` answer, when it is the whole unfiltered list:
/// the first page, no `filter` or `fields`, and every record there.
fn complete_scope(fetched: &Fetched, q: &Params) -> Option<TeacherScope> {
    if q.contains_key("filter") || q.contains_key("fields") {
        return None;
    }
    if q.get("offset").is_some_and(|o| o.trim() != "0") {
        return None;
    }
    let body: Value = serde_json::from_slice(&fetched.body).ok()?;
    let classes = body.get("classes")?.as_array()?;
    let complete = match fetched.total_count {
        Some(total) => usize::try_from(total).ok()? == classes.len(),
        // Without a count, only a page shorter than the limit asked for is surely all.
        None => q
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .is_some_and(|limit| classes.len() < limit),
    };
    if !complete {
        return None;
    }
    // Remembered only after the route saw the teacher's own record active.
    let mut scope = TeacherScope {
        active: true,
        ..TeacherScope::default()
    };
    for class in classes {
        let id = class.get("sourcedId")?.as_str()?;
        let status = class.get("status").and_then(Value::as_str);
        if matches!(status, Some("tobedeleted" | "inactive")) {
            continue;
        }
        let school = class
            .get("school")
            .and_then(|s| s.get("sourcedId"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        scope.classes.insert(id.to_owned(), school);
    }
    Some(scope)
}

/// What a record of a filtered list must be to be passed on.
enum Keep {
    /// A line item of this class.
    InClass(String),
    /// One of these records (a class's students or teachers).
    Ids(HashSet<String>),
    /// A grade of one of these line items, about one of these students.
    Grades {
        line_items: HashSet<String>,
        students: HashSet<String>,
    },
    /// A class the teacher teaches.
    Classes(Arc<TeacherScope>),
}

impl Keep {
    fn keeps(&self, record: &Value) -> bool {
        let id = |r: &Value| {
            r.get("sourcedId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let reference = |field: &str| record.get(field).and_then(id);
        match self {
            Self::InClass(class) => reference("class").as_deref() == Some(class.as_str()),
            Self::Ids(ids) => id(record).is_some_and(|i| ids.contains(&i)),
            Self::Grades {
                line_items,
                students,
            } => {
                reference("lineItem").is_some_and(|l| line_items.contains(&l))
                    && reference("student").is_some_and(|s| students.contains(&s))
            }
            Self::Classes(scope) => id(record).is_some_and(|c| scope.teaches(&c)),
        }
    }
}

pub(super) async fn class(
    teacher: Teacher,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    class_part_of(teacher, id, q, None).await
}

pub(super) async fn class_part_of(
    teacher: Teacher,
    id: String,
    q: Params,
    part: Option<&str>,
) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    teacher.note_class(&id);
    if let Err(r) = teacher.allow(Resource::Class(&id)).await {
        return r;
    }
    let Some(part) = part else {
        return teacher.pass_on(&["classes", &id], &q, false).await;
    };
    let query = match teacher.query(&q, true) {
        Ok(query) => query,
        Err(r) => return r,
    };
    let segments = ["classes", id.as_str(), part];
    if !query.iter().any(|(k, _)| k == "filter") {
        // Unfiltered, the answer is the district's own list of the class, the same the
        // scope is read from; limit, offset, sort and fields cannot widen it.
        return teacher.pass_on(&segments, &q, true).await;
    }
    match teacher.members(&id, part).await {
        Ok(keep) => teacher.pass_on_kept(&segments, &query, &keep).await,
        Err(r) => r,
    }
}

pub(super) async fn school(
    teacher: Teacher,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    if let Err(r) = teacher.allow(Resource::School(&id)).await {
        return r;
    }
    teacher.pass_on(&["schools", &id], &q, false).await
}

pub(super) async fn user(
    teacher: Teacher,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    if let Err(r) = teacher.allow(Resource::User(&id)).await {
        return r;
    }
    teacher.pass_on(&["users", &id], &q, false).await
}

pub(super) async fn reference(
    teacher: Teacher,
    ids: Vec<String>,
    Query(q): Query<Params>,
    collection: &'static str,
) -> Response {
    for id in &ids {
        if let Err(r) = checked_id(&teacher, id) {
            return r;
        }
    }
    if let Err(r) = teacher.allow(Resource::Reference).await {
        return r;
    }
    let mut segments = vec![collection];
    segments.extend(ids.iter().map(String::as_str));
    // A reference list's filter is passed on: widened, it lists more of the same
    // district-wide records, with no people in them.
    teacher.pass_on(&segments, &q, ids.is_empty()).await
}

/// Authenticated first (so a missing token is still a 401), then refused: the decision
/// for [`Resource::Other`] is always deny, so no scope is read.
pub(super) async fn not_served(teacher: Teacher) -> Response {
    let empty = TeacherScope::default();
    match scope::may_read(&teacher.caller, &empty, Resource::Other) {
        Decision::Deny(why) => teacher.deny(Denied::Forbidden(why)),
        Decision::Allow => teacher.deny(Denied::Forbidden(scope::NOT_SERVED)),
    }
}

pub(super) async fn read_line_item(teacher: Teacher, Path(id): Path<String>) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    // Decided before any read: what follows would tell "not there" from "not yours".
    let scope = match teacher.teaching_scope().await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let class = match teacher.class_of_line_item(&id).await {
        Ok(Some(class)) if scope.teaches(&class) => class,
        Ok(_) => return teacher.not_there(),
        Err(r) => return r,
    };
    teacher.note_class(&class);
    teacher
        .pass_on(&["lineItems", &id], &Params::new(), false)
        .await
}

pub(super) async fn read_result(teacher: Teacher, Path(id): Path<String>) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    let scope = match teacher.teaching_scope().await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let class = match class_of_result(&teacher, &id).await {
        Ok(Some((class, _))) if scope.teaches(&class) => class,
        Ok(_) => return teacher.not_there(),
        Err(r) => return r,
    };
    teacher.note_class(&class);
    teacher
        .pass_on(&["results", &id], &Params::new(), false)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(body: &str, total: Option<u64>) -> Fetched {
        Fetched {
            status: 200,
            total_count: total,
            body: body.as_bytes().to_vec(),
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const TWO: &str = r#"{"classes":[{"sourcedId":"c1","school":{"sourcedId":"s1"}},{"sourcedId":"c2","status":"tobedeleted"}]}"#;

    #[test]
    fn only_a_whole_unfiltered_class_list_becomes_a_scope() {
        let limit = params(&[("limit", "500"), ("offset", "0")]);
        let scope = complete_scope(&fetched(TWO, Some(2)), &limit).unwrap();
        assert!(scope.teaches("c1") && scope.has_school("s1"));
        assert!(
            !scope.teaches("c2"),
            "a class about to be deleted is not in scope"
        );
        assert!(complete_scope(&fetched(TWO, None), &limit).is_some());
        // One page of more, a short page without a count, a later page, a filter, fields.
        assert!(complete_scope(&fetched(TWO, Some(3)), &limit).is_none());
        assert!(complete_scope(&fetched(TWO, None), &params(&[("limit", "2")])).is_none());
        assert!(complete_scope(&fetched(TWO, None), &params(&[])).is_none());
        assert!(complete_scope(&fetched(TWO, Some(2)), &params(&[("offset", "2")])).is_none());
        assert!(complete_scope(&fetched(TWO, Some(2)), &params(&[("filter", "x='y'")])).is_none());
        assert!(
            complete_scope(&fetched(TWO, Some(2)), &params(&[("fields", "sourcedId")])).is_none()
        );
        assert!(complete_scope(&fetched("{}", Some(0)), &limit).is_none());
    }
}
