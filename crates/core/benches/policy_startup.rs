//! What policy adds to start-up: the settings the window resolves as it opens (the
//! sign-in screen asks for them) — the teacher's preferences file, this build's
//! defaults, and the policy sources — with a full policy file against no policy file,
//! in the same run, interleaved so both see the same machine.
//!
//! Run: `cargo bench -p rollbook-core --bench policy_startup` (docs/benchmarks.md).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use rollbook_core::policy::{PolicyFile, PolicySource, resolve};
use rollbook_core::{AppPaths, BuildDefaults, Preferences};

/// One start-up's worth of settings work, with the policy file at `policy`.
fn resolve_at_start(paths: &AppPaths, policy: &Path) -> usize {
    let sources: Vec<Box<dyn PolicySource>> = vec![Box::new(PolicyFile::new(policy))];
    let resolved = resolve(
        &sources,
        &Preferences::load(paths),
        &BuildDefaults::of_this_build(),
    );
    resolved.settings.len() + resolved.problems.len()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`
    }
    let home = tempfile::tempdir().unwrap();
    let paths = AppPaths::under(home.path());
    Preferences::default().save(&paths).unwrap();
    let no_policy = home.path().join("absent.json");
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/policy.example.json");
    let damaged = home.path().join("damaged.json");
    std::fs::write(&damaged, b"{\"AllowedProviders\": \"classlink\", ").unwrap();

    let cases: [(&str, &Path); 3] = [
        ("no policy file (baseline)", &no_policy),
        ("packaging/policy.example.json (8 settings)", &policy),
        ("a damaged policy file (reported)", &damaged),
    ];
    for (_, path) in &cases {
        for _ in 0..200 {
            std::hint::black_box(resolve_at_start(&paths, path));
        }
    }
    let rounds = 2_000;
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..rounds {
        for (i, (_, path)) in cases.iter().enumerate() {
            let started = Instant::now();
            std::hint::black_box(resolve_at_start(&paths, path));
            samples[i].push(started.elapsed());
        }
    }
    let medians: Vec<Duration> = samples.into_iter().map(median).collect();
    let baseline = medians[0];
    println!("policy at start-up: median of {rounds} interleaved rounds each");
    for ((name, _), m) in cases.iter().zip(&medians) {
        println!(
            "  {name:<45} {:>8.1} µs  ({:.2}× baseline, +{:.1} µs)",
            m.as_secs_f64() * 1e6,
            m.as_secs_f64() / baseline.as_secs_f64(),
            (m.as_secs_f64() - baseline.as_secs_f64()) * 1e6
        );
    }
    let added = medians[1].saturating_sub(baseline);
    println!(
        "policy adds {:.3} ms to start-up (budget: 5 ms): {}",
        added.as_secs_f64() * 1e3,
        if added < Duration::from_millis(5) {
            "within"
        } else {
            "OVER"
        }
    );
}
