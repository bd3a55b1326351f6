//! How a sign-in opens the system browser. The shell and the CLI each bring their own
//! system-browser opener; both honour `ROLLBOOK_BROWSER` (or the CLI's
//! `--browser-command`) through [`CommandBrowser`], the contract tests rely on.

use std::process::{Command, Stdio};

use url::Url;

/// Opens the authorization URL outside the app (RFC 8252 §8.12: never an embedded view).
pub trait BrowserOpener: Send + Sync {
    fn open(&self, url: &Url) -> Result<(), String>;
}

/// The environment variable naming a command to open sign-in URLs with.
pub const BROWSER_ENV: &str = "ROLLBOOK_BROWSER";

/// A command, split like a shell command, run with the URL appended.
#[derive(Debug, Clone)]
pub struct CommandBrowser(Vec<String>);

impl CommandBrowser {
    /// `None` for an absent or blank command.
    pub fn parse(command: Option<&str>) -> Result<Option<Self>, String> {
        match command.map(str::trim) {
            None | Some("") => Ok(None),
            Some(command) => shell_words::split(command)
                .map(|words| Some(Self(words)))
                .map_err(|e| format!("the browser command cannot be parsed: {e}")),
        }
    }

    /// The command in `ROLLBOOK_BROWSER`, if set.
    pub fn from_env() -> Result<Option<Self>, String> {
        Self::parse(std::env::var(BROWSER_ENV).ok().as_deref())
    }
}

impl BrowserOpener for CommandBrowser {
    fn open(&self, url: &Url) -> Result<(), String> {
        let (program, args) = self.0.split_first().ok_or("the browser command is empty")?;
        Command::new(program)
            .args(args)
            .arg(url.as_str())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Browsers chatter on stderr; keep ours to one clean error line.
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|e| format!("`{program}` could not be started: {e}"))
    }
}
