//! The roster gateway's benchmarks, each a ratio to a baseline measured in the same run
//! (docs/benchmarks.md has the figures and how to read them):
//!
//! 1. added latency: one roster request through the gateway against the same request
//!    straight to the district's server (application credentials), interleaved,
//!    identity cache warm; p50 and p99;
//! 2. throughput: requests per second through one gateway against the district's own,
//!    64 requests in flight;
//! 3. the morning rush: every teacher of the `district` preset (2,000) fetches their
//!    classes, then each class's roster, line items and results, with 50 ms of upstream
//!    latency, through one gateway against straight to the district; plus the gateway's
//!    peak RSS and its my/info calls per teacher.
//!
//! The district runs in a child process (this binary, `ROLLBOOK_BENCH_CHILD` set), the
//! gateway is the shipped `rollbook-gateway` binary, and this process is the client.
//!
//!   cargo bench -p rollbook-gateway --bench gateway            # all three
//!   cargo bench -p rollbook-gateway --bench gateway -- --quick # small and short
//!   … -- --latency   or   … -- --rush                          # one part only
//!   ROLLBOOK_BENCH_RUSH_LIMITS="max_in_flight = 100000" … -- --rush  # other limits
//!   ROLLBOOK_BENCH_GATEWAY_PRELOAD=libmimalloc.so.2 …             # another allocator

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::io::Write as _;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rollbook_sandbox::{Faults, Knobs, Sandbox, SandboxConfig, Size, demo_credentials};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BASE: &str = "/ims/oneroster/v1p1";
const CHILD: &str = "ROLLBOOK_BENCH_CHILD";
/// Requests one teacher's app has in flight at once (`ClientSettings::concurrency`).
const APP_CONCURRENCY: usize = 6;

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        serve_district(&spec);
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = |what: &str| {
        !args.iter().any(|a| a == "--rush" || a == "--latency") || args.iter().any(|a| a == what)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if only("--latency") {
            latency_and_throughput(quick).await;
        }
        if only("--rush") {
            morning_rush(quick).await;
        }
    });
}

/// The child: a district, and one line of JSON with its address and teachers' tokens.
fn serve_district(spec: &str) {
    let (size, latency) = spec.split_once(':').unwrap();
    let size = match size {
        "district" => Size::District,
        "school" => Size::School,
        _ => Size::Tiny,
    };
    let latency: u64 = latency.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sandbox = Sandbox::start(SandboxConfig {
            seed: 1,
            size,
            knobs: Knobs {
                faults: Faults {
                    latency_ms: latency,
                    ..Faults::default()
                },
                ..Knobs::default()
            },
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let district = sandbox.district();
        let teachers: Vec<Value> = district
            .staff
            .iter()
            .filter(|p| p.role.as_str() == "teacher")
            .map(|p| {
                json!({
                    "id": p.id,
                    "token": sandbox.issue_access_token(&p.id, &["openid", "profile", "oneroster"]).unwrap(),
                })
            })
            .collect();
        let line = json!({ "issuer": sandbox.issuer(), "teachers": teachers });
        let mut out = std::io::stdout();
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
        // Serve until the parent closes our stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let mut buf = [0u8; 1];
            let _ = std::io::Read::read(&mut std::io::stdin(), &mut buf);
        })
        .await;
    });
}

struct District {
    child: Child,
    issuer: String,
    teachers: Vec<(String, String)>,
}

async fn district(size: &str, latency_ms: u64) -> District {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, format!("{size}:{latency_ms}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    District {
        child,
        issuer: line["issuer"].as_str().unwrap().to_owned(),
        teachers: line["teachers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_owned(),
                    t["token"].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
    }
}

struct GatewayProcess {
    child: Child,
    base: String,
}

/// The shipped binary, configured from a file like a district's IT would: the default
/// limits but for `limits` (TOML lines of the `[limits]` table), behind this process as
/// the district's load balancer (`trusted_proxies`: its `X-Forwarded-For` names each
/// teacher's machine).
async fn gateway(issuer: &str, limits: &str) -> GatewayProcess {
    let dir = std::env::temp_dir().join(format!("rollbook-gateway-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.toml");
    std::fs::write(
        &file,
        format!(
            r#"listen = "127.0.0.1:0"
trusted_proxies = ["127.0.0.1"]
[identity]
profile = "classlink"
classlink_api_url = "{issuer}/"

[classlink_partner]
api_url = "{issuer}/"
developer_api_key = {{ env = "ROLLBOOK_BENCH_DEVELOPER_KEY" }}

[limits]
{limits}
"#
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollbook-gateway"))
        .args(["--config", file.to_str().unwrap()])
        .env(
            "ROLLBOOK_BENCH_DEVELOPER_KEY",
            demo_credentials::DEVELOPER_API_KEY,
        )
        .env("ROLLBOOK_GATEWAY_LOG", "warn")
        // An allocator to try on the gateway alone (e.g. Debian's libmimalloc.so.2).
        .envs(
            std::env::var("ROLLBOOK_BENCH_GATEWAY_PRELOAD")
                .ok()
                .map(|lib| ("LD_PRELOAD", lib)),
        )
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let base = first.strip_prefix("listening on ").unwrap().to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    GatewayProcess { child, base }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

async fn get(http: &reqwest::Client, url: &str, bearer: &str) -> Value {
    let response = http.get(url).bearer_auth(bearer).send().await.unwrap();
    let status = response.status();
    let body = response.bytes().await.unwrap();
    assert!(
        status.is_success(),
        "{url}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

/// What the rush's clients saw besides answers, and how many requests were in flight.
#[derive(Default)]
struct RushStats {
    retried_busy: std::sync::atomic::AtomicU64,
    retried_limited: std::sync::atomic::AtomicU64,
    connection_failures: std::sync::atomic::AtomicU64,
    in_flight: std::sync::atomic::AtomicU64,
    peak_in_flight: std::sync::atomic::AtomicU64,
}

/// A GET as the app's OneRoster client makes it (crates/oneroster's `RetryPolicy`
/// defaults): a 429 is tried again after its `Retry-After` (5 times at most), a 5xx
/// after a backoff with full jitter over 250 ms × 2ⁿ (3 times at most). `from` is the
/// teacher's address, as the load balancer forwards it.
async fn app_get(
    http: &reqwest::Client,
    url: &str,
    bearer: &str,
    from: Option<&str>,
    stats: &RushStats,
) -> Value {
    use std::sync::atomic::Ordering::Relaxed;
    let (mut busy, mut limited) = (0u32, 0u32);
    loop {
        let mut request = http.get(url).bearer_auth(bearer);
        if let Some(from) = from {
            request = request.header("x-forwarded-for", from);
        }
        let now = stats.in_flight.fetch_add(1, Relaxed) + 1;
        stats.peak_in_flight.fetch_max(now, Relaxed);
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                response
                    .bytes()
                    .await
                    .map(|body| (status, retry_after, body))
            }
            Err(e) => Err(e),
        };
        stats.in_flight.fetch_sub(1, Relaxed);
        let (status, retry_after, body) = match answer {
            Ok(answer) => answer,
            // A connection failure is transient to the app (a GET is tried again).
            Err(e) if busy < 3 => {
                busy += 1;
                stats.connection_failures.fetch_add(1, Relaxed);
                tracing_free_note(&e);
                tokio::time::sleep(jitter(Duration::from_millis(250) * (1 << (busy - 1)))).await;
                continue;
            }
            Err(e) => panic!("{url}: {e} after {busy} + {limited} retries"),
        };
        let wait = match status.as_u16() {
            429 if limited < 5 => {
                limited += 1;
                stats.retried_limited.fetch_add(1, Relaxed);
                Some(Duration::from_secs(retry_after.unwrap_or(2)))
            }
            500..=599 if busy < 3 => {
                busy += 1;
                stats.retried_busy.fetch_add(1, Relaxed);
                Some(jitter(Duration::from_millis(250) * (1 << (busy - 1))))
            }
            _ => None,
        };
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
            continue;
        }
        assert!(
            status.is_success(),
            "{url}: {status} after {busy} + {limited} retries: {}",
            String::from_utf8_lossy(&body)
        );
        return serde_json::from_slice(&body).unwrap();
    }
}

/// The first few connection failures, on stderr: which server dropped a connection.
fn tracing_free_note(e: &reqwest::Error) {
    static SHOWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    if SHOWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 3 {
        eprintln!("connection failure (tried again): {e:?}");
    }
}

/// Somewhere in 0..=window (full jitter), from the clock's low bits.
fn jitter(window: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let millis = u64::try_from(window.as_millis()).unwrap_or(1).max(1);
    Duration::from_millis(nanos.wrapping_mul(2_654_435_761) % (millis + 1))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

async fn latency_and_throughput(quick: bool) {
    let district = district("tiny", 0).await;
    // One teacher makes every request here: the per-teacher limits are lifted.
    let gw = gateway(
        &district.issuer,
        "upstream_concurrency = 64\nrequests_per_minute_per_teacher = 100000\nmax_in_flight_per_teacher = 4096",
    )
    .await;
    let http = client();
    let (teacher, token) = district.teachers[0].clone();
    let classes = get(
        &http,
        &format!("{}{BASE}/teachers/{teacher}/classes", gw.base),
        &token,
    )
    .await;
    let class = classes["classes"][0]["sourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    let via = format!(
        "{}{BASE}/classes/{class}/students?limit=100&offset=0",
        gw.base
    );
    let direct = format!(
        "{}{BASE}/classes/{class}/students?limit=100&offset=0",
        district.issuer
    );
    let proxy = demo_credentials::PROXY_BEARER;

    // 1. Added latency, interleaved so both see the same machine.
    let rounds = if quick { 300 } else { 3_000 };
    for _ in 0..100 {
        get(&http, &via, &token).await;
        get(&http, &direct, proxy).await;
    }
    let (mut through, mut straight) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let t = Instant::now();
        get(&http, &direct, proxy).await;
        straight.push(t.elapsed());
        let t = Instant::now();
        get(&http, &via, &token).await;
        through.push(t.elapsed());
    }
    through.sort();
    straight.sort();
    let (d50, d99, g50, g99) = (
        percentile(&straight, 0.5),
        percentile(&straight, 0.99),
        percentile(&through, 0.5),
        percentile(&through, 0.99),
    );
    println!(
        "added latency ({rounds} interleaved requests, a 25-student roster): direct p50 {:.3} ms p99 {:.3} ms; \
         through the gateway p50 {:.3} ms p99 {:.3} ms; added p50 {:.3} ms, p99 {:.3} ms",
        ms(d50),
        ms(d99),
        ms(g50),
        ms(g99),
        ms(g50.saturating_sub(d50)),
        ms(g99.saturating_sub(d99))
    );

    // 2. Throughput, 64 in flight, direct then through the gateway.
    let seconds = if quick { 2 } else { 5 };
    let district_pid = district.child.id().unwrap_or(0);
    let gateway_pid = gw.child.id().unwrap_or(0);
    let cpu_before = cpu_seconds(district_pid);
    let (direct_rps, direct_count) = throughput(&http, &direct, proxy, seconds).await;
    let district_cpu = cpu_seconds(district_pid) - cpu_before;
    let gateway_before = cpu_seconds(gateway_pid);
    let (via_rps, via_count) = throughput(&http, &via, &token, seconds).await;
    let gateway_cpu = cpu_seconds(gateway_pid) - gateway_before;
    #[allow(clippy::cast_precision_loss)]
    let per_request = |cpu: f64, count: u64| cpu / count as f64 * 1e6;
    println!(
        "throughput (64 in flight, {seconds} s each): direct {direct_rps:.0} req/s; through the gateway {via_rps:.0} req/s; ratio {:.2}×; \
         CPU per request: the district {:.0} µs (direct run), the gateway {:.0} µs",
        via_rps / direct_rps,
        per_request(district_cpu, direct_count),
        per_request(gateway_cpu, via_count),
    );
    drop(gw.child);
    drop(district.child);
}

/// User plus system CPU time of a process so far, from /proc (Linux).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

async fn throughput(http: &reqwest::Client, url: &str, bearer: &str, seconds: u64) -> (f64, u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let workers: Vec<_> = (0..64)
        .map(|_| {
            let (http, url, bearer, count) = (
                http.clone(),
                url.to_owned(),
                bearer.to_owned(),
                Arc::clone(&count),
            );
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    get(&http, &url, &bearer).await;
                    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    for w in workers {
        w.await.unwrap();
    }
    let total = count.load(std::sync::atomic::Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    let rps = total as f64 / started.elapsed().as_secs_f64();
    (rps, total)
}

/// One teacher's morning: their classes, then every class's roster, line items and
/// results at once (what the app's class list and first class pages ask for).
async fn one_teacher(
    http: reqwest::Client,
    base: String,
    teacher: String,
    bearer: String,
    from: Option<String>,
    stats: Arc<RushStats>,
) -> usize {
    let classes = app_get(
        &http,
        &format!("{base}{BASE}/teachers/{teacher}/classes?limit=500&offset=0"),
        &bearer,
        from.as_deref(),
        &stats,
    )
    .await;
    let ids: Vec<String> = classes["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sourcedId"].as_str().unwrap().to_owned())
        .collect();
    let mut urls = Vec::new();
    for id in &ids {
        for part in ["students", "lineItems", "results"] {
            urls.push(format!(
                "{base}{BASE}/classes/{id}/{part}?limit=500&offset=0"
            ));
        }
    }
    // At most APP_CONCURRENCY at once, as the app's OneRoster client does.
    futures_util::stream::iter(urls)
        .map(|url| {
            let (http, bearer, from, stats) = (
                http.clone(),
                bearer.clone(),
                from.clone(),
                Arc::clone(&stats),
            );
            async move { app_get(&http, &url, &bearer, from.as_deref(), &stats).await }
        })
        .buffer_unordered(APP_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    1 + ids.len() * 3
}

/// Every teacher's morning, `in_flight` teachers at once. `behind_balancer`: each
/// teacher's requests carry their own machine's address in `X-Forwarded-For`, as the
/// district's load balancer adds it.
async fn rush(
    base: &str,
    teachers: &[(String, String)],
    bearer_override: Option<&str>,
    in_flight: usize,
    behind_balancer: bool,
) -> (Duration, usize, Arc<RushStats>) {
    let http = client();
    let stats = Arc::new(RushStats::default());
    let gate = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let started = Instant::now();
    let tasks: Vec<_> = teachers
        .iter()
        .enumerate()
        .map(|(i, (id, token))| {
            let (http, base, id, gate, stats) = (
                http.clone(),
                base.to_owned(),
                id.clone(),
                Arc::clone(&gate),
                Arc::clone(&stats),
            );
            let bearer = bearer_override.unwrap_or(token).to_owned();
            let from = behind_balancer
                .then(|| format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255));
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await.unwrap();
                one_teacher(http, base, id, bearer, from, stats).await
            })
        })
        .collect();
    let mut requests = 0;
    for t in tasks {
        requests += t.await.unwrap();
    }
    (started.elapsed(), requests, stats)
}

fn rss_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

async fn morning_rush(quick: bool) {
    use std::sync::atomic::Ordering::Relaxed;
    let (size, latency) = if quick {
        ("school", 50)
    } else {
        ("district", 50)
    };
    let district = district(size, latency).await;
    // Every limit at its default but the district's own capacity: 256 calls at once is
    // what 2,600 req/s at 50 ms needs (docs/gateway.md: requests/s × upstream latency).
    // ROLLBOOK_BENCH_RUSH_LIMITS adds `[limits]` lines, to size one (max_in_flight).
    let extra = std::env::var("ROLLBOOK_BENCH_RUSH_LIMITS").unwrap_or_default();
    let gw = gateway(
        &district.issuer,
        &format!("upstream_concurrency = 256\n{}", extra.replace(';', "\n")),
    )
    .await;
    let in_flight = 500;
    let teachers = &district.teachers;
    // Direct: the same requests straight to the district's server with the application's
    // credentials: the floor the district itself sets.
    let (direct, requests, _) = rush(
        &district.issuer,
        teachers,
        Some(demo_credentials::PROXY_BEARER),
        in_flight,
        false,
    )
    .await;
    let gateway_pid = gw.child.id().unwrap_or(0);
    let idle_rss = rss_mb(gateway_pid, "VmRSS:");
    let (through, _, stats) = rush(&gw.base, teachers, None, in_flight, true).await;
    let metrics = client()
        .get(format!("{}/metrics", gw.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let identity_calls: f64 = metrics
        .lines()
        .find(|l| l.starts_with("rollbook_gateway_identity_calls_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let rss = rss_mb(gateway_pid, "VmHWM:");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let peak_in_flight = stats
        .peak_in_flight
        .load(std::sync::atomic::Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    let per_request_kb = (rss - idle_rss) * 1024.0 / peak_in_flight.max(1) as f64;
    #[allow(clippy::cast_precision_loss)]
    let per_teacher = identity_calls / teachers.len() as f64;
    println!(
        "morning rush ({} teachers of the `{size}` preset, {requests} requests, {latency} ms upstream latency, {in_flight} teachers in flight, {APP_CONCURRENCY} requests each): \
         direct {:.2} s; through the gateway {:.2} s; ratio {:.2}×; gateway peak RSS {rss:.0} MB (idle {idle_rss:.0} MB; \
         {peak_in_flight} requests in flight at most, {:.0} KB each above idle); my/info calls per teacher {per_teacher:.2}; \
         retries the app would make: {} after 503 or a connection failure ({} of those), {} after 429; load average {}",
        teachers.len(),
        direct.as_secs_f64(),
        through.as_secs_f64(),
        through.as_secs_f64() / direct.as_secs_f64(),
        per_request_kb,
        stats.retried_busy.load(Relaxed) + stats.connection_failures.load(Relaxed),
        stats.connection_failures.load(Relaxed),
        stats
            .retried_limited
            .load(std::sync::atomic::Ordering::Relaxed),
        load.trim()
    );
    drop(gw.child);
    drop(district.child);
}
