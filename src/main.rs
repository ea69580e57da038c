//! softtoken: the soft-token app, and on Linux the desktop simulator for QA
//! (`--profile DIR`, `--clock-offset SECONDS`, `--bank-profile FILE`,
//! `--pair-link URL`, `--lang ja|en`).
#![forbid(unsafe_code)]

mod platform;

use softtoken::cli::{self, Options};
use softtoken::i18n::Lang;
use softtoken::services::clipboard::{Clipboard, WebviewClipboard};
use softtoken::services::http::HttpBankClient;
use softtoken::services::keystore::{Profile, ProfileStore};
use softtoken::services::{BankDirectory, Services, SystemClock};
use softtoken::ui::{App, StartOptions};
use std::path::PathBuf;
use std::sync::Arc;

/// The platform data directory of the app's normal profile: the phone's
/// app-private directory, or `$XDG_DATA_HOME/softtoken` on the desktop.
fn default_data_dir() -> PathBuf {
    match platform::app_data_dir() {
        Ok(Some(d)) => return d,
        Ok(None) => {}
        Err(e) => eprintln!("softtoken: app data directory: {e}"),
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("softtoken");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local/share/softtoken"),
        None => PathBuf::from("softtoken-data"),
    }
}

/// Copies codes with the platform's expiring clipboard where there is one
/// (Android), else through the web view.
struct PlatformClipboard;

impl Clipboard for PlatformClipboard {
    fn copy(&self, text: &str) -> bool {
        match platform::clipboard::copy_code(text) {
            Ok(_) => true,
            Err(platform::PlatformError::Unsupported(_)) => WebviewClipboard.copy(text),
            Err(_) => false,
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("softtoken: {msg}");
    eprintln!("usage: {}", cli::USAGE);
    std::process::exit(2);
}

fn directory(opts: &Options) -> BankDirectory {
    let mut dir = BankDirectory::builtin();
    if !opts.bank_profiles.is_empty() && !cfg!(feature = "desktop") {
        fail("--bank-profile is for the desktop simulator only");
    }
    for file in &opts.bank_profiles {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", file.display())));
        if let Err(e) = dir.trust_profile(&text) {
            fail(&format!("{}: {e}", file.display()));
        }
    }
    dir
}

fn main() {
    platform::on_launch();
    let opts = cli::parse(std::env::args().skip(1)).unwrap_or_else(|e| fail(&e.to_string()));
    if opts.help {
        println!("usage: {}", cli::USAGE);
        return;
    }
    let profile = match &opts.profile {
        Some(d) => Profile::Dir(d.clone()),
        None => Profile::Default(default_data_dir()),
    };
    let services = Services {
        clock: Arc::new(SystemClock::with_offset(opts.clock_offset)),
        store: Arc::new(ProfileStore::new(profile)),
        bank: Arc::new(HttpBankClient::default()),
        directory: Arc::new(directory(&opts)),
        clipboard: Arc::new(PlatformClipboard),
    };
    let start = StartOptions {
        lang: opts.lang.unwrap_or_else(Lang::system),
        pair_link: opts
            .pair_link
            .clone()
            .or_else(|| match platform::take_pending_link() {
                Ok(link) => link,
                Err(e) => {
                    eprintln!("softtoken: pairing link: {e}");
                    None
                }
            }),
    };
    let builder = dioxus::LaunchBuilder::new()
        .with_context(services)
        .with_context(start);
    #[cfg(feature = "desktop")]
    let builder = {
        use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
        let title = match &opts.profile {
            Some(d) => format!(
                "softtoken: {}",
                d.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ),
            None => "softtoken".to_owned(),
        };
        let window = WindowBuilder::new()
            .with_title(title)
            .with_inner_size(LogicalSize::new(390.0, 844.0));
        builder.with_cfg(
            Config::new()
                .with_window(window)
                .with_menu(None)
                .with_custom_head(platform::webview::head_html())
                .with_navigation_handler(platform::webview::allow_navigation)
                .with_disable_context_menu(platform::webview::CONTEXT_MENU_DISABLED),
        )
    };
    #[cfg(all(feature = "mobile", not(feature = "desktop")))]
    let builder = builder.with_cfg(
        dioxus::mobile::Config::new()
            .with_custom_head(platform::webview::head_html())
            .with_navigation_handler(platform::webview::allow_navigation)
            .with_disable_context_menu(platform::webview::CONTEXT_MENU_DISABLED),
    );
    builder.launch(App);
}
