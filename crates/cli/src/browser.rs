//! Opening the sign-in page: the system browser, or a command (`--browser-command`,
//! `ROLLBOOK_BROWSER`) split like a shell command with the URL appended.

use std::process::{Command, Stdio};

use url::Url;

use rollbook_core::BrowserOpener;

#[derive(Debug)]
pub enum Browser {
    System,
    Command(Vec<String>),
}

impl Browser {
    pub fn from_command(command: Option<&str>) -> Result<Self, String> {
        match command.map(str::trim) {
            None | Some("") => Ok(Self::System),
            Some(command) => {
                let words = shell_words::split(command)
                    .map_err(|e| format!("the browser command cannot be parsed: {e}"))?;
                Ok(Self::Command(words))
            }
        }
    }
}

impl BrowserOpener for Browser {
    fn open(&self, url: &Url) -> Result<(), String> {
        match self {
            Self::System => open::that_detached(url.as_str()).map_err(|e| e.to_string()),
            Self::Command(words) => {
                let (program, args) = words.split_first().ok_or("the browser command is empty")?;
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
    }
}
