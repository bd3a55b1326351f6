//! Write-back throughput: 1,000 queued grades sent to the demo district's real OneRoster
//! server with 50 ms added to every answer, against the round-trip floor measured in the
//! same run: the same 1,000 PUTs sent straight from the client at the same concurrency
//! (no store, no conflict check). `cargo bench -p rollbook-gradebook --bench sync_outbox`
//! (`SYNC_BENCH_EDITS`, `SYNC_BENCH_LATENCY_MS`, `SYNC_BENCH_ROUNDS` change the sizes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use rollbook_gradebook::{ClassId, LineItemId, ResultId, StudentId};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rollbook_gradebook::store::{CellChange, GradeStore, StoreKey};
use rollbook_gradebook::{CellValue, SyncOptions, fetch_snapshot, sync};
use rollbook_oneroster::{Bearer, RosterClient};
use rollbook_sandbox::{Knobs, Sandbox, SandboxConfig, Size};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let edits = usize::try_from(env("SYNC_BENCH_EDITS", 1000)).unwrap();
    let latency = env("SYNC_BENCH_LATENCY_MS", 50);
    let rounds = env("SYNC_BENCH_ROUNDS", 3);
    let mut knobs = Knobs::default();
    knobs.access.accept_teacher_tokens = true;
    let sandbox = Sandbox::start(SandboxConfig {
        seed: 9,
        size: Size::Tiny,
        today: Some("2026-11-27".into()),
        knobs,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let teacher = sandbox.district().staff[0].id.clone();
    let token = sandbox
        .issue_access_token(&teacher, &["openid", "oneroster"])
        .unwrap();
    let client = RosterClient::new(
        reqwest::Client::new(),
        url::Url::parse(&sandbox.oneroster_url()).unwrap(),
        Bearer::new(token),
    );
    let options = SyncOptions::default();
    let dir = tempfile::tempdir().unwrap();

    // The cells to write: every (line item, student) of the teacher's classes, in order.
    let mut snapshots = Vec::new();
    for c in &sandbox.district().classes_of_staff[0] {
        let class = &sandbox.district().classes[*c];
        snapshots.push(
            fetch_snapshot(&client, &class.id, &class.title, "2026-11-27T08:00:00Z")
                .await
                .unwrap(),
        );
    }
    let cells: Vec<(String, String, String)> = snapshots
        .iter()
        .flat_map(|s| {
            s.line_items.iter().flat_map(move |li| {
                s.students.iter().map(move |st| {
                    (
                        s.class_id.clone(),
                        li.sourced_id.clone(),
                        st.sourced_id.clone(),
                    )
                })
            })
        })
        .take(edits)
        .collect();
    assert_eq!(
        cells.len(),
        edits,
        "the district has fewer cells than asked for"
    );
    // The floor writes each cell's own result (or creates one under a stable id).
    let existing: std::collections::HashMap<(String, String), String> = snapshots
        .iter()
        .flat_map(|s| {
            s.results.iter().map(|r| {
                (
                    (r.line_item.sourced_id.clone(), r.student.sourced_id.clone()),
                    r.sourced_id.clone(),
                )
            })
        })
        .collect();
    sandbox.update_knobs(|k| k.faults.latency_ms = latency);

    println!(
        "write-back: {edits} grades, {latency} ms per answer, concurrency {}, {rounds} rounds interleaved",
        options.concurrency
    );
    let (mut floor_times, mut sync_times) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // The floor: the same number of PUTs, straight from the client.
        let started = Instant::now();
        let bodies: Vec<_> = cells
            .iter()
            .enumerate()
            .map(|(i, (_, li, st))| {
                let value = CellValue {
                    score: Some(
                        f64::from(u32::try_from(i % 10).unwrap())
                            + f64::from(u32::try_from(round).unwrap()) * 0.25,
                    ),
                    mark: None,
                    comment: None,
                };
                let id = existing
                    .get(&(li.clone(), st.clone()))
                    .cloned()
                    .unwrap_or_else(|| format!("floor-{i}"));
                rollbook_gradebook::store::result_record(
                    &ResultId::from(&id),
                    &LineItemId::from(li),
                    &StudentId::from(st),
                    &value,
                    "2026-11-27T09:00:00.000Z",
                )
            })
            .collect();
        futures_util::stream::iter(bodies)
            .map(|r| {
                let client = &client;
                async move {
                    client
                        .put(&["results", &r.sourced_id.clone()], &r)
                        .await
                        .unwrap()
                }
            })
            .buffer_unordered(options.concurrency)
            .collect::<Vec<_>>()
            .await;
        floor_times.push(started.elapsed());

        // Rollbook: queue the grades in an encrypted store on disk, then sync.
        let path = dir.path().join(format!("round-{round}.db"));
        let mut store = GradeStore::open(&path, &StoreKey::generate()).unwrap();
        sandbox.update_knobs(|k| k.faults.latency_ms = 0);
        for s in &snapshots {
            let fresh = fetch_snapshot(&client, &s.class_id, &s.title, "2026-11-27T08:00:00Z")
                .await
                .unwrap();
            store.save_snapshot(&fresh).unwrap();
        }
        sandbox.update_knobs(|k| k.faults.latency_ms = latency);
        for (i, (class, li, st)) in cells.iter().enumerate() {
            let value = CellValue {
                score: Some(
                    f64::from(u32::try_from(i % 10).unwrap())
                        + 0.5
                        + f64::from(u32::try_from(round).unwrap()) * 0.25,
                ),
                mark: None,
                comment: None,
            };
            store
                .enter(
                    &ClassId::from(class),
                    &LineItemId::from(li),
                    &StudentId::from(st),
                    CellChange::Value(value),
                    "2026-11-27T09:00:00.000Z",
                )
                .unwrap();
        }
        let store = Mutex::new(store);
        let started = Instant::now();
        let report = sync(&store, &client, &options).await.unwrap();
        sync_times.push(started.elapsed());
        assert_eq!(
            report.sent.len(),
            edits,
            "{:?}",
            (
                report.refused.len(),
                report.conflicts.len(),
                report.retrying.len()
            )
        );
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let floor = median(&mut floor_times);
    let rollbook = median(&mut sync_times);
    println!("| measure | median | ratio |");
    println!("|---|---:|---:|");
    println!(
        "| floor: {edits} PUTs from the client | {:.2} s | 1.00× |",
        floor.as_secs_f64()
    );
    println!(
        "| Rollbook sync of {edits} queued grades | {:.2} s | {:.2}× |",
        rollbook.as_secs_f64(),
        rollbook.as_secs_f64() / floor.as_secs_f64()
    );
    sandbox.shutdown().await;
}
