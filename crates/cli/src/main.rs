//! `rollbook`: the headless command for IT admins, scripts and tests.
//!
//! Exit codes: 0 success; 2 usage or configuration error; 3 not signed in or must sign
//! in again; 4 sign-in rejected; 5 provider unreachable, timed out or answering
//! garbage; 6 the roster server refused or failed; 1 anything else. Errors go to
//! stderr as `error: <code>: <message>`.

mod browser;
mod commands;
mod gradebook;
mod output;
mod roster;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use rollbook_core::{Profile, RedirectMode, RosterSort};

#[derive(Debug, Parser)]
#[command(
    name = "rollbook",
    version,
    about = "Rollbook from the command line: sign in, see your classes, rosters and gradebooks, sign out"
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// ClassLink: the OneRoster id comes from ClassLink's /v2/my/info.
    Classlink,
    /// Any OpenID provider.
    Oidc,
}

impl From<ProfileArg> for Profile {
    fn from(arg: ProfileArg) -> Self {
        match arg {
            ProfileArg::Classlink => Self::ClassLink,
            ProfileArg::Oidc => Self::Oidc,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SortArg {
    /// Family name, then first name.
    Name,
    First,
    Username,
    Email,
    Grade,
}

impl From<SortArg> for RosterSort {
    fn from(arg: SortArg) -> Self {
        match arg {
            SortArg::Name => Self::Name,
            SortArg::First => Self::FirstName,
            SortArg::Username => Self::Username,
            SortArg::Email => Self::Email,
            SortArg::Grade => Self::Grade,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign in through the system browser.
    Login(Box<LoginArgs>),
    /// Show who is signed in, renewing the access token when it has expired.
    Whoami {
        /// Refresh the tokens now, even if they are still valid.
        #[arg(long)]
        refresh: bool,
        #[arg(long)]
        json: bool,
    },
    /// Revoke the session at the provider and forget it on this computer, with the
    /// grades saved here. Refuses while grades wait to be sent, unless told to discard.
    Logout {
        /// Sign out even though grades saved here are not yet written back (they are
        /// deleted).
        #[arg(long)]
        discard_unsent: bool,
        #[arg(long)]
        json: bool,
    },
    /// List your classes for the current term.
    Classes {
        /// Every term, not only the current one.
        #[arg(long)]
        all_terms: bool,
        #[arg(long)]
        json: bool,
    },
    /// List a class's students.
    Roster {
        /// The class's sourcedId (see `rollbook classes`).
        class: String,
        #[arg(long, value_enum, default_value = "name")]
        sort: SortArg,
        /// Reverse the order.
        #[arg(long)]
        desc: bool,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
    /// Show a class's gradebook: scores and marks, averages, and what is not yet sent.
    /// Reads the district first; offline, shows the copy saved on this computer.
    Gradebook {
        /// The class's sourcedId (see `rollbook classes`).
        class: String,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// The gradebook as CSV (with averages and marks; formulas defused).
        #[arg(long)]
        csv: bool,
    },
    /// Enter a grade. It is saved on this computer at once; `rollbook sync` sends it.
    Grade {
        /// The class's sourcedId.
        class: String,
        /// The line item's sourcedId (see `rollbook gradebook`).
        line_item: String,
        /// The student's sourcedId.
        student: String,
        /// A score, or M (missing), X or E (exempt), L (late), I (incomplete); "" clears.
        value: String,
        /// A comment on the grade ("" removes it).
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Write grades saved on this computer back to the district; reports what was sent,
    /// refused and in conflict.
    Sync {
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
        /// Instead of checking: sign out and delete this user's Rollbook data on this
        /// computer (data folder, gradebook stores, set-aside stores, sign-in options,
        /// the web view's folders). Close the window first.
        #[arg(long, conflicts_with = "issuer")]
        wipe_local_data: bool,
        /// With --wipe-local-data: delete grades not yet sent too.
        #[arg(long, requires = "wipe_local_data")]
        discard_unsent: bool,
    },
}

#[derive(Debug, clap::Args)]
struct LoginArgs {
    /// Sign in to the demo district (start it first with `rollbook-sandbox`); sets the
    /// issuer, client id, profile and roster URLs.
    #[arg(long, conflicts_with_all = ["issuer", "client_id", "oneroster_url", "classlink_api_url"])]
    demo: bool,
    /// Where the demo district runs.
    #[arg(
        long,
        env = "ROLLBOOK_DEMO_URL",
        default_value = "http://127.0.0.1:47600",
        requires = "demo"
    )]
    demo_url: String,
    /// The provider's issuer URL (https; plain http only on loopback addresses).
    #[arg(long, required_unless_present = "demo")]
    issuer: Option<String>,
    /// This app's client id at the provider.
    #[arg(long, required_unless_present = "demo")]
    client_id: Option<String>,
    /// Scopes, space-separated (`openid` is always sent). Default: `openid profile
    /// email`, plus `oneroster` for ClassLink.
    #[arg(long)]
    scope: Option<String>,
    /// What to do after sign-in to find your classes.
    #[arg(long, value_enum, default_value = "oidc")]
    profile: ProfileArg,
    /// ClassLink's API base, for /v2/my/info.
    #[arg(long, default_value = rollbook_core::CLASSLINK_API_URL)]
    classlink_api_url: String,
    /// The district's (or gateway's) OneRoster 1.1 base URL, ending in /ims/oneroster/v1p1.
    #[arg(long)]
    oneroster_url: Option<String>,
    /// An ID-token or userinfo claim holding your OneRoster sourcedId.
    #[arg(long)]
    teacher_id_claim: Option<String>,
    /// How the browser hands the answer back.
    #[arg(long, value_enum, default_value = "loopback")]
    redirect: RedirectArg,
    /// Run this command with the sign-in URL appended instead of the system browser.
    #[arg(long, env = "ROLLBOOK_BROWSER")]
    browser_command: Option<String>,
    /// Give up when the browser has not come back after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// A client secret for providers that insist. It is NOT confidential. Prefer the
    /// ROLLBOOK_CLIENT_SECRET environment variable: other users can see arguments in ps.
    #[arg(long, env = "ROLLBOOK_CLIENT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    client_secret: Option<rollbook_core::auth::NonConfidentialSecret>,
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
            output::print_error(rollbook_core::ErrorCode::Internal, &e.to_string());
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::print_error(e.code(), &e.to_string());
            if let Some(hint) = output::flag_hint(e.code()) {
                output::note(hint);
            }
            ExitCode::from(output::exit_code(&e))
        }
    }
}

/// A client secret from the command line or the environment, held so `Debug` (and so any
/// log of the parsed arguments) prints it redacted.
fn parse_secret(text: &str) -> Result<rollbook_core::auth::NonConfidentialSecret, String> {
    Ok(rollbook_core::auth::NonConfidentialSecret::new(text))
}
