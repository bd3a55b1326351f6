//! `rollbook-sandbox`: the demo district and its roster gateway as a standalone server,
//! for demos, tests and benchmarks. It listens on 127.0.0.1 only and keeps everything in
//! memory, except the gradebook writes with `--data-dir` (then a restart serves them
//! again).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use rollbook_demo::DemoDistrict;
use rollbook_sandbox::{
    DEFAULT_PORT, DEMO_CLIENT_ID, Faults, Knobs, Quirks, RosterAccess, SandboxConfig, Size,
    TokenPolicy,
};

/// The Rollbook demo district: a ClassLink-shaped sign-in and a OneRoster 1.1 server
/// with generated people. Not a real school; for demos and tests only.
#[derive(Debug, Parser)]
#[command(name = "rollbook-sandbox", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one). `rollbook login --demo` expects 47600.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    #[arg(long, value_enum, default_value = "tiny")]
    size: Size,
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Build the school year around this day (YYYY-MM-DD) instead of today.
    #[arg(long)]
    today: Option<String>,
    /// Print one JSON line with the URLs when ready (for scripts).
    #[arg(long)]
    json: bool,

    /// Also answer teachers' own access tokens at the OneRoster API, like a plain
    /// OneRoster server; by default only the demo application's credentials open it,
    /// as at a ClassLink district.
    #[arg(long)]
    accept_teacher_tokens: bool,
    /// Refuse every gradebook write (403, imsx `unsupported`), as a district whose SIS
    /// takes no grades from other applications does.
    #[arg(long)]
    refuse_writes: bool,
    /// Start no roster gateway in front of the district (with --accept-teacher-tokens
    /// the app can read the OneRoster API directly).
    #[arg(long)]
    no_gateway: bool,
    /// Port on 127.0.0.1 for the roster gateway (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    gateway_port: u16,
    /// The address clients use, when it is not where this listens (behind a proxy);
    /// the issuer and every advertised URL start with it.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// ClassLink's TenantId for this district.
    #[arg(long, default_value_t = 2718)]
    tenant_id: u64,

    // Quirks real servers have.
    #[arg(long)]
    string_booleans: bool,
    #[arg(long)]
    roles_array: bool,
    #[arg(long)]
    path_named_envelopes: bool,
    #[arg(long)]
    no_total_count: bool,
    #[arg(long)]
    empty_class_codes: bool,
    /// Make `href`s point at this base URL on another host.
    #[arg(long, value_name = "URL")]
    foreign_hrefs: Option<String>,

    // Faults.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of roster requests answered 429 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    rate_limit_rate: f64,
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// Share of roster requests answered 503 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    server_error_rate: f64,
    /// Share of roster requests held for --slow-ms.
    #[arg(long, default_value_t = 0.0)]
    slow_rate: f64,
    #[arg(long, default_value_t = 0)]
    slow_ms: u64,
    #[arg(long, default_value_t = 1000)]
    max_page_size: usize,

    // Tokens.
    #[arg(long, default_value_t = 3600)]
    access_token_seconds: u64,
    /// Issue no refresh tokens, like ClassLink.
    #[arg(long)]
    no_refresh_tokens: bool,
    /// Keep refresh tokens across refreshes instead of rotating them.
    #[arg(long)]
    no_rotation: bool,
    /// Also put the teacher's sourcedId in this ID-token and userinfo claim.
    #[arg(long)]
    sourced_id_claim: Option<String>,
    /// Lengthen refresh tokens by this many characters (a session too large for one
    /// Windows Credential Manager entry).
    #[arg(long, value_name = "CHARS", default_value_t = 0)]
    pad_refresh_tokens: usize,
    /// Keep the grades and line items written to the district in this folder
    /// (`district-writes.json`), so a restart from the same folder serves them again.
    /// Without it they last until the server stops.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
}

impl Args {
    fn knobs(&self) -> Knobs {
        Knobs {
            access: RosterAccess {
                accept_teacher_tokens: self.accept_teacher_tokens,
                refuse_writes: self.refuse_writes,
            },
            quirks: Quirks {
                string_booleans: self.string_booleans,
                roles_array: self.roles_array,
                path_named_envelopes: self.path_named_envelopes,
                no_total_count: self.no_total_count,
                empty_class_codes: self.empty_class_codes,
                foreign_href_base: self.foreign_hrefs.clone(),
            },
            faults: Faults {
                latency_ms: self.latency_ms,
                rate_limit_rate: self.rate_limit_rate,
                retry_after_seconds: self.retry_after,
                server_error_rate: self.server_error_rate,
                slow_rate: self.slow_rate,
                slow_ms: self.slow_ms,
                max_page_size: self.max_page_size,
            },
            tokens: TokenPolicy {
                access_token_seconds: self.access_token_seconds,
                refresh_tokens: !self.no_refresh_tokens,
                rotate_refresh_tokens: !self.no_rotation,
                sourced_id_claim: self.sourced_id_claim.clone(),
                refresh_token_padding: self.pad_refresh_tokens,
                ..TokenPolicy::default()
            },
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROLLBOOK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let started = std::time::Instant::now();
    let config = SandboxConfig {
        seed: args.seed,
        size: args.size,
        today: args.today.clone(),
        port: args.port,
        knobs: args.knobs(),
        tenant_id: args.tenant_id,
        test_controls: true,
        token_key: None,
        public_url: args.public_url.clone(),
        writes_file: args
            .data_dir
            .as_ref()
            .map(|dir| dir.join("district-writes.json")),
        ..SandboxConfig::default()
    };
    let gateway =
        (!args.no_gateway).then(|| SocketAddr::from((Ipv4Addr::LOCALHOST, args.gateway_port)));
    let demo = match DemoDistrict::start(config, gateway).await {
        Ok(demo) => demo,
        Err(e) => {
            eprintln!("error: {}: {e}", e.code().as_str());
            return ExitCode::FAILURE;
        }
    };
    let sandbox = demo.sandbox();
    let gateway_url = demo.gateway_url();
    let district = sandbox.district();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "issuer": sandbox.issuer(),
                "port": sandbox.port(),
                "client_id": DEMO_CLIENT_ID,
                "oneroster_url": sandbox.oneroster_url(),
                "roster_gateway_url": gateway_url,
                "tenant_id": sandbox.tenant_id(),
                "classlink_api_url": sandbox.issuer(),
                "teachers": district.staff.iter().take(5).map(|p| &p.id).collect::<Vec<_>>(),
            })
        );
    } else {
        println!("Rollbook demo district: NOT a real school; for demos and tests only.");
        println!(
            "  {} schools, {} staff, {} students, {} classes (generated in {} ms)",
            district.schools.len(),
            district.staff.len(),
            district.students.len(),
            district.classes.len(),
            started.elapsed().as_millis()
        );
        println!("  Issuer:    {}", sandbox.issuer());
        println!(
            "  OneRoster: {} (the demo application's credentials only)",
            sandbox.oneroster_url()
        );
        if let Some(url) = &gateway_url {
            println!("  Roster gateway: {url}");
        }
        println!("Sign in with: rollbook login --demo   (Ctrl-C stops the sandbox)");
    }
    let _ = tokio::signal::ctrl_c().await;
    demo.stop().await;
    ExitCode::SUCCESS
}
