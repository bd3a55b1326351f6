//! Harness for the `rollbook` command's tests: isolated homes, the real certified OP
//! (node oidc-provider), the misbehaving fake OP, and the scripted test browser.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

pub mod demo;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn rollbook_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rollbook"))
}

/// The scripted browser from the fake-op package, built on demand.
pub fn test_browser_bin() -> PathBuf {
    rollbook_fake_op::test_browser_bin(&rollbook_bin()).unwrap()
}

/// One user's computer: its own home, config and data folders.
#[derive(Debug)]
pub struct Home {
    pub dir: tempfile::TempDir,
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    pub fn error_code(&self) -> Option<&str> {
        self.stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .and_then(|l| l.split(':').next())
    }
}

impl Home {
    pub fn new() -> Self {
        assert!(
            std::env::var_os("ROLLBOOK_KEYCHAIN_SERVICE").is_some(),
            "these tests use the real keychain: run them through scripts/test.sh (a private D-Bus session)"
        );
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(rollbook_bin());
        let root = self.dir.path();
        command
            .args(args)
            .env("HOME", root)
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("ROLLBOOK_LOG", "trace")
            .env_remove("ROLLBOOK_BROWSER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// The folders the `rollbook` command uses under this home (XDG on Linux), for a
    /// core `Account` in the test process that shares them, as the window would.
    pub fn app_paths(&self) -> rollbook_core::AppPaths {
        let root = self.dir.path();
        rollbook_core::AppPaths {
            config_dir: root.join("config").join("rollbook"),
            data_dir: root.join("data").join("rollbook"),
        }
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        let child = self.command(args).spawn().unwrap();
        finish(child).await
    }

    /// `rollbook login` with the scripted browser.
    pub async fn login(&self, issuer: &str, client_id: &str, extra: &[&str]) -> Run {
        let browser = test_browser_bin();
        let mut args = vec![
            "login",
            "--issuer",
            issuer,
            "--client-id",
            client_id,
            "--json",
            "--timeout",
            "20",
        ];
        let browser_arg = browser.display().to_string();
        if !extra.contains(&"--browser-command") {
            args.extend(["--browser-command", &browser_arg]);
        }
        args.extend(extra);
        self.run(&args).await
    }

    /// Every file under this home, as text, for hygiene greps.
    pub fn all_file_contents(&self) -> String {
        let mut out = String::new();
        let mut stack = vec![self.dir.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
        }
        out
    }
}

pub async fn finish(child: Child) -> Run {
    let output = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("rollbook did not finish in 90 s")
        .unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    if std::env::var_os("ROLLBOOK_TEST_VERBOSE").is_some() {
        eprintln!("--- exit {}\n{}\n{}", run.code, run.stdout, run.stderr);
    }
    run
}

/// The certified OpenID provider (node oidc-provider), on an ephemeral port.
#[derive(Debug)]
pub struct CertifiedOp {
    child: Child,
    pub issuer: String,
    pub client_id: String,
}

impl CertifiedOp {
    pub async fn start(access_token_ttl: u64) -> Self {
        let dir = workspace_root().join("tests/op");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "run `npm ci --prefix tests/op` first (the README's test command does)"
        );
        let mut child = Command::new("node")
            .arg("op.mjs")
            .args([
                "--port",
                "0",
                "--access-token-ttl",
                &access_token_ttl.to_string(),
            ])
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node must be installed");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
                    return value;
                }
            }
            panic!("oidc-provider exited before it was ready");
        })
        .await
        .expect("oidc-provider did not start in 30 s");
        // Keep draining its stdout: a closed pipe would kill node on its next write.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            issuer: ready["issuer"].as_str().unwrap().to_owned(),
            client_id: ready["client_id"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn stats(&self) -> serde_json::Value {
        reqwest::get(format!("{}/__admin/stats", self.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn rotate_keys(&self) {
        let response = reqwest::Client::new()
            .post(format!("{}/__admin/rotate-keys", self.issuer))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

impl Drop for CertifiedOp {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The keychain entry a test's session lives in, read with `secret-tool`.
pub fn keychain_entries(service: &str) -> String {
    let output = std::process::Command::new("secret-tool")
        .args(["search", "--all", "--unlock", "service", service])
        .output()
        .expect("secret-tool (libsecret-tools) must be installed");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn keychain_service() -> String {
    std::env::var("ROLLBOOK_KEYCHAIN_SERVICE").unwrap_or_else(|_| "org.rollbook.desktop".into())
}
