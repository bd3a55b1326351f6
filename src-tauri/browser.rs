//! Opening the sign-in page in the system browser (tauri-plugin-opener), or with the
//! `ROLLBOOK_BROWSER` command, the same contract as the CLI's, for end-to-end tests.

use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;
use url::Url;

use rollbook_core::{BrowserOpener, CommandBrowser};

pub enum Browser {
    System(AppHandle),
    Command(CommandBrowser),
}

impl Browser {
    pub fn new(app: AppHandle) -> Result<Self, String> {
        Ok(CommandBrowser::from_env()?.map_or(Self::System(app), Self::Command))
    }
}

impl BrowserOpener for Browser {
    fn open(&self, url: &Url) -> Result<(), String> {
        match self {
            Self::System(app) => app
                .opener()
                .open_url(url.as_str(), None::<&str>)
                .map_err(|e| e.to_string()),
            Self::Command(command) => command.open(url),
        }
    }
}
