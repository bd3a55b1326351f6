//! The demo district's own costs: generation time per size (against a deep copy of
//! the same data, the cheapest way to produce it), and requests per second for a class
//! roster (against the discovery document, a small static answer, on the same server).
//!
//! Run: `cargo bench -p rollbook-sandbox --bench sandbox`

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rollbook_sandbox::{District, Knobs, Sandbox, Size};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let today = time::OffsetDateTime::now_utc().date();
    println!("| size | students | classes | generate (median) | deep copy | ratio |");
    println!("|---|---|---|---|---|---|");
    for (size, runs) in [(Size::Tiny, 50), (Size::School, 20), (Size::District, 5)] {
        let mut generate = Vec::new();
        let mut copy = Vec::new();
        let mut last = None;
        for _ in 0..runs {
            let started = Instant::now();
            let district = District::generate(1, size, today);
            generate.push(started.elapsed());
            let started = Instant::now();
            let copied = district.clone();
            copy.push(started.elapsed());
            drop(copied);
            last = Some(district);
        }
        let district = last.unwrap();
        let (g, c) = (median(generate), median(copy));
        println!(
            "| {size:?} | {} | {} | {:.2} ms | {:.2} ms | {:.1}× |",
            district.students.len(),
            district.classes.len(),
            g.as_secs_f64() * 1000.0,
            c.as_secs_f64() * 1000.0,
            g.as_secs_f64() / c.as_secs_f64()
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let district = District::generate(1, Size::District, today);
        let teacher = district.staff[0].id.clone();
        let class = district.classes[district.classes_of_staff[0][0]].id.clone();
        let sandbox = Sandbox::serve(district, 0, Knobs::default()).await.unwrap();
        let token = sandbox
            .issue_access_token(&teacher, &["oneroster"])
            .unwrap();
        let roster = format!("{}/classes/{class}/students", sandbox.oneroster_url());
        let discovery = format!("{}/.well-known/openid-configuration", sandbox.issuer());
        let base = rps(&discovery, &token).await;
        let students = rps(&roster, &token).await;
        println!();
        println!(
            "| endpoint (district size, 16 connections, 3 s) | requests/s | ratio to baseline |"
        );
        println!("|---|---|---|");
        println!("| discovery document (baseline) | {base:.0} | 1.00× |");
        println!(
            "| `classes/{{id}}/students` (~30 students) | {students:.0} | {:.2}× |",
            students / base
        );
    });
}

async fn rps(url: &str, token: &str) -> f64 {
    let client = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(3);
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (client, done, url, token) = (
                client.clone(),
                Arc::clone(&done),
                url.to_owned(),
                token.to_owned(),
            );
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
                    assert!(response.status().is_success());
                    response.bytes().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / 3.0
}
