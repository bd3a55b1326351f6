//! The roster gateway (`rollbook-gateway`): holds a vendor's or district's OneRoster
//! credentials and serves each signed-in teacher only their own classes, their students,
//! line items and results, in OneRoster 1.1's own shapes so the app's `oneroster` client
//! reads it unchanged.
//!
//! - [`config`]: one typed configuration, secrets from files or the environment.
//! - [`identity`]: the teacher's bearer → tenant, OneRoster id and role (ClassLink's
//!   `/v2/my/info` or OIDC userinfo), cached by a hash of the token.
//! - [`tenants`] and [`upstream`]: each district's server with the gateway's own
//!   credentials (proxy bearer, OAuth 1.0a HMAC-SHA256, OAuth 2 client credentials).
//! - [`scope`]: the security boundary, one function per decision, deny by default.
//! - [`routes`]: one route per resource; everything else is refused.
//!
//! It keeps no state but short-lived caches, so any number of instances can sit behind
//! any load balancer. See docs/gateway.md.

mod bearer_json;
pub mod client_address;
pub mod config;
mod error;
mod fields;
pub mod identity;
pub mod ops;
pub mod routes;
pub mod scope;
mod serve;
mod strict_json;
mod teacher_slots;
pub mod tenants;
pub mod upstream;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt as _;

pub use config::{
    Config, ConfigError, Creates, IdentityConfig, Limits, Secret, TenantConfig, UpstreamAuth,
};
pub use routes::BASE_PATH;

use crate::identity::Identities;
use crate::ops::Metrics;
use crate::routes::Shared;
use crate::scope::Scopes;
use crate::tenants::Tenants;

/// The demo district's partner API key, as the sandbox publishes it (demo-only: it
/// opens nothing but the made-up district on 127.0.0.1; see docs/demo-district.md).
pub const DEMO_DEVELOPER_API_KEY: &str = "demo-developer-api-key-not-a-secret";

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("could not listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("could not set up HTTPS for upstream calls: {0}")]
    Http(String),
}

impl Config {
    /// A gateway for a running demo district at `url` (`http://127.0.0.1:{port}`): the
    /// ClassLink profile against its `/v2/my/info`, and its tenant discovered through its
    /// partner API with the published demo developer key.
    pub fn for_demo_district(url: &str, listen: SocketAddr) -> Result<Self, ConfigError> {
        let base = url.trim_end_matches('/');
        Ok(Self {
            listen,
            metrics_listen: None,
            trusted_proxies: config::TrustedProxies::default(),
            identity: IdentityConfig::ClassLink {
                api_url: config::https_url("demo-district", &format!("{base}/"))?,
                cache_ttl: Duration::from_secs(300),
            },
            tenants: Vec::new(),
            classlink_partner: Some(config::PartnerConfig {
                api_url: config::https_url("demo-district", &format!("{base}/"))?,
                developer_api_key: Secret::new(DEMO_DEVELOPER_API_KEY),
                refresh: Duration::from_secs(300),
            }),
            limits: Limits::default(),
        })
    }
}

/// A running gateway. Dropping it stops serving.
#[derive(Debug)]
pub struct Gateway {
    address: SocketAddr,
    metrics_address: Option<SocketAddr>,
    metrics: Arc<Metrics>,
    /// What answers requests now: swapped whole by [`Gateway::reload`].
    current: Arc<RwLock<Router>>,
    /// The addresses this instance was started with (a reload cannot move them).
    listening: (SocketAddr, Option<SocketAddr>),
    /// Tasks of the current configuration (tenant discovery, limiter sweeps).
    serving: Mutex<Vec<JoinHandle<()>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    metrics_task: Option<JoinHandle<()>>,
}

/// A configuration that cannot replace the running one; the running one stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("`{key}` cannot change without a restart (it is {running}; the file says {wanted})")]
    NeedsRestart {
        key: &'static str,
        running: String,
        wanted: String,
    },
    #[error("`classlink_partner`: the first tenant discovery with the new settings failed: {0}")]
    Discovery(String),
    #[error("could not set up HTTPS for upstream calls: {0}")]
    Http(String),
}

/// One configuration's whole request path, and the tasks it needs.
struct Built {
    router: Router,
    background: Vec<JoinHandle<()>>,
}

impl Gateway {
    /// Binds `config.listen`, loads the tenant list (a failed first discovery is retried
    /// in the background while `/readyz` says not ready), and serves.
    pub async fn start(config: Config) -> Result<Self, GatewayError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| GatewayError::Bind {
                    address: config.listen,
                    source,
                })?;
        Self::serve(listener, config).await
    }

    pub async fn serve(listener: TcpListener, config: Config) -> Result<Self, GatewayError> {
        let address = listener.local_addr().map_err(|source| GatewayError::Bind {
            address: config.listen,
            source,
        })?;
        let metrics_listener = match config.metrics_listen {
            Some(at) => Some(
                TcpListener::bind(at)
                    .await
                    .map_err(|source| GatewayError::Bind {
                        address: at,
                        source,
                    })?,
            ),
            None => None,
        };
        let metrics_address = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
        let metrics = Arc::new(Metrics::default());
        let built = build(&config, &metrics, metrics_address.is_none(), false)
            .await
            .map_err(|e| GatewayError::Http(e.to_string()))?;
        let metrics_task = metrics_listener
            .map(|listener| tokio::spawn(ops::serve_metrics(listener, Arc::clone(&metrics))));
        let current = Arc::new(RwLock::new(built.router));
        let dispatch = {
            let current = Arc::clone(&current);
            tower::service_fn(move |request: axum::extract::Request| {
                // A poisoned lock still holds a whole router: a panic cannot leave half of one.
                let router = current
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                router.oneshot(request)
            })
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let connections = serve::ConnectionLimits {
            max_connections: config.limits.max_in_flight.saturating_mul(2),
            header_read_timeout: Duration::from_secs(config.limits.header_read_timeout_seconds),
        };
        let task = tokio::spawn(async move {
            let app = Router::new().fallback_service(dispatch);
            serve::serve(listener, app, connections, async {
                let _ = stopped.await;
            })
            .await;
        });
        Ok(Self {
            address,
            metrics_address,
            metrics,
            current,
            listening: (config.listen, config.metrics_listen),
            serving: Mutex::new(built.background),
            stop: Some(stop),
            task: Some(task),
            metrics_task,
        })
    }

    /// Serves `config` from the next request on: new secrets, tenants, identity settings,
    /// limits and trusted proxies. Requests in flight finish with the configuration they
    /// started with; caches start empty, as after a restart. The listening addresses
    /// cannot change here; a configuration that moves them, or whose first tenant
    /// discovery fails, is refused and the running one kept.
    pub async fn reload(&self, config: Config) -> Result<(), ReloadError> {
        let (listen, metrics_listen) = self.listening;
        if config.listen != listen {
            return Err(ReloadError::NeedsRestart {
                key: "listen",
                running: listen.to_string(),
                wanted: config.listen.to_string(),
            });
        }
        if config.metrics_listen != metrics_listen {
            let shown =
                |a: Option<SocketAddr>| a.map_or_else(|| "unset".to_owned(), |a| a.to_string());
            return Err(ReloadError::NeedsRestart {
                key: "metrics_listen",
                running: shown(metrics_listen),
                wanted: shown(config.metrics_listen),
            });
        }
        let built = build(&config, &self.metrics, self.metrics_address.is_none(), true).await?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = built.router;
        let old = std::mem::replace(
            &mut *self
                .serving
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            built.background,
        );
        for task in old {
            task.abort();
        }
        Ok(())
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `/metrics` is served when `metrics_listen` is set (on the public address
    /// otherwise).
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// The OneRoster 1.1 base the app uses: `http://{address}/ims/oneroster/v1p1`.
    pub fn oneroster_url(&self) -> String {
        format!("http://{}{BASE_PATH}", self.address)
    }

    /// Calls made to the provider's my/info or userinfo so far (benchmarks, tests).
    pub fn identity_calls(&self) -> u64 {
        self.metrics.identity_calls()
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Ok(tasks) = self.serving.get_mut() {
            for task in tasks.iter() {
                task.abort();
            }
        }
        if let Some(task) = &self.metrics_task {
            task.abort();
        }
    }
}

/// Everything one configuration serves with. `strict`: a failed first tenant discovery
/// is an error (a reload keeps the running configuration) rather than retried in the
/// background (a start, which has nothing else to serve).
async fn build(
    config: &Config,
    metrics: &Arc<Metrics>,
    with_metrics: bool,
    strict: bool,
) -> Result<Built, ReloadError> {
    let limits = config.limits.clone();
    for warning in config.trusted_proxies.too_broad() {
        tracing::warn!("{warning}");
    }
    let http = reqwest::Client::builder()
        // A redirect would carry the gateway's credentials elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(limits.upstream_timeout_seconds))
        .pool_max_idle_per_host(256)
        .user_agent(concat!("rollbook-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ReloadError::Http(e.to_string()))?;
    let tenants = Arc::new(Tenants::new(
        http.clone(),
        limits.clone(),
        &config.tenants,
        config.classlink_partner.clone(),
    ));
    let mut background = Vec::new();
    if tenants.partner().is_some() {
        if let Err(e) = tenants.refresh().await {
            if strict {
                return Err(ReloadError::Discovery(e.to_string()));
            }
            tracing::warn!(error = %e, "the first tenant discovery failed; retrying in the background");
        }
        background.push(tokio::spawn(tenants::keep_refreshing(Arc::clone(&tenants))));
    }
    let per_minute =
        NonZeroU32::new(limits.requests_per_minute_per_teacher).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new((limits.requests_per_minute_per_teacher / 5).max(1))
        .unwrap_or(NonZeroU32::MIN);
    let shared = Arc::new(Shared {
        identities: Identities::new(config.identity.clone(), http, Arc::clone(metrics)),
        tenants,
        scopes: Scopes::new(
            Duration::from_secs(limits.scope_ttl_seconds.max(1)),
            Arc::clone(metrics),
        ),
        metrics: Arc::clone(metrics),
        limiter: governor::RateLimiter::keyed(
            governor::Quota::per_minute(per_minute).allow_burst(burst),
        ),
        teacher_slots: teacher_slots::TeacherSlots::new(limits.max_in_flight_per_teacher),
        lookups_per_address: NonZeroU32::new(limits.identity_lookups_per_minute_per_address).map(
            |per_minute| {
                let burst =
                    NonZeroU32::new((per_minute.get() / 4).max(1)).unwrap_or(NonZeroU32::MIN);
                governor::RateLimiter::keyed(
                    governor::Quota::per_minute(per_minute).allow_burst(burst),
                )
            },
        ),
    });
    let sweeper = Arc::clone(&shared);
    background.push(tokio::spawn(async move {
        loop {
            tokio::time::sleep(routes::LIMITER_SWEEP).await;
            sweeper.limiter.retain_recent();
            if let Some(l) = &sweeper.lookups_per_address {
                l.retain_recent();
            }
        }
    }));
    let router = router(
        shared,
        &limits,
        Arc::new(config.trusted_proxies.clone()),
        with_metrics,
    );
    Ok(Built { router, background })
}

/// The whole surface, with the cross-cutting limits as layers. `/metrics` is left out
/// when it has a listener of its own.
fn router(
    shared: Arc<Shared>,
    limits: &Limits,
    proxies: Arc<config::TrustedProxies>,
    with_metrics: bool,
) -> Router {
    use tower_http::limit::RequestBodyLimitLayer;
    use tower_http::timeout::TimeoutLayer;
    let metrics = Arc::clone(&shared.metrics);
    let mut public = Router::new()
        .merge(routes::roster_routes())
        .route("/healthz", get(routes::health))
        .route("/readyz", get(routes::ready));
    if with_metrics {
        public = public.route("/metrics", get(routes::metrics));
    }
    public
        .fallback(|| async {
            error::imsx(
                axum::http::StatusCode::NOT_FOUND,
                "Not a roster gateway address; OneRoster lives under /ims/oneroster/v1p1.",
                "unknownobject",
            )
        })
        .with_state(shared)
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            Duration::from_secs(limits.request_timeout_seconds),
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(tokio::sync::Semaphore::new(limits.max_in_flight)),
            ops::shed,
        ))
        .layer(axum::middleware::from_fn_with_state(
            ops::Observer { metrics, proxies },
            ops::observe,
        ))
}
