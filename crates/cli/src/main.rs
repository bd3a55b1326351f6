//! `rollbook`: the headless command for IT admins, scripts and tests.
//!
//! Exit codes: 0 success; 2 usage or configuration error; 3 not signed in or must sign
//! in again; 4 sign-in rejected; 5 provider unreachable, timed out or answering
//! garbage; 1 anything else. Errors go to stderr as `error: <code>: <message>`.

mod browser;
mod commands;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use rollbook_core::RedirectMode;

#[derive(Debug, Parser)]
#[command(
    name = "rollbook",
    version,
    about = "Rollbook from the command line: sign in, check the session, sign out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RedirectArg {
    Loopback,
    Scheme,
}

impl From<RedirectArg> for RedirectMode {
    fn from(arg: RedirectArg) -> Self {
        match arg {
            RedirectArg::Loopback => Self::Loopback,
            RedirectArg::Scheme => Self::Scheme,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign in through the system browser.
    Login(LoginArgs),
    /// Show who is signed in, renewing the access token when it has expired.
    Whoami {
        /// Refresh the tokens now, even if they are still valid.
        #[arg(long)]
        refresh: bool,
        #[arg(long)]
        json: bool,
    },
    /// Revoke the session at the provider and forget it on this computer.
    Logout {
        #[arg(long)]
        json: bool,
    },
    /// Check configuration, provider reachability, clock and keychain.
    Doctor {
        /// Check this provider instead of the signed-in one.
        #[arg(long)]
        issuer: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
struct LoginArgs {
    /// The provider's issuer URL (https; plain http only on loopback addresses).
    #[arg(long)]
    issuer: String,
    /// This app's client id at the provider.
    #[arg(long)]
    client_id: String,
    /// Scopes, space-separated (`openid` is always sent).
    #[arg(long, default_value = "openid profile email")]
    scope: String,
    /// How the browser hands the answer back.
    #[arg(long, value_enum, default_value = "loopback")]
    redirect: RedirectArg,
    /// Run this command with the sign-in URL appended instead of the system browser.
    #[arg(long, env = "ROLLBOOK_BROWSER")]
    browser_command: Option<String>,
    /// Give up when the browser has not come back after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// A client secret for providers that insist. It is NOT confidential.
    #[arg(long, env = "ROLLBOOK_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Shared computer: always ask for the password, and keep nothing after exit.
    #[arg(long)]
    shared_machine: bool,
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    output::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            output::print_error("runtime_failed", &e.to_string());
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::print_error(&e.code(), &e.to_string());
            ExitCode::from(output::exit_code(&e))
        }
    }
}
