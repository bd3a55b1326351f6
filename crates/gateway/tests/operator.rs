//! The gateway as an operator meets it: the shipped binary's configuration errors and
//! `--check-config` summary, the metrics listener, and the steps in docs/gateway.md run
//! as written where they can be.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_rollbook-gateway");
const SECRET: &str = "operator-test-secret-value";

/// A configuration with two tenants, secrets in a file beside it.
fn good_config(dir: &Path) -> String {
    let secret = dir.join("secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    format!(
        r#"listen = "127.0.0.1:0"

[identity]
profile = "classlink"
classlink_api_url = "http://127.0.0.1:9/"

[[tenants]]
id = "2718"
name = "Maple Grove USD"
oneroster_url = "http://127.0.0.1:9/ims/oneroster/v1p1"
auth = {{ kind = "oauth1", client_id = "maple-client", client_secret = {{ file = "{secret}" }} }}

[[tenants]]
id = "3141"
oneroster_url = "http://127.0.0.1:9/ims/oneroster/v1p1"
auth = {{ kind = "bearer", token = {{ file = "{secret}" }} }}
creates = "refused"

[limits]
max_body_bytes = 65536
"#,
        secret = secret.display()
    )
}

fn check(dir: &Path, text: &str) -> (i32, String, String) {
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN)
        .args(["--config", path.to_str().unwrap(), "--check-config"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_bad_key_or_value_is_reported_by_its_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = good_config(dir.path());
    let cases = [
        // (change, the key named, the line)
        (
            good.replace("max_body_bytes = 65536", "max_body_bytes = \"64k\""),
            "`limits.max_body_bytes`: invalid type: string \"64k\"",
            "(line 20)",
        ),
        (
            good.replace("max_body_bytes = 65536", "max_body_byte = 65536"),
            "`limits.max_body_byte`: unknown field `max_body_byte`",
            "(line 20)",
        ),
        (
            good.replace("id = \"3141\"", "id = 3141"),
            "`tenants[1].id`: invalid type: integer `3141`, expected a string",
            "(line 14)",
        ),
        (
            good.replace("creates = \"refused\"", "creates = \"never\""),
            "`tenants[1].creates`: unknown variant `never`",
            "(line 17)",
        ),
        (
            good.replace("token = {", "tokn = {"),
            "`tenants[1].auth`: unknown field `tokn`, expected `token`",
            "(line 16)",
        ),
        (
            good.replace("profile = \"classlink\"", "profile = \"classlnk\""),
            "`identity.profile`: unknown variant `classlnk`",
            "(line 4)",
        ),
        (
            good.replace("listen = ", "lissen = "),
            "`lissen`: unknown field `lissen`",
            "(line 1)",
        ),
        (
            good.replace("\"127.0.0.1:0\"", "127.0.0.1:0"),
            "not valid TOML",
            "(line 1)",
        ),
    ];
    for (text, named, line) in cases {
        let (code, stdout, stderr) = check(dir.path(), &text);
        assert_eq!(code, 2, "{named}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: config_invalid: ") && first.contains(named),
            "expected {named}, got: {stderr}"
        );
        assert!(first.contains(line), "expected {line}, got: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
}

#[test]
fn check_config_prints_a_redacted_summary_for_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let text = good_config(dir.path()).replace(
        "listen = \"127.0.0.1:0\"",
        "listen = \"127.0.0.1:8080\"\nmetrics_listen = \"127.0.0.1:9464\"",
    );
    let (code, stdout, stderr) = check(dir.path(), &text);
    assert_eq!(code, 0, "{stderr}");
    println!("{stdout}");
    assert!(!stdout.contains(SECRET), "a secret printed: {stdout}");
    // Not Rust's Debug output: no struct names, braces or `Some(`.
    for debug in ["{", "Some(", "Secret(", "TenantConfig", "Duration"] {
        assert!(!stdout.contains(debug), "{debug} in: {stdout}");
    }
    for line in [
        "configuration OK",
        "listen          127.0.0.1:8080",
        "metrics         127.0.0.1:9464 (/metrics only there, not on the public port)",
        "identity        ClassLink, http://127.0.0.1:9/ (v2/my/info); a sign-in is trusted for 300 s",
        "tenants         2 listed",
        "  2718 (Maple Grove USD): http://127.0.0.1:9/ims/oneroster/v1p1",
        "    OAuth 1.0a, client id maple-client, secret [redacted]; creates checked",
        "  3141: http://127.0.0.1:9/ims/oneroster/v1p1",
        "    bearer token [redacted]; creates refused",
        "discovery       off (only the tenants listed)",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing line {line:?} in:\n{stdout}"
        );
    }
}

/// The binary started with `args`: its address (the first line) and its log lines so far.
struct Running {
    child: std::process::Child,
    address: SocketAddr,
    log: std::sync::mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let address = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .parse()
        .unwrap();
    let (send, log) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    Running {
        child,
        address,
        log,
    }
}

fn get(url: &str) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let r = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

#[test]
fn metrics_listen_moves_metrics_off_the_public_port() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");

    // Without it, /metrics is on the public port.
    std::fs::write(&path, good_config(dir.path())).unwrap();
    let plain = start(&["--config", path.to_str().unwrap()]);
    let (status, body) = get(&format!("http://{}/metrics", plain.address));
    assert_eq!(status, 200);
    assert!(
        body.contains("rollbook_gateway_identity_calls_total"),
        "{body}"
    );

    // With it, /metrics is only on its own listener, named in the start-up log line.
    std::fs::write(
        &path,
        good_config(dir.path()).replace(
            "listen = \"127.0.0.1:0\"",
            "listen = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"",
        ),
    )
    .unwrap();
    let moved = start(&["--config", path.to_str().unwrap()]);
    let started = moved
        .log
        .recv_timeout(Duration::from_secs(10))
        .expect("a start-up log line");
    let line: serde_json::Value = serde_json::from_str(&started).unwrap();
    let metrics: SocketAddr = line["fields"]["metrics_address"]
        .as_str()
        .unwrap_or_else(|| panic!("no metrics_address in {started}"))
        .parse()
        .unwrap();
    assert_ne!(metrics, moved.address);
    let (status, body) = get(&format!("http://{}/metrics", moved.address));
    assert_eq!(status, 404, "public /metrics: {body}");
    assert!(body.contains("imsx_codeMajor"), "{body}");
    let (status, _) = get(&format!("http://{}/healthz", moved.address));
    assert_eq!(status, 200);
    let (status, body) = get(&format!("http://{metrics}/metrics"));
    assert_eq!(status, 200);
    // The public port's requests are counted there, the 404 included.
    assert!(
        body.contains(
            "rollbook_gateway_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1"
        ),
        "{body}"
    );
    // Only /metrics on the metrics listener.
    let (status, _) = get(&format!("http://{metrics}/healthz"));
    assert_eq!(status, 404);

    // --metrics-listen does the same from the command line.
    std::fs::write(&path, good_config(dir.path())).unwrap();
    let flag = start(&[
        "--config",
        path.to_str().unwrap(),
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    let (status, _) = get(&format!("http://{}/metrics", flag.address));
    assert_eq!(status, 404);
}
