//! Window benchmark marks, for `scripts/bench-window.sh` (see docs/benchmarks.md).
//!
//! Built into Rollbook only with its `bench-marks` feature, and always into the bare
//! baseline window, so both are measured by the same code. It does nothing unless
//! `ROLLBOOK_BENCH_MARKS` is set when the app starts. Then an initialization script,
//! run before the page's own scripts, reports:
//!
//! - `first-paint`: two animation frames after the document's first content;
//! - `ready`: two animation frames after the element matching `ROLLBOOK_BENCH_READY`
//!   (a CSS selector) appears. Each `ROLLBOOK_BENCH_CLICK` selector (separated by `||`)
//!   is clicked in turn as it appears: the harness signs in this way, without a person.
//!
//! On the way it also reports `text-in-dom`, `clicked-N` and `ready-in-dom` (the DOM
//! state, before the frames), which show where the time between marks goes.
//!
//! Each mark reaches Rust through the `bench_mark` command, which prints
//! `rollbook-mark <name> <unix epoch ms>` on stdout (the harness compares it with the
//! time it started the process), and exits the app when the mark is the one named in
//! `ROLLBOOK_BENCH_MARKS` (`first-paint`, `ready`, or `none` to stay open).

use std::time::{SystemTime, UNIX_EPOCH};

use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Runtime};

/// The environment variable that turns the marks on and names the mark to exit at.
pub const ENV: &str = "ROLLBOOK_BENCH_MARKS";
/// The name of the command the script calls.
pub const COMMAND: &str = "bench_mark";

/// Whether this run is a benchmark run.
pub fn enabled() -> bool {
    std::env::var_os(ENV).is_some()
}

/// A plugin that only injects the marking script (so it needs no permission).
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    let mut builder = tauri::plugin::Builder::new("rollbook-window-marks");
    if enabled() {
        builder = builder.js_init_script(script());
    }
    builder.build()
}

fn selectors(var: &str) -> Vec<String> {
    std::env::var(var)
        .unwrap_or_default()
        .split("||")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn script() -> String {
    let clicks = serde_json::to_string(&selectors("ROLLBOOK_BENCH_CLICK")).unwrap_or_default();
    let ready =
        serde_json::to_string(&selectors("ROLLBOOK_BENCH_READY").first()).unwrap_or_default();
    format!("({})({clicks}, {ready});", include_str!("marks.js"))
}

/// The invoke handler for [`COMMAND`]; an app with commands of its own sends
/// invocations of [`COMMAND`] here.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![bench_mark]
}

#[tauri::command]
fn bench_mark(app: AppHandle, name: String) {
    mark(&app, &name);
}

fn mark(app: &AppHandle, name: &str) {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or_default();
    #[allow(clippy::print_stdout)] // the harness reads marks from stdout
    {
        println!("rollbook-mark {name} {at:.3}");
    }
    if std::env::var(ENV).is_ok_and(|exit_at| exit_at == name) {
        app.exit(0);
    }
}
