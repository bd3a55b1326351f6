//! Latency, 429s, 5xx and slow answers, as the knobs say.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{Request, State as Extract};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::roster::imsx_error;
use crate::state::State;

/// Added latency on every endpoint.
pub async fn latency(
    Extract(state): Extract<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let latency = state.knobs().faults.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    next.run(request).await
}

/// Whether request number `n` gets a fault at `rate`: faults are spread evenly
/// (0.25 is every fourth request), so tests are repeatable.
fn strikes(state: &State, counter: usize, rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    let n = state.fault_counters[counter].fetch_add(1, Ordering::Relaxed);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let (before, after) = ((n as f64 * rate) as u64, ((n + 1) as f64 * rate) as u64);
    after > before
}

/// 429s, 5xx and slowness, for the roster API and `/v2/my/info`.
pub async fn api_faults(
    Extract(state): Extract<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    let faults = state.knobs().faults;
    if strikes(&state, 0, faults.slow_rate) {
        state.stats.hit("slow");
        tokio::time::sleep(Duration::from_millis(faults.slow_ms)).await;
    }
    if strikes(&state, 1, faults.rate_limit_rate) {
        state.stats.hit("rate_limited");
        let mut response = imsx_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests. Slow down and try again.",
            "server_busy",
        )
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&faults.retry_after_seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if strikes(&state, 2, faults.server_error_rate) {
        state.stats.hit("server_error");
        return imsx_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The roster service is temporarily unavailable (demo fault).",
            "server_busy",
        )
        .into_response();
    }
    next.run(request).await
}
