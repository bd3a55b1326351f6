//! ClassLink's partner API as the demo district serves it: the vendor's developer key
//! lists the districts that granted the OneRoster application access
//! (`GET /applications`) and hands out each one's server credentials
//! (`GET /applications/{id}/server`). Also `/.well-known/rollbook-demo`, which tells
//! `rollbook login --demo` where the standalone district's roster gateway listens.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::config::demo_credentials;
use crate::district::DISTRICT_NAME;
use crate::roster::BASE_PATH;
use crate::state::State;

pub fn routes() -> Router<Arc<State>> {
    Router::new()
        .route("/applications", get(applications))
        .route("/applications/{id}/server", get(server))
        .route("/.well-known/rollbook-demo", get(demo_document))
}

fn developer_key_ok(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|key| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                key.trim().as_bytes(),
                demo_credentials::DEVELOPER_API_KEY.as_bytes(),
            )
            .is_ok()
        })
}

fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "message": "Invalid developer API key", "status": 0 })),
    )
        .into_response()
}

async fn applications(Extract(state): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    state.stats.hit("partner_applications");
    if !developer_key_ok(&headers) {
        return refused();
    }
    Json(json!([{
        "tenant_id": state.tenant_id,
        "tenant_name": DISTRICT_NAME,
        "application_name": "Rollbook (demo)",
        "oneroster_application_id": demo_credentials::ONEROSTER_APPLICATION_ID,
        "status": "approved",
    }]))
    .into_response()
}

async fn server(
    Extract(state): Extract<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    state.stats.hit("partner_server");
    if !developer_key_ok(&headers) {
        return refused();
    }
    if id != demo_credentials::ONEROSTER_APPLICATION_ID {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "Unknown application", "status": 0 })),
        )
            .into_response();
    }
    Json(json!({
        "client_id": demo_credentials::ONEROSTER_CLIENT_ID,
        "client_secret": demo_credentials::ONEROSTER_CLIENT_SECRET,
        "endpoint_url": format!("{}{BASE_PATH}", state.issuer),
        "tenant_id": state.tenant_id,
    }))
    .into_response()
}

async fn demo_document(Extract(state): Extract<Arc<State>>) -> Response {
    let gateway = state.roster_gateway.read().ok().and_then(|g| g.clone());
    Json(json!({
        "issuer": state.issuer,
        "roster_gateway_url": gateway,
        "not_a_real_school": true,
    }))
    .into_response()
}
