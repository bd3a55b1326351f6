//! Time from "callback received" to "identity ready" (`Provider::complete`: code
//! exchange, JWKS, ID-token verification, userinfo) against the fake OP on loopback,
//! split into our CPU time (this thread's scheduler runtime, Linux schedstat) and the
//! rest (waiting on the provider). The OP runs on other threads.
//!   cargo bench -p rollbook-auth --bench sign_in_latency

#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark program

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rollbook_auth::{
    AuthorizationOptions, ClientConfig, IssuerUrl, LoopbackListener, ManualClock, Provider,
    build_http_client,
};
use rollbook_fake_op::{CLIENT_ID, FakeOp};

fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(
        text.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    )
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let op = FakeOp::start().await;
            tx.send(op.issuer().to_owned()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let issuer = rx.recv().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    runtime.block_on(async {
        let http = build_http_client(&Default::default()).unwrap();
        let client = ClientConfig {
            issuer: IssuerUrl::new(&issuer).unwrap(),
            client_id: CLIENT_ID.into(),
            client_secret: None,
        };
        let provider = Provider::discover(
            client,
            http.clone(),
            Arc::new(ManualClock::starting_at(SystemTime::now())),
        )
        .await
        .unwrap();
        for i in 0..60 {
            let listener = LoopbackListener::bind().await.unwrap();
            let pending = provider
                .begin(listener.redirect_uri(), &AuthorizationOptions::default())
                .unwrap();
            // The browser's part: not timed.
            let location = http
                .get(pending.authorization_url().clone())
                .send()
                .await
                .unwrap();
            let callback =
                url::Url::parse(location.headers()["location"].to_str().unwrap()).unwrap();
            let (cpu0, wall0) = (thread_cpu(), Instant::now());
            let signed_in = provider.complete(pending, &callback).await.unwrap();
            let (wall, cpu) = (wall0.elapsed(), thread_cpu() - cpu0);
            assert!(!signed_in.identity.subject.is_empty());
            drop(listener);
            if i >= 10 {
                walls.push(wall);
                cpus.push(cpu);
            }
        }
    });
    let (wall, cpu) = (median(walls), median(cpus));
    println!(
        "callback → identity ready, median of 50: total {wall:?}, our CPU {cpu:?}, waiting on the provider {:?}",
        wall.saturating_sub(cpu)
    );
}
