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

#[path = "support/doc.rs"]
mod doc;
use doc::{doc_block, substitute};

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

/// The code block after `<!-- doc-test: NAME -->` in docs/gateway.md.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn repository() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// docs/gateway.md's trial, as written: the demo district, the gateway in front of it,
/// and the smoke test; only the ports are changed to free ones.
#[test]
fn the_docs_trial_and_smoke_test_run_as_written() {
    for tool in ["curl", "jq", "openssl"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .unwrap()
                .status
                .success(),
            "{tool} is not installed (scripts/setup.sh installs it)"
        );
    }
    // The district's binary, beside the gateway's.
    let built = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "-q",
            "-p",
            "rollbook-demo",
            "--bin",
            "rollbook-sandbox",
        ])
        .current_dir(repository())
        .status()
        .unwrap();
    assert!(built.success());
    let bin_dir = Path::new(BIN).parent().unwrap();
    let block = doc_block("trial");
    let script = substitute(
        &substitute(&block, "47600", &free_port().to_string()),
        "127.0.0.1:8080",
        &format!("127.0.0.1:{}", free_port()),
    );
    let logs = tempfile::tempdir().unwrap();
    let mut shell = Command::new("bash");
    shell
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(repository())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        // Files, not pipes: the servers left in the background would hold a pipe open.
        .stdout(std::fs::File::create(logs.path().join("stdout")).unwrap())
        .stderr(std::fs::File::create(logs.path().join("stderr")).unwrap());
    // Its own process group, so the servers it starts in the background end with it.
    std::os::unix::process::CommandExt::process_group(&mut shell, 0);
    let mut child = shell.spawn().unwrap();
    let group = child.id();
    let status = child.wait().unwrap();
    let _ = Command::new("kill")
        .args(["--", &format!("-{group}")])
        .status();
    let stdout = std::fs::read_to_string(logs.path().join("stdout")).unwrap();
    let stderr = std::fs::read_to_string(logs.path().join("stderr")).unwrap();
    assert!(
        status.success() && stdout.contains("smoke test passed"),
        "the trial failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    for check in [
        "ok: ready: {\"status\":\"ready\",\"tenants\":{\"2718\":\"ok\"}}",
        "ok: the teacher's classes: 5",
        "ok: refused: no token (401), /users (403)",
    ] {
        assert!(stdout.contains(check), "{check} missing:\n{stdout}");
    }
}

/// docs/gateway.md's haproxy example, read from the doc and run in front of two gateway
/// binaries with only the addresses changed (and TLS left out: the test has no cert).
/// The gateways trust haproxy's `X-Forwarded-For` (`--trusted-proxy`), so the audit line
/// names the teacher's own address, not haproxy's nor one the teacher forged.
#[test]
fn the_docs_haproxy_example_balances_two_gateways() {
    let haproxy = doc::haproxy();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let district = runtime
        .block_on(rollbook_sandbox::Sandbox::start(
            rollbook_sandbox::SandboxConfig {
                size: rollbook_sandbox::Size::Pair,
                test_controls: true,
                ..rollbook_sandbox::SandboxConfig::default()
            },
        ))
        .unwrap();
    let trusted = ["--trusted-proxy", doc::HAPROXY_ADDRESS];
    let one = start(&[&["--demo-district", district.issuer()][..], &trusted].concat());
    let two = start(&[&["--demo-district", district.issuer()][..], &trusted].concat());
    let front = free_port();
    let config = doc::haproxy_config(front, one.address, two.address);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, &config).unwrap();
    let checked = Command::new(&haproxy)
        .args(["-c", "-f", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "haproxy -c refused the doc's example: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let mut lb = Command::new(haproxy)
        .args(["-f", cfg.to_str().unwrap(), "-db"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{front}");
    let teacher = district
        .district()
        .staff
        .iter()
        .find(|p| p.id.starts_with("tch-"))
        .unwrap()
        .id
        .clone();
    let token = district
        .issue_access_token(&teacher, &["openid", "profile", "oneroster"])
        .unwrap();
    let outcome = runtime.block_on(async {
        // The teacher's machine: another loopback address than haproxy's 127.0.0.1.
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
            .build()
            .unwrap();
        // Both servers up: haproxy's check needs two passes (rise 2, inter 2s).
        let mut statuses = Vec::new();
        for _ in 0..100 {
            let r = client.get(format!("{base}/healthz")).send().await;
            if r.is_ok_and(|r| r.status() == 200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for _ in 0..6 {
            let r = client
                .get(format!(
                    "{base}/ims/oneroster/v1p1/teachers/{teacher}/classes"
                ))
                .bearer_auth(&token)
                .header("x-forwarded-for", "203.0.113.9")
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
        }
        let metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        (statuses, metrics)
    });
    let _ = lb.kill();
    let _ = lb.wait();
    let (statuses, metrics) = outcome;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(metrics, 403, "the example keeps /metrics inside");
    // Round robin: each instance served the teacher, and knew them by their address.
    for (name, instance) in [("one", &one), ("two", &two)] {
        let served: Vec<String> = instance
            .log
            .try_iter()
            .filter(|l| l.contains("\"target\":\"audit\"") && l.contains("\"outcome\":200"))
            .collect();
        assert!(!served.is_empty(), "instance {name} served nothing");
        for line in &served {
            assert!(
                line.contains("\"client\":\"127.0.0.2\""),
                "instance {name} did not name the teacher's address: {line}"
            );
        }
    }
}

/// What crates/gateway/Dockerfile.dockerignore lets into the build context is enough for
/// the Dockerfile's `cargo build --locked -p rollbook-gateway` to load the workspace,
/// and keeps out what must not go: the UI, history, build output, databases.
#[test]
fn the_docker_context_holds_the_workspace_and_nothing_else() {
    let root = repository();
    let rules: Vec<(bool, String)> =
        std::fs::read_to_string(root.join("crates/gateway/Dockerfile.dockerignore"))
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| match l.strip_prefix('!') {
                Some(kept) => (true, kept.to_owned()),
                None => (false, l.to_owned()),
            })
            .collect();
    let files = Command::new("git")
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .current_dir(&root)
        .output()
        .unwrap();
    let files = String::from_utf8(files.stdout).unwrap();
    let sent: Vec<&str> = files
        .lines()
        .filter(|f| root.join(f).is_file() && in_context(&rules, f))
        .collect();
    for must in [
        "Cargo.toml",
        "Cargo.lock",
        "crates/gateway/Cargo.toml",
        "crates/gateway/src/main.rs",
        "crates/oneroster/src/lib.rs",
        "crates/oauth1/src/lib.rs",
    ] {
        assert!(sent.contains(&must), "{must} is not sent");
    }
    for kept_out in [
        "ui/",
        ".git/",
        "target/",
        "docs/",
        "rust-toolchain.toml",
        "scripts/",
    ] {
        assert!(
            !sent.iter().any(|f| f.starts_with(kept_out)),
            "{kept_out} is sent"
        );
    }
    assert!(!in_context(&rules, "target/debug/rollbook-gateway"));
    assert!(!in_context(&rules, "crates/core/target/x"));
    assert!(!in_context(&rules, "crates/gateway/local.db"));
    // The workspace loads from exactly those files, with the lock file as it is. Not
    // `--offline`: metadata reads every platform's packages, and a fresh machine has
    // downloaded only the ones its builds used (the Docker build is online too).
    let context = tempfile::tempdir().unwrap();
    for f in &sent {
        let to = context.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(f), to).unwrap();
    }
    let metadata = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--locked", "--format-version", "1"])
        .current_dir(context.path())
        .env("CARGO_TARGET_DIR", context.path().join("target"))
        .output()
        .unwrap();
    assert!(
        metadata.status.success(),
        "the workspace does not load from the docker context: {}",
        String::from_utf8_lossy(&metadata.stderr)
    );
}

/// Docker's rule for a path: the last pattern matching it or one of its parent folders
/// decides (`!` sends it after all).
fn in_context(rules: &[(bool, String)], path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    let mut sent = true;
    for (keep, pattern) in rules {
        let pattern: Vec<&str> = pattern.split('/').collect();
        if (1..=segments.len()).any(|n| glob(&pattern, &segments[..n])) {
            sent = *keep;
        }
    }
    sent
}

/// Path segments against pattern segments: `**` any number of segments, `*` any run of
/// characters within one.
fn glob(pattern: &[&str], path: &[&str]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(&"**"), _) => {
            glob(&pattern[1..], path) || (!path.is_empty() && glob(pattern, &path[1..]))
        }
        (Some(p), Some(s)) => {
            segment(p.as_bytes(), s.as_bytes()) && glob(&pattern[1..], &path[1..])
        }
        _ => false,
    }
}

fn segment(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            segment(&pattern[1..], text) || (!text.is_empty() && segment(pattern, &text[1..]))
        }
        (Some(p), Some(t)) => p == t && segment(&pattern[1..], &text[1..]),
        _ => false,
    }
}
