//! Reading a whole collection page by page, every record exactly once.
//!
//! - With `X-Total-Count`: read the first page, learn the server's real page size
//!   (servers may cap `limit`), fetch the remaining pages concurrently, then fill any
//!   gap a short page left, until `total` records are covered.
//! - Without it: read pages one after another and stop on an empty page or on a page
//!   shorter than the server's page size. When the very first page is short, one more
//!   page is asked for, to tell "that was all" from "the server caps pages lower".
//!
//! Records are deduplicated by `sourcedId`, so data shifting between pages cannot
//! show a record twice.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;

use futures_util::{StreamExt, stream};

use crate::{Resource, RosterError};

/// One page as the server sent it.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `X-Total-Count`, when the server sent it.
    pub total: Option<u64>,
}

/// Something that serves pages by `offset` and `limit`.
pub trait PageSource<T> {
    fn fetch(
        &self,
        offset: u64,
        limit: u64,
    ) -> impl Future<Output = Result<Page<T>, RosterError>> + Send;
}

/// A hard stop against a server that never ends a collection.
const MAX_PAGES: usize = 100_000;

/// Reads the whole collection. `limit` is the page size asked for; `concurrency` bounds
/// the requests in flight.
pub async fn collect_all<T, S>(
    source: &S,
    limit: u64,
    concurrency: usize,
) -> Result<Vec<T>, RosterError>
where
    T: Resource,
    S: PageSource<T> + Sync,
{
    let limit = limit.max(1);
    let first = source.fetch(0, limit).await?;
    match first.total {
        Some(total) => collect_counted(source, first.items, total, limit, concurrency).await,
        None => collect_uncounted(source, first.items, limit).await,
    }
}

async fn collect_counted<T, S>(
    source: &S,
    first: Vec<T>,
    total: u64,
    limit: u64,
    concurrency: usize,
) -> Result<Vec<T>, RosterError>
where
    T: Resource,
    S: PageSource<T> + Sync,
{
    let stride = u64::try_from(first.len()).unwrap_or(u64::MAX);
    let mut pages: BTreeMap<u64, Vec<T>> = BTreeMap::new();
    if stride == 0 {
        return Ok(Vec::new());
    }
    pages.insert(0, first);
    // The planned pages, fetched concurrently (in order, so results stay ordered).
    let offsets: Vec<u64> = (1..)
        .map(|i| i * stride)
        .take_while(|offset| *offset < total)
        .take(MAX_PAGES)
        .collect();
    let mut planned = stream::iter(offsets)
        .map(|offset| async move { (offset, source.fetch(offset, limit).await) })
        .buffered(concurrency.max(1));
    while let Some((offset, page)) = planned.next().await {
        pages.insert(offset, page?.items);
    }
    // Fill the gaps short pages left, one at a time.
    for _ in 0..MAX_PAGES {
        let Some(gap) = first_gap(&pages, total) else {
            break;
        };
        let page = source.fetch(gap, limit).await?;
        if page.items.is_empty() {
            break; // The collection shrank while we read it.
        }
        pages.insert(gap, page.items);
    }
    Ok(dedupe(pages.into_values().flatten()))
}

/// The first offset below `total` that no page covers.
fn first_gap<T>(pages: &BTreeMap<u64, Vec<T>>, total: u64) -> Option<u64> {
    let mut covered = 0u64;
    for (offset, items) in pages {
        if *offset > covered {
            break;
        }
        covered = covered.max(offset + u64::try_from(items.len()).unwrap_or(u64::MAX));
    }
    (covered < total).then_some(covered)
}

async fn collect_uncounted<T, S>(
    source: &S,
    first: Vec<T>,
    limit: u64,
) -> Result<Vec<T>, RosterError>
where
    T: Resource,
    S: PageSource<T> + Sync,
{
    let mut offset = u64::try_from(first.len()).unwrap_or(u64::MAX);
    // The largest page seen is the server's page size. A first page shorter than
    // `limit` may be the whole collection or a capped page; the next fetch tells.
    let mut page_size = offset;
    let mut all = first;
    if offset == 0 {
        return Ok(all);
    }
    for _ in 0..MAX_PAGES {
        let page = source.fetch(offset, limit).await?;
        let len = u64::try_from(page.items.len()).unwrap_or(u64::MAX);
        all.extend(page.items);
        if len == 0 {
            break;
        }
        offset += len;
        if len < page_size {
            break;
        }
        page_size = page_size.max(len);
    }
    Ok(dedupe(all))
}

fn dedupe<T: Resource>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.sourced_id().to_owned()))
        .collect()
}
