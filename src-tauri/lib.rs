//! The Rollbook window: Tauri's builder, plugins and the thin commands the UI calls.
//! State and logic live in `rollbook-core`; tokens never reach the webview (the UI
//! gets [`dto::SessionInfo`] and roster data, and core attaches bearer tokens itself).

#[cfg(test)]
mod bindings;
mod browser;
mod commands;
mod demo;
mod dto;
mod state;
mod update;

use tauri::Manager;
use tauri_plugin_deep_link::DeepLinkExt;

use crate::state::AppState;

pub fn run() {
    init_logging();
    // `rollbook-desktop --update`: the window's update, from a script (update.rs).
    if std::env::args().skip(1).any(|a| a == "--update") {
        std::process::exit(update::run_command());
    }

    let builder = tauri::Builder::default()
        // First, so a second instance (say, started by the OS for a deep link) hands its
        // arguments to this one and exits; with the `deep-link` feature the URL goes on
        // to the deep-link plugin's `on_open_url`.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            // A plain second launch brings the window up; a deep link only does when it
            // belongs to the sign-in waiting (see `AppState::deliver_deep_link`).
            if !state::is_deep_link_launch(&argv) {
                state::focus_main(app);
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        // The webview may call none of its commands (the capability grants none): the
        // shell decides when to ask and install (update.rs), after policy.
        .plugin(tauri_plugin_updater::Builder::new().build());
    #[cfg(feature = "bench-marks")]
    let builder = builder.plugin(rollbook_window_marks::plugin());
    let builder = builder
        .setup(|app| {
            let started = std::time::Instant::now();
            let state = AppState::new(app.handle().clone())?;
            app.manage(state);
            #[cfg(unix)]
            exit_on_end_signal(app.handle().clone());
            // While the webview loads, open the saved session and local store and start
            // the demo district a saved demo session needs, so the UI's first questions
            // find them ready.
            app.manage(update::Updates::default());
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<AppState>().prepare().await;
                // After the saved session is in line with policy: the same policy decides
                // whether to ask for an update at all (AutoUpdate) and where (UpdateUrl).
                let settings = handle.state::<AppState>().account.effective_settings();
                handle
                    .state::<update::Updates>()
                    .check_at_start(&handle, &settings)
                    .await;
            });
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
            #[cfg(feature = "bench-marks")]
            if rollbook_window_marks::enabled() {
                app.add_capability(BENCH_MARKS_CAPABILITY)?;
            }
            #[cfg(feature = "test-hooks")]
            if std::env::var_os("ROLLBOOK_TEST_DEMO_CONTROL").is_some() {
                app.add_capability(TEST_DEMO_CAPABILITY)?;
            }
            tracing::debug!(elapsed_ms = started.elapsed().as_millis(), "set up");
            Ok(())
        })
        // On a shared computer, closing the window signs the teacher out (at the
        // provider and in the browser); other sessions outlive the window.
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                let window = window.clone();
                tauri::async_runtime::spawn(async move {
                    window.state::<AppState>().end_shared_session().await;
                    if let Err(e) = window.destroy() {
                        tracing::warn!("the window could not be closed: {e}");
                    }
                });
            }
        })
        .invoke_handler(commands());
    let app = match builder.build(tauri::generate_context!()) {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("Rollbook could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(on_run_event);
}

/// Every way the app ends runs the shared-machine clean-up (send what waits, end the
/// provider session, forget everything). Closing the window does it in
/// `on_window_event`; the rest arrive here:
/// - `ExitRequested`: `AppHandle::exit` and the last window going. The exit waits for
///   the clean-up, then goes ahead.
/// - `Exit`: the event loop is ending and cannot be held. macOS's Quit (menu, Cmd+Q,
///   Dock) reaches only this (tao ends the loop from `applicationWillTerminate`), and so
///   does a Windows logoff or shutdown (tao ends the loop on `WM_ENDSESSION`). The
///   clean-up runs here on the spot, bounded well inside Windows' few seconds.
///
/// A crash or a kill skips all of these; the next start finishes the job
/// (`AppState::apply_policy` opens the provider's end-session page).
fn on_run_event(app: &tauri::AppHandle, event: tauri::RunEvent) {
    match event {
        tauri::RunEvent::ExitRequested { api, code, .. } => {
            let Some(state) = app.try_state::<AppState>() else {
                return;
            };
            if state.shared_session_ended() {
                return;
            }
            api.prevent_exit();
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                app.state::<AppState>().end_shared_session().await;
                app.exit(code.unwrap_or(0));
            });
        }
        tauri::RunEvent::Exit => {
            let Some(state) = app.try_state::<AppState>() else {
                return;
            };
            if state.shared_session_ended() {
                return;
            }
            let ended = tauri::async_runtime::block_on(tokio::time::timeout(
                EXIT_CLEAN_UP,
                state.end_shared_session(),
            ));
            if ended.is_err() {
                tracing::warn!(
                    "the shared-machine clean-up did not finish as the app ended; the next start finishes it"
                );
            }
        }
        _ => {}
    }
}

/// A Linux desktop's logout (and `systemctl stop`, `kill`, a closed terminal) ends the
/// window with SIGTERM or SIGHUP, which by default kills it on the spot: no `Exit`
/// event, so a shared session's clean-up never ran. Caught here, they ask the app to
/// exit, which runs the clean-up through `ExitRequested`. Bounded: if the app has not
/// ended after the clean-up's time, or a second signal comes, it ends anyway (the next
/// start finishes the clean-up, as after a crash).
#[cfg(unix)]
fn exit_on_end_signal(app: tauri::AppHandle) {
    tauri::async_runtime::spawn(async move {
        let mut signals = match EndSignals::listen() {
            Ok(signals) => signals,
            Err(e) => {
                tracing::warn!(
                    "termination signals cannot be caught ({e}); a logout ends Rollbook without its clean-up"
                );
                return;
            }
        };
        let name = signals.recv().await;
        tracing::info!(
            signal = name,
            "asked to end; exiting through the usual clean-up"
        );
        app.exit(0);
        let _ = tokio::time::timeout(
            EXIT_CLEAN_UP + std::time::Duration::from_secs(1),
            signals.recv(),
        )
        .await;
        tracing::warn!("the clean-up did not end the app in time; ending now");
        std::process::exit(0);
    });
}

/// SIGTERM, SIGHUP and SIGINT, caught from the moment [`EndSignals::listen`] returns.
#[cfg(unix)]
struct EndSignals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl EndSignals {
    /// Needs a Tokio runtime (Tauri's async runtime is one).
    fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The name of the next one to arrive.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// How long the last-moment clean-up may hold the app's end (Windows gives an app about
/// five seconds after `WM_ENDSESSION`).
const EXIT_CLEAN_UP: std::time::Duration = std::time::Duration::from_secs(4);

/// Logs to stderr (`ROLLBOOK_LOG`, for development) and to the per-user log file at the
/// `LogLevel` policy's level: release Windows builds have no console, so the file is
/// where IT finds what happened (`rollbook doctor` prints its path).
fn init_logging() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROLLBOOK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        );
    let file = rollbook_core::AppPaths::from_os().ok().and_then(|paths| {
        let level = rollbook_core::policy::in_force(&paths).log_level();
        let log = rollbook_core::LogFile::open(&rollbook_core::log_dir(&paths)).ok()?;
        Some(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || log.clone())
                .with_filter(tracing_subscriber::filter::LevelFilter::from_level(level)),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
}

/// The commands the UI may call (`src-tauri/build.rs` declares their permissions).
fn app_commands() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        commands::session_info,
        commands::sign_in,
        commands::cancel_sign_in,
        commands::open_sign_in_again,
        commands::preferences,
        commands::save_preferences,
        commands::classes,
        commands::roster,
        commands::gradebook,
        commands::remember_view,
        commands::sign_out,
        commands::sign_in_presets,
        commands::saved_gradebook,
        commands::saved_start,
        commands::enter_grade,
        commands::create_assignment,
        commands::resolve_conflict,
        commands::set_grading_rules,
        commands::sync_grades,
        commands::export_gradebook,
        commands::gradebook_attention,
        commands::settle_attention,
        commands::update_status,
        commands::install_update,
        commands::idle_check,
    ]
}

/// The app's commands, and in benchmark builds the marks command too.
fn commands() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    let app_commands = app_commands();
    #[cfg(feature = "test-hooks")]
    let app_commands = {
        let hooks: Box<dyn Fn(tauri::ipc::Invoke) -> bool + Send + Sync> =
            Box::new(tauri::generate_handler![commands::test_demo_roster]);
        move |invoke: tauri::ipc::Invoke| {
            if invoke.message.command() == "test_demo_roster" {
                hooks(invoke)
            } else {
                app_commands(invoke)
            }
        }
    };
    #[cfg(feature = "bench-marks")]
    let app_commands = {
        let marks = rollbook_window_marks::handler();
        move |invoke: tauri::ipc::Invoke| {
            if invoke.message.command() == rollbook_window_marks::COMMAND {
                marks(invoke)
            } else {
                app_commands(invoke)
            }
        }
    };
    app_commands
}

/// Test builds grant the demo district's offline switch at run time, when a test asks
/// (`ROLLBOOK_TEST_DEMO_CONTROL`); the shipped capability file never mentions it.
#[cfg(feature = "test-hooks")]
const TEST_DEMO_CAPABILITY: &str = r#"{"identifier": "test-demo-control", "windows": ["main"], "permissions": ["allow-test-demo-roster"]}"#;

/// Benchmark builds grant the marks command at run time, and only when asked to mark;
/// the shipped capability file never mentions it.
#[cfg(feature = "bench-marks")]
const BENCH_MARKS_CAPABILITY: &str =
    r#"{"identifier": "bench-marks", "windows": ["main"], "permissions": ["allow-bench-mark"]}"#;

#[cfg(all(test, unix))]
mod tests {
    use super::EndSignals;

    /// Without the handler, SIGTERM kills this test process (the test run fails).
    #[tokio::test]
    async fn a_termination_signal_is_caught_instead_of_killing_the_process() {
        let mut signals = EndSignals::listen().unwrap();
        for (flag, name) in [("-HUP", "SIGHUP"), ("-TERM", "SIGTERM")] {
            let sent = std::process::Command::new("kill")
                .args([flag, &std::process::id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
            let caught = tokio::time::timeout(std::time::Duration::from_secs(10), signals.recv())
                .await
                .expect("the signal reaches the handler");
            assert_eq!(caught, name);
        }
    }
}
