//! The demo district, embedded: what "Try the demo district" starts in-process, so a
//! fresh install works with no ClassLink account.

use rollbook_sandbox::{Sandbox, SandboxConfig};

use crate::{CoreError, ProviderSettings};

/// A running in-process demo district on a free loopback port.
#[derive(Debug)]
pub struct DemoDistrict {
    sandbox: Sandbox,
}

impl DemoDistrict {
    /// Starts the default demo district (one teacher, five classes). Its data is the
    /// same every time; its tokens live only as long as this value.
    pub async fn start() -> Result<Self, CoreError> {
        Self::start_with(SandboxConfig::default()).await
    }

    pub async fn start_with(config: SandboxConfig) -> Result<Self, CoreError> {
        let sandbox = Sandbox::start(config)
            .await
            .map_err(|e| CoreError::DemoFailed(e.to_string()))?;
        Ok(Self { sandbox })
    }

    /// Settings that sign in to this demo district.
    pub fn settings(&self) -> ProviderSettings {
        ProviderSettings::demo(self.sandbox.issuer())
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }
}
