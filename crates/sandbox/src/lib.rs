//! The demo district: a ClassLink-shaped OpenID provider and a OneRoster 1.1 server
//! over generated data, for demos and tests only. It listens on loopback only, keeps
//! everything in memory (except the gradebook writes, in a file when given one), and
//! never logs a token or a student record.
//!
//! Embed it with [`Sandbox::start`]. The `rollbook-sandbox` binary, and the window's
//! "Try the demo district", start it with a roster gateway in front (crates/demo); this
//! crate depends on no Rollbook product crate.

// Handlers return early with a ready `Response` as their error; boxing them would only
// add noise to a test server.
#![allow(clippy::result_large_err)]

mod config;
mod dice;
pub mod district;
mod faults;
mod keys;
mod oidc;
mod pages;
mod partner;
mod query;
mod roster;
mod state;
mod writes;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    DEFAULT_PORT, DEMO_CLIENT_ID, Faults, Knobs, Quirks, RosterAccess, SCHEME_REDIRECT_URI,
    SandboxConfig, TokenPolicy, demo_credentials,
};
pub use district::{District, Size};

use state::State;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("key generation failed: {0}")]
    Crypto(String),
    #[error("bad configuration: {0}")]
    Config(String),
}

/// A running demo district. Dropping it stops the server.
#[derive(Debug)]
pub struct Sandbox {
    state: Arc<State>,
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Generates the data and starts serving on `127.0.0.1:{config.port}`.
    pub async fn start(config: SandboxConfig) -> Result<Self, SandboxError> {
        let today = match &config.today {
            Some(day) => parse_day(day)?,
            None => time::OffsetDateTime::now_utc().date(),
        };
        let district = District::generate(config.seed, config.size, today);
        Self::serve_with(district, config).await
    }

    /// Serves an already generated district (benchmarks reuse one), with test controls.
    pub async fn serve(district: District, port: u16, knobs: Knobs) -> Result<Self, SandboxError> {
        let config = SandboxConfig {
            port,
            knobs,
            test_controls: true,
            ..SandboxConfig::default()
        };
        Self::serve_with(district, config).await
    }

    async fn serve_with(district: District, config: SandboxConfig) -> Result<Self, SandboxError> {
        let SandboxConfig {
            port,
            knobs,
            token_key,
            tenant_id,
            test_controls,
            roster_gateway_url,
            public_url,
            writes_file,
            seed,
            size,
            ..
        } = config;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|source| SandboxError::Bind { port, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { port, source })?;
        let issuer = public_url
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{address}"));
        let state = Arc::new(State::new(
            Arc::new(district),
            issuer,
            knobs,
            token_key,
            tenant_id,
        )?);
        if let Some(file) = writes_file {
            let district = format!("seed {seed}, size {size:?}, tenant {tenant_id}");
            let kept = writes::Written::kept_in(file.clone(), district).map_err(|e| {
                SandboxError::Config(format!(
                    "the district's writes in {} cannot be read: {e}",
                    file.display()
                ))
            })?;
            if let Ok(mut writes) = state.writes.write() {
                *writes = kept;
            }
        }
        if let Ok(mut gateway) = state.roster_gateway.write() {
            *gateway = roster_gateway_url;
        }
        let app = router(Arc::clone(&state), test_controls);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        tracing::info!(issuer = %state.issuer, "demo district listening (for demos and tests only)");
        Ok(Self {
            state,
            address,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The issuer, `http://127.0.0.1:{port}`; also the ClassLink API base.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The OneRoster 1.1 base URL.
    pub fn oneroster_url(&self) -> String {
        format!("{}{}", self.state.issuer, roster::BASE_PATH)
    }

    pub fn district(&self) -> &District {
        &self.state.district
    }

    pub fn knobs(&self) -> Knobs {
        self.state.knobs()
    }

    pub fn set_knobs(&self, knobs: Knobs) {
        self.state.set_knobs(knobs);
    }

    pub fn update_knobs(&self, change: impl FnOnce(&mut Knobs)) {
        let mut knobs = self.knobs();
        change(&mut knobs);
        self.set_knobs(knobs);
    }

    /// Signs with a new key from now on; the previous one stays in the JWKS.
    pub fn rotate_keys(&self) -> Result<(), SandboxError> {
        self.state.rotate_keys()
    }

    /// Refuses every access token issued so far; refresh tokens stay valid.
    pub fn revoke_all_access_tokens(&self) {
        self.state.revoke_all_access_tokens();
    }

    /// An access token for `login` (a staff sourcedId, username or email) with
    /// `scopes`, without the browser dance: for tests and benchmarks of the roster API.
    /// `None` for an unknown login.
    pub fn issue_access_token(&self, login: &str, scopes: &[&str]) -> Option<String> {
        let staff = self.state.district.staff_by_login(login)?;
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let lifetime = std::time::Duration::from_secs(self.knobs().tokens.access_token_seconds);
        Some(self.state.issue_access_token(staff, &scopes, lifetime))
    }

    /// A student's access token, for tests that show students are refused roster data.
    pub fn issue_student_access_token(&self, login: &str) -> Option<String> {
        let student = self
            .state
            .district
            .students
            .iter()
            .position(|p| p.id == login || p.username == login || p.email == login)?;
        let lifetime = std::time::Duration::from_secs(self.knobs().tokens.access_token_seconds);
        Some(self.state.issue_student_access_token(student, lifetime))
    }

    /// Marks a user's record `tobedeleted` from now on, as a district does when a teacher
    /// leaves (their sign-in may stay valid for a while).
    pub fn deactivate_user(&self, sourced_id: &str) {
        if let Ok(mut inactive) = self.state.inactive_users.write() {
            inactive.push(sourced_id.to_owned());
        }
    }

    /// ClassLink's `TenantId` of this district.
    pub fn tenant_id(&self) -> u64 {
        self.state.tenant_id
    }

    /// Where the roster gateway in front of this district listens (its OneRoster base),
    /// published at `/.well-known/rollbook-demo` for `rollbook login --demo`.
    pub fn set_roster_gateway(&self, oneroster_url: Option<String>) {
        if let Ok(mut gateway) = self.state.roster_gateway.write() {
            *gateway = oneroster_url;
        }
    }

    /// Request counts by endpoint (`authorize`, `token`, `roster`, `roster_429`, …).
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.state.stats.snapshot()
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(state: Arc<State>, test_controls: bool) -> Router {
    let mut router = Router::new()
        .merge(oidc::routes())
        .merge(roster::routes(Arc::clone(&state)))
        .merge(partner::routes());
    if test_controls {
        router = router.merge(state::admin_routes());
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            faults::latency,
        ))
        .with_state(state)
}

fn parse_day(day: &str) -> Result<time::Date, SandboxError> {
    let bad = || SandboxError::Config(format!("`{day}` is not a YYYY-MM-DD date"));
    let mut parts = day.splitn(3, '-').map(str::parse::<i32>);
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let month = time::Month::try_from(u8::try_from(m).map_err(|_| bad())?).map_err(|_| bad())?;
    time::Date::from_calendar_date(y, month, u8::try_from(d).map_err(|_| bad())?).map_err(|_| bad())
}
