//! The embedded demo district behind "Try the demo district": crates/demo's district and
//! roster gateway, in-process on fixed loopback ports, so a saved demo session finds
//! both after a restart. Core starts it before it uses a session that signs in here
//! ([`rollbook_core::LocalDistrict`]); the shell starts it for a demo sign-in and stops
//! it when the teacher leaves the demo.

use std::net::{Ipv4Addr, SocketAddr};

use rand::RngCore;
use rollbook_core::{AppPaths, CoreError, LocalDistrict, ProviderSettings, write_private};
use rollbook_demo::DemoDistrict;
use rollbook_sandbox::{Knobs, SandboxConfig};

/// The demo district's port (the standalone `rollbook-sandbox` uses 47600).
pub const EMBEDDED_PORT: u16 = 47601;
pub const EMBEDDED_ISSUER: &str = "http://127.0.0.1:47601";
/// The roster gateway in front of it.
pub const EMBEDDED_GATEWAY_PORT: u16 = 47602;

/// The window's demo district, running or not.
#[derive(Debug)]
pub struct EmbeddedDemo {
    paths: AppPaths,
    running: tokio::sync::Mutex<Option<DemoDistrict>>,
}

impl EmbeddedDemo {
    pub fn new(paths: AppPaths) -> Self {
        Self {
            paths,
            running: tokio::sync::Mutex::new(None),
        }
    }

    /// Starts the district and its gateway unless they run; settings that sign in to it
    /// and read rosters through the gateway.
    pub async fn settings(&self) -> Result<ProviderSettings, CoreError> {
        let mut running = self.running.lock().await;
        let demo = match running.take() {
            Some(demo) => demo,
            None => start(&self.paths).await?,
        };
        // Started with a gateway, so it has one; settings without it would read nothing.
        let settings = demo
            .gateway_url()
            .map(|gateway_url| ProviderSettings::demo(demo.issuer(), &gateway_url));
        *running = Some(demo);
        settings.ok_or_else(|| CoreError::DemoFailed("the demo district has no gateway".into()))
    }

    /// Stops the gateway, then the district, if they run; whether they did.
    pub async fn stop(&self) -> bool {
        let running = self.running.lock().await.take();
        match running {
            Some(demo) => {
                demo.stop().await;
                true
            }
            None => false,
        }
    }

    /// Stops the roster gateway (the district's rosters and grades are unreachable) or
    /// starts it again on its port: the window's offline test.
    #[cfg(feature = "test-hooks")]
    pub async fn set_roster_online(&self, online: bool) -> Result<(), CoreError> {
        match self.running.lock().await.as_mut() {
            Some(demo) => demo
                .set_roster_online(online)
                .await
                .map_err(|e| CoreError::DemoFailed(e.to_string())),
            None => Err(CoreError::DemoFailed(
                "the demo district is not running".into(),
            )),
        }
    }
}

impl LocalDistrict for EmbeddedDemo {
    fn issuer(&self) -> &str {
        EMBEDDED_ISSUER
    }

    fn start(&self) -> rollbook_core::Starting<'_> {
        Box::pin(async { self.settings().await.map(|_| ()) })
    }
}

/// Starts both. The district's token key is kept in the per-user data folder
/// (`demo-district.key`, mode 0600) so demo tokens stay valid across restarts; it signs
/// tokens for the made-up district only and unlocks no real data. No test-control
/// routes are mounted.
async fn start(paths: &AppPaths) -> Result<DemoDistrict, CoreError> {
    let district = SandboxConfig {
        port: EMBEDDED_PORT,
        token_key: Some(token_key(paths)?),
        test_controls: false,
        knobs: demo_knobs(),
        // What the teacher wrote to the demo district survives a restart of the app, as
        // it would in a real district.
        writes_file: Some(paths.data_dir.join("demo-district-writes.json")),
        ..SandboxConfig::default()
    };
    let gateway = SocketAddr::from((Ipv4Addr::LOCALHOST, EMBEDDED_GATEWAY_PORT));
    let demo = DemoDistrict::start(district, Some(gateway))
        .await
        .map_err(|e| CoreError::DemoFailed(e.to_string()))?;
    tracing::info!("the demo district started");
    Ok(demo)
}

/// The demo district as it is, except in test builds, where
/// `ROLLBOOK_TEST_DEMO_LATENCY_MS` makes its roster API answer that much later (the
/// window benchmark's "district far away": what a warm start from the store is for).
fn demo_knobs() -> Knobs {
    #[allow(unused_mut)]
    let mut knobs = Knobs::default();
    #[cfg(feature = "test-hooks")]
    if let Some(ms) = std::env::var("ROLLBOOK_TEST_DEMO_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        knobs.faults.latency_ms = ms;
    }
    knobs
}

fn token_key(paths: &AppPaths) -> Result<[u8; 32], CoreError> {
    let path = paths.data_dir.join("demo-district.key");
    if let Ok(bytes) = std::fs::read(&path)
        && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return Ok(key);
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    write_private(&path, &key)?;
    Ok(key)
}
