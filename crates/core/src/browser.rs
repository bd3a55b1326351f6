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

/// Why a sign-in page might not open on this computer, for `rollbook doctor`: the
/// `ROLLBOOK_BROWSER` command cannot be parsed or found, or (Linux) there is no
/// graphical session, no `xdg-open`, or no default web browser. `None`: nothing found
/// (the page may still not open; the window then offers the link after a few seconds).
pub fn browser_problem() -> Option<(&'static str, String)> {
    let command = std::env::var(BROWSER_ENV).ok();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let graphical =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let default_browser = || {
        Command::new("xdg-settings")
            .args(["get", "default-web-browser"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    diagnose(
        command.as_deref(),
        &path,
        cfg!(target_os = "linux"),
        graphical,
        default_browser,
    )
}

/// [`browser_problem`] with its inputs given (tests): `default_browser` is asked only
/// when everything else is in place.
fn diagnose(
    command: Option<&str>,
    path: &std::ffi::OsStr,
    linux: bool,
    graphical: bool,
    default_browser: impl FnOnce() -> Option<String>,
) -> Option<(&'static str, String)> {
    let on_path = |program: &str| {
        let p = std::path::Path::new(program);
        if p.components().count() > 1 {
            return p.is_file();
        }
        std::env::split_paths(path).any(|dir| dir.join(program).is_file())
    };
    match CommandBrowser::parse(command) {
        Err(e) => return Some(("browser_command_invalid", format!("{BROWSER_ENV}: {e}"))),
        Ok(Some(CommandBrowser(words))) => {
            let program = words.first().map(String::as_str).unwrap_or_default();
            return (!on_path(program)).then(|| {
                ("browser_command_missing", format!("{BROWSER_ENV} names `{program}`, which is not installed or not on PATH; sign-in pages cannot open"))
            });
        }
        Ok(None) => {}
    }
    if !linux {
        return None;
    }
    if !graphical {
        return Some(("browser_no_display", "no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set), so no browser can open; copy the sign-in link into a browser elsewhere".to_owned()));
    }
    if !on_path("xdg-open") {
        return Some(("browser_no_opener", "`xdg-open` is not installed (package xdg-utils), so the default browser cannot be started; install it or set ROLLBOOK_BROWSER".to_owned()));
    }
    match default_browser() {
        Some(b) if !b.is_empty() => None,
        _ => Some(("browser_no_default", "no default web browser is set (xdg-settings get default-web-browser answers nothing); choose one in the desktop's settings or set ROLLBOOK_BROWSER".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_why_a_browser_cannot_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("xdg-open"), "").unwrap();
        std::fs::write(dir.path().join("firefox"), "").unwrap();
        let path = dir.path().as_os_str();
        let code = |command, linux, graphical, default: Option<&str>| {
            diagnose(command, path, linux, graphical, || {
                default.map(str::to_owned)
            })
            .map(|(c, _)| c)
        };
        assert_eq!(code(None, true, true, Some("firefox.desktop")), None);
        assert_eq!(code(None, true, true, None), Some("browser_no_default"));
        assert_eq!(code(None, true, true, Some("")), Some("browser_no_default"));
        assert_eq!(
            code(None, true, false, Some("firefox.desktop")),
            Some("browser_no_display")
        );
        assert_eq!(code(Some("firefox --new-window"), true, false, None), None);
        assert_eq!(
            code(Some("no-such-browser"), true, true, Some("firefox.desktop")),
            Some("browser_command_missing")
        );
        assert_eq!(
            code(Some("'unclosed"), true, true, None),
            Some("browser_command_invalid")
        );
        assert_eq!(code(None, false, false, None), None);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            diagnose(None, empty.path().as_os_str(), true, true, || Some(
                "x".into()
            ))
            .map(|(c, _)| c),
            Some("browser_no_opener")
        );
    }
}
