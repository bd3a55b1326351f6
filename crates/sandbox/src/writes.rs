//! What `PUT` and `DELETE` did to the demo district's gradebook: in memory, and in a
//! file beside the district's data when it has one (`SandboxConfig::writes_file`), so a
//! restart serves what the district really holds instead of forgetting grades the app
//! shows as sent.
//!
//! The generated district is read-only; writes sit on top of it:
//! - a `PUT` to an existing record replaces its fields (not its id or references);
//! - a `PUT` to a new, client-chosen `sourcedId` creates the record (201);
//! - a `DELETE` hides a generated record or drops a written one;
//! - every write gets a new `dateLastModified`, later than any before it, so a client
//!   can see that a record changed since it read it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
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
    /// Where every change is written, with the district it belongs to.
    file: Option<(PathBuf, String)>,
}

/// The file's shape. `district` names the generated data (seed, size, tenant) the writes
/// sit on: writes made over another district's ids would point at nothing.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    version: u32,
    district: String,
    records: BTreeMap<String, Value>,
    new_line_items: BTreeMap<String, usize>,
    /// (line item id, student index, result id).
    results_by_cell: Vec<(String, u32, String)>,
    deleted: BTreeSet<String>,
    last_stamp_ms: i64,
}

impl Written {
    /// The writes kept in `file` for `district` (none when there is no file yet), kept
    /// there from now on. A file that cannot be read, or that belongs to another
    /// district, is renamed `<file>.set-aside-<unix seconds>` and the district starts
    /// from its generated data: the demo must start, and the old writes stay on disk.
    pub fn kept_in(file: PathBuf, district: String) -> std::io::Result<Self> {
        let saved = match std::fs::read(&file) {
            Ok(bytes) => match serde_json::from_slice::<Saved>(&bytes) {
                Ok(saved) if saved.district == district => Some(saved),
                Ok(_) => {
                    set_file_aside(&file, "it holds another district's writes")?;
                    None
                }
                Err(e) => {
                    set_file_aside(&file, &format!("it is damaged: {e}"))?;
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let mut written = match saved {
            Some(saved) => Written {
                records: saved.records.into_iter().collect(),
                new_line_items: saved.new_line_items,
                results_by_cell: saved
                    .results_by_cell
                    .into_iter()
                    .map(|(item, student, id)| ((item, student), id))
                    .collect(),
                deleted: saved.deleted.into_iter().collect(),
                last_stamp_ms: i128::from(saved.last_stamp_ms),
                file: None,
            },
            None => Written::default(),
        };
        written.file = Some((file, district));
        Ok(written)
    }

    /// Writes every change to the file, when there is one: a whole new file renamed
    /// over the old, so a crash leaves the old or the new, never half of one. Not
    /// fsynced: this is a demo district, and a power cut may cost it its last writes.
    pub fn keep(&self) -> std::io::Result<()> {
        let Some((file, district)) = &self.file else {
            return Ok(());
        };
        let saved = Saved {
            version: 1,
            district: district.clone(),
            records: self
                .records
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            new_line_items: self.new_line_items.clone(),
            results_by_cell: {
                let mut cells: Vec<(String, u32, String)> = self
                    .results_by_cell
                    .iter()
                    .map(|((item, student), id)| (item.clone(), *student, id.clone()))
                    .collect();
                cells.sort();
                cells
            },
            deleted: self.deleted.iter().cloned().collect(),
            last_stamp_ms: i64::try_from(self.last_stamp_ms).unwrap_or(i64::MAX),
        };
        let bytes = serde_json::to_vec(&saved).map_err(std::io::Error::other)?;
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut temp = file.as_os_str().to_owned();
        temp.push(".tmp");
        let temp = PathBuf::from(temp);
        write_private(&temp, &bytes)?;
        std::fs::rename(&temp, file)
    }

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

fn set_file_aside(file: &Path, why: &str) -> std::io::Result<()> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut aside = file.as_os_str().to_owned();
    aside.push(format!(".set-aside-{stamp}"));
    tracing::warn!(file = %file.display(), "the demo district's writes file was set aside ({why}); starting from the generated data");
    std::fs::rename(file, PathBuf::from(aside))
}

/// The file holds grades of made-up students only, but is the user's own all the same.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_writes_come_back_and_another_districts_are_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("writes.json");
        let mut written = Written::kept_in(file.clone(), "7/tiny".into()).unwrap();
        let stamp = written.stamp();
        written
            .records
            .insert("r1".into(), serde_json::json!({ "score": 8 }));
        written
            .results_by_cell
            .insert(("li1".into(), 4), "r1".into());
        written.delete("r0");
        written.keep().unwrap();

        let mut back = Written::kept_in(file.clone(), "7/tiny".into()).unwrap();
        assert_eq!(back.record("r1"), Some(&serde_json::json!({ "score": 8 })));
        assert!(back.result_of_cell("li1", 4).is_some() && back.is_deleted("r0"));
        assert!(
            back.stamp() > stamp,
            "stamps keep moving forward across restarts"
        );

        let other = Written::kept_in(file.clone(), "8/tiny".into()).unwrap();
        assert!(other.records.is_empty());
        assert!(
            !file.exists(),
            "the old file was renamed, not read or deleted"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stamps_always_move_forward() {
        let mut written = Written::default();
        let stamps: Vec<String> = (0..50).map(|_| written.stamp()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
        assert_eq!(stamps[0].len(), "2026-08-01T12:00:00.000Z".len());
    }
}
