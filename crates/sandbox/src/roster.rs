//! The OneRoster 1.1 server under `/ims/oneroster/v1p1`: rostering and gradebook
//! reads, `PUT` and `DELETE` on results and line items (kept in memory, see
//! `writes.rs`), paging, `filter`, `sort`,
//! `fields`, and the `imsx_` error envelope. Like a ClassLink district's server it
//! answers the demo OneRoster application's credentials (which see the whole district);
//! with `accept_teacher_tokens` a teacher sees only their own classes and those
//! classes' students, and a principal their school. Anything else is 401 or 403.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::config::demo_credentials;
use crate::district::{
    CATEGORIES, DISTRICT_ID, DISTRICT_NAME, District, Entity, LineItem, Person, Role, ymd,
};
use crate::query::CollectionQuery;
use crate::state::{NonceRefused, State};
use crate::{Quirks, faults};

pub const BASE_PATH: &str = "/ims/oneroster/v1p1";
const MODIFIED: &str = "2026-08-01T12:00:00.000Z";

pub fn routes(state: Arc<State>) -> Router<Arc<State>> {
    Router::new()
        .route(
            &format!("{BASE_PATH}/{{*path}}"),
            get(read).put(write).delete(delete),
        )
        .merge(crate::oidc::my_info_routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            faults::api_faults,
        ))
}

/// The OneRoster 1.1 error envelope.
pub fn imsx_error(status: StatusCode, description: &str, minor: &str) -> Response {
    (
        status,
        Json(json!({
            "imsx_codeMajor": "failure",
            "imsx_severity": "error",
            "imsx_description": description,
            "imsx_codeMinor": { "imsx_codeMinorField": [
                { "imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": minor }
            ]},
        })),
    )
        .into_response()
}

fn forbidden() -> Response {
    imsx_error(
        StatusCode::FORBIDDEN,
        "You can only see your own classes and their students.",
        "forbidden",
    )
}

fn not_found(what: &str) -> Response {
    imsx_error(
        StatusCode::NOT_FOUND,
        &format!("No {what} with that sourcedId."),
        "unknownobject",
    )
}

/// What a caller may see: the demo application sees the whole district (as a vendor's
/// OneRoster credentials do); with `accept_teacher_tokens`, a teacher sees their own
/// classes and a principal their school.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    District,
    School(usize),
    Teacher(usize),
}

/// Who is asking, and what they may see.
struct Viewer<'a> {
    district: &'a District,
    scope: Scope,
}

impl Viewer<'_> {
    fn sees_class(&self, c: usize) -> bool {
        match self.scope {
            Scope::District => true,
            Scope::School(s) => self.district.classes[c].school == s,
            Scope::Teacher(t) => self.district.classes_of_staff[t].contains(&c),
        }
    }

    fn classes(&self) -> Vec<usize> {
        match self.scope {
            Scope::District => (0..self.district.classes.len()).collect(),
            Scope::School(s) => self.district.classes_of_school[s].clone(),
            Scope::Teacher(t) => self.district.classes_of_staff[t].clone(),
        }
    }

    fn sees_student(&self, st: usize) -> bool {
        self.scope == Scope::District
            || self.district.classes_of_student[st]
                .iter()
                .any(|c| self.sees_class(*c as usize))
    }

    fn sees_staff(&self, t: usize) -> bool {
        match self.scope {
            Scope::District => true,
            Scope::School(s) => self.district.staff[t].school == s,
            Scope::Teacher(me) => t == me,
        }
    }

    fn sees_school(&self, s: usize) -> bool {
        match self.scope {
            Scope::District => true,
            Scope::School(mine) => mine == s,
            Scope::Teacher(_) => false,
        }
    }
}

struct Render<'a> {
    district: &'a District,
    quirks: Quirks,
    href_base: String,
    /// Users marked `tobedeleted` (`Sandbox::deactivate_user`).
    inactive: Vec<String>,
}

impl Render<'_> {
    fn flag(&self, v: bool) -> Value {
        if self.quirks.string_booleans {
            json!(v.to_string())
        } else {
            json!(v)
        }
    }

    fn reference(&self, path: &str, id: &str, kind: &str) -> Value {
        json!({ "href": format!("{}{BASE_PATH}/{path}/{id}", self.href_base), "sourcedId": id, "type": kind })
    }

    fn class(&self, c: usize) -> Value {
        let class = &self.district.classes[c];
        let blank = self.quirks.empty_class_codes && c.is_multiple_of(3);
        let terms: Vec<Value> = class
            .terms
            .iter()
            .map(|t| {
                self.reference(
                    "academicSessions",
                    &self.district.terms[*t].id,
                    "academicSession",
                )
            })
            .collect();
        json!({
            "sourcedId": class.id,
            "status": "active",
            "dateLastModified": MODIFIED,
            "title": class.title,
            "classCode": if blank { "" } else { class.code.as_str() },
            "classType": "scheduled",
            "location": class.location,
            "grades": [class.grade],
            "subjects": [class.subject],
            "course": self.reference("courses", &class.course_id, "course"),
            "school": self.reference("schools", &self.district.schools[class.school].id, "org"),
            "terms": terms,
            "periods": if blank { json!("") } else { json!([class.period]) },
        })
    }

    fn user(&self, person: &Person) -> Value {
        let school = &self.district.schools[person.school];
        let status = if self.inactive.contains(&person.id) {
            "tobedeleted"
        } else {
            "active"
        };
        let mut user = json!({
            "sourcedId": person.id,
            "status": status,
            "dateLastModified": MODIFIED,
            "username": person.username,
            "userIds": [{ "type": "LDAP", "identifier": person.username }],
            "enabledUser": self.flag(true),
            "givenName": person.given,
            "familyName": person.family,
            "middleName": person.middle.clone().unwrap_or_default(),
            "identifier": person.identifier,
            "email": person.email,
            "sms": "",
            "phone": "",
            "password": "",
            "agents": [],
            "orgs": [self.reference("schools", &school.id, "org")],
            "grades": person.grade.iter().collect::<Vec<_>>(),
        });
        if let Some(preferred) = &person.preferred {
            user["preferredFirstName"] = json!(preferred);
        }
        if self.quirks.roles_array {
            user["roles"] = json!([{
                "roleType": "primary",
                "role": person.role.as_str(),
                "org": self.reference("schools", &school.id, "org"),
            }]);
        } else {
            user["role"] = json!(person.role.as_str());
        }
        user
    }

    fn school(&self, s: usize) -> Value {
        let school = &self.district.schools[s];
        json!({
            "sourcedId": school.id,
            "status": "active",
            "dateLastModified": MODIFIED,
            "name": school.name,
            "type": "school",
            "identifier": school.identifier,
            "parent": self.reference("orgs", DISTRICT_ID, "org"),
        })
    }

    fn district_org(&self) -> Value {
        json!({ "sourcedId": DISTRICT_ID, "status": "active", "dateLastModified": MODIFIED, "name": DISTRICT_NAME, "type": "district", "identifier": "D-1" })
    }

    fn session(&self, t: usize) -> Value {
        let term = &self.district.terms[t];
        let mut v = json!({
            "sourcedId": term.id,
            "status": "active",
            "dateLastModified": MODIFIED,
            "title": term.title,
            "type": term.kind,
            "startDate": ymd(term.start),
            "endDate": ymd(term.end),
            "schoolYear": (self.district.terms[0].end.year()).to_string(),
        });
        if let Some(parent) = term.parent {
            v["parent"] = self.reference(
                "academicSessions",
                &self.district.terms[parent].id,
                "academicSession",
            );
        }
        v
    }

    fn enrollment(&self, c: usize, person: &Person, role: Role) -> Value {
        let class = &self.district.classes[c];
        json!({
            "sourcedId": format!("enr-{}-{}", class.id, person.id),
            "status": "active",
            "dateLastModified": MODIFIED,
            "role": role.as_str(),
            "primary": self.flag(role == Role::Teacher),
            "user": self.reference("users", &person.id, "user"),
            "class": self.reference("classes", &class.id, "class"),
            "school": self.reference("schools", &self.district.schools[class.school].id, "org"),
        })
    }

    fn category(&self, i: usize) -> Value {
        json!({ "sourcedId": CATEGORIES[i].0, "status": "active", "dateLastModified": MODIFIED, "title": CATEGORIES[i].1 })
    }

    fn line_item(&self, item: &LineItem) -> Value {
        json!({
            "sourcedId": item.id,
            "status": "active",
            "dateLastModified": MODIFIED,
            "title": item.title,
            "description": item.description,
            "assignDate": ymd(item.assign),
            "dueDate": ymd(item.due),
            "class": self.reference("classes", &self.district.classes[item.class].id, "class"),
            "category": self.reference("categories", CATEGORIES[item.category].0, "category"),
            "gradingPeriod": self.reference("academicSessions", &self.district.terms[item.term].id, "academicSession"),
            "resultValueMin": 0.0,
            "resultValueMax": f64::from(item.max),
        })
    }

    /// The result as generated, or `None` when there is none (yet).
    fn result(&self, item: &LineItem, st: u32) -> Option<Value> {
        let r = self.district.result(item, st)?;
        let mut v = json!({
            "sourcedId": r.id,
            "status": "active",
            "dateLastModified": MODIFIED,
            "lineItem": self.reference("lineItems", &r.line_item, "lineItem"),
            "student": self.reference("users", &self.district.students[r.student].id, "user"),
            "scoreStatus": r.status,
            "score": r.score,
            "scoreDate": ymd(r.date),
        });
        if let Some(comment) = r.comment {
            v["comment"] = json!(comment);
        }
        Some(v)
    }

    /// A result a teacher is about to write where none exists yet.
    fn blank_result(&self, item: &LineItem, st: u32) -> Value {
        let student = &self.district.students[st as usize].id;
        json!({
            "sourcedId": District::result_id(&item.id, student),
            "status": "active",
            "dateLastModified": MODIFIED,
            "lineItem": self.reference("lineItems", &item.id, "lineItem"),
            "student": self.reference("users", student, "user"),
            "scoreStatus": "not submitted",
            "score": null,
            "scoreDate": ymd(self.district.today),
        })
    }
}

/// Replaces generated records by what `PUT` wrote, and leaves out deleted ones.
fn with_writes(state: &State, records: Vec<Value>) -> Vec<Value> {
    let Ok(writes) = state.writes.read() else {
        return records;
    };
    records
        .into_iter()
        .filter_map(|r| {
            let id = r.get("sourcedId").and_then(Value::as_str)?;
            if writes.is_deleted(id) {
                return None;
            }
            Some(writes.record(id).cloned().unwrap_or(r))
        })
        .collect()
}

/// Who is asking, and how records are rendered for them under the current quirks.
fn view<'a>(state: &'a State, scope: Scope, knobs: &crate::Knobs) -> (Viewer<'a>, Render<'a>) {
    let district = &*state.district;
    let viewer = Viewer { district, scope };
    let render = Render {
        district,
        quirks: knobs.quirks.clone(),
        href_base: knobs
            .quirks
            .foreign_href_base
            .clone()
            .unwrap_or_else(|| state.issuer.clone()),
        inactive: state
            .inactive_users
            .read()
            .map(|u| u.clone())
            .unwrap_or_default(),
    };
    (viewer, render)
}

fn unauthorized(description: &str) -> Response {
    let mut response = imsx_error(StatusCode::UNAUTHORIZED, description, "unauthorisedrequest");
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Who may read: like a ClassLink district, the demo OneRoster application (an OAuth
/// 1.0a HMAC-SHA256 signature, the proxy-style bearer, or a client-credentials token);
/// a teacher's own token only with the `accept_teacher_tokens` knob.
fn authorize(
    state: &State,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
) -> Result<Scope, Response> {
    let Some(header) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(unauthorized(
            "This OneRoster server needs the application's credentials.",
        ));
    };
    if header.starts_with("OAuth ") {
        return app_signature(state, header, method, uri).map(|()| Scope::District);
    }
    let Some(token) = header.strip_prefix("Bearer ").map(str::trim) else {
        return Err(unauthorized(
            "Use OAuth 1.0a (HMAC-SHA256) or a bearer token.",
        ));
    };
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        token.as_bytes(),
        demo_credentials::PROXY_BEARER.as_bytes(),
    )
    .is_ok()
        || state.is_app_token(token)
    {
        state.stats.hit("roster_app");
        return Ok(Scope::District);
    }
    let Some(grant) = state.grant_for(token) else {
        return Err(unauthorized(
            "The access token is missing, invalid or expired.",
        ));
    };
    if !state.knobs().access.accept_teacher_tokens {
        state.stats.hit("roster_teacher_token_refused");
        return Err(unauthorized(
            "This OneRoster server answers the district's registered applications only; a teacher's sign-in does not open it. Read rosters through a roster gateway.",
        ));
    }
    if !grant.has_scope("oneroster") && !grant.has_scope("full") {
        return Err(imsx_error(
            StatusCode::FORBIDDEN,
            "This sign-in was not granted access to roster data (the oneroster scope).",
            "unauthorisedrequest",
        ));
    }
    if grant.student.is_some() {
        return Err(forbidden());
    }
    let person = &state.district.staff[grant.staff];
    Ok(match person.role {
        Role::Administrator => Scope::School(person.school),
        _ => Scope::Teacher(grant.staff),
    })
}

/// Checks an OAuth 1.0a signature over the URL the caller signed (this server's own),
/// its timestamp window and its nonce.
fn app_signature(state: &State, header: &str, method: &Method, uri: &Uri) -> Result<(), Response> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(url) = url::Url::parse(&format!("{}{path}", state.issuer)) else {
        return Err(unauthorized("The request URL cannot be signed."));
    };
    let verified = rollbook_oauth1::verify(method.as_str(), &url, header, |key| {
        (key == demo_credentials::ONEROSTER_CLIENT_ID)
            .then(|| demo_credentials::ONEROSTER_CLIENT_SECRET.to_owned())
    })
    .map_err(|e| {
        state.stats.hit("roster_oauth1_refused");
        unauthorized(&format!("OAuth 1.0a: {e}."))
    })?;
    state
        .accept_oauth_nonce(&verified.nonce, verified.timestamp)
        .map_err(|refused| {
            state.stats.hit("roster_oauth1_refused");
            unauthorized(match refused {
                NonceRefused::Stale => {
                    "OAuth 1.0a: the timestamp is too far from the server's clock."
                }
                NonceRefused::Replayed => "OAuth 1.0a: this nonce was already used.",
            })
        })?;
    state.stats.hit("roster_app");
    Ok(())
}

async fn read(
    Extract(state): Extract<Arc<State>>,
    Path(path): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    state.stats.hit("roster");
    let scope = match authorize(&state, &headers, &Method::GET, &uri) {
        Ok(s) => s,
        Err(response) => return response,
    };
    let knobs = state.knobs();
    let district = &*state.district;
    let (viewer, render) = view(&state, scope, &knobs);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let query = match CollectionQuery::from_params(&params, knobs.faults.max_page_size) {
        Ok(q) => q,
        Err(detail) => return imsx_error(StatusCode::BAD_REQUEST, &detail, "invalid_filter_field"),
    };
    let list = |resource: &str, path_name: &str, records: Vec<Value>| {
        let envelope = if knobs.quirks.path_named_envelopes {
            path_name
        } else {
            resource
        };
        collection(
            &state,
            envelope,
            records,
            &query,
            &uri,
            knobs.quirks.no_total_count,
        )
    };
    let class_of = |id: &str| match district.lookup(id) {
        Some(Entity::Class(c)) if viewer.sees_class(c) => Ok(c),
        Some(Entity::Class(_)) => Err(forbidden()),
        _ => Err(not_found("class")),
    };
    match segments.as_slice() {
        ["academicSessions"] => list(
            "academicSessions",
            "academicSessions",
            (0..district.terms.len())
                .map(|t| render.session(t))
                .collect(),
        ),
        ["terms"] => list(
            "academicSessions",
            "terms",
            (0..district.terms.len())
                .filter(|t| district.terms[*t].kind != "schoolYear")
                .map(|t| render.session(t))
                .collect(),
        ),
        ["academicSessions" | "terms", id] => match district.lookup(id) {
            Some(Entity::Term(t)) => single("academicSession", render.session(t)),
            _ => not_found("academic session"),
        },
        ["schools"] => list(
            "orgs",
            "schools",
            (0..district.schools.len())
                .map(|s| render.school(s))
                .collect(),
        ),
        ["orgs"] => list(
            "orgs",
            "orgs",
            std::iter::once(render.district_org())
                .chain((0..district.schools.len()).map(|s| render.school(s)))
                .collect(),
        ),
        ["schools" | "orgs", id] => match district.lookup(id) {
            Some(Entity::School(s)) => single("org", render.school(s)),
            _ if *id == DISTRICT_ID => single("org", render.district_org()),
            _ => not_found("org"),
        },
        ["categories"] => list(
            "categories",
            "categories",
            (0..CATEGORIES.len()).map(|i| render.category(i)).collect(),
        ),
        ["categories", id] => match CATEGORIES.iter().position(|(cid, _)| cid == id) {
            Some(i) => single("category", render.category(i)),
            None => not_found("category"),
        },
        ["classes"] => list(
            "classes",
            "classes",
            viewer
                .classes()
                .into_iter()
                .map(|c| render.class(c))
                .collect(),
        ),
        ["classes", id] => match class_of(id) {
            Ok(c) => single("class", render.class(c)),
            Err(r) => r,
        },
        ["teachers", id, "classes"] => match district.lookup(id) {
            Some(Entity::Staff(t)) if viewer.sees_staff(t) => list(
                "classes",
                "classes",
                district.classes_of_staff[t]
                    .iter()
                    .map(|c| render.class(*c))
                    .collect(),
            ),
            Some(Entity::Staff(_)) => forbidden(),
            _ => not_found("teacher"),
        },
        ["schools", id, "classes"] => match district.lookup(id) {
            Some(Entity::School(s)) if viewer.sees_school(s) => list(
                "classes",
                "classes",
                district.classes_of_school[s]
                    .iter()
                    .map(|c| render.class(*c))
                    .collect(),
            ),
            Some(Entity::School(_)) => forbidden(),
            _ => not_found("school"),
        },
        ["classes", id, "students"] => match class_of(id) {
            Ok(c) => list(
                "users",
                "students",
                district.classes[c]
                    .students
                    .iter()
                    .map(|st| render.user(&district.students[*st as usize]))
                    .collect(),
            ),
            Err(r) => r,
        },
        ["classes", id, "teachers"] => match class_of(id) {
            Ok(c) => list(
                "users",
                "teachers",
                vec![render.user(&district.staff[district.classes[c].teacher])],
            ),
            Err(r) => r,
        },
        ["classes", id, "lineItems"] => match class_of(id) {
            Ok(c) => list("lineItems", "lineItems", line_items_of(&state, &render, c)),
            Err(r) => r,
        },
        ["classes", id, "results"] => match class_of(id) {
            Ok(c) => match results_of(&state, &render, c) {
                Some(records) => list("results", "results", records),
                None => demo_failed(),
            },
            Err(r) => r,
        },
        // District-wide, over the classes the caller sees (every class for the gateway's
        // whole-district credentials), paged and filtered like every list: a client asks
        // `filter=sourcedId='…'` to learn whether an id is taken anywhere.
        ["lineItems"] => {
            let records = viewer
                .classes()
                .into_iter()
                .flat_map(|c| line_items_of(&state, &render, c))
                .collect();
            list("lineItems", "lineItems", records)
        }
        ["results"] => {
            let mut records = Vec::new();
            for c in viewer.classes() {
                match results_of(&state, &render, c) {
                    Some(more) => records.extend(more),
                    None => return demo_failed(),
                }
            }
            list("results", "results", records)
        }
        ["users"] => list(
            "users",
            "users",
            visible_users(&viewer)
                .into_iter()
                .map(|p| render.user(p))
                .collect(),
        ),
        ["users", id] => match district.lookup(id) {
            Some(Entity::Student(st)) if viewer.sees_student(st) => {
                single("user", render.user(&district.students[st]))
            }
            Some(Entity::Staff(t)) if viewer.sees_staff(t) => {
                single("user", render.user(&district.staff[t]))
            }
            Some(Entity::Student(_) | Entity::Staff(_)) => forbidden(),
            _ => not_found("user"),
        },
        ["enrollments"] => {
            let records = viewer
                .classes()
                .into_iter()
                .flat_map(|c| {
                    let class = &district.classes[c];
                    std::iter::once(render.enrollment(
                        c,
                        &district.staff[class.teacher],
                        Role::Teacher,
                    ))
                    .chain(class.students.iter().map(|st| {
                        render.enrollment(c, &district.students[*st as usize], Role::Student)
                    }))
                    .collect::<Vec<_>>()
                })
                .collect();
            list("enrollments", "enrollments", records)
        }
        ["lineItems", id] => match line_item_for(&viewer, &state, id) {
            Ok(Item::Generated(item)) => {
                match with_writes(&state, vec![render.line_item(&item)]).pop() {
                    Some(record) => single("lineItem", record),
                    None => not_found("line item"),
                }
            }
            Ok(Item::Written(_, record)) => single("lineItem", record),
            Err(r) => r,
        },
        ["results", id] => match written_result(&viewer, &state, id) {
            Some(Ok(record)) => single("result", record),
            Some(Err(r)) => r,
            None => match result_for(&viewer, &state, id) {
                Ok((item, st)) => match render.result(&item, st) {
                    Some(record) => single("result", record),
                    None => not_found("result"),
                },
                Err(r) => r,
            },
        },
        _ => imsx_error(
            StatusCode::NOT_FOUND,
            "This endpoint is not part of the demo district.",
            "unknownobject",
        ),
    }
}

/// Class `c`'s line items as a reader sees them: generated ones not deleted (with their
/// written changes), then the ones a PUT created.
fn line_items_of(state: &State, render: &Render<'_>, c: usize) -> Vec<Value> {
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
fn results_of(state: &State, render: &Render<'_>, c: usize) -> Option<Vec<Value>> {
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
fn written_result(viewer: &Viewer<'_>, state: &State, id: &str) -> Option<Result<Value, Response>> {
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

fn visible_users<'a>(viewer: &Viewer<'a>) -> Vec<&'a Person> {
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
enum Item {
    Generated(LineItem),
    Written(usize, Value),
}

impl Item {
    fn class(&self) -> usize {
        match self {
            Item::Generated(item) => item.class,
            Item::Written(c, _) => *c,
        }
    }
}

fn line_item_for(viewer: &Viewer<'_>, state: &State, id: &str) -> Result<Item, Response> {
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
fn result_for(viewer: &Viewer<'_>, state: &State, id: &str) -> Result<(LineItem, u32), Response> {
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
fn enrolled_student(district: &District, c: usize, student_id: &str) -> Option<u32> {
    let Some(Entity::Student(st)) = district.lookup(student_id) else {
        return None;
    };
    let st = u32::try_from(st).ok()?;
    district.classes[c].students.contains(&st).then_some(st)
}

fn single(envelope: &str, record: Value) -> Response {
    let mut body = serde_json::Map::new();
    body.insert(envelope.to_owned(), record);
    Json(Value::Object(body)).into_response()
}

fn collection(
    state: &State,
    envelope: &str,
    records: Vec<Value>,
    query: &CollectionQuery,
    uri: &Uri,
    no_total: bool,
) -> Response {
    let (page, total) = query.apply(records);
    let mut body = serde_json::Map::new();
    body.insert(envelope.to_owned(), Value::Array(page));
    let mut response = Json(Value::Object(body)).into_response();
    let headers = response.headers_mut();
    if !no_total && let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        headers.insert("x-total-count", v);
    }
    if let Some(link) = link_header(&state.issuer, uri, query, total)
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        headers.insert(header::LINK, v);
    }
    response
}

/// RFC 8288 `Link` with `next` and `last` pages.
fn link_header(issuer: &str, uri: &Uri, query: &CollectionQuery, total: usize) -> Option<String> {
    let base = url::Url::parse(&format!("{issuer}{}", uri.path())).ok()?;
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .filter(|(k, _)| k != "limit" && k != "offset")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let page_url = |offset: usize| {
        let mut url = base.clone();
        url.query_pairs_mut()
            .extend_pairs(&params)
            .append_pair("limit", &query.limit.to_string())
            .append_pair("offset", &offset.to_string());
        url.to_string()
    };
    let mut links = Vec::new();
    if query.offset + query.limit < total {
        links.push(format!(
            "<{}>; rel=\"next\"",
            page_url(query.offset + query.limit)
        ));
    }
    let last = total.saturating_sub(1) / query.limit * query.limit;
    links.push(format!("<{}>; rel=\"last\"", page_url(last)));
    Some(links.join(", "))
}

/// `DELETE /lineItems/{id}` and `/results/{id}`.
async fn delete(
    Extract(state): Extract<Arc<State>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    state.stats.hit("roster_delete");
    let scope = match authorize(&state, &headers, &Method::DELETE, &uri) {
        Ok(s) => s,
        Err(response) => return response,
    };
    let knobs = state.knobs();
    if knobs.access.refuse_writes {
        return refused_write();
    }
    let (viewer, _) = view(&state, scope, &knobs);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let found = match segments.as_slice() {
        ["lineItems", id] => line_item_for(&viewer, &state, id).map(|_| *id),
        ["results", id] => match written_result(&viewer, &state, id) {
            Some(Ok(_)) => Ok(*id),
            Some(Err(r)) => Err(r),
            None => match result_for(&viewer, &state, id) {
                Ok((item, st)) if viewer.district.result(&item, st).is_some() => Ok(*id),
                Ok(_) => Err(not_found("result")),
                Err(r) => Err(r),
            },
        },
        _ => {
            return imsx_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Only results and lineItems can be deleted here.",
                "unsupported",
            );
        }
    };
    match found {
        Ok(id) => {
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
        Err(r) => r,
    }
}

fn demo_failed() -> Response {
    imsx_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The demo district failed.",
        "server_error",
    )
}

fn refused_write() -> Response {
    imsx_error(
        StatusCode::FORBIDDEN,
        "This district's student information system does not accept grades from other applications.",
        "unsupported",
    )
}

fn bad_data(description: &str) -> Response {
    imsx_error(StatusCode::BAD_REQUEST, description, "invalid_data")
}

const SCORE_STATUSES: [&str; 5] = [
    "exempt",
    "fully graded",
    "not submitted",
    "partially graded",
    "submitted",
];

/// `PUT /lineItems/{id}` and `/results/{id}`: replaces an existing record's fields
/// (200), or creates the record under the client's `sourcedId` (201).
async fn write(
    Extract(state): Extract<Arc<State>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    state.stats.hit("roster_write");
    let scope = match authorize(&state, &headers, &Method::PUT, &uri) {
        Ok(s) => s,
        Err(response) => return response,
    };
    let knobs = state.knobs();
    if knobs.access.refuse_writes {
        return refused_write();
    }
    let (viewer, render) = view(&state, scope, &knobs);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (envelope, id) = match segments.as_slice() {
        ["results", id] => ("result", *id),
        ["lineItems", id] => ("lineItem", *id),
        _ => {
            return imsx_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Only results and lineItems can be written here.",
                "unsupported",
            );
        }
    };
    if id.is_empty() || id.len() > 200 || id.chars().any(|c| c.is_control() || c == '/') {
        return bad_data("The sourcedId in the path is not usable.");
    }
    let Ok(sent) = serde_json::from_slice::<Value>(&body) else {
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
    if envelope == "result" {
        if let Some(status) = fields.get("scoreStatus")
            && !status.as_str().is_some_and(|s| SCORE_STATUSES.contains(&s))
        {
            return bad_data("scoreStatus is not a OneRoster value.");
        }
        if let Some(score) = fields.get("score")
            && !(score.is_null() || score.as_f64().is_some_and(|s| s.is_finite() && s >= 0.0))
        {
            return bad_data("score must be a number of zero or more.");
        }
    } else {
        if let Some(title) = fields.get("title")
            && title.as_str().is_none_or(|t| t.trim().is_empty())
        {
            return bad_data("A line item needs a title.");
        }
        if let Some(max) = fields.get("resultValueMax")
            && !max.as_f64().is_some_and(|m| m.is_finite() && m >= 0.0)
        {
            return bad_data("resultValueMax must be a number of zero or more.");
        }
        if let Some(category) = reference("category")
            && !CATEGORIES.iter().any(|(c, _)| *c == category)
        {
            return bad_data("The category is not one of this district's.");
        }
    }

    // The record as it stands, or `None` when this PUT creates it.
    let existing: Result<Option<Value>, Response> = if envelope == "result" {
        match written_result(&viewer, &state, id) {
            Some(found) => found.map(Some),
            None => match result_for(&viewer, &state, id) {
                Ok((item, st)) => Ok(Some(
                    render
                        .result(&item, st)
                        .unwrap_or_else(|| render.blank_result(&item, st)),
                )),
                Err(_) => Ok(None),
            },
        }
    } else {
        match line_item_for(&viewer, &state, id) {
            Ok(Item::Generated(item)) => {
                Ok(with_writes(&state, vec![render.line_item(&item)]).pop())
            }
            Ok(Item::Written(_, record)) => Ok(Some(record)),
            Err(r) if r.status() == StatusCode::FORBIDDEN => Err(r),
            Err(_) => Ok(None),
        }
    };
    let existing = match existing {
        Ok(e) => e,
        Err(r) => return r,
    };
    if existing.is_none() && state.writes.read().is_ok_and(|w| w.is_deleted(id)) {
        return bad_data("A record with this sourcedId was deleted; choose a new sourcedId.");
    }
    let created = existing.is_none();
    // Where a new record belongs, checked before anything is kept.
    let placement = if created {
        match new_record_placement(&viewer, &state, envelope, &reference) {
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
    let Ok(mut writes) = state.writes.write() else {
        return demo_failed();
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
        return demo_failed();
    }
    drop(writes);
    let mut response = single(envelope, record);
    if created {
        *response.status_mut() = StatusCode::CREATED;
    }
    response
}

enum Placement {
    LineItem(usize),
    Result(String, u32),
}

/// Checks a new record's references: a line item's class must be one the caller may
/// write; a result's line item must exist, and its student be enrolled in that class,
/// with no other result for the same cell.
fn new_record_placement(
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
