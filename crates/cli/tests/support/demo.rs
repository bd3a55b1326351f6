//! The demo district as the `rollbook` command meets it: the district's OneRoster API
//! behind a roster gateway (holding the demo application's credentials), published at
//! `/.well-known/rollbook-demo` as the standalone `rollbook-sandbox` does.

use std::net::SocketAddr;

use rollbook_gateway::{Config, Gateway};
use rollbook_sandbox::{Knobs, Sandbox, SandboxConfig, Size};

use super::{Home, Run, test_browser_bin};

pub struct Demo {
    pub sandbox: Sandbox,
    gateway: Option<Gateway>,
    gateway_address: SocketAddr,
}

impl std::ops::Deref for Demo {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Demo {
    /// Stops the roster gateway: the district is unreachable for the app ("offline").
    pub async fn stop_gateway(&mut self) {
        if let Some(gateway) = self.gateway.take() {
            gateway.shutdown().await;
        }
    }

    /// Starts it again on the same address.
    pub async fn start_gateway(&mut self) {
        let config =
            Config::for_demo_district(self.sandbox.issuer(), self.gateway_address).unwrap();
        self.gateway = Some(Gateway::start(config).await.unwrap());
    }
}

pub async fn district(knobs: Knobs) -> Demo {
    let sandbox = start(knobs).await;
    let config =
        Config::for_demo_district(sandbox.issuer(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let gateway = Gateway::start(config).await.unwrap();
    sandbox.set_roster_gateway(Some(gateway.oneroster_url()));
    Demo {
        sandbox,
        gateway_address: gateway.address(),
        gateway: Some(gateway),
    }
}

/// A district whose OneRoster API takes the teacher's own token, and no gateway.
pub async fn direct_district(mut knobs: Knobs) -> Sandbox {
    knobs.access.accept_teacher_tokens = true;
    start(knobs).await
}

async fn start(knobs: Knobs) -> Sandbox {
    Sandbox::start(SandboxConfig {
        seed: 5,
        size: Size::School,
        knobs,
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

/// `rollbook login` as `teacher` with the scripted browser, plus `extra` flags.
pub async fn login(home: &Home, teacher: &str, extra: &[&str]) -> Run {
    let browser = format!("{} --login {teacher}", test_browser_bin().display());
    let mut args = vec![
        "login",
        "--json",
        "--timeout",
        "20",
        "--browser-command",
        &browser,
    ];
    args.extend(extra);
    let run = home.run(&args).await;
    assert_eq!(run.code, 0, "login failed: {}", run.stderr);
    run
}

pub async fn login_demo(home: &Home, sandbox: &Sandbox, teacher: &str) {
    login(home, teacher, &["--demo", "--demo-url", sandbox.issuer()]).await;
}
