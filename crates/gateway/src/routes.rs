//! The OneRoster 1.1 surface the app reads, one route per resource under
//! `/ims/oneroster/v1p1`. Every handler starts from a [`Teacher`] (who is calling, in
//! which district, within their rate limit) and asks `scope` before anything goes
//! upstream. Anything not listed is refused.

// Checks return the ready refusal as their error, for the handler to answer at once;
// boxing every one would only add noise on the refusal path.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use governor::clock::{Clock, DefaultClock};
use reqwest::Method;
use rollbook_oneroster::{Fetched, GradeResult, LineItem, RosterError};
use serde_json::Value;

use crate::config::Creates;
use crate::error::Denied;
use crate::identity::{Caller, Identities, Role};
use crate::ops::{Audit, Metrics};
use crate::scope::{self, Decision, Resource, Scopes, TeacherScope};
use crate::tenants::Tenants;
use crate::upstream::Upstream;

pub const BASE_PATH: &str = "/ims/oneroster/v1p1";

pub type TeacherLimiter = governor::DefaultKeyedRateLimiter<String>;
pub type AddressLimiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

/// What every handler shares.
pub struct Shared {
    pub identities: Identities,
    pub tenants: Arc<Tenants>,
    pub scopes: Scopes,
    pub metrics: Arc<Metrics>,
    pub limiter: TeacherLimiter,
    /// Sign-in checks per client address, before the provider is asked (`None`: off).
    pub lookups_per_address: Option<AddressLimiter>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("identities", &self.identities)
            .field("tenants", &self.tenants)
            .finish_non_exhaustive()
    }
}

pub fn roster_routes() -> Router<Arc<Shared>> {
    let at = |path: &str| format!("{BASE_PATH}{path}");
    Router::new()
        .route(
            &at("/teachers/{id}/classes"),
            get(classes_of_teacher).fallback(not_served),
        )
        .route(&at("/classes/{id}"), get(class).fallback(not_served))
        .route(&at("/classes/{id}/students"), class_part("students"))
        .route(&at("/classes/{id}/teachers"), class_part("teachers"))
        .route(&at("/classes/{id}/lineItems"), class_part("lineItems"))
        .route(&at("/classes/{id}/results"), class_part("results"))
        .route(&at("/schools/{id}"), get(school).fallback(not_served))
        .route(&at("/users/{id}"), get(user).fallback(not_served))
        .route(&at("/categories"), reference_list("categories"))
        .route(&at("/categories/{id}"), reference_record("categories"))
        .route(&at("/academicSessions"), reference_list("academicSessions"))
        .route(
            &at("/academicSessions/{id}"),
            reference_record("academicSessions"),
        )
        .route(&at("/terms"), reference_list("terms"))
        .route(&at("/terms/{id}"), reference_record("terms"))
        .route(
            &at("/lineItems/{id}"),
            get(read_line_item)
                .put(put_line_item)
                .delete(delete_line_item)
                .fallback(not_served),
        )
        .route(
            &at("/results/{id}"),
            get(read_result)
                .put(put_result)
                .delete(delete_result)
                .fallback(not_served),
        )
        // District-wide lists and everything else under the base: authenticated, then refused.
        .route(&at("/{*rest}"), axum::routing::any(not_served))
        .route(BASE_PATH, axum::routing::any(not_served))
}

pub type Params = HashMap<String, String>;

type Route = axum::routing::MethodRouter<Arc<Shared>>;

/// `GET /classes/{id}/{part}`: a class's students, teachers, line items or results.
fn class_part(part: &'static str) -> Route {
    get(
        move |t: Teacher, Path(id): Path<String>, Query(q): Query<Params>| {
            class_part_of(t, id, q, Some(part))
        },
    )
    .fallback(not_served)
}

/// `GET /{collection}`: a list with no people in it.
fn reference_list(collection: &'static str) -> Route {
    get(move |t: Teacher, q: Query<Params>| reference(t, Vec::new(), q, collection))
        .fallback(not_served)
}

/// `GET /{collection}/{id}`: one record with no people in it.
fn reference_record(collection: &'static str) -> Route {
    get(
        move |t: Teacher, Path(id): Path<String>, q: Query<Params>| {
            reference(t, vec![id], q, collection)
        },
    )
    .fallback(not_served)
}

/// An authenticated caller with their district's upstream, within their rate limit.
#[derive(Debug)]
pub struct Teacher {
    caller: Arc<Caller>,
    upstream: Arc<Upstream>,
    shared: Arc<Shared>,
    audit: Arc<Audit>,
}

impl FromRequestParts<Arc<Shared>> for Teacher {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, Response> {
        let audit = parts
            .extensions
            .get::<Arc<Audit>>()
            .cloned()
            .unwrap_or_default();
        let refuse = |denied: Denied| {
            audit.update(|a| a.reason = Some(denied.reason()));
            denied.into_response()
        };
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let client = parts
            .extensions
            .get::<crate::client_address::ClientAddress>()
            .map(|c| c.0);
        if let (Some(limiter), Some(client)) = (&shared.lookups_per_address, client)
            && !shared.identities.is_known(authorization).await
            && let Err(not_until) = limiter.check_key(&client)
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(refuse(Denied::RateLimited(wait)));
        }
        let caller = match shared.identities.caller(authorization).await {
            Ok(c) => c,
            Err(crate::identity::IdentityError::InvalidToken(why)) => {
                return Err(refuse(Denied::InvalidToken(why)));
            }
            Err(crate::identity::IdentityError::Unavailable(detail)) => {
                return Err(refuse(Denied::IdentityUnavailable(detail)));
            }
        };
        audit.update(|a| {
            a.tenant = Some(caller.tenant.clone());
            a.teacher = Some(caller.sourced_id.clone());
        });
        let Some(upstream) = shared.tenants.get(&caller.tenant) else {
            return Err(refuse(if shared.tenants.is_ready() {
                Denied::UnknownTenant
            } else {
                Denied::NotReady
            }));
        };
        let key = format!("{}\u{0}{}", caller.tenant, caller.sourced_id);
        if let Err(not_until) = shared.limiter.check_key(&key) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(refuse(Denied::RateLimited(wait)));
        }
        Ok(Self {
            caller,
            upstream,
            shared: Arc::clone(shared),
            audit,
        })
    }
}

impl Teacher {
    fn deny(&self, denied: Denied) -> Response {
        if let Denied::Upstream(e) = &denied {
            self.shared
                .metrics
                .upstream_error(&self.upstream.tenant, e.code().as_str());
            match &**e {
                RosterError::Unauthorized { .. } => {
                    // A cached client-credentials token the district no longer takes is
                    // dropped, so the next request fetches a new one.
                    self.upstream.credentials_refused();
                    tracing::warn!(
                        tenant = %self.upstream.tenant,
                        "the district's roster server refused the gateway's credentials; check the tenant's auth settings"
                    );
                }
                RosterError::Unreachable(detail) => tracing::warn!(
                    tenant = %self.upstream.tenant,
                    error = %detail,
                    "the district's roster server cannot be reached (a certificate problem is named here; see docs/gateway.md on adding a CA)"
                ),
                _ => {}
            }
        }
        self.audit.update(|a| a.reason = Some(denied.reason()));
        denied.into_response()
    }

    fn upstream_failed(&self, error: RosterError) -> Response {
        self.deny(Denied::Upstream(Arc::new(error)))
    }

    fn note_class(&self, class: &str) {
        self.audit.update(|a| a.class = Some(class.to_owned()));
    }

    async fn scope(&self) -> Result<Arc<TeacherScope>, Response> {
        if self.caller.role != Role::Teacher {
            // No upstream call for someone who may read nothing.
            return Ok(Arc::new(TeacherScope::default()));
        }
        self.shared
            .scopes
            .of_teacher(&self.upstream, &self.caller.sourced_id)
            .await
            .map_err(|e| self.deny(Denied::Upstream(e)))
    }

    /// Allows `resource` or answers the refusal.
    async fn allow(&self, resource: Resource<'_>) -> Result<(), Response> {
        let scope = if resource.needs_scope() {
            self.scope().await?
        } else {
            Arc::new(TeacherScope::default())
        };
        match scope::may_read(&self.caller, &scope, resource) {
            Decision::Allow => Ok(()),
            Decision::Deny(why) => Err(self.deny(Denied::Forbidden(why))),
        }
    }

    /// The caller's query as passed upstream (see [`scope::checked_query`]), or the
    /// refusal. `filter` is kept on lists only.
    fn query(&self, params: &Params, list: bool) -> Result<Vec<(String, String)>, Response> {
        scope::checked_query(params, list)
            .map_err(|why| self.deny(Denied::BadRequest(why.to_owned())))
    }

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
            if let Value::Array(records) = records {
                let before = records.len();
                records.retain(|r| keep.keeps(r));
                dropped += before - records.len();
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

    /// A record read upstream with the gateway's credentials, `None` when it does not exist.
    async fn record<T: rollbook_oneroster::Resource>(
        &self,
        segments: &[&str],
    ) -> Result<Option<T>, Response> {
        match self.upstream.roster.get::<T>(segments).await {
            Ok(record) => Ok(Some(record)),
            Err(RosterError::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.upstream_failed(e)),
        }
    }

    /// The class a line item belongs to, upstream.
    async fn class_of_line_item(&self, id: &str) -> Result<Option<String>, Response> {
        Ok(self
            .record::<LineItem>(&["lineItems", id])
            .await?
            .and_then(|li| li.class.map(|c| c.sourced_id)))
    }

    /// The caller's classes, for a caller who may have some: anyone but a teacher is
    /// refused here, before any upstream read whose outcome could show in the answer.
    async fn teaching_scope(&self) -> Result<Arc<TeacherScope>, Response> {
        if self.caller.role != Role::Teacher {
            return Err(self.deny(Denied::Forbidden(scope::NOT_A_TEACHER)));
        }
        self.scope().await
    }

    /// The one answer for a record that is not there and one that is not the caller's.
    fn not_there(&self) -> Response {
        self.deny(Denied::Forbidden(scope::NO_SUCH_RECORD))
    }

    /// Whether a PUT to `id`, which the district says is not there, may be sent as a
    /// create under the tenant's [`Creates`] setting. `cell` is a grade's line item and
    /// student; `class` the (checked) class the new record names.
    async fn may_create(
        &self,
        collection: &'static str,
        id: &str,
        cell: Option<(&str, &str)>,
        class: &str,
    ) -> Result<(), Response> {
        let refuse = |why| Err(self.deny(Denied::Unsupported(why)));
        match self.upstream.creates {
            Creates::Refused => return refuse(scope::CREATES_REFUSED),
            Creates::Trusted => return Ok(()),
            Creates::Checked => {}
        }
        if self.upstream.creates_stopped() {
            return refuse(scope::CREATES_STOPPED);
        }
        // The id must not be able to name some other record the district hides behind a
        // 404 (a blank grade cell): a UUID, or the grade's own `{lineItem}.{student}`.
        let tied = is_uuid(id) || cell.is_some_and(|(li, st)| id == format!("{li}.{st}"));
        if !tied {
            return refuse(scope::CREATE_ID_UNCHECKABLE);
        }
        match self.upstream.reads_by_id(collection) {
            Some(true) => Ok(()),
            Some(false) => refuse(scope::READS_BY_ID_BROKEN),
            None => self.learn_reads_by_id(collection, id, class).await,
        }
    }

    /// The `sourcedId`s of the first records a list answers, `None` when it lists none.
    async fn listed(
        &self,
        segments: &[&str],
        query: &[(String, String)],
        collection: &str,
    ) -> Result<Option<Vec<String>>, RosterError> {
        let listed = self
            .upstream
            .roster
            .fetch(Method::GET, segments, query, None)
            .await?;
        let ids: Vec<String> = serde_json::from_slice::<Value>(&listed.body)
            .ok()
            .and_then(|v| {
                Some(
                    v.get(collection)?
                        .as_array()?
                        .iter()
                        .filter_map(|r| r.get("sourcedId")?.as_str().map(str::to_owned))
                        .collect(),
                )
            })
            .unwrap_or_default();
        Ok((!ids.is_empty()).then_some(ids))
    }

    /// Whether the district reads `collection` records by id, learnt once per tenant by
    /// reading one it lists: then its 404 for `id` means "not there". With nothing in the
    /// teacher's class to try, the district-wide list filtered on `id` is asked: a district
    /// that lists `id` holds it (and cannot read it by id); one that lists nothing holds no
    /// such record. A district that answers neither is refused creates until it can be
    /// checked: a create sent on trust could move a colleague's record there (caught only
    /// after the write).
    async fn learn_reads_by_id(
        &self,
        collection: &'static str,
        id: &str,
        class: &str,
    ) -> Result<(), Response> {
        let refuse = |why| Err(self.deny(Denied::Unsupported(why)));
        let one = [("limit".to_owned(), "1".to_owned())];
        let mine = self
            .listed(&["classes", class, collection], &one, collection)
            .await
            .map_err(|e| self.upstream_failed(e))?;
        let first = match mine {
            Some(ids) => ids.into_iter().next(),
            None => {
                let filter = [
                    (
                        "filter".to_owned(),
                        format!("sourcedId='{}'", id.replace('\'', "''")),
                    ),
                    ("limit".to_owned(), "2".to_owned()),
                ];
                match self.listed(&[collection], &filter, collection).await {
                    // Nothing by that id anywhere in the district.
                    Ok(None) => return Ok(()),
                    Ok(Some(ids)) if ids.iter().any(|listed| listed == id) => {
                        // Listed, yet "not there" by id.
                        self.reads_by_id_broken(collection);
                        return refuse(scope::READS_BY_ID_BROKEN);
                    }
                    // A district ignoring the filter lists others: try one of them.
                    Ok(Some(ids)) => ids.into_iter().next(),
                    Err(_) => None,
                }
            }
        };
        let Some(first) = first else {
            return refuse(scope::CREATE_NOT_YET_CHECKABLE);
        };
        match self
            .upstream
            .roster
            .fetch(Method::GET, &[collection, &first], &[], None)
            .await
        {
            Ok(_) => {
                self.upstream.saw_read_by_id(collection, true);
                Ok(())
            }
            Err(RosterError::NotFound { .. } | RosterError::BadRequest { .. }) => {
                self.reads_by_id_broken(collection);
                refuse(scope::READS_BY_ID_BROKEN)
            }
            Err(e) => Err(self.upstream_failed(e)),
        }
    }

    fn reads_by_id_broken(&self, collection: &'static str) {
        self.upstream.saw_read_by_id(collection, false);
        tracing::warn!(
            tenant = %self.upstream.tenant,
            collection,
            "the district's roster server lists records it cannot read by id; creates are refused for this tenant"
        );
    }

    /// The answer for a PUT to a record in someone else's class: what a PUT to an id
    /// that is not there gets when the create would be refused, else "no such record",
    /// so the answer never tells which ids exist elsewhere.
    async fn not_yours_put(
        &self,
        collection: &'static str,
        id: &str,
        cell: Option<(&str, &str)>,
        class: &str,
    ) -> Response {
        match self.may_create(collection, id, cell, class).await {
            Err(refused) => refused,
            Ok(()) => self.not_there(),
        }
    }

    /// Sends a checked PUT, then checks what the district says it did: a create must come
    /// back as one (201) and the stored references must be the body's. Anything else is
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
        let envelope = if expected.collection == "results" {
            "result"
        } else {
            "lineItem"
        };
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
        let anomaly = if expected.create && fetched.status != 201 {
            Some("a create was answered as a change to an existing record")
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

/// A district's answer as the teacher gets it: only the envelope the address asked for
/// (see [`envelopes_of`]) and only the allowed fields of its records. An answer that is
/// not a JSON object (other than an empty one, as after a DELETE) is not passed on.
fn json_response(fetched: Fetched, segments: &[&str]) -> Response {
    let status = StatusCode::from_u16(fetched.status).unwrap_or(StatusCode::OK);
    let body = if fetched.body.iter().all(u8::is_ascii_whitespace) {
        Vec::new()
    } else {
        match crate::fields::filter(&fetched.body, envelopes_of(segments)) {
            Some(body) => body,
            None => {
                return crate::error::Denied::Upstream(Arc::new(RosterError::Malformed(
                    "the answer is not a JSON object".into(),
                )))
                .into_response();
            }
        }
    };
    let mut response = (status, body).into_response();
    set_json_headers(&mut response, fetched.total_count);
    response
}

/// The envelopes an answer to `segments` may hold: every check reads only the one the
/// address names, so a district that adds others (`{"lineItem": {…}, "users": […]}`,
/// related records "included") must not get them past the check to the teacher.
fn envelopes_of(segments: &[&str]) -> &'static [&'static str] {
    match segments {
        [_, _, "classes"] => &["classes"],
        [_, _, "students" | "teachers"] => &["users"],
        [_, _, "lineItems"] => &["lineItems"],
        [_, _, "results"] => &["results"],
        ["classes", _] => &["class"],
        ["schools", _] => &["org", "school"],
        ["users", _] => &["user"],
        ["categories"] => &["categories"],
        ["categories", _] => &["category"],
        ["academicSessions"] => &["academicSessions"],
        ["academicSessions", _] => &["academicSession"],
        ["terms"] => &["terms", "academicSessions"],
        ["terms", _] => &["term", "academicSession"],
        ["lineItems", _] => &["lineItem"],
        ["results", _] => &["result"],
        _ => &[],
    }
}

fn set_json_headers(response: &mut Response, total_count: Option<u64>) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(total) = total_count
        && let Ok(value) = HeaderValue::from_str(&total.to_string())
    {
        headers.insert("x-total-count", value);
    }
}

/// A OneRoster `sourcedId` as a path segment: no separators, dot segments, escapes or
/// control characters, so nothing the caller sends can change which upstream resource
/// is asked for.
fn checked_id(teacher: &Teacher, id: &str) -> Result<(), Response> {
    let ok = !id.is_empty()
        && id.len() <= 256
        && id != "."
        && id != ".."
        && !id
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | '?' | '#' | '%'));
    if ok {
        Ok(())
    } else {
        Err(teacher.deny(Denied::Forbidden(scope::NOT_YOUR_CLASS)))
    }
}

async fn classes_of_teacher(
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

async fn class(teacher: Teacher, Path(id): Path<String>, Query(q): Query<Params>) -> Response {
    class_part_of(teacher, id, q, None).await
}

async fn class_part_of(teacher: Teacher, id: String, q: Params, part: Option<&str>) -> Response {
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

async fn school(teacher: Teacher, Path(id): Path<String>, Query(q): Query<Params>) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    if let Err(r) = teacher.allow(Resource::School(&id)).await {
        return r;
    }
    teacher.pass_on(&["schools", &id], &q, false).await
}

async fn user(teacher: Teacher, Path(id): Path<String>, Query(q): Query<Params>) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    if let Err(r) = teacher.allow(Resource::User(&id)).await {
        return r;
    }
    teacher.pass_on(&["users", &id], &q, false).await
}

async fn reference(
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
async fn not_served(teacher: Teacher) -> Response {
    let empty = TeacherScope::default();
    match scope::may_read(&teacher.caller, &empty, Resource::Other) {
        Decision::Deny(why) => teacher.deny(Denied::Forbidden(why)),
        Decision::Allow => teacher.deny(Denied::Forbidden(scope::NOT_SERVED)),
    }
}

async fn read_line_item(teacher: Teacher, Path(id): Path<String>) -> Response {
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

async fn read_result(teacher: Teacher, Path(id): Path<String>) -> Response {
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

/// A write's body parsed strictly and re-serialised: what is checked is what is sent.
/// A key given twice, or in two spellings (`class` and `Class`), is refused, since a
/// lenient server may bind the one the gateway did not check.
fn canonical_body(body: &Bytes) -> Result<(Value, Vec<u8>), Denied> {
    let parsed = crate::strict_json::parse(body).map_err(|e| match e {
        crate::strict_json::StrictError::RepeatedKey(key) => Denied::BadRequest(format!(
            "The body names `{key}` twice (or in two spellings); send each field once."
        )),
        crate::strict_json::StrictError::NotJson => {
            Denied::BadRequest("The body is not JSON.".into())
        }
    })?;
    let bytes = serde_json::to_vec(&parsed)
        .map_err(|_| Denied::BadRequest("The body is not JSON.".into()))?;
    Ok((parsed, bytes))
}

/// Whether `id` is in the form the app gives new records (a UUID): no district derives
/// such an id from other records, so a create there cannot be an alias of a grade cell.
fn is_uuid(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// What a write is about, for the checks after the district answers.
struct Expected<'a> {
    collection: &'static str,
    /// `lineItem.class`, or `result.lineItem` and `result.student`.
    refs: &'a [(&'static str, &'a str)],
    /// The gateway believed it a create (the district said the record is not there).
    create: bool,
}

async fn put_line_item(teacher: Teacher, Path(id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    let scope = match teacher.teaching_scope().await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (parsed, canonical) = match canonical_body(&body) {
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
    let existing = match teacher.class_of_line_item(&id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match existing.as_deref() {
        Some(class) if !scope.teaches(class) => {
            return teacher
                .not_yours_put("lineItems", &id, None, &new_class)
                .await;
        }
        // Moving a line item would take its grades, of students who may not be in the
        // other class, with it.
        Some(class) if class != new_class => {
            return teacher.deny(Denied::Unsupported(scope::NO_MOVES));
        }
        Some(_) => {}
        None => {
            if let Err(r) = teacher.may_create("lineItems", &id, None, &new_class).await {
                return r;
            }
        }
    }
    let expected = Expected {
        collection: "lineItems",
        refs: &[("class", &new_class)],
        create: existing.is_none(),
    };
    teacher
        .write_checked(Method::PUT, &["lineItems", &id], Some(canonical), &expected)
        .await
}

async fn delete_line_item(teacher: Teacher, Path(id): Path<String>) -> Response {
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

/// The class and student of a result, upstream (its class through its line item).
async fn class_of_result(
    teacher: &Teacher,
    id: &str,
) -> Result<Option<(String, GradeResult)>, Response> {
    let Some(result) = teacher.record::<GradeResult>(&["results", id]).await? else {
        // The same district reads as for a result elsewhere (the result, then a line
        // item), answer discarded: one read fewer would time which ids are graded.
        teacher.class_of_line_item(id).await?;
        return Ok(None);
    };
    Ok(teacher
        .class_of_line_item(&result.line_item.sourced_id)
        .await?
        .map(|class| (class, result)))
}

async fn put_result(teacher: Teacher, Path(id): Path<String>, body: Bytes) -> Response {
    if let Err(r) = checked_id(&teacher, &id) {
        return r;
    }
    let scope = match teacher.teaching_scope().await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (parsed, canonical) = match canonical_body(&body) {
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
    let existing = match class_of_result(&teacher, &id).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    match &existing {
        Some((class, _)) if !scope.teaches(class) => {
            return teacher
                .not_yours_put("results", &id, Some((&line_item, &student)), &new_class)
                .await;
        }
        Some((_, result))
            if result.line_item.sourced_id != line_item || result.student.sourced_id != student =>
        {
            return teacher.deny(Denied::Unsupported(scope::NO_CELL_MOVES));
        }
        Some(_) => {}
        None => {
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
        create: existing.is_none(),
    };
    teacher
        .write_checked(Method::PUT, &["results", &id], Some(canonical), &expected)
        .await
}

async fn delete_result(teacher: Teacher, Path(id): Path<String>) -> Response {
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

/// How often idle per-teacher rate-limit state is dropped.
pub const LIMITER_SWEEP: Duration = Duration::from_secs(60);

pub async fn health() -> &'static str {
    "ok"
}

/// 503 while the tenant list loads; then each tenant's reachability. The instance is
/// ready while at least one tenant (or none is configured yet) can be reached: every
/// instance shares a district's failure, so taking this one out would not help.
/// `?tenant=ID` answers for one tenant only (for a per-district monitor).
pub async fn ready(State(shared): State<Arc<Shared>>, Query(q): Query<Params>) -> Response {
    if !shared.tenants.is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "loading the tenant list").into_response();
    }
    let mut states = shared.tenants.reachability().await;
    if let Some(only) = q.get("tenant") {
        states.retain(|(id, _)| id == only);
        if states.is_empty() {
            return (StatusCode::NOT_FOUND, "no such tenant").into_response();
        }
    }
    let all_down = !states.is_empty() && states.iter().all(|(_, r)| r.is_err());
    let tenants: serde_json::Map<String, Value> = states
        .into_iter()
        .map(|(id, r)| {
            let state = match r {
                Ok(()) => "ok".to_owned(),
                Err(why) => format!("unreachable: {why}"),
            };
            (id, Value::String(state))
        })
        .collect();
    let status = if all_down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = serde_json::json!({
        "status": if all_down { "unavailable" } else { "ready" },
        "tenants": tenants,
    });
    (status, axum::Json(body)).into_response()
}

pub async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.encode(),
    )
        .into_response()
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
