//! A scripted stand-in for the system browser, for tests: `--browser-command` and
//! `ROLLBOOK_BROWSER` point at it. It follows the provider's pages over plain HTTP,
//! signs in and consents (oidc-provider's dev interactions, the demo district's
//! teacher picker and consent page, or the fake OP's instant redirect), and delivers
//! the final redirect: a loopback URL is fetched, a custom-scheme URL is printed on
//! stdout (or appended to `--scheme-out FILE`).
//!
//! On the demo district, `--login` picks the staff member by sourcedId or username;
//! without it, the first one offered.
//!
//! `--redirect-out FILE` writes the final redirect (loopback or custom scheme) to FILE
//! instead of delivering it: a test can then hand it to another listener.
//!
//! Usage: rollbook-test-browser [--login NAME] [--deny] [--scheme-out FILE]
//!        [--redirect-out FILE] URL

#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool

use std::io::Write;
use std::process::ExitCode;

use url::Url;

struct Options {
    login: String,
    login_given: bool,
    deny: bool,
    scheme_out: Option<String>,
    redirect_out: Option<String>,
    url: String,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        login: "teacher-0042".into(),
        login_given: false,
        deny: false,
        scheme_out: None,
        redirect_out: None,
        url: String::new(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--login" => {
                options.login = args.next().ok_or("--login needs a value")?;
                options.login_given = true;
            }
            "--deny" => options.deny = true,
            "--scheme-out" => {
                options.scheme_out = Some(args.next().ok_or("--scheme-out needs a value")?)
            }
            "--redirect-out" => {
                options.redirect_out = Some(args.next().ok_or("--redirect-out needs a value")?)
            }
            _ => options.url = arg,
        }
    }
    if options.url.is_empty() {
        return Err(
            "usage: rollbook-test-browser [--login NAME] [--deny] [--scheme-out FILE] [--redirect-out FILE] URL".into(),
        );
    }
    Ok(options)
}

/// The value of the first `name="{name}"` input on the page.
fn first_value(page: &str, name: &str) -> Option<String> {
    page.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

fn form_action(page: &str, current: &Url) -> Url {
    page.split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|action| current.join(action).ok())
        .unwrap_or_else(|| current.clone())
}

async fn run(options: Options) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .map_err(|e| e.to_string())?;
    let mut url = Url::parse(&options.url).map_err(|e| e.to_string())?;
    let redirect_uri = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .and_then(|(_, v)| Url::parse(&v).ok());
    let mut form: Option<Vec<(&str, String)>> = None;
    for _ in 0..20 {
        let is_the_apps = redirect_uri.as_ref().is_some_and(|r| {
            r.scheme() == url.scheme()
                && r.host() == url.host()
                && r.port() == url.port()
                && r.path() == url.path()
        });
        if let (true, Some(path)) = (is_the_apps, &options.redirect_out) {
            std::fs::write(path, format!("{url}\n")).map_err(|e| e.to_string())?;
            return Ok(());
        }
        if url.scheme() != "http" && url.scheme() != "https" {
            match &options.scheme_out {
                Some(path) => {
                    let mut file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|e| e.to_string())?;
                    writeln!(file, "{url}").map_err(|e| e.to_string())?;
                }
                None => println!("{url}"),
            }
            return Ok(());
        }
        let response = match form.take() {
            Some(fields) => client.post(url.clone()).form(&fields).send().await,
            None => client.get(url.clone()).send().await,
        }
        .map_err(|e| format!("{url}: {e} ({:?})", std::error::Error::source(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or("redirect without Location")?;
            url = url.join(location).map_err(|e| e.to_string())?;
            continue;
        }
        let page = response.text().await.map_err(|e| e.to_string())?;
        if page.contains("name=\"prompt\" value=\"login\"") {
            form = Some(vec![
                ("prompt", "login".into()),
                ("login", options.login.clone()),
                ("password", "test".into()),
            ]);
            url = form_action(&page, &url);
        } else if page.contains("name=\"teacher\"") {
            // The demo district's teacher picker.
            let login = if options.login_given {
                options.login.clone()
            } else {
                first_value(&page, "teacher").ok_or("the picker offers no one")?
            };
            form = Some(vec![("teacher", login)]);
            url = form_action(&page, &url);
        } else if page.contains("name=\"decision\"") {
            // The demo district's consent page.
            let decision = if options.deny { "deny" } else { "allow" };
            form = Some(vec![("decision", decision.into())]);
            url = form_action(&page, &url);
        } else if page.contains("name=\"prompt\" value=\"consent\"") {
            if options.deny {
                url = url
                    .join(&format!("{}/abort", url.path()))
                    .map_err(|e| e.to_string())?;
            } else {
                form = Some(vec![("prompt", "consent".into())]);
                url = form_action(&page, &url);
            }
        } else {
            // The final page (the app's loopback answer) or an error page: done.
            eprintln!(
                "test browser: {status} at {}{}",
                url.origin().ascii_serialization(),
                url.path()
            );
            return if status.is_success() {
                Ok(())
            } else {
                Err(format!("ended on HTTP {status}"))
            };
        }
    }
    Err("too many steps".into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let result = match parse_args() {
        Ok(options) => run(options).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test browser: {e}");
            if let Some(log) = std::env::var_os("ROLLBOOK_TEST_BROWSER_LOG") {
                let _ = std::fs::write(log, format!("test browser: {e}\n"));
            }
            ExitCode::FAILURE
        }
    }
}
