//! The embedded demo district behind "Try the demo district": the sandbox (a
//! ClassLink-shaped provider and OneRoster server) and a roster gateway in front of it,
//! both in-process on fixed loopback ports, so the demo takes a real district's road
//! (app → gateway → OneRoster) and a saved demo session finds both after a restart.

use std::net::{Ipv4Addr, SocketAddr};

use rand::RngCore;
use rollbook_core::{AppPaths, CoreError, ProviderSettings, write_private};
use rollbook_gateway::{Config, Gateway};
use rollbook_sandbox::{Knobs, Sandbox, SandboxConfig};

/// The demo district's port (the standalone sandbox uses 47600).
pub const EMBEDDED_PORT: u16 = 47601;
pub const EMBEDDED_ISSUER: &str = "http://127.0.0.1:47601";
/// The roster gateway in front of it.
pub const EMBEDDED_GATEWAY_PORT: u16 = 47602;

/// A running in-process demo district and its roster gateway.
#[derive(Debug)]
pub struct EmbeddedDemo {
    sandbox: Sandbox,
    /// `None` while a test has taken the roster source down (`test-hooks` builds only).
    gateway: Option<Gateway>,
}

impl EmbeddedDemo {
    /// Starts both. The district's token key is kept in the per-user data folder
    /// (`demo-district.key`, mode 0600) so demo tokens stay valid across restarts; it
    /// signs tokens for the made-up district only and unlocks no real data. No
    /// test-control routes are mounted.
    pub async fn start(paths: &AppPaths) -> Result<Self, CoreError> {
        let failed = |e: String| CoreError::DemoFailed(e);
        let sandbox = Sandbox::start(SandboxConfig {
            port: EMBEDDED_PORT,
            token_key: Some(token_key(paths)?),
            test_controls: false,
            knobs: demo_knobs(),
            // What the teacher wrote to the demo district survives a restart of the
            // app, as it would in a real district.
            writes_file: Some(paths.data_dir.join("demo-district-writes.json")),
            ..SandboxConfig::default()
        })
        .await
        .map_err(|e| failed(e.to_string()))?;
        let gateway = start_gateway(&sandbox).await?;
        Ok(Self {
            sandbox,
            gateway: Some(gateway),
        })
    }

    /// Stops the roster gateway (the district's rosters and grades are unreachable) or
    /// starts it again on its port: the window's offline test.
    #[cfg(feature = "test-hooks")]
    pub async fn set_roster_online(&mut self, online: bool) -> Result<(), CoreError> {
        match (online, self.gateway.take()) {
            (true, None) => self.gateway = Some(start_gateway(&self.sandbox).await?),
            (false, Some(gateway)) => gateway.shutdown().await,
            (_, running) => self.gateway = running,
        }
        Ok(())
    }

    /// Settings that sign in to this demo district and read rosters through its gateway.
    pub fn settings(&self) -> ProviderSettings {
        ProviderSettings::demo(self.sandbox.issuer(), &gateway_url())
    }

    /// Stops the gateway, then the district.
    pub async fn stop(self) {
        if let Some(gateway) = self.gateway {
            gateway.shutdown().await;
        }
        self.sandbox.shutdown().await;
    }
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

fn gateway_address() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, EMBEDDED_GATEWAY_PORT))
}

fn gateway_url() -> String {
    format!("http://{}/ims/oneroster/v1p1", gateway_address())
}

async fn start_gateway(sandbox: &Sandbox) -> Result<Gateway, CoreError> {
    let failed = |e: String| CoreError::DemoFailed(e);
    let config = Config::for_demo_district(sandbox.issuer(), gateway_address())
        .map_err(|e| failed(e.to_string()))?;
    let gateway = Gateway::start(config)
        .await
        .map_err(|e| failed(e.to_string()))?;
    debug_assert_eq!(gateway.oneroster_url(), gateway_url());
    Ok(gateway)
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
