//! Property tests: paging returns every record exactly once and in order, for any
//! collection size, page size, server page cap, and pattern of short pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use rollbook_oneroster::paging::{Page, PageSource, collect_all};
use rollbook_oneroster::{RosterError, User};

/// A server holding `total` users that caps pages at `cap` and, when it sends
/// `X-Total-Count`, may also return pages shorter than it could (`shortfalls`, one per
/// request, cycled), as some servers do around filtered or deleted records.
struct SimulatedServer {
    total: u64,
    cap: u64,
    sends_total: bool,
    shortfalls: Vec<u64>,
    requests: AtomicUsize,
    seen_offsets: Mutex<Vec<u64>>,
}

impl SimulatedServer {
    fn user(i: u64) -> User {
        serde_json::from_value(serde_json::json!({ "sourcedId": format!("u{i}") })).unwrap()
    }
}

impl PageSource<User> for SimulatedServer {
    fn fetch(
        &self,
        offset: u64,
        limit: u64,
    ) -> impl Future<Output = Result<Page<User>, RosterError>> + Send {
        let n = self.requests.fetch_add(1, Ordering::SeqCst);
        self.seen_offsets.lock().unwrap().push(offset);
        let mut size = limit.min(self.cap);
        if self.sends_total && !self.shortfalls.is_empty() {
            let short = self.shortfalls[n % self.shortfalls.len()];
            size = size.saturating_sub(short).max(1);
        }
        let end = (offset + size).min(self.total);
        let items = (offset.min(end)..end).map(Self::user).collect();
        let total = self.sends_total.then_some(self.total);
        async move { Ok(Page { items, total }) }
    }
}

fn run(server: &SimulatedServer, limit: u64, concurrency: usize) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime
        .block_on(collect_all(server, limit, concurrency))
        .unwrap()
        .into_iter()
        .map(|u| u.sourced_id)
        .collect()
}

fn expected(total: u64) -> Vec<String> {
    (0..total).map(|i| format!("u{i}")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn with_total_count_every_record_once(
        total in 0u64..700,
        limit in 1u64..120,
        cap in 1u64..150,
        shortfalls in prop::collection::vec(0u64..40, 0..6),
        concurrency in 1usize..8,
    ) {
        let server = SimulatedServer {
            total, cap, sends_total: true, shortfalls,
            requests: AtomicUsize::new(0), seen_offsets: Mutex::new(Vec::new()),
        };
        prop_assert_eq!(run(&server, limit, concurrency), expected(total));
        // Never more requests than one per record plus the first.
        prop_assert!(server.requests.load(Ordering::SeqCst) as u64 <= total + 1);
    }

    #[test]
    fn without_total_count_every_record_once(
        total in 0u64..700,
        limit in 1u64..120,
        cap in 1u64..150,
    ) {
        let server = SimulatedServer {
            total, cap, sends_total: false, shortfalls: Vec::new(),
            requests: AtomicUsize::new(0), seen_offsets: Mutex::new(Vec::new()),
        };
        prop_assert_eq!(run(&server, limit, 4), expected(total));
        // Pages are read in sequence, and at most one request past the last record.
        let page = limit.min(cap);
        prop_assert!(server.requests.load(Ordering::SeqCst) as u64 <= total / page + 2);
    }
}

#[test]
fn counted_collections_are_fetched_concurrently_by_the_servers_page_size() {
    let server = SimulatedServer {
        total: 1000,
        cap: 100,
        sends_total: true,
        shortfalls: Vec::new(),
        requests: AtomicUsize::new(0),
        seen_offsets: Mutex::new(Vec::new()),
    };
    // Asks for 500 a page; the server caps at 100, so the plan uses 100.
    assert_eq!(run(&server, 500, 4), expected(1000));
    assert_eq!(server.requests.load(Ordering::SeqCst), 10);
    let mut offsets = server.seen_offsets.lock().unwrap().clone();
    offsets.sort_unstable();
    assert_eq!(offsets, (0..10).map(|i| i * 100).collect::<Vec<_>>());
}

#[test]
fn an_uncounted_short_first_page_costs_exactly_one_probe() {
    let server = SimulatedServer {
        total: 30,
        cap: 1000,
        sends_total: false,
        shortfalls: Vec::new(),
        requests: AtomicUsize::new(0),
        seen_offsets: Mutex::new(Vec::new()),
    };
    assert_eq!(run(&server, 100, 4), expected(30));
    assert_eq!(*server.seen_offsets.lock().unwrap(), vec![0, 30]);
}
