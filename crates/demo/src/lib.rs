//! The demo district as Rollbook meets it: the made-up district (`rollbook-sandbox`'s
//! provider and OneRoster server) with a roster gateway in front of it, so the demo takes
//! a real district's road (app → gateway → OneRoster). The window's "Try the demo
//! district", the `rollbook-sandbox` binary and the tests start it from here; the
//! district itself (crates/sandbox) knows nothing of the gateway.
//!
//! For demos and tests only: nothing a teacher's real session uses links this crate.

use std::net::SocketAddr;

use rollbook_error_code::ErrorCode;
use rollbook_gateway::{Config, Gateway};
use rollbook_sandbox::{Sandbox, SandboxConfig};
use tokio::net::TcpListener;

/// Why the demo district or its gateway did not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    District(#[source] rollbook_sandbox::SandboxError),
    #[error("could not listen on {address}: {source}")]
    GatewayBind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Gateway(String),
}

impl DemoError {
    /// `sandbox_failed` for the district, `gateway_failed` for the gateway.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::District(_) => ErrorCode::SandboxFailed,
            Self::GatewayBind { .. } | Self::Gateway(_) => ErrorCode::GatewayFailed,
        }
    }
}

/// A running demo district and, unless started without one, the roster gateway in front
/// of it. [`DemoDistrict::stop`] stops both; dropping it stops them too.
#[derive(Debug)]
pub struct DemoDistrict {
    district: Sandbox,
    /// `None` while the gateway is down ([`DemoDistrict::set_roster_online`]).
    gateway: Option<Gateway>,
    /// Where the gateway listens (kept while it is down, so it comes back there).
    gateway_address: Option<SocketAddr>,
}

impl std::ops::Deref for DemoDistrict {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.district
    }
}

impl DemoDistrict {
    /// Starts the district from `district` and a gateway on `gateway` (port 0 picks a
    /// free one), or none. The gateway's address is bound first, so the district's
    /// `/.well-known/rollbook-demo` names it from the first request on.
    pub async fn start(
        mut district: SandboxConfig,
        gateway: Option<SocketAddr>,
    ) -> Result<Self, DemoError> {
        let gateway = match gateway {
            Some(address) => {
                let bind_failed = |source| DemoError::GatewayBind { address, source };
                let listener = TcpListener::bind(address).await.map_err(bind_failed)?;
                let bound = listener.local_addr().map_err(bind_failed)?;
                Some((listener, bound))
            }
            None => None,
        };
        let gateway_address = gateway.as_ref().map(|(_, bound)| *bound);
        district.roster_gateway_url = gateway_address.map(oneroster_url);
        let district = Sandbox::start(district)
            .await
            .map_err(DemoError::District)?;
        let gateway = match gateway {
            Some((listener, address)) => {
                let config = gateway_config(&district, address)?;
                Some(
                    Gateway::serve(listener, config)
                        .await
                        .map_err(|e| DemoError::Gateway(e.to_string()))?,
                )
            }
            None => None,
        };
        Ok(Self {
            district,
            gateway,
            gateway_address,
        })
    }

    /// The district's server (its issuer, data and test controls; also through `Deref`).
    pub fn sandbox(&self) -> &Sandbox {
        &self.district
    }

    /// The gateway's OneRoster base, where the app reads rosters; `None` without one.
    pub fn gateway_url(&self) -> Option<String> {
        self.gateway_address.map(oneroster_url)
    }

    /// Stops the roster gateway (the district's rosters and grades are unreachable: the
    /// app is "offline") or starts it again on its address.
    pub async fn set_roster_online(&mut self, online: bool) -> Result<(), DemoError> {
        match (online, self.gateway.take(), self.gateway_address) {
            (true, None, Some(address)) => {
                let config = gateway_config(&self.district, address)?;
                self.gateway = Some(
                    Gateway::start(config)
                        .await
                        .map_err(|e| DemoError::Gateway(e.to_string()))?,
                );
            }
            (false, Some(gateway), _) => gateway.shutdown().await,
            (_, running, _) => self.gateway = running,
        }
        Ok(())
    }

    /// Stops the gateway, then the district.
    pub async fn stop(self) {
        if let Some(gateway) = self.gateway {
            gateway.shutdown().await;
        }
        self.district.shutdown().await;
    }
}

fn gateway_config(district: &Sandbox, address: SocketAddr) -> Result<Config, DemoError> {
    Config::for_demo_district(district.issuer(), address)
        .map_err(|e| DemoError::Gateway(e.to_string()))
}

fn oneroster_url(address: SocketAddr) -> String {
    format!("http://{address}{}", rollbook_gateway::BASE_PATH)
}
