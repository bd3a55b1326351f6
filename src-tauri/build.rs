//! Generates the app's permissions (one per command, so the capability file can grant
//! exactly what the main window uses) and reads the capabilities from src-tauri/.

const COMMANDS: &[&str] = &[
    "session_info",
    "sign_in",
    "cancel_sign_in",
    "open_sign_in_again",
    "preferences",
    "save_preferences",
    "classes",
    "roster",
    "gradebook",
    "remember_view",
    "sign_out",
    "sign_in_presets",
    "saved_gradebook",
    "saved_start",
    "enter_grade",
    "create_assignment",
    "resolve_conflict",
    "set_grading_rules",
    "sync_grades",
    "export_gradebook",
    "gradebook_attention",
    "settle_attention",
    "update_status",
    "install_update",
    "idle_check",
    // Only with the `bench-marks` feature, granted at run time (see lib.rs).
    "bench_mark",
    // Only with the `test-hooks` feature, granted at run time (see lib.rs).
    "test_demo_roster",
];

fn main() {
    // The capabilities live outside tauri-build's default folder; rebuild when they change.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {e:#}");
    }
}
