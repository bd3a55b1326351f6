//! The demo district as the `rollbook` command meets it: the district's OneRoster API
//! behind a roster gateway (holding the demo application's credentials), published at
//! `/.well-known/rollbook-demo`, as crates/demo starts it for the window and the
//! standalone `rollbook-sandbox`.

use rollbook_demo::DemoDistrict;
use rollbook_sandbox::{Knobs, Sandbox, SandboxConfig, Size};

use super::{Home, Run, test_browser_bin};

/// The district and its gateway; `set_roster_online(false)` takes the gateway down
/// (the app is "offline").
pub type Demo = DemoDistrict;

pub async fn district(knobs: Knobs) -> Demo {
    DemoDistrict::start(config(knobs), Some("127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap()
}

/// A district whose OneRoster API takes the teacher's own token, and no gateway.
pub async fn direct_district(mut knobs: Knobs) -> Sandbox {
    knobs.access.accept_teacher_tokens = true;
    start(knobs).await
}

async fn start(knobs: Knobs) -> Sandbox {
    Sandbox::start(config(knobs)).await.unwrap()
}

fn config(knobs: Knobs) -> SandboxConfig {
    SandboxConfig {
        seed: 5,
        size: Size::School,
        knobs,
        ..SandboxConfig::default()
    }
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
