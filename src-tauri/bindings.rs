//! The TypeScript side of the IPC contract, generated from the Rust types that cross it.
//!
//! `ui/src/backend/bindings/` is committed. This test regenerates it in memory and fails
//! when the committed files differ, so a change to a command's types cannot land without
//! the UI seeing it (svelte-check then type-checks the UI against the new files). Run
//! `scripts/bindings.sh` (or set `ROLLBOOK_WRITE_BINDINGS=1`) to rewrite them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ts_rs::{Config, TS};

use crate::dto::{AppError, GradeChange, SavedStart, SessionInfo, SignInPresets, SignedOut};
use rollbook_core::grades::store::{CellState, CellView, NewLineItem, Resolution};
use rollbook_core::grades::{GradingRules, SyncReport};
use rollbook_core::{
    Attention, AttentionItem, ClassSummary, GradebookPage, Preferences, SettleAction,
    SignInProgress, SignInRequest, Student,
};

/// Every type a command takes or returns, or an event carries. Their dependencies
/// (`Provider`, `LineItem`, …) come along.
fn export_all(config: &Config) -> Result<(), ts_rs::ExportError> {
    SessionInfo::export_all(config)?;
    SavedStart::export_all(config)?;
    SignInRequest::export_all(config)?;
    SignInProgress::export_all(config)?;
    SignInPresets::export_all(config)?;
    AppError::export_all(config)?;
    SignedOut::export_all(config)?;
    Preferences::export_all(config)?;
    ClassSummary::export_all(config)?;
    Student::export_all(config)?;
    GradebookPage::export_all(config)?;
    GradeChange::export_all(config)?;
    CellView::export_all(config)?;
    CellState::export_all(config)?;
    NewLineItem::export_all(config)?;
    Resolution::export_all(config)?;
    GradingRules::export_all(config)?;
    SyncReport::export_all(config)?;
    Attention::export_all(config)?;
    AttentionItem::export_all(config)?;
    SettleAction::export_all(config)?;
    crate::update::UpdateStatus::export_all(config)?;
    crate::dto::IdleCheck::export_all(config)?;
    Ok(())
}

fn config(dir: &Path) -> Config {
    // Unix seconds and counts fit a JavaScript number; `bigint` would not survive
    // `JSON.parse` anyway.
    Config::new().with_out_dir(dir).with_large_int("number")
}

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/backend/bindings")
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect()
}

#[test]
fn the_committed_bindings_match_the_rust_types() {
    let fresh = tempfile::tempdir().unwrap();
    export_all(&config(fresh.path())).unwrap();
    let generated = read_dir(fresh.path());
    assert!(
        generated.contains_key("SessionInfo.ts"),
        "{:?}",
        generated.keys()
    );

    let committed_dir = committed_dir();
    if std::env::var_os("ROLLBOOK_WRITE_BINDINGS").is_some() {
        let _ = std::fs::remove_dir_all(&committed_dir);
        std::fs::create_dir_all(&committed_dir).unwrap();
        for (name, text) in &generated {
            std::fs::write(committed_dir.join(name), text).unwrap();
        }
        return;
    }
    let committed = read_dir(&committed_dir);
    let stale: BTreeSet<&String> = generated
        .keys()
        .chain(committed.keys())
        .filter(|name| generated.get(*name) != committed.get(*name))
        .collect();
    assert!(
        stale.is_empty(),
        "ui/src/backend/bindings/ is out of date ({stale:?}); run scripts/bindings.sh and commit the result"
    );
}
