//! Requests one teacher has in flight at once, capped (`max_in_flight_per_teacher`).
//!
//! The per-teacher rate limit lets a burst of a fifth of a minute's requests start
//! together, and each may hold one of the tenant's `upstream_concurrency` slots for as
//! long as the district takes to answer (three district calls for a filtered class
//! list). One teacher's token could so keep every other teacher of the district waiting.
//! Past the cap a request is answered 429 at once; the app's own client keeps six in
//! flight, so it never meets it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct TeacherSlots {
    max: usize,
    held: Mutex<HashMap<String, usize>>,
}

/// One request's slot, given back when dropped (when the request's handler ends).
#[derive(Debug)]
pub struct Slot {
    slots: Arc<TeacherSlots>,
    key: String,
}

impl TeacherSlots {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            held: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `key` (tenant and teacher), or `None` when they hold the cap already.
    pub fn take(self: &Arc<Self>, key: &str) -> Option<Slot> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(key.to_owned()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: Arc::clone(self),
            key: key.to_owned(),
        })
    }

    /// Teachers holding a slot now (entries are removed at zero, so the map stays as
    /// small as what is in flight).
    pub fn teachers(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_teacher_holds_at_most_the_cap_and_slots_come_back() {
        let slots = TeacherSlots::new(2);
        let a1 = slots.take("t\0a");
        let a2 = slots.take("t\0a");
        assert!(a1.is_some() && a2.is_some());
        assert!(slots.take("t\0a").is_none(), "a third slot past the cap");
        // Another teacher is not affected.
        let b = slots.take("t\0b");
        assert!(b.is_some());
        drop(a1);
        assert!(slots.take("t\0a").is_some(), "a freed slot came back");
        drop((a2, b));
        assert_eq!(slots.teachers(), 0, "entries at zero are removed");
    }
}
