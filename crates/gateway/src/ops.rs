//! Operations: Prometheus metrics, and the audit line each request leaves on stdout
//! (who, tenant, class, action, outcome, timing; never a token or a student's name).

use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    tenant: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: String,
    result: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// The gateway's Prometheus metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    upstream_errors: Family<UpstreamLabels, Counter>,
    cache: Family<CacheLabels, Counter>,
    identity_calls: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("rollbook_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let upstream_errors = Family::<UpstreamLabels, Counter>::default();
        let cache = Family::<CacheLabels, Counter>::default();
        let identity_calls = Counter::default();
        registry.register("requests", "Requests served", requests.clone());
        registry.register(
            "request_duration_seconds",
            "Time to answer a request",
            latency.clone(),
        );
        registry.register(
            "upstream_errors",
            "Upstream OneRoster failures by kind",
            upstream_errors.clone(),
        );
        registry.register("cache_lookups", "Cache hits and misses", cache.clone());
        registry.register(
            "identity_calls",
            "Calls to the provider's my/info or userinfo",
            identity_calls.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            upstream_errors,
            cache,
            identity_calls,
        }
    }
}

impl Metrics {
    pub fn identity_lookup(&self, result: &str) {
        self.cache_lookup("identity", result);
    }

    pub fn cache_lookup(&self, cache: &str, result: &str) {
        self.cache
            .get_or_create(&CacheLabels {
                cache: cache.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    pub fn identity_call(&self) {
        self.identity_calls.inc();
    }

    pub fn identity_calls(&self) -> u64 {
        self.identity_calls.get()
    }

    pub fn upstream_error(&self, tenant: &str, kind: &str) {
        self.upstream_errors
            .get_or_create(&UpstreamLabels {
                tenant: tenant.to_owned(),
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// What a request did, filled in by the handler as it learns it.
#[derive(Debug, Default, Clone)]
pub struct AuditFields {
    pub tenant: Option<String>,
    pub teacher: Option<String>,
    pub class: Option<String>,
    /// The student whose grade a write changes (an id, never a name).
    pub student: Option<String>,
    pub reason: Option<&'static str>,
    /// Set when the district did something other than what was asked: logged at error.
    pub alert: Option<&'static str>,
}

/// The request's audit record, shared between the middleware and the handler.
#[derive(Debug, Default)]
pub struct Audit(Mutex<AuditFields>);

impl Audit {
    pub fn update(&self, change: impl FnOnce(&mut AuditFields)) {
        if let Ok(mut fields) = self.0.lock() {
            change(&mut fields);
        }
    }

    fn snapshot(&self) -> AuditFields {
        self.0.lock().map(|f| f.clone()).unwrap_or_default()
    }
}

/// Past `max_in_flight` requests at once (across every route: the semaphore is one
/// for the instance), a request is answered 503 with `Retry-After` at once rather than
/// queued, so a load balancer can send it elsewhere. Health and metrics are never shed.
pub async fn shed(
    axum::extract::State(slots): axum::extract::State<std::sync::Arc<tokio::sync::Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.run(request).await;
    }
    match std::sync::Arc::clone(&slots).try_acquire_owned() {
        Ok(_slot) => {
            let response = next.run(request).await;
            if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                // The body limit answers in plain text; the app reads imsx.
                return crate::error::imsx(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "The request body is larger than the roster gateway accepts.",
                    "invalid_data",
                );
            }
            response
        }
        Err(_) => {
            let mut response = crate::error::imsx(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "The roster gateway is at capacity; try again in a moment.",
                "server_busy",
            );
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
            response
        }
    }
}

/// The method as a metrics label: the verbs the gateway knows, everything else one
/// bucket, so a client sending made-up methods cannot grow the series without bound.
pub fn known_method(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// What [`observe`] needs: where to count, and whose `X-Forwarded-For` to believe.
#[derive(Debug, Clone)]
pub struct Observer {
    pub metrics: std::sync::Arc<Metrics>,
    pub proxies: std::sync::Arc<crate::client_address::TrustedProxies>,
}

/// Counts, times and logs every request: one JSON line with the route template (never
/// the raw path, which can hold student ids), who, tenant, class and outcome. Decides
/// the request's [`ClientAddress`](crate::client_address::ClientAddress) first, so the
/// sign-in limit and the audit line agree on it.
pub async fn observe(
    axum::extract::State(Observer { metrics, proxies }): axum::extract::State<Observer>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = known_method(request.method());
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| proxies.client(c.0.ip(), request.headers()));
    if let Some(client) = client {
        request
            .extensions_mut()
            .insert(crate::client_address::ClientAddress(client));
    }
    let audit = std::sync::Arc::new(Audit::default());
    request
        .extensions_mut()
        .insert(std::sync::Arc::clone(&audit));
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method: method.to_owned(),
            status,
        })
        .inc();
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    if route != "/healthz" && route != "/readyz" && route != "/metrics" {
        let fields = audit.snapshot();
        let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let action = format!("{method} {route}");
        match fields.alert {
            Some(alert) => tracing::error!(
                target: "audit",
                tenant = fields.tenant.as_deref(),
                teacher = fields.teacher.as_deref(),
                class = fields.class.as_deref(),
                student = fields.student.as_deref(),
                client = client.map(tracing::field::display),
                action = %action,
                outcome = status,
                reason = fields.reason,
                alert,
                elapsed_ms,
                "request"
            ),
            None => tracing::info!(
                target: "audit",
                tenant = fields.tenant.as_deref(),
                teacher = fields.teacher.as_deref(),
                class = fields.class.as_deref(),
                student = fields.student.as_deref(),
                client = client.map(tracing::field::display),
                action = %action,
                outcome = status,
                reason = fields.reason,
                elapsed_ms,
                "request"
            ),
        }
    }
    response
}

/// The metrics listener (`metrics_listen`): `/metrics` and nothing else, so a scraper
/// on an internal network reaches the counters and teachers' port does not.
pub async fn serve_metrics(listener: tokio::net::TcpListener, metrics: std::sync::Arc<Metrics>) {
    async fn scrape(
        axum::extract::State(metrics): axum::extract::State<std::sync::Arc<Metrics>>,
    ) -> Response {
        use axum::response::IntoResponse as _;
        (
            [(
                axum::http::header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            metrics.encode(),
        )
            .into_response()
    }
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(metrics);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the metrics listener stopped");
    }
}
