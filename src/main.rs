//! softtoken: the soft-token app, and on Linux the desktop simulator for QA
//! (`--profile DIR`, `--clock-offset SECONDS`, `--bank-profile FILE`,
//! `--pair-link URL`, `--lang ja|en`). A `softtoken:` URL argument (a
//! pairing or transaction link, as a desktop URL handler passes it) is
//! opened as if the OS had delivered it, or handed to the app already
//! running on the same profile (`platform::single_instance`).
// `unsafe` only in the iOS FFI module (`platform::ios_native`, which opts
// out with `#[allow(unsafe_code)]` and a SAFETY note per block).
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod platform;

use dioxus::prelude::*;
use platform::deep_link::{self, Link};
use platform::link_inbox::LinkInbox;
use softtoken::cli::{self, Options};
use softtoken::i18n::Lang;
use softtoken::services::clipboard::{Clipboard, WebviewClipboard};
use softtoken::services::http::HttpBankClient;
use softtoken::services::keystore::{Profile, ProfileStore};
use softtoken::services::{BankDirectory, Services, SystemClock};
use softtoken::ui::transaction::triggers::TxnTriggers;
use softtoken::ui::{App, StartOptions};
use std::path::PathBuf;
use std::sync::Arc;

#[cfg(feature = "desktop")]
use dioxus::desktop::tao;
#[cfg(all(feature = "mobile", not(feature = "desktop")))]
use dioxus::mobile::tao;

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

/// Creates the default data folder (and marks it excluded from backup on
/// iOS) before the store uses it. A failure is logged and the app goes on:
/// the store then shows its own error screen.
fn prepare(dir: PathBuf) -> PathBuf {
    if let Err(e) = platform::prepare_data_dir(&dir) {
        eprintln!("softtoken: app data folder: {e}");
    }
    dir
}

/// Copies codes with the platform's expiring clipboard where there is one
/// (Android, iOS), else — or when the native call fails — through the web
/// view. Contract: the code is never logged; a failure is logged by kind.
struct PlatformClipboard;

impl Clipboard for PlatformClipboard {
    fn copy(&self, text: &str) -> bool {
        match platform::clipboard::copy_code(text) {
            Ok(_) => true,
            Err(platform::PlatformError::NotACode) => false,
            Err(platform::PlatformError::Unsupported(_)) => WebviewClipboard.copy(text),
            Err(e) => {
                // `e` names the operation and the OS condition, never the text.
                eprintln!("softtoken: native clipboard failed ({e}); web-view copy, no expiry");
                WebviewClipboard.copy(text)
            }
        }
    }
}

/// Feeds what the OS reports while the app runs to the UI: links into
/// `inbox` (iOS and macOS `Event::Opened`; on Android, the activity's
/// intent on every resume, which `onNewIntent` stored), and the app's
/// activity into `triggers`: window focus and phone resume are "came to
/// the foreground" (a shown token polls once), phone suspend is "hidden"
/// (nothing polls). A window losing focus stays visible (the simulator
/// next to a browser keeps polling); the web view reports a minimised or
/// hidden window itself (`visibilitychange`).
#[cfg(any(feature = "desktop", feature = "mobile"))]
fn on_os_event<T>(inbox: &LinkInbox, triggers: &TxnTriggers, event: &tao::event::Event<'_, T>) {
    use tao::event::{Event, WindowEvent};
    match event {
        Event::Opened { urls } => {
            match deep_link::first_link(urls.iter().map(|u| u.as_str())) {
                Some(link) => inbox.put(link),
                // The URLs themselves are not logged (outside input).
                None => eprintln!(
                    "softtoken: opened with {} URL(s), none a softtoken link",
                    urls.len()
                ),
            }
        }
        Event::Resumed => {
            triggers.foreground();
            take_android_link(inbox);
        }
        Event::Suspended => triggers.set_visible(false),
        Event::WindowEvent {
            event: WindowEvent::Focused(true),
            ..
        } => triggers.foreground(),
        _ => {}
    }
}

/// Reads the Android intent off the event loop: the JNI call waits for the
/// UI thread, which must never wait for the event loop in turn.
#[cfg(all(target_os = "android", feature = "mobile"))]
fn take_android_link(inbox: &LinkInbox) {
    let inbox = inbox.clone();
    let spawned = std::thread::Builder::new()
        .name("softtoken-intent".into())
        .spawn(move || match platform::take_pending_link() {
            Ok(Some(link)) => {
                inbox.offer(&link);
            }
            Ok(None) => {}
            Err(e) => eprintln!("softtoken: link: {e}"),
        });
    if let Err(e) = spawned {
        eprintln!("softtoken: link: no thread to read the intent: {e}");
    }
}

#[cfg(not(all(target_os = "android", feature = "mobile")))]
fn take_android_link(_: &LinkInbox) {}

/// The root component: [`App`], restarted at the pairing screen whenever a
/// pairing link arrives in the [`LinkInbox`] context; a transaction link
/// goes to the [`TxnTriggers`] context, which `App` routes (the held
/// token's transaction screen, or a notice) without a restart.
///
/// Needs the root contexts `Services`, `StartOptions`, `LinkInbox` and
/// `TxnTriggers`. A restart remounts `App` with `StartOptions::pair_link`
/// set, exactly as a cold start from that link: the screen the customer
/// was on is left (the token store is untouched) and the language returns
/// to the start language. A link already waiting at mount (a URL argument,
/// the Android launch intent, iOS `Opened` before the first render) is
/// used as well; a waiting pairing link only when no start link was given.
#[component]
fn Root() -> Element {
    let initial = use_context::<StartOptions>();
    let inbox = use_context::<LinkInbox>();
    let triggers = use_context::<TxnTriggers>();
    let mut start = use_signal({
        let inbox = inbox.clone();
        let triggers = triggers.clone();
        move || {
            let waiting = match inbox.take() {
                Some(Link::Pair(link)) => Some(link),
                Some(Link::Txn(link)) => {
                    triggers.open_link(link);
                    None
                }
                None => None,
            };
            StartOptions {
                pair_link: initial.pair_link.clone().or(waiting),
                ..initial
            }
        }
    });
    let mut restarts = use_signal(|| 0_u64);
    use_future(move || {
        let inbox = inbox.clone();
        let triggers = triggers.clone();
        async move {
            loop {
                match inbox.next().await {
                    Link::Pair(link) => {
                        start.write().pair_link = Some(link);
                        restarts += 1;
                    }
                    Link::Txn(link) => triggers.open_link(link),
                }
            }
        }
    });
    // Shadows the launch context for `App`, which reads it when it mounts.
    provide_context(start());
    rsx! {
        // A one-element keyed list: Dioxus compares keys only among list
        // siblings, so a new key unmounts the old `App` and mounts a new one.
        for generation in [restarts()] {
            Body { key: "{generation}" }
        }
    }
}

/// [`App`], or under `--qa` (root context `QaContext`) the QA panel's
/// shell around it.
#[component]
fn Body() -> Element {
    #[cfg(feature = "desktop")]
    if try_use_context::<softtoken::ui::qa::QaContext>().is_some() {
        return rsx! { softtoken::ui::qa::QaShell {} };
    }
    rsx! { App {} }
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
    let (urls, args) = deep_link::split_link_args(std::env::args().skip(1));
    let opts = cli::parse(args).unwrap_or_else(|e| fail(&e.to_string()));
    if opts.help {
        println!("usage: {}", cli::USAGE);
        return;
    }
    let profile = match &opts.profile {
        Some(d) => Profile::Dir(d.clone()),
        None => Profile::Default(prepare(default_data_dir())),
    };
    // Desktop: links of a second launch go to the app already running on
    // this profile (platform::single_instance).
    #[cfg(all(unix, feature = "desktop"))]
    let link_socket = {
        use platform::single_instance::{claim, runtime_dir, socket_path, Claim};
        let folder = match &profile {
            Profile::Dir(d) | Profile::Default(d) => {
                std::fs::canonicalize(d).unwrap_or_else(|_| d.clone())
            }
        };
        match runtime_dir().map(|run| claim(&socket_path(&run, &folder), &urls)) {
            Some(Claim::Handed) => return,
            Some(Claim::Serve(listener)) => Some(listener),
            Some(Claim::Alone) | None => None,
        }
    };
    // `--qa`: the QA panel, whose adjustable clock is the app's one clock.
    #[cfg(feature = "desktop")]
    let qa = opts
        .qa
        .then(|| softtoken::ui::qa::simulator(&profile, opts.clock_offset));
    #[cfg(not(feature = "desktop"))]
    if opts.qa {
        fail("--qa is for the desktop simulator only");
    }
    let clock: Arc<dyn softtoken::services::Clock> =
        Arc::new(SystemClock::with_offset(opts.clock_offset));
    #[cfg(feature = "desktop")]
    let clock = qa.as_ref().map_or(clock, |q| {
        q.clock.clone() as Arc<dyn softtoken::services::Clock>
    });
    let services = Services {
        clock,
        store: Arc::new(ProfileStore::new(profile)),
        bank: Arc::new(HttpBankClient::default()),
        directory: Arc::new(directory(&opts)),
        clipboard: Arc::new(PlatformClipboard),
    };
    let start = StartOptions {
        lang: opts.lang.unwrap_or_else(Lang::system),
        pair_link: opts.pair_link.clone(),
    };
    // Links at launch, oldest first, so the newest is kept: URL arguments,
    // then the Android launch intent.
    let inbox = LinkInbox::default();
    for url in &urls {
        if !inbox.offer(url) {
            eprintln!("softtoken: a URL argument is not a softtoken link; ignored");
        }
    }
    match platform::take_pending_link() {
        Ok(Some(link)) => {
            inbox.offer(&link);
        }
        Ok(None) => {}
        Err(e) => eprintln!("softtoken: link: {e}"),
    }
    #[cfg(all(unix, feature = "desktop"))]
    if let Some(listener) = link_socket {
        if !platform::single_instance::serve(listener, inbox.clone()) {
            eprintln!("softtoken: no thread for links of a second launch");
        }
    }
    let triggers = TxnTriggers::default();
    let builder = dioxus::LaunchBuilder::new()
        .with_context(services)
        .with_context(start)
        .with_context(inbox.clone())
        .with_context(triggers.clone());
    #[cfg(feature = "desktop")]
    let builder = match qa {
        Some(qa) => builder.with_context(qa),
        None => builder,
    };
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
                .with_custom_index(platform::webview::index_html())
                .with_custom_head(platform::webview::head_html())
                .with_navigation_handler(platform::webview::allow_navigation)
                .with_disable_context_menu(platform::webview::CONTEXT_MENU_DISABLED)
                .with_custom_event_handler(move |event, _| on_os_event(&inbox, &triggers, event)),
        )
    };
    #[cfg(all(feature = "mobile", not(feature = "desktop")))]
    let builder = builder.with_cfg(
        dioxus::mobile::Config::new()
            .with_custom_index(platform::webview::index_html())
            .with_custom_head(platform::webview::head_html())
            .with_navigation_handler(platform::webview::allow_navigation)
            .with_disable_context_menu(platform::webview::CONTEXT_MENU_DISABLED)
            .with_custom_event_handler(move |event, _| on_os_event(&inbox, &triggers, event)),
    );
    builder.launch(Root);
}

#[cfg(test)]
mod tests {
    use super::*;
    use softtoken::services::testing::{FixedClock, MemoryClipboard, MemoryStore};
    use std::time::Duration;

    /// A link for the bank of the built-in directory (assets/banks.json).
    const LINK: &str = "softtoken://pair?v=1&bank=example-shinkin\
        &url=https%3A%2F%2Ftoken.example-shinkin.invalid&kid=example-2026-1";
    const BANK_NAME: &str = "サンプル信用金庫";

    /// `Root` over an empty in-memory store and the built-in directory.
    fn root(start_link: Option<&str>, inbox: &LinkInbox) -> VirtualDom {
        root_over(
            start_link,
            inbox,
            &TxnTriggers::default(),
            Arc::new(MemoryStore::default()),
            Arc::new(HttpBankClient::default()),
        )
    }

    fn root_over(
        start_link: Option<&str>,
        inbox: &LinkInbox,
        triggers: &TxnTriggers,
        store: Arc<dyn softtoken::services::TokenStore>,
        bank: Arc<dyn softtoken::services::BankClient>,
    ) -> VirtualDom {
        let services = Services {
            clock: Arc::new(FixedClock::at(1_800_000_000)),
            store,
            bank,
            directory: Arc::new(BankDirectory::builtin()),
            clipboard: Arc::new(MemoryClipboard::default()),
        };
        let mut dom = VirtualDom::new(Root)
            .with_root_context(services)
            .with_root_context(StartOptions {
                lang: Lang::Ja,
                pair_link: start_link.map(str::to_owned),
            })
            .with_root_context(inbox.clone())
            .with_root_context(triggers.clone());
        dom.rebuild_in_place();
        dom
    }

    const TXN_SERIAL: &str = "K7M3Q9XZ2PD0";

    /// Two tokens of bank `demo` (so the app starts on the list, where
    /// nothing polls), `K7M3Q9XZ2PD0` among them.
    fn two_tokens() -> Arc<MemoryStore> {
        use softtoken::services::TokenMeta;
        use softtoken_core::{Secret, Serial};
        let meta = |serial: &str| TokenMeta {
            serial: Serial::parse_strict(serial).unwrap(),
            bank_id: "demo".into(),
            bank_name: "デモ信用金庫".into(),
            url: "http://127.0.0.1:8700".into(),
            paired_at: 1_700_000_000,
            bind_by: None,
            clock_offset: None,
        };
        Arc::new(MemoryStore::with_tokens(vec![
            (meta(TXN_SERIAL), Secret::from_slice(&[7; 20])),
            (meta("2V0716016FKF"), Secret::from_slice(&[8; 20])),
        ]))
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_transaction_link_opens_the_held_tokens_transaction_screen() {
        use softtoken::services::testing::TxnBank;
        let inbox = LinkInbox::default();
        let triggers = TxnTriggers::default();
        let bank = Arc::new(TxnBank::at(1_800_000_000));
        let mut dom = root_over(None, &inbox, &triggers, two_tokens(), bank.clone());
        let before = settle(&mut dom).await;
        assert!(!before.contains(r#"id="txn-title""#), "{before}");
        assert!(
            bank.polls.lock().unwrap().is_empty(),
            "the list polls nothing"
        );

        // Another bank's token of the same serial: a notice, no poll.
        assert!(inbox.offer(&format!("softtoken://txn?bank=other&serial={TXN_SERIAL}")));
        let html = settle(&mut dom).await;
        assert!(html.contains(r#"id="txn-link-unknown""#), "{html}");
        assert!(!html.contains(r#"id="txn-title""#), "{html}");
        assert!(bank.polls.lock().unwrap().is_empty());

        assert!(inbox.offer(&format!("softtoken://txn?bank=demo&serial={TXN_SERIAL}")));
        let html = settle(&mut dom).await;
        assert!(html.contains(r#"id="txn-title""#), "{html}");
        assert!(!html.contains(r#"id="txn-link-unknown""#), "{html}");
        let polls = bank.polls.lock().unwrap().clone();
        assert_eq!(polls.len(), 1, "polled at once");
        assert_eq!(polls[0].0.as_str(), TXN_SERIAL);
        assert_eq!(inbox.take(), None, "the link is consumed once");
        assert_eq!(triggers.take_link(), None, "routed once");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_transaction_link_waiting_at_start_is_routed_once_the_list_loaded() {
        use softtoken::services::testing::TxnBank;
        let inbox = LinkInbox::default();
        assert!(inbox.offer(&format!("softtoken://txn?bank=demo&serial={TXN_SERIAL}")));
        let triggers = TxnTriggers::default();
        let bank = Arc::new(TxnBank::at(1_800_000_000));
        let mut dom = root_over(None, &inbox, &triggers, two_tokens(), bank.clone());
        let html = settle(&mut dom).await;
        assert!(html.contains(r#"id="txn-title""#), "{html}");
        assert_eq!(bank.polls.lock().unwrap().len(), 1);
    }

    /// Runs every task that is ready (time is paused: no ticker fires).
    async fn settle(dom: &mut VirtualDom) -> String {
        for _ in 0..20 {
            if tokio::time::timeout(Duration::from_millis(50), dom.wait_for_work())
                .await
                .is_err()
            {
                break;
            }
            dom.render_immediate_to_vec();
        }
        dom.render_immediate_to_vec();
        dioxus_ssr::render(dom)
    }

    fn asks_to_pair_with_the_bank(html: &str) -> bool {
        html.contains(r#"id="confirm-bank""#) && html.contains(BANK_NAME)
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_link_arriving_while_running_opens_the_pairing_confirmation() {
        let inbox = LinkInbox::default();
        let mut dom = root(None, &inbox);
        let before = settle(&mut dom).await;
        // Empty store, no link: the bank picker, no confirmation.
        assert!(before.contains(r#"id="pair-link""#), "{before}");
        assert!(!asks_to_pair_with_the_bank(&before), "{before}");

        // Something that is not a pairing link changes nothing.
        assert!(!inbox.offer("https://token.example-shinkin.invalid/"));
        assert_eq!(settle(&mut dom).await, before);

        assert!(inbox.offer(LINK));
        let after = settle(&mut dom).await;
        assert!(asks_to_pair_with_the_bank(&after), "{after}");
        assert_eq!(inbox.take(), None, "the link is consumed once");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_link_waiting_before_the_first_render_is_used_at_start() {
        // iOS cold start: `Opened` may come before the first render.
        let inbox = LinkInbox::default();
        assert!(inbox.offer(LINK));
        let mut dom = root(None, &inbox);
        let html = settle(&mut dom).await;
        assert!(asks_to_pair_with_the_bank(&html), "{html}");
        assert_eq!(inbox.take(), None);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn the_start_link_opens_the_pairing_confirmation() {
        let inbox = LinkInbox::default();
        let mut dom = root(Some(LINK), &inbox);
        let html = settle(&mut dom).await;
        assert!(asks_to_pair_with_the_bank(&html), "{html}");
    }

    #[test]
    fn the_clipboard_refuses_non_codes_without_a_fallback() {
        // A secret-shaped text never reaches any clipboard.
        assert!(!PlatformClipboard.copy("JBSWY3DPEHPK3PXP"));
    }
}
