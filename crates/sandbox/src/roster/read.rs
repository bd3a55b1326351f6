//! The demo district's `GET` routes: one handler per OneRoster resource, each starting
//! from a [`Reader`] (the caller authorized, the collection query parsed).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::access::{Scope, Viewer, authorize};
use super::render::{Render, view, with_writes};
use super::{collection, demo_failed, forbidden, imsx_error, not_found, single};
use crate::Knobs;
use crate::district::{CATEGORIES, DISTRICT_ID, District, Entity, LineItem, Person, Role};
use crate::query::CollectionQuery;
use crate::state::State;

/// A caller allowed to read, with the list query it sent.
pub(super) struct Reader {
    state: Arc<State>,
    scope: Scope,
    knobs: Knobs,
    query: CollectionQuery,
    uri: Uri,
}

impl FromRequestParts<Arc<State>> for Reader {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<State>,
    ) -> Result<Self, Self::Rejection> {
        let Query(params) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        state.stats.hit("roster");
        let scope = authorize(state, &parts.headers, &Method::GET, &parts.uri)?;
        let knobs = state.knobs();
        let query = CollectionQuery::from_params(&params, knobs.faults.max_page_size).map_err(
            |detail| imsx_error(StatusCode::BAD_REQUEST, &detail, "invalid_filter_field"),
        )?;
        Ok(Reader {
            state: Arc::clone(state),
            scope,
            knobs,
            query,
            uri: parts.uri.clone(),
        })
    }
}

impl Reader {
    pub(super) fn view(&self) -> (Viewer<'_>, Render<'_>) {
        view(&self.state, self.scope, &self.knobs)
    }

    pub(super) fn district(&self) -> &District {
        &self.state.district
    }

    /// A page of `records` under the envelope `resource` (or the path's own name, as
    /// some servers answer).
    pub(super) fn list(&self, resource: &str, path_name: &str, records: Vec<Value>) -> Response {
        let quirks = &self.knobs.quirks;
        let envelope = if quirks.path_named_envelopes {
            path_name
        } else {
            resource
        };
        collection(
            &self.state,
            envelope,
            records,
            &self.query,
            &self.uri,
            quirks.no_total_count,
        )
    }
}

/// `GET /academicSessions`.
pub(super) async fn academic_sessions(r: Reader) -> Response {
    let (_, render) = r.view();
    let records = (0..r.district().terms.len())
        .map(|t| render.session(t))
        .collect();
    r.list("academicSessions", "academicSessions", records)
}

/// `GET /terms`: the academic sessions that are not school years.
pub(super) async fn terms(r: Reader) -> Response {
    let (_, render) = r.view();
    let district = r.district();
    let records = (0..district.terms.len())
        .filter(|t| district.terms[*t].kind != "schoolYear")
        .map(|t| render.session(t))
        .collect();
    r.list("academicSessions", "terms", records)
}

/// `GET /academicSessions/{id}` and `/terms/{id}`.
pub(super) async fn academic_session(r: Reader, Path(id): Path<String>) -> Response {
    let (_, render) = r.view();
    match r.district().lookup(&id) {
        Some(Entity::Term(t)) => single("academicSession", render.session(t)),
        _ => not_found("academic session"),
    }
}

/// `GET /schools`.
pub(super) async fn schools(r: Reader) -> Response {
    let (_, render) = r.view();
    let records = (0..r.district().schools.len())
        .map(|s| render.school(s))
        .collect();
    r.list("orgs", "schools", records)
}

/// `GET /orgs`: the district, then its schools.
pub(super) async fn orgs(r: Reader) -> Response {
    let (_, render) = r.view();
    let records = std::iter::once(render.district_org())
        .chain((0..r.district().schools.len()).map(|s| render.school(s)))
        .collect();
    r.list("orgs", "orgs", records)
}

/// `GET /orgs/{id}` and `/schools/{id}`.
pub(super) async fn org(r: Reader, Path(id): Path<String>) -> Response {
    let (_, render) = r.view();
    match r.district().lookup(&id) {
        Some(Entity::School(s)) => single("org", render.school(s)),
        _ if id == DISTRICT_ID => single("org", render.district_org()),
        _ => not_found("org"),
    }
}

/// `GET /categories`.
pub(super) async fn categories(r: Reader) -> Response {
    let (_, render) = r.view();
    let records = (0..CATEGORIES.len()).map(|i| render.category(i)).collect();
    r.list("categories", "categories", records)
}

/// `GET /categories/{id}`.
pub(super) async fn category(r: Reader, Path(id): Path<String>) -> Response {
    let (_, render) = r.view();
    match CATEGORIES.iter().position(|(cid, _)| *cid == id) {
        Some(i) => single("category", render.category(i)),
        None => not_found("category"),
    }
}

/// `GET /classes`: the classes the caller sees.
pub(super) async fn classes(r: Reader) -> Response {
    let (viewer, render) = r.view();
    let records = viewer
        .classes()
        .into_iter()
        .map(|c| render.class(c))
        .collect();
    r.list("classes", "classes", records)
}

/// `GET /classes/{id}`.
pub(super) async fn class(r: Reader, Path(id): Path<String>) -> Response {
    let (viewer, render) = r.view();
    match viewer.class(&id) {
        Ok(c) => single("class", render.class(c)),
        Err(refused) => refused,
    }
}

/// `GET /teachers/{id}/classes`.
pub(super) async fn classes_of_teacher(r: Reader, Path(id): Path<String>) -> Response {
    let (viewer, render) = r.view();
    let district = r.district();
    match district.lookup(&id) {
        Some(Entity::Staff(t)) if viewer.sees_staff(t) => r.list(
            "classes",
            "classes",
            district.classes_of_staff[t]
                .iter()
                .map(|c| render.class(*c))
                .collect(),
        ),
        Some(Entity::Staff(_)) => forbidden(),
        _ => not_found("teacher"),
    }
}

/// `GET /schools/{id}/classes`.
pub(super) async fn classes_of_school(r: Reader, Path(id): Path<String>) -> Response {
    let (viewer, render) = r.view();
    let district = r.district();
    match district.lookup(&id) {
        Some(Entity::School(s)) if viewer.sees_school(s) => r.list(
            "classes",
            "classes",
            district.classes_of_school[s]
                .iter()
                .map(|c| render.class(*c))
                .collect(),
        ),
        Some(Entity::School(_)) => forbidden(),
        _ => not_found("school"),
    }
}

/// `GET /classes/{id}/students`.
pub(super) async fn students_of_class(r: Reader, Path(id): Path<String>) -> Response {
    let (viewer, render) = r.view();
    let district = r.district();
    match viewer.class(&id) {
        Ok(c) => r.list(
            "users",
            "students",
            district.classes[c]
                .students
                .iter()
                .map(|st| render.user(&district.students[*st as usize]))
                .collect(),
        ),
        Err(refused) => refused,
    }
}

/// `GET /classes/{id}/teachers`.
pub(super) async fn teachers_of_class(r: Reader, Path(id): Path<String>) -> Response {
    let (viewer, render) = r.view();
    let district = r.district();
    match viewer.class(&id) {
        Ok(c) => r.list(
            "users",
            "teachers",
            vec![render.user(&district.staff[district.classes[c].teacher])],
        ),
        Err(refused) => refused,
    }
}

/// `GET /classes/{id}/lineItems`.
pub(super) async fn line_items_of_class(r: Reader, Path(id): Path<String>) -> Response {
    let (viewer, render) = r.view();
    match viewer.class(&id) {
        Ok(c) => r.list(
            "lineItems",
            "lineItems",
            line_items_of(&r.state, &render, c),
        ),
        Err(refused) => refused,
    }
}

/// `GET /classes/{id}/results`.
pub(super) async fn results_of_class(r: Reader, Path(id): Path<String>) -> Response {
    let (viewer, render) = r.view();
    match viewer.class(&id) {
        Ok(c) => match results_of(&r.state, &render, c) {
            Some(records) => r.list("results", "results", records),
            None => demo_failed(),
        },
        Err(refused) => refused,
    }
}

// The district-wide `/lineItems` and `/results` cover the classes the caller sees (every
// class for the gateway's whole-district credentials), paged and filtered like every
// list: a client asks `filter=sourcedId='…'` to learn whether an id is taken anywhere.

/// `GET /lineItems`.
pub(super) async fn line_items(r: Reader) -> Response {
    let (viewer, render) = r.view();
    let records = viewer
        .classes()
        .into_iter()
        .flat_map(|c| line_items_of(&r.state, &render, c))
        .collect();
    r.list("lineItems", "lineItems", records)
}

/// `GET /results`.
pub(super) async fn results(r: Reader) -> Response {
    let (viewer, render) = r.view();
    let mut records = Vec::new();
    for c in viewer.classes() {
        match results_of(&r.state, &render, c) {
            Some(more) => records.extend(more),
            None => return demo_failed(),
        }
    }
    r.list("results", "results", records)
}

/// `GET /users`: the staff and students the caller sees.
pub(super) async fn users(r: Reader) -> Response {
    let (viewer, render) = r.view();
    let records = visible_users(&viewer)
        .into_iter()
        .map(|p| render.user(p))
        .collect();
    r.list("users", "users", records)
}

/// `GET /users/{id}`.
pub(super) async fn user(r: Reader, Path(id): Path<String>) -> Response {
    let (viewer, render) = r.view();
    let district = r.district();
    match district.lookup(&id) {
        Some(Entity::Student(st)) if viewer.sees_student(st) => {
            single("user", render.user(&district.students[st]))
        }
        Some(Entity::Staff(t)) if viewer.sees_staff(t) => {
            single("user", render.user(&district.staff[t]))
        }
        Some(Entity::Student(_) | Entity::Staff(_)) => forbidden(),
        _ => not_found("user"),
    }
}

/// `GET /enrollments`: each visible class's teacher, then its students.
pub(super) async fn enrollments(r: Reader) -> Response {
    let (viewer, render) = r.view();
    let district = r.district();
    let records = viewer
        .classes()
        .into_iter()
        .flat_map(|c| {
            let class = &district.classes[c];
            std::iter::once(render.enrollment(c, &district.staff[class.teacher], Role::Teacher))
                .chain(class.students.iter().map(|st| {
                    render.enrollment(c, &district.students[*st as usize], Role::Student)
                }))
                .collect::<Vec<_>>()
        })
        .collect();
    r.list("enrollments", "enrollments", records)
}

/// `GET /lineItems/{id}`.
pub(super) async fn line_item(r: Reader, Path(id): Path<String>) -> Response {
    let (viewer, render) = r.view();
    match line_item_for(&viewer, &r.state, &id) {
        Ok(Item::Generated(item)) => {
            match with_writes(&r.state, vec![render.line_item(&item)]).pop() {
                Some(record) => single("lineItem", record),
                None => not_found("line item"),
            }
        }
        Ok(Item::Written(_, record)) => single("lineItem", record),
        Err(refused) => refused,
    }
}

/// `GET /results/{id}`: a written result, or a generated one.
pub(super) async fn result(r: Reader, Path(id): Path<String>) -> Response {
    let (viewer, render) = r.view();
    match written_result(&viewer, &r.state, &id) {
        Some(Ok(record)) => single("result", record),
        Some(Err(refused)) => refused,
        None => match result_for(&viewer, &r.state, &id) {
            Ok((item, st)) => match render.result(&item, st) {
                Some(record) => single("result", record),
                None => not_found("result"),
            },
            Err(refused) => refused,
        },
    }
}

/// `GET` of anything else under the base path, once the caller is known.
pub(super) async fn unknown(_: Reader) -> Response {
    imsx_error(
        StatusCode::NOT_FOUND,
        "This endpoint is not part of the demo district.",
        "unknownobject",
    )
}

/// Class `c`'s line items as a reader sees them: generated ones not deleted (with their
/// written changes), then the ones a PUT created.
pub(super) fn line_items_of(state: &State, render: &Render<'_>, c: usize) -> Vec<Value> {
    let mut records = with_writes(
        state,
        state
            .district
            .line_items(c)
            .iter()
            .map(|li| render.line_item(li))
            .collect(),
    );
    if let Ok(writes) = state.writes.read() {
        records.extend(writes.new_line_items_of(c));
    }
    records
}

/// Class `c`'s grades: generated or written, for its line items and enrolled students;
/// `None` when the written state cannot be read.
pub(super) fn results_of(state: &State, render: &Render<'_>, c: usize) -> Option<Vec<Value>> {
    let district = &*state.district;
    let writes = state.writes.read().ok()?;
    let students = &district.classes[c].students;
    let mut records: Vec<Value> = district
        .line_items(c)
        .iter()
        .filter(|li| !writes.is_deleted(&li.id))
        .flat_map(|li| {
            students
                .iter()
                .filter_map(|st| match writes.result_of_cell(&li.id, *st) {
                    Some(written) => Some(written.clone()),
                    None => render.result(li, *st).filter(|r| {
                        !r["sourcedId"]
                            .as_str()
                            .is_some_and(|id| writes.is_deleted(id))
                    }),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for item in writes.new_line_items_of(c) {
        let item_id = item["sourcedId"].as_str().unwrap_or_default();
        records.extend(
            students
                .iter()
                .filter_map(|st| writes.result_of_cell(item_id, *st).cloned()),
        );
    }
    Some(records)
}

/// A result a `PUT` wrote (`None` when none was written under this id), if the
/// caller may see its class.
pub(super) fn written_result(
    viewer: &Viewer<'_>,
    state: &State,
    id: &str,
) -> Option<Result<Value, Response>> {
    let writes = state.writes.read().ok()?;
    if writes.is_deleted(id) {
        return Some(Err(not_found("result")));
    }
    let record = writes.records.get(id)?.clone();
    drop(writes);
    let item_id = record["lineItem"]["sourcedId"].as_str().unwrap_or_default();
    Some(match line_item_for(viewer, state, item_id) {
        Ok(_) => Ok(record),
        Err(r) => Err(r),
    })
}

pub(super) fn visible_users<'a>(viewer: &Viewer<'a>) -> Vec<&'a Person> {
    let district = viewer.district;
    let mut staff: BTreeSet<usize> = BTreeSet::new();
    if let Scope::Teacher(me) = viewer.scope {
        staff.insert(me);
    }
    let mut students: BTreeSet<u32> = BTreeSet::new();
    for c in viewer.classes() {
        staff.insert(district.classes[c].teacher);
        students.extend(district.classes[c].students.iter().copied());
    }
    staff.extend((0..district.staff.len()).filter(|t| viewer.sees_staff(*t)));
    staff
        .into_iter()
        .map(|t| &district.staff[t])
        .chain(
            students
                .into_iter()
                .map(|st| &district.students[st as usize]),
        )
        .collect()
}

/// A line item: generated with the district, or created by a `PUT` (class, record).
pub(super) enum Item {
    Generated(LineItem),
    Written(usize, Value),
}

impl Item {
    pub(super) fn class(&self) -> usize {
        match self {
            Item::Generated(item) => item.class,
            Item::Written(c, _) => *c,
        }
    }
}

pub(super) fn line_item_for(
    viewer: &Viewer<'_>,
    state: &State,
    id: &str,
) -> Result<Item, Response> {
    let item = if let Some((c, index)) = viewer.district.line_item_position(id) {
        Item::Generated(viewer.district.line_items(c).swap_remove(index))
    } else {
        let writes = state.writes.read().map_err(|_| not_found("line item"))?;
        match writes.new_line_items.get(id) {
            Some(c) if !writes.is_deleted(id) => match writes.records.get(id) {
                Some(record) => Item::Written(*c, record.clone()),
                None => return Err(not_found("line item")),
            },
            _ => return Err(not_found("line item")),
        }
    };
    if state.writes.read().is_ok_and(|w| w.is_deleted(id)) {
        return Err(not_found("line item"));
    }
    if !viewer.sees_class(item.class()) {
        return Err(forbidden());
    }
    Ok(item)
}

/// A generated result id is `{lineItem}.{student}`.
pub(super) fn result_for(
    viewer: &Viewer<'_>,
    state: &State,
    id: &str,
) -> Result<(LineItem, u32), Response> {
    let (item_id, student_id) = id.split_once('.').ok_or_else(|| not_found("result"))?;
    let Item::Generated(item) = line_item_for(viewer, state, item_id)? else {
        return Err(not_found("result"));
    };
    let st = enrolled_student(viewer.district, item.class, student_id)
        .ok_or_else(|| not_found("result"))?;
    if state.writes.read().is_ok_and(|w| w.is_deleted(id)) {
        return Err(not_found("result"));
    }
    Ok((item, st))
}

/// The student's index when `student_id` is a student of class `c`.
pub(super) fn enrolled_student(district: &District, c: usize, student_id: &str) -> Option<u32> {
    let Some(Entity::Student(st)) = district.lookup(student_id) else {
        return None;
    };
    let st = u32::try_from(st).ok()?;
    district.classes[c].students.contains(&st).then_some(st)
}
