//! Opening the sign-in page in the system browser (tauri-plugin-opener), or, in builds
//! with the `test-hooks` feature (end-to-end tests and benchmarks, never a shipped app),
//! with the `ROLLBOOK_BROWSER` command, the same contract as the CLI's.

use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;
use url::Url;

use rollbook_core::BrowserOpener;
#[cfg(feature = "test-hooks")]
use rollbook_core::CommandBrowser;

pub enum Browser {
    System(AppHandle),
    #[cfg(feature = "test-hooks")]
    Command(CommandBrowser),
}

impl Browser {
    pub fn new(app: AppHandle) -> Result<Self, String> {
        #[cfg(feature = "test-hooks")]
        if let Some(command) = CommandBrowser::from_env()? {
            return Ok(Self::Command(command));
        }
        Ok(Self::System(app))
    }
}

impl BrowserOpener for Browser {
    fn open(&self, url: &Url) -> Result<(), String> {
        match self {
            Self::System(app) => app
                .opener()
                .open_url(url.as_str(), None::<&str>)
                .map_err(|e| e.to_string()),
            #[cfg(feature = "test-hooks")]
            Self::Command(command) => command.open(url),
        }
    }
}
