//! A bare Tauri window: the baseline Rollbook's start-up and memory are compared with
//! (docs/benchmarks.md). Nothing but the window, a static page and the benchmark marks.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[allow(clippy::print_stderr)] // no logger in the baseline, on purpose
fn main() {
    let result = tauri::Builder::default()
        .plugin(rollbook_window_marks::plugin())
        .invoke_handler(rollbook_window_marks::handler())
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("the bare window could not start: {e}");
        std::process::exit(1);
    }
}
