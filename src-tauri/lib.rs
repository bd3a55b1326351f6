//! The Rollbook window: Tauri's builder, plugins and the thin commands the UI calls.
//! State and logic live in `rollbook-core`; tokens never reach the webview (the UI
//! gets [`dto::SessionInfo`] and roster data, and core attaches bearer tokens itself).

#[cfg(test)]
mod bindings;
mod browser;
mod commands;
mod dto;
mod state;

use tauri::Manager;
use tauri_plugin_deep_link::DeepLinkExt;

use crate::state::AppState;

pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROLLBOOK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();

    let builder = tauri::Builder::default()
        // First, so a second instance (say, started by the OS for a deep link) hands its
        // arguments to this one and exits; with the `deep-link` feature the URL goes on
        // to the deep-link plugin's `on_open_url`.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            state::focus_main(app);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .setup(|app| {
            let state = AppState::new(app.handle().clone())?;
            app.manage(state);
            // Deep links while running, and the one that started the app (cold start).
            let handle = app.handle().clone();
            app.deep_link().on_open_url(move |event| {
                for url in event.urls() {
                    handle.state::<AppState>().deliver_deep_link(url);
                }
            });
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                for url in urls {
                    app.state::<AppState>().deliver_deep_link(url);
                }
            }
            // Bundled installs register the scheme at install time; development builds
            // register it for this user now (Linux and Windows).
            #[cfg(all(debug_assertions, any(target_os = "linux", windows)))]
            if let Err(e) = app.deep_link().register_all() {
                tracing::warn!("could not register the org.rollbook.desktop scheme: {e}");
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::session_info,
            commands::sign_in,
            commands::cancel_sign_in,
            commands::open_sign_in_again,
            commands::preferences,
            commands::save_preferences,
            commands::classes,
            commands::roster,
            commands::gradebook,
            commands::sign_out,
        ]);
    if let Err(e) = builder.run(tauri::generate_context!()) {
        tracing::error!("Rollbook could not start: {e}");
        std::process::exit(1);
    }
}
