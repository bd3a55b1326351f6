//! What `PUT` and `DELETE` did to the demo district's gradebook, kept in memory.
//!
//! The generated district is read-only; writes sit on top of it:
//! - a `PUT` to an existing record replaces its fields (not its id or references);
//! - a `PUT` to a new, client-chosen `sourcedId` creates the record (201);
//! - a `DELETE` hides a generated record or drops a written one;
//! - every write gets a new `dateLastModified`, later than any before it, so a client
//!   can see that a record changed since it read it.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

#[derive(Debug, Default)]
pub struct Written {
    /// Every record a `PUT` wrote, by `sourcedId` (line items and results).
    pub records: HashMap<String, Value>,
    /// Line items created here: id → class index.
    pub new_line_items: BTreeMap<String, usize>,
    /// Which result a cell (line item id, student index) has, when one was written.
    pub results_by_cell: HashMap<(String, u32), String>,
    /// Ids of deleted records (generated or written).
    pub deleted: HashSet<String>,
    last_stamp_ms: i128,
}

impl Written {
    /// A new `dateLastModified` (RFC 3339, milliseconds), later than every earlier one.
    pub fn stamp(&mut self) -> String {
        let now = time::OffsetDateTime::now_utc();
        let ms = now.unix_timestamp_nanos() / 1_000_000;
        let ms = ms.max(self.last_stamp_ms + 1);
        self.last_stamp_ms = ms;
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).unwrap_or(now);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.millisecond()
        )
    }

    /// A written record that was not deleted.
    pub fn record(&self, id: &str) -> Option<&Value> {
        if self.deleted.contains(id) {
            return None;
        }
        self.records.get(id)
    }

    pub fn is_deleted(&self, id: &str) -> bool {
        self.deleted.contains(id)
    }

    /// The line items created in class `c`, oldest id first.
    pub fn new_line_items_of(&self, c: usize) -> Vec<Value> {
        self.new_line_items
            .iter()
            .filter(|(id, class)| **class == c && !self.deleted.contains(*id))
            .filter_map(|(id, _)| self.records.get(id).cloned())
            .collect()
    }

    /// The written result of a cell, if any (and not deleted).
    pub fn result_of_cell(&self, line_item: &str, student: u32) -> Option<&Value> {
        let id = self.results_by_cell.get(&(line_item.to_owned(), student))?;
        self.record(id)
    }

    pub fn delete(&mut self, id: &str) {
        self.deleted.insert(id.to_owned());
        self.results_by_cell.retain(|_, result| result != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_always_move_forward() {
        let mut written = Written::default();
        let stamps: Vec<String> = (0..50).map(|_| written.stamp()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
        assert_eq!(stamps[0].len(), "2026-08-01T12:00:00.000Z".len());
    }
}
