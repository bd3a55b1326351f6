//! The OneRoster 1.1 server under `/ims/oneroster/v1p1`, one route per resource:
//! rostering and gradebook reads, `PUT` and `DELETE` on results and line items (kept in
//! memory, see `writes.rs`), paging, `filter`, `sort`, `fields`, and the `imsx_` error
//! envelope. Like a ClassLink district's server it answers the demo OneRoster
//! application's credentials (which see the whole district); with
//! `accept_teacher_tokens` a teacher sees only their own classes and those classes'
//! students, and a principal their school. Anything else is 401 or 403.

mod access;
mod read;
mod render;
mod write;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use rollbook_imsx::ImsxStatus;
use serde_json::Value;

use crate::faults;
use crate::query::CollectionQuery;
use crate::state::State;

pub const BASE_PATH: &str = "/ims/oneroster/v1p1";
const MODIFIED: &str = "2026-08-01T12:00:00.000Z";

/// The route table is the surface this server offers: every resource it serves, and
/// under what verbs.
pub fn routes(state: Arc<State>) -> Router<Arc<State>> {
    let at = |path: &str| format!("{BASE_PATH}{path}");
    Router::new()
        .route(&at("/academicSessions"), read_only(read::academic_sessions))
        .route(
            &at("/academicSessions/{id}"),
            read_only(read::academic_session),
        )
        .route(&at("/terms"), read_only(read::terms))
        .route(&at("/terms/{id}"), read_only(read::academic_session))
        .route(&at("/orgs"), read_only(read::orgs))
        .route(&at("/orgs/{id}"), read_only(read::org))
        .route(&at("/schools"), read_only(read::schools))
        .route(&at("/schools/{id}"), read_only(read::org))
        .route(
            &at("/schools/{id}/classes"),
            read_only(read::classes_of_school),
        )
        .route(&at("/categories"), read_only(read::categories))
        .route(&at("/categories/{id}"), read_only(read::category))
        .route(&at("/classes"), read_only(read::classes))
        .route(&at("/classes/{id}"), read_only(read::class))
        .route(
            &at("/classes/{id}/students"),
            read_only(read::students_of_class),
        )
        .route(
            &at("/classes/{id}/teachers"),
            read_only(read::teachers_of_class),
        )
        .route(
            &at("/classes/{id}/lineItems"),
            read_only(read::line_items_of_class),
        )
        .route(
            &at("/classes/{id}/results"),
            read_only(read::results_of_class),
        )
        .route(
            &at("/teachers/{id}/classes"),
            read_only(read::classes_of_teacher),
        )
        .route(&at("/users"), read_only(read::users))
        .route(&at("/users/{id}"), read_only(read::user))
        .route(&at("/enrollments"), read_only(read::enrollments))
        .route(&at("/lineItems"), read_only(read::line_items))
        .route(
            &at("/lineItems/{id}"),
            get(read::line_item)
                .put(write::put_line_item)
                .delete(write::delete_line_item),
        )
        .route(&at("/results"), read_only(read::results))
        .route(
            &at("/results/{id}"),
            get(read::result)
                .put(write::put_result)
                .delete(write::delete_result),
        )
        // Anything else under the base: the caller is checked first, then it is 404
        // (405 for a write).
        .route(&at("/{*rest}"), read_only(read::unknown))
        .merge(crate::oidc::my_info_routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            faults::api_faults,
        ))
}

/// `GET` by `handler`; `PUT` and `DELETE` are refused once the caller is known (405).
fn read_only<H, T>(handler: H) -> MethodRouter<Arc<State>>
where
    H: Handler<T, Arc<State>>,
    T: 'static,
{
    get(handler)
        .put(write::not_writable)
        .delete(write::not_deletable)
}

/// The OneRoster 1.1 error envelope.
pub fn imsx_error(status: StatusCode, description: &str, minor: &str) -> Response {
    (status, Json(ImsxStatus::failure(description, minor))).into_response()
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
