//! Opening the sign-in page: the system browser, or a command (`--browser-command`,
//! `ROLLBOOK_BROWSER`) split like a shell command with the URL appended.

use url::Url;

use rollbook_core::{BrowserOpener, CommandBrowser};

#[derive(Debug)]
pub enum Browser {
    System,
    Command(CommandBrowser),
}

impl Browser {
    pub fn from_command(command: Option<&str>) -> Result<Self, String> {
        Ok(CommandBrowser::parse(command)?.map_or(Self::System, Self::Command))
    }
}

impl BrowserOpener for Browser {
    fn open(&self, url: &Url) -> Result<(), String> {
        match self {
            Self::System => open::that_detached(url.as_str()).map_err(|e| e.to_string()),
            Self::Command(command) => command.open(url),
        }
    }
}
