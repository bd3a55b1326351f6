//! District sync benchmark: the teacher view and a principal's whole-school view of
//! the `district` preset (50,000 students), at 0 ms and 50 ms of added latency.
//!
//! The demo district runs in a child process (this same binary with `--serve`), so
//! the peak memory reported is the client's alone. Wall time is compared with the
//! floor `round trips ÷ concurrency × latency`, round trips counted by the server.
//!
//! Run: `cargo bench -p rollbook-core --bench district_sync`

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rollbook_core::oneroster::{Bearer, ClientSettings, RosterClient};
use rollbook_core::{TermFilter, sync_school, sync_teacher};
use rollbook_sandbox::{Faults, Knobs, RosterAccess, Sandbox, SandboxConfig, Size};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let latency: u64 = args[i + 1].parse().unwrap();
        serve(latency);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list`
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "| latency | view | classes | round trips | wall (median) | floor | wall ÷ floor | records |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for latency in [0u64, 50] {
        runtime.block_on(measure(latency));
    }
    println!();
    println!("client peak RSS (VmHWM): {} MB", vm_kb("VmHWM") / 1024);
}

/// The child: the district in-process, tokens for a teacher and a principal on stdout.
fn serve(latency: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let knobs = Knobs {
            faults: Faults {
                latency_ms: latency,
                ..Faults::default()
            },
            // The sync benchmark measures core against a plain OneRoster server.
            access: RosterAccess {
                accept_teacher_tokens: true,
                ..RosterAccess::default()
            },
            ..Knobs::default()
        };
        let sandbox = Sandbox::start(SandboxConfig {
            seed: 1,
            size: Size::District,
            knobs,
            test_controls: true,
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let district = sandbox.district();
        let teacher = district.staff[0].id.clone();
        let principal = district
            .staff
            .iter()
            .find(|p| p.id.starts_with("adm-"))
            .unwrap();
        let line = serde_json::json!({
            "issuer": sandbox.issuer(),
            "oneroster": sandbox.oneroster_url(),
            "teacher": teacher,
            "teacher_token": sandbox.issue_access_token(&teacher, &["oneroster"]).unwrap(),
            "school": district.schools[principal.school].id,
            "principal_token": sandbox.issue_access_token(&principal.id, &["oneroster"]).unwrap(),
        });
        println!("{line}");
        std::io::stdout().flush().unwrap();
        // Serve until the parent closes stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        })
        .await;
        drop(sandbox);
    });
}

async fn measure(latency: u64) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", &latency.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let settings = ClientSettings::default();
    let concurrency = settings.concurrency;
    let client = |token: &str| {
        RosterClient::new(
            http.clone(),
            url::Url::parse(info["oneroster"].as_str().unwrap()).unwrap(),
            Bearer::new(token),
        )
        .with_settings(settings.clone())
    };
    let stats_url = format!("{}/__sandbox/stats", info["issuer"].as_str().unwrap());
    let roster_hits = async || -> u64 {
        let stats: serde_json::Value = http
            .get(&stats_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["roster"].as_u64().unwrap_or(0)
    };

    let teacher = client(info["teacher_token"].as_str().unwrap());
    let teacher_id = info["teacher"].as_str().unwrap().to_owned();
    let principal = client(info["principal_token"].as_str().unwrap());
    let school = info["school"].as_str().unwrap().to_owned();
    let today = rollbook_core::today();

    let views: [(&str, usize); 2] = [
        ("teacher", if latency == 0 { 30 } else { 10 }),
        ("principal (whole school)", 3),
    ];
    for (view, runs) in views {
        let mut times = Vec::new();
        let mut trips = 0;
        let mut classes = 0;
        let mut records = 0;
        for _ in 0..runs {
            let before = roster_hits().await;
            let started = Instant::now();
            let data = if view == "teacher" {
                sync_teacher(&teacher, &teacher_id, TermFilter::All, &today)
                    .await
                    .unwrap()
            } else {
                sync_school(&principal, &school).await.unwrap()
            };
            times.push(started.elapsed());
            trips = roster_hits().await - before;
            classes = data.len();
            records = data
                .iter()
                .map(|c| {
                    c.students.len() + c.gradebook.line_items.len() + c.gradebook.results.len()
                })
                .sum::<usize>();
        }
        times.sort();
        let median = times[times.len() / 2];
        let floor = Duration::from_millis(latency).mul_f64(trips as f64 / concurrency as f64);
        let ratio = if latency == 0 {
            "n/a (no latency)".to_owned()
        } else {
            format!("{:.2}×", median.as_secs_f64() / floor.as_secs_f64())
        };
        println!(
            "| {latency} ms | {view} | {classes} | {trips} | {:.1} ms | {:.1} ms | {ratio} | {records} |",
            median.as_secs_f64() * 1000.0,
            floor.as_secs_f64() * 1000.0,
        );
    }
    drop(child.stdin.take());
    let _ = child.wait();
}

fn vm_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
