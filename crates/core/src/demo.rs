//! The demo district, embedded: what "Try the demo district" starts in-process, so a
//! fresh install works with no ClassLink account.

use rand::RngCore;
use rollbook_sandbox::{Sandbox, SandboxConfig};

use crate::paths::write_private;
use crate::{AppPaths, CoreError, ProviderSettings};

/// A running in-process demo district on a free loopback port.
#[derive(Debug)]
pub struct DemoDistrict {
    sandbox: Sandbox,
}

impl DemoDistrict {
    /// The port the app's embedded district always uses, so a saved demo session
    /// finds it again after a restart (the standalone sandbox uses 47600).
    pub const EMBEDDED_PORT: u16 = 47601;
    pub const EMBEDDED_ISSUER: &'static str = "http://127.0.0.1:47601";

    /// The app's demo district: on [`Self::EMBEDDED_PORT`], with its token key kept in
    /// the per-user data folder (`demo-district.key`, mode 0600), so demo tokens stay
    /// valid when the app restarts. The key signs tokens for the made-up district only;
    /// it is no secret of the teacher's and unlocks no real data.
    pub async fn start_embedded(paths: &AppPaths) -> Result<Self, CoreError> {
        let key_path = paths.data_dir.join("demo-district.key");
        let key = match std::fs::read(&key_path) {
            Ok(bytes) if bytes.len() == 32 => {
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                key
            }
            _ => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private(&key_path, &key)?;
                key
            }
        };
        Self::start_with(SandboxConfig {
            port: Self::EMBEDDED_PORT,
            token_key: Some(key),
            ..SandboxConfig::default()
        })
        .await
    }

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
