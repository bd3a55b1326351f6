//! Crash safety, with real processes and `kill -9`.
//!
//! Each round starts a writer process (this same test binary in its child role) that
//! enters grades as fast as it can and prints "saved …" after each `enter` returns (the
//! moment the UI would show "saved"). It also plays the sender: it appends each outbox
//! write to a ledger file (fsynced, as a server would have received it) and then marks
//! it sent. The parent kills the writer with SIGKILL at a random moment and checks:
//! - the database passes SQLite's integrity check and opens with its key;
//! - every value the writer printed as saved is in the store (or a later one for the
//!   same cell: the write in flight may have committed before the kill);
//! - every cell waiting to be sent has exactly one outbox entry, with that value;
//! - no (record, revision) was ever sent with two different bodies.
//!
//! `ROLLBOOK_CRASH_ROUNDS` sets the number of rounds (100 by default).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a test runner of its own reports here

use rollbook_gradebook::{ClassId, LineItemId, StudentId};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::Rng;
use rollbook_gradebook::entry::CellValue;
use rollbook_gradebook::store::{CellChange, CellState, GradeStore, StoreKey};

mod common;

const CHILD_DB: &str = "ROLLBOOK_CRASH_CHILD_DB";

fn main() {
    if let Ok(db) = std::env::var(CHILD_DB) {
        writer(Path::new(&db));
        return;
    }
    let rounds: u32 = std::env::var("ROLLBOOK_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    match parent(rounds) {
        Ok(summary) => println!("crash: {summary}"),
        Err(problem) => {
            eprintln!("crash: FAILED: {problem}");
            std::process::exit(1);
        }
    }
}

fn cells() -> Vec<(&'static str, &'static str)> {
    let mut all = Vec::new();
    for item in ["li-1", "li-2"] {
        for student in ["s1", "s2", "s3"] {
            all.push((item, student));
        }
    }
    all
}

fn key_of(dir: &Path) -> StoreKey {
    let text = std::fs::read_to_string(dir.join("key")).unwrap_or_default();
    StoreKey::from_hex(&text).unwrap_or_else(|| panic!("no key"))
}

/// The child: enter grades and send them until killed.
fn writer(db: &Path) {
    let dir = db.parent().unwrap_or_else(|| Path::new("."));
    let round: u64 = std::env::var("ROLLBOOK_CRASH_ROUND")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut store = GradeStore::open(db, &key_of(dir)).unwrap_or_else(|e| panic!("open: {e}"));
    let mut ledger = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.join("ledger"))
        .unwrap_or_else(|e| panic!("ledger: {e}"));
    let mut out = std::io::stdout().lock();
    let cells = cells();
    for i in 0u64.. {
        let (item, student) = cells[usize::try_from(i).unwrap_or(0) % cells.len()];
        let score = (round * 100_000 + i) as f64;
        let value = CellValue {
            score: Some(score),
            mark: None,
            comment: None,
        };
        store
            .enter(
                &ClassId::from(common::CLASS),
                &LineItemId::from(item),
                &StudentId::from(student),
                CellChange::Value(value),
                "2026-09-02T10:00:00.000Z",
            )
            .unwrap_or_else(|e| panic!("enter: {e}"));
        let _ = writeln!(out, "saved {item} {student} {score}");
        let _ = out.flush();
        if i % 3 == 2 {
            for entry in store.due(4).unwrap_or_default() {
                let line = format!(
                    "{}/{} {} {}\n",
                    entry.kind.collection(),
                    entry.id,
                    entry.revision,
                    entry.body.as_deref().unwrap_or("DELETE")
                );
                let _ = ledger.write_all(line.as_bytes());
                let _ = ledger.sync_data();
                let _ = store.mark_sent(
                    &entry,
                    Some(&format!("2026-09-02T10:{:02}:00.000Z", i % 60)),
                    None,
                );
            }
        }
    }
}

fn parent(rounds: u32) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let db: PathBuf = dir.path().join("gradebook.db");
    let key = StoreKey::generate();
    std::fs::write(dir.path().join("key"), key.to_hex()).map_err(|e| e.to_string())?;
    GradeStore::open(&db, &key)
        .and_then(|mut s| s.save_snapshot(&common::snapshot()))
        .map_err(|e| e.to_string())?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut acknowledged: HashMap<(String, String), f64> = HashMap::new();
    let (mut total_acks, mut rounds_with_writes) = (0u64, 0u32);
    let mut rng = rand::rng();
    for round in 0..rounds {
        let mut child = Command::new(&me)
            .env(CHILD_DB, &db)
            .env("ROLLBOOK_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<String>>()
        });
        // Opening the store takes a few milliseconds; kill anywhere from before the
        // first write to well into the loop.
        std::thread::sleep(Duration::from_millis(rng.random_range(2..80)));
        child.kill().map_err(|e| e.to_string())?; // SIGKILL
        let _ = child.wait();
        let lines = reader.join().map_err(|_| "reader thread")?;
        let mut acks_this_round = 0;
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            if let ["saved", item, student, score] = parts.as_slice() {
                let score: f64 = score.parse().map_err(|_| format!("bad line {line}"))?;
                acknowledged.insert(((*item).to_owned(), (*student).to_owned()), score);
                acks_this_round += 1;
            }
        }
        total_acks += acks_this_round;
        if acks_this_round > 0 {
            rounds_with_writes += 1;
        }
        check(&db, &key, &acknowledged, dir.path()).map_err(|p| format!("round {round}: {p}"))?;
    }
    if rounds_with_writes < rounds / 2 {
        return Err(format!(
            "only {rounds_with_writes} of {rounds} rounds wrote anything before the kill; the test is not testing"
        ));
    }
    Ok(format!(
        "{rounds} kill -9 rounds, {rounds_with_writes} of them mid-writing, {total_acks} saved edits checked, nothing lost"
    ))
}

fn check(
    db: &Path,
    key: &StoreKey,
    acknowledged: &HashMap<(String, String), f64>,
    dir: &Path,
) -> Result<(), String> {
    let store = GradeStore::open(db, key).map_err(|e| format!("does not open: {e}"))?;
    store.check_integrity().map_err(|e| e.to_string())?;
    let view = store
        .gradebook(&ClassId::from(common::CLASS))
        .map_err(|e| e.to_string())?
        .ok_or("the class is gone")?;
    let due = store.due(10_000).map_err(|e| e.to_string())?;
    for ((item, student), saved) in acknowledged {
        let cell = view
            .cells
            .iter()
            .find(|c| &c.line_item_id == item && &c.student_id == student)
            .ok_or_else(|| format!("{item}/{student}: saved {saved}, now missing"))?;
        let stored = cell.value.score.unwrap_or(-1.0);
        if stored < *saved {
            return Err(format!(
                "{item}/{student}: saved {saved}, store has {stored}"
            ));
        }
        let queued: Vec<_> = due
            .iter()
            .filter(|e| e.cell.as_ref() == Some(&(item.clone(), student.clone())))
            .collect();
        match cell.state {
            CellState::Saved => {
                let [entry] = queued.as_slice() else {
                    return Err(format!(
                        "{item}/{student}: waiting, with {} outbox entries",
                        queued.len()
                    ));
                };
                let body: serde_json::Value =
                    serde_json::from_str(entry.body.as_deref().unwrap_or("{}"))
                        .map_err(|e| e.to_string())?;
                if body["score"].as_f64() != Some(stored) {
                    return Err(format!(
                        "{item}/{student}: the outbox would send {} for {stored}",
                        body["score"]
                    ));
                }
            }
            CellState::Sent | CellState::Synced => {
                if !queued.is_empty() {
                    return Err(format!("{item}/{student}: sent, yet still queued"));
                }
            }
            ref other => return Err(format!("{item}/{student}: unexpected state {other:?}")),
        }
    }
    let ledger = std::fs::read_to_string(dir.join("ledger")).unwrap_or_default();
    let mut bodies: HashMap<(&str, &str), &str> = HashMap::new();
    for line in ledger.lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(record), Some(revision), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            // The last line may be torn by the kill; a torn line was never "sent".
            continue;
        };
        if let Some(previous) = bodies.insert((record, revision), body)
            && previous != body
            && serde_json::from_str::<serde_json::Value>(body).is_ok()
        {
            return Err(format!(
                "{record} revision {revision} was sent with two different bodies"
            ));
        }
    }
    Ok(())
}
