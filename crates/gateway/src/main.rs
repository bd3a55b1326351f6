//! `rollbook-gateway`: the roster gateway as a server. Its first line on stdout is
//! `listening on http://ADDR`; after that, stdout carries JSON-lines logs.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rollbook_gateway::{Config, Gateway, config};

/// The Rollbook roster gateway: serves each signed-in teacher their own classes from
/// their district's OneRoster server, with credentials teachers never see.
/// Secrets come from files or environment variables named in the configuration, never
/// from arguments. See docs/gateway.md.
#[derive(Debug, Parser)]
#[command(name = "rollbook-gateway", version)]
struct Args {
    /// The TOML configuration file.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "demo_district",
        required_unless_present = "demo_district"
    )]
    config: Option<PathBuf>,
    /// Configure for a running demo district at URL (its published demo credentials).
    #[arg(long, value_name = "URL")]
    demo_district: Option<String>,
    /// Where to listen (default 127.0.0.1:0; overrides the file and ROLLBOOK_GATEWAY_LISTEN).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Serve /metrics here only, not on the public port (overrides the file's
    /// metrics_listen and ROLLBOOK_GATEWAY_METRICS_LISTEN).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// A load balancer (address or address/prefix) whose X-Forwarded-For names the
    /// client; repeat for several. Adds to the file's trusted_proxies.
    #[arg(long = "trusted-proxy", value_name = "CIDR")]
    trusted_proxies: Vec<String>,
    /// Validate the configuration, print a summary with secrets redacted, and exit.
    #[arg(long)]
    check_config: bool,
}

fn load(args: &Args) -> Result<Config, config::ConfigError> {
    let mut config = match (&args.config, &args.demo_district) {
        (Some(path), _) => Config::from_file(path)?,
        (None, Some(url)) => {
            let listen = config::DEFAULT_LISTEN
                .parse()
                .map_err(|_| config::ConfigError::Syntax("default listen address".into()))?;
            Config::for_demo_district(url, listen)?
        }
        (None, None) => {
            return Err(config::ConfigError::Syntax(
                "give --config FILE or --demo-district URL".into(),
            ));
        }
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(at) = args.metrics_listen {
        config.metrics_listen = Some(at);
    }
    if !args.trusted_proxies.is_empty() {
        let mut ranges = config.trusted_proxies.ranges().to_vec();
        for text in &args.trusted_proxies {
            ranges.push(config::AddressRange::parse(text).map_err(|problem| {
                config::ConfigError::Invalid {
                    key: "--trusted-proxy".into(),
                    problem,
                }
            })?);
        }
        config.trusted_proxies = config::TrustedProxies::new(ranges);
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    // First: a SIGHUP at any moment after this must not end the process. One that
    // arrives while starting is acted on once the gateway serves.
    let hangups = catch_sighup();
    let args = Args::parse();
    let config = match load(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: config_invalid: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check_config {
        print!("configuration OK\n{}", config.redacted());
        return ExitCode::SUCCESS;
    }
    // Logging starts now, so nothing said while starting (a failed first tenant
    // discovery) is lost; lines are held until the address line is out.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROLLBOOK_GATEWAY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(|| HeldStdout)
        .try_init();
    let gateway = match Gateway::start(config).await {
        Ok(g) => g,
        Err(e) => {
            HeldStdout::release();
            eprintln!("error: gateway_failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The contract: this is the first line on stdout. Logs follow it.
    println!("listening on http://{}", gateway.address());
    let _ = std::io::stdout().flush();
    HeldStdout::release();
    match gateway.metrics_address() {
        Some(metrics) => tracing::info!(
            address = %gateway.address(),
            metrics_address = %metrics,
            "roster gateway started; /metrics on its own listener"
        ),
        None => tracing::info!(address = %gateway.address(), "roster gateway started"),
    }
    let gateway = std::sync::Arc::new(gateway);
    let reloads = hangups.map(|hangups| {
        tokio::spawn(reload_on_sighup(
            hangups,
            args,
            std::sync::Arc::clone(&gateway),
        ))
    });
    shutdown_signal().await;
    if let Some(reloads) = reloads {
        reloads.abort();
        let _ = reloads.await;
    }
    let Ok(gateway) = std::sync::Arc::try_unwrap(gateway) else {
        tracing::warn!("shutting down while a reload was under way");
        return ExitCode::SUCCESS;
    };
    tracing::info!("shutting down: finishing requests in flight");
    gateway.shutdown().await;
    ExitCode::SUCCESS
}

/// Stdout for log lines, holding them until [`HeldStdout::release`]: the first line on
/// stdout must be the address.
struct HeldStdout;

static HELD: std::sync::Mutex<Option<Vec<u8>>> = std::sync::Mutex::new(Some(Vec::new()));

impl HeldStdout {
    fn release() {
        if let Ok(mut held) = HELD.lock()
            && let Some(lines) = held.take()
        {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&lines);
            let _ = out.flush();
        }
    }
}

impl std::io::Write for HeldStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut held) = HELD.lock()
            && let Some(lines) = held.as_mut()
        {
            lines.extend_from_slice(buf);
            return Ok(buf.len());
        }
        std::io::stdout().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

#[cfg(unix)]
type Hangups = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangups = ();

/// SIGHUP's default action ends the process at once (exit 129, nothing drained), and
/// service managers send it to mean "reload", so it is caught before anything else.
fn catch_sighup() -> Option<Hangups> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(hangups) => Some(hangups),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP");
                None
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Each SIGHUP reads the configuration and its secrets again, as at start (the same
/// file, environment and flags), and serves with it from the next request on. A
/// configuration that does not load, or cannot replace the running one, is logged at
/// warn with the key named, and the running one stays: a bad edit never stops the
/// gateway.
async fn reload_on_sighup(mut hangups: Hangups, args: Args, gateway: std::sync::Arc<Gateway>) {
    #[cfg(unix)]
    while hangups.recv().await.is_some() {
        let loaded = load(&args);
        let outcome = match loaded {
            Ok(config) => gateway.reload(config).await.map_err(|e| {
                let key = match &e {
                    rollbook_gateway::ReloadError::NeedsRestart { key, .. } => (*key).to_owned(),
                    rollbook_gateway::ReloadError::Discovery(_) => "classlink_partner".to_owned(),
                    rollbook_gateway::ReloadError::Http(_) => String::new(),
                };
                (key, e.to_string())
            }),
            Err(e) => Err((e.key().unwrap_or_default().to_owned(), e.to_string())),
        };
        match outcome {
            Ok(()) => {
                tracing::info!("SIGHUP: configuration and secrets reloaded; new requests use them")
            }
            Err((key, error)) => tracing::warn!(
                key = %key,
                error = %error,
                "SIGHUP: the configuration was not reloaded; still serving with the one loaded before"
            ),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (&mut hangups, args, gateway);
    }
}

/// Ctrl-C, or SIGTERM from a container runtime or service manager.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
