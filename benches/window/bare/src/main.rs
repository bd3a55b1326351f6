//! A bare Tauri window: the baseline Rollbook's start-up and memory are compared with
//! (docs/benchmarks.md). Nothing but the window, a static page and the benchmark marks.
//!
//! `ROLLBOOK_BENCH_PAGE` names another page of `dist/` to open instead of `index.html`:
//! `scripts/bench-window.sh` puts a static copy of Rollbook's roster page there
//! (`benches/window/snapshot.mjs`), the floor that page's own rendering sets.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[allow(clippy::print_stderr)] // no logger in the baseline, on purpose
fn main() {
    let result = tauri::Builder::default()
        .plugin(rollbook_window_marks::plugin())
        .invoke_handler(rollbook_window_marks::handler())
        .setup(|app| {
            // The window of tauri.conf.json (`create: false`), on the page asked for.
            let Some(declared) = app.config().app.windows.first() else {
                return Err("tauri.conf.json declares no window".into());
            };
            let mut window = declared.clone();
            if let Ok(page) = std::env::var("ROLLBOOK_BENCH_PAGE") {
                window.url = tauri::WebviewUrl::App(page.into());
            }
            tauri::WebviewWindowBuilder::from_config(app.handle(), &window)?.build()?;
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("the bare window could not start: {e}");
        std::process::exit(1);
    }
}
