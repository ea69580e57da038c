//! What makes the app poll a token's pending transactions, besides opening
//! a token or transaction screen: a `softtoken://txn` link from the
//! operating system and the app coming back to the foreground; and what
//! stops it: the app hidden.
//!
//! [`TxnTriggers`] is a thread-safe handle, a root context: the OS event
//! loop (window focus, mobile resume/suspend, links) and the web view's
//! `visibilitychange` write to it, the screens read it. The polling loop
//! ([`run_watch`]) is shared by the token screen's watch and the
//! transaction screen. Its contract:
//! * a poll when the screen opens, then one every [`POLL_EVERY_SECS`]
//!   after each answer, for [`POLL_FOR_SECS`] (a *window*);
//! * a wake (foreground, or a link naming the shown token) polls at once —
//!   but never sooner than [`MIN_GAP_MILLIS`] after the previous poll
//!   started — and restarts the window;
//! * nothing while the app is hidden (not visible), whatever the window;
//!   coming back from hidden is a wake;
//! * at most one poll request in flight in the whole app: every poll holds
//!   [`TxnTriggers`]' gate while it waits for its answer, and a loop awaits
//!   its own answer before it waits for anything else. A wake that comes
//!   while a poll is in flight is served by one poll after that answer.
//!
//! [`TxnLinks`] routes the links: a link is acted on only for a token the
//! app holds for that bank (bank id and serial both match), which opens
//! its transaction screen (a poll at once, a new window); any other link
//! shows a notice and polls nothing.
use super::{poll_once, Polled, POLL_EVERY_SECS, POLL_FOR_SECS};
use crate::i18n::Msg;
use crate::services::txn_link::TxnLink;
use crate::services::Services;
use crate::ui::state::{use_language, use_navigation, use_token_list, Route};
use crate::ui::widgets::Button;
use dioxus::prelude::*;
use softtoken_core::txn::TxnId;
use softtoken_core::Serial;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Shortest time between the starts of two polls of one screen caused by
/// wakes, in milliseconds (a burst of focus events polls once).
pub const MIN_GAP_MILLIS: u64 = 1_000;

/// Polls in one window: the first at once, then every 5 s for 3 minutes.
pub const POLLS_PER_WINDOW: u64 = POLL_FOR_SECS / POLL_EVERY_SECS + 1;

/// The environment variable that, in builds with the `bench` feature
/// only, turns transaction polling off (for bench/app/txn-poll.sh, which
/// compares the app's idle CPU with and without polling). Other builds
/// never read it.
pub const NO_POLL_ENV: &str = "SOFTTOKEN_BENCH_NO_TXN_POLL";

/// Whether polling is switched off for a benchmark (see [`NO_POLL_ENV`]).
pub fn polling_disabled_for_bench() -> bool {
    cfg!(feature = "bench") && std::env::var_os(NO_POLL_ENV).is_some()
}

/// The state the polling loops follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The app is in the foreground and its window or screen visible.
    pub visible: bool,
    /// Counts the wakes: the app came (back) to the foreground.
    pub wakes: u64,
    /// Counts the links that named the token of a shown transaction
    /// screen, and that token.
    pub link_wakes: (u64, Option<Serial>),
    /// Counts the transaction links offered (see [`TxnTriggers::open_link`]).
    pub links: u64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            visible: true,
            wakes: 0,
            link_wakes: (0, None),
            links: 0,
        }
    }
}

/// Shared handle to the triggers; clones refer to the same state. Safe to
/// use from any thread (the OS event loop, a helper thread, the UI).
#[derive(Clone)]
pub struct TxnTriggers {
    inner: Arc<Inner>,
}

struct Inner {
    state: watch::Sender<Activity>,
    /// The newest transaction link not yet routed.
    link: Mutex<Option<TxnLink>>,
    /// Held by the one poll request in flight.
    gate: tokio::sync::Mutex<()>,
    /// Pending transactions the customer left undecided with 「戻る」
    /// ([`TxnTriggers::set_aside`]), newest last, at most
    /// [`MAX_SET_ASIDE`].
    set_aside: Mutex<Vec<(Serial, SetAside)>>,
}

/// How many set-aside transactions are remembered (oldest forgotten).
pub const MAX_SET_ASIDE: usize = 16;

/// What the customer left undecided on the transaction screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetAside {
    /// A verified pending transaction, by its id.
    Pending(TxnId),
    /// A transaction that failed verification (it has no trusted id).
    Invalid,
}

impl Default for TxnTriggers {
    fn default() -> Self {
        TxnTriggers {
            inner: Arc::new(Inner {
                state: watch::Sender::new(Activity::default()),
                link: Mutex::new(None),
                gate: tokio::sync::Mutex::new(()),
                set_aside: Mutex::new(Vec::new()),
            }),
        }
    }
}

impl std::fmt::Debug for TxnTriggers {
    /// The activity and whether a link waits; never the link itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnTriggers")
            .field("visible", &self.activity().visible)
            .field("link_waiting", &self.slot().is_some())
            .finish()
    }
}

impl TxnTriggers {
    /// The current activity.
    pub fn activity(&self) -> Activity {
        self.inner.state.borrow().clone()
    }

    /// A receiver that sees every later change.
    pub fn subscribe(&self) -> watch::Receiver<Activity> {
        self.inner.state.subscribe()
    }

    /// The app came to the foreground (window focused, phone app resumed):
    /// it is visible, and a shown token or transaction screen polls once
    /// and restarts its window.
    pub fn foreground(&self) {
        self.inner.state.send_modify(|a| {
            a.visible = true;
            a.wakes += 1;
        });
    }

    /// The app's visibility changed (web view `visibilitychange`, phone
    /// app suspended). Hidden: nothing polls until visible again. Hidden →
    /// visible counts as coming to the foreground; visible → visible
    /// changes nothing.
    pub fn set_visible(&self, visible: bool) {
        self.inner
            .state
            .send_if_modified(|a| match (a.visible, visible) {
                (false, true) => {
                    a.visible = true;
                    a.wakes += 1;
                    true
                }
                (true, false) => {
                    a.visible = false;
                    true
                }
                _ => false,
            });
    }

    /// Offers a transaction link from the OS: it waits (replacing an older
    /// one not yet routed) until [`TxnLinks`] routes it.
    pub fn open_link(&self, link: TxnLink) {
        *self.slot() = Some(link);
        self.inner.state.send_modify(|a| a.links += 1);
    }

    /// Takes the waiting link, if any.
    pub fn take_link(&self) -> Option<TxnLink> {
        self.slot().take()
    }

    /// The customer went back from `serial`'s transaction screen without
    /// deciding `what`: the token screen's watch no longer opens that
    /// transaction by itself (the customer opens it with 「取引を確認」 or
    /// a link), so 「戻る」 really leaves it, e.g. for the offline
    /// 取引認証番号 screen. Another transaction still opens by itself.
    pub fn set_aside(&self, serial: &Serial, what: SetAside) {
        let mut list = self.set_aside_list();
        list.retain(|(s, _)| s != serial);
        list.push((serial.clone(), what));
        let excess = list.len().saturating_sub(MAX_SET_ASIDE);
        list.drain(..excess);
    }

    /// Whether `what` is what the customer set aside for `serial`.
    pub fn is_set_aside(&self, serial: &Serial, what: SetAside) -> bool {
        self.set_aside_list()
            .iter()
            .any(|(s, w)| s == serial && *w == what)
    }

    fn set_aside_list(&self) -> std::sync::MutexGuard<'_, Vec<(Serial, SetAside)>> {
        // The list holds plain values: a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still usable.
        self.inner
            .set_aside
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A link named `serial`, whose transaction screen is shown: that
    /// screen starts afresh (even after a decision), polls at once and
    /// restarts its window.
    fn link_wake(&self, serial: Serial) {
        self.inner.state.send_modify(|a| {
            a.link_wakes = (a.link_wakes.0 + 1, Some(serial));
        });
    }

    /// The slot; a panic elsewhere while holding it cannot corrupt an
    /// `Option`, so a poisoned lock is used as is.
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<TxnLink>> {
        self.inner
            .link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a window (re)starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The app came to the foreground.
    Foreground,
    /// A link named this screen's token.
    Link,
}

/// What a polling loop does after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Go on with the window.
    Continue,
    /// End the window now; a later wake may start a new one.
    EndWindow,
}

/// The screen side of a polling loop.
pub(crate) trait Watcher {
    /// Checked before each poll; `false` ends the window without polling.
    fn may_poll(&mut self) -> bool {
        true
    }
    /// A wake came; returns whether it starts a new window.
    fn woken(&mut self, by: Wake) -> bool;
    /// The outcome of one poll.
    fn polled(&mut self, outcome: Polled) -> Step;
}

/// Runs the polling loop of one screen for `serial` at `url` (see the
/// module's contract) until the caller drops it (the screen closes).
pub(crate) async fn run_watch(
    services: Services,
    triggers: TxnTriggers,
    url: String,
    serial: Serial,
    mut watcher: impl Watcher,
) {
    if polling_disabled_for_bench() {
        return;
    }
    let mut rx = triggers.subscribe();
    let mut seen = rx.borrow_and_update().clone();
    let mut left = POLLS_PER_WINDOW;
    let mut due = Instant::now();
    let mut last_start: Option<Instant> = None;
    loop {
        let now = rx.borrow_and_update().clone();
        let mut wake = None;
        if now.wakes != seen.wakes {
            wake = Some(Wake::Foreground);
        }
        if now.link_wakes.0 != seen.link_wakes.0 && now.link_wakes.1.as_ref() == Some(&serial) {
            wake = Some(Wake::Link);
        }
        seen = now.clone();
        if let Some(by) = wake {
            if watcher.woken(by) {
                left = POLLS_PER_WINDOW;
                let gap = Duration::from_millis(MIN_GAP_MILLIS);
                due = last_start.map_or_else(Instant::now, |s| (s + gap).max(Instant::now()));
            }
        }
        if now.visible && left > 0 && Instant::now() >= due {
            if !watcher.may_poll() {
                left = 0;
                continue;
            }
            left -= 1;
            last_start = Some(Instant::now());
            let outcome = {
                let _in_flight = triggers.inner.gate.lock().await;
                poll_once(&services, &url, &serial).await
            };
            if watcher.polled(outcome) == Step::EndWindow {
                left = 0;
            }
            due = Instant::now() + Duration::from_secs(POLL_EVERY_SECS);
            continue;
        }
        if now.visible && left > 0 {
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = rx.changed() => {}
            }
        } else if rx.changed().await.is_err() {
            // The sender lives as long as `triggers`: not reached.
            return;
        }
    }
}

/// The triggers of the current app: the root context given by `main`, or
/// (tests, a root without one) an inert handle of the app's own.
pub fn use_txn_triggers() -> TxnTriggers {
    use_context::<TxnTriggers>()
}

/// Provides the triggers to the screens (root only, once): the root
/// context [`TxnTriggers`] if there is one, else a handle of its own.
pub fn provide_txn_triggers() -> TxnTriggers {
    let triggers = use_hook(|| try_consume_context::<TxnTriggers>().unwrap_or_default());
    use_context_provider(|| triggers.clone())
}

/// Reports the web view's visibility (`document.hidden`, at start and on
/// every `visibilitychange`) to the triggers. Without a web view (tests)
/// the script cannot run and nothing is reported.
fn use_visibility(triggers: TxnTriggers) {
    use_future(move || {
        let triggers = triggers.clone();
        async move {
            let mut ev = document::eval(
                "const report = () => dioxus.send(!document.hidden);\
                 document.addEventListener('visibilitychange', report);\
                 report();\
                 await new Promise(() => {});",
            );
            while let Ok(visible) = ev.recv::<bool>().await {
                triggers.set_visible(visible);
            }
        }
    });
}

/// Where a transaction link leads, given the loaded token list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// The app holds this token for the link's bank.
    Held(Serial),
    /// No token of the app has both the link's bank id and serial.
    Unknown,
}

/// Resolves `link` against the tokens the app holds: bank id and serial
/// must both match one token.
pub fn link_target(link: &TxnLink, tokens: &[crate::services::TokenMeta]) -> LinkTarget {
    match tokens
        .iter()
        .find(|m| m.serial == link.serial && m.bank_id == link.bank)
    {
        Some(m) => LinkTarget::Held(m.serial.clone()),
        None => LinkTarget::Unknown,
    }
}

/// Routes transaction links for the whole app (mounted once, by the root)
/// and shows the notice for a link the app cannot act on, until dismissed
/// or a later link is routed. A link waits while the token list loads or a
/// pairing talks to the bank. Also reports the web view's visibility to
/// the triggers.
#[component]
pub fn TxnLinks() -> Element {
    let lang = use_language();
    let nav = use_navigation();
    let tokens = use_token_list();
    let triggers = use_txn_triggers();
    use_visibility(triggers.clone());
    let mut arrivals = use_signal(|| 0u64);
    let mut unknown = use_signal(|| false);
    use_future({
        let triggers = triggers.clone();
        move || {
            let mut rx = triggers.subscribe();
            async move {
                loop {
                    let links = rx.borrow_and_update().links;
                    if *arrivals.peek() != links {
                        arrivals.set(links);
                    }
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    use_effect(move || {
        let _ = arrivals();
        let busy = tokens.pairing();
        let Some(Ok(list)) = tokens.loaded() else {
            return;
        };
        if busy {
            return;
        }
        let Some(link) = triggers.take_link() else {
            return;
        };
        match link_target(&link, &list) {
            LinkTarget::Held(serial) => {
                unknown.set(false);
                if nav.shown() == Route::Transaction(serial.clone()) {
                    triggers.link_wake(serial);
                } else {
                    nav.go(Route::Transaction(serial));
                }
            }
            LinkTarget::Unknown => unknown.set(true),
        }
    });
    if !unknown() {
        return rsx! {};
    }
    rsx! {
        div { class: "notices",
            div { class: "notice warning", id: "txn-link-unknown", role: "alert",
                p { {lang.t(Msg::TxnLinkUnknown)} }
                Button {
                    msg: Msg::Dismiss,
                    id: "txn-link-dismiss",
                    class: "link",
                    onclick: move |_| unknown.set(false),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::testing::{FixedClock, MemoryClipboard, MemoryStore, TxnBank};
    use crate::services::{BankDirectory, TokenMeta};
    use softtoken_core::Secret;

    const SERIAL: &str = "K7M3Q9XZ2PD0";

    fn meta(serial: &str, bank: &str) -> TokenMeta {
        TokenMeta {
            serial: Serial::parse_strict(serial).unwrap(),
            bank_id: bank.into(),
            bank_name: "デモ信用金庫".into(),
            url: "http://127.0.0.1:8700".into(),
            paired_at: 1_700_000_000,
            bind_by: None,
            clock_offset: None,
        }
    }

    fn link(bank: &str, serial: &str) -> TxnLink {
        TxnLink {
            bank: bank.into(),
            serial: Serial::parse_strict(serial).unwrap(),
        }
    }

    #[test]
    fn a_link_leads_only_to_a_token_of_the_same_bank_and_serial() {
        let tokens = [meta("2V0716016FKF", "demo"), meta(SERIAL, "demo")];
        let held = Serial::parse_strict(SERIAL).unwrap();
        assert_eq!(
            link_target(&link("demo", SERIAL), &tokens),
            LinkTarget::Held(held)
        );
        assert_eq!(
            link_target(&link("other", SERIAL), &tokens),
            LinkTarget::Unknown
        );
        // Bank ids compare exactly (the directory's ids are lower case).
        assert_eq!(
            link_target(&link("Demo", SERIAL), &tokens),
            LinkTarget::Unknown
        );
        let other_serial = meta("2V0716016FKF", "other");
        assert_eq!(
            link_target(&link("demo", "2V0716016FKF"), &[other_serial]),
            LinkTarget::Unknown
        );
        assert_eq!(link_target(&link("demo", SERIAL), &[]), LinkTarget::Unknown);
    }

    #[test]
    fn visibility_changes_and_foreground_events_count_as_wakes() {
        let t = TxnTriggers::default();
        assert!(t.activity().visible, "visible until told otherwise");
        t.set_visible(true);
        assert_eq!(t.activity().wakes, 0, "visible → visible is no wake");
        t.set_visible(false);
        assert!(!t.activity().visible);
        assert_eq!(t.activity().wakes, 0, "hiding is no wake");
        t.set_visible(false);
        t.set_visible(true);
        assert_eq!(t.activity().wakes, 1, "hidden → visible is a wake");
        t.foreground();
        t.foreground();
        assert_eq!(t.activity().wakes, 3, "each foreground event is one");
        t.set_visible(false);
        t.foreground();
        assert!(t.activity().visible, "the foreground is visible");
    }

    #[test]
    fn one_link_waits_and_a_newer_one_replaces_it() {
        let t = TxnTriggers::default();
        assert_eq!(t.take_link(), None);
        t.open_link(link("demo", SERIAL));
        t.open_link(link("demo", "2V0716016FKF"));
        assert_eq!(t.activity().links, 2);
        assert_eq!(t.take_link(), Some(link("demo", "2V0716016FKF")));
        assert_eq!(t.take_link(), None);
        // Clones share the state.
        let c = t.clone();
        c.open_link(link("demo", SERIAL));
        assert_eq!(t.take_link(), Some(link("demo", SERIAL)));
    }

    #[test]
    fn debug_never_shows_the_link() {
        let t = TxnTriggers::default();
        t.open_link(link("demo", SERIAL));
        let shown = format!("{t:?}");
        assert_eq!(shown, "TxnTriggers { visible: true, link_waiting: true }");
    }

    /// Counts its polls; keeps polling.
    struct Counting(Arc<Mutex<usize>>);

    impl Watcher for Counting {
        fn woken(&mut self, _: Wake) -> bool {
            true
        }
        fn polled(&mut self, _: Polled) -> Step {
            *self.0.lock().unwrap() += 1;
            Step::Continue
        }
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn two_loops_of_one_app_never_have_two_polls_in_flight() {
        let secret = Secret::from_slice(&[7; 20]);
        let bank = Arc::new(TxnBank::at(1_700_000_000));
        let services = Services {
            clock: Arc::new(FixedClock::at(1_700_000_000)),
            store: Arc::new(MemoryStore::with_tokens(vec![(
                meta(SERIAL, "demo"),
                secret,
            )])),
            bank: bank.clone(),
            directory: Arc::new(BankDirectory::default()),
            clipboard: Arc::new(MemoryClipboard::default()),
        };
        let triggers = TxnTriggers::default();
        let (a, b) = (Arc::new(Mutex::new(0)), Arc::new(Mutex::new(0)));
        let serial = Serial::parse_strict(SERIAL).unwrap();
        let run = |n: &Arc<Mutex<usize>>| {
            run_watch(
                services.clone(),
                triggers.clone(),
                "http://127.0.0.1:8700".into(),
                serial.clone(),
                Counting(n.clone()),
            )
        };
        let both = async {
            tokio::join!(run(&a), run(&b), async {
                for _ in 0..4 {
                    tokio::time::sleep(Duration::from_millis(1_500)).await;
                    triggers.foreground();
                }
            })
        };
        let _ = tokio::time::timeout(Duration::from_secs(12), both).await;
        let (a, b) = (*a.lock().unwrap(), *b.lock().unwrap());
        assert!(a >= 3 && b >= 3, "both loops polled: {a} {b}");
        assert_eq!(bank.polls.lock().unwrap().len(), a + b);
        assert_eq!(bank.max_in_flight(), 1, "one request in flight at a time");
    }
}
