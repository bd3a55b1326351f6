//! The health, readiness and metrics endpoints (outside the OneRoster surface).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{Params, Shared};

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
