//! The state the screens share, one context per concern, each with its
//! `use_*` hook next to its type:
//!
//! * [`Services`] ([`use_services`]): the app's collaborators, a root
//!   context given by `main` or a test;
//! * [`Navigation`] ([`use_navigation`]): where the person is;
//! * [`Ticker`] ([`use_ticker`]): the app clock's current second, and its
//!   jumps and shifts;
//! * [`TokenList`] ([`use_token_list`]): the token list, read once per
//!   change, and [`TokenList::reload`];
//! * [`Language`] ([`use_language`]): the display language and its texts.
//!
//! The root component ([`crate::ui::App`]) provides each once with its
//! `provide` hook; screens and widgets only use them, so nothing here (or in
//! a screen) depends on the root. All contexts are `Copy` handles over
//! signals.
use crate::i18n::{tr, Lang, Msg};
use crate::services::clock::{millis_to_next_second, Clock};
use crate::services::store::blocking;
use crate::services::{Services, StoreError, TokenMeta, TokenStore};
use dioxus::prelude::*;
use softtoken_core::{Generator, Params, Serial};
use std::sync::Arc;
use std::time::Duration;

// ------------------------------------------------------------ services

/// The services of the current app (the root context [`Services`]).
pub fn use_services() -> Services {
    use_context::<Services>()
}

// ------------------------------------------------------------ navigation

/// Where the app is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Just started: the screen follows from the token list (one token →
    /// its code, none → pairing, several → the list) until the person
    /// goes somewhere ([`Navigation::shown`] resolves it).
    Start,
    /// All tokens.
    List,
    /// One token's code.
    Token(Serial),
    /// One token's details and removal.
    Details(Serial),
    /// One token's offline 取引認証番号 (STK1-TXN offline code).
    OfflineCode(Serial),
    /// One token's pending transactions (STK1-TXN 取引認証).
    Transaction(Serial),
    /// Adding a token, optionally from a pairing link.
    Pair {
        /// A `softtoken://pair` link to start from.
        link: Option<String>,
    },
}

/// [`Route::Start`] resolved from the loaded list; other routes unchanged.
pub fn resolve_route(route: Route, list: Option<&Result<Vec<TokenMeta>, StoreError>>) -> Route {
    match (route, list) {
        (Route::Start, Some(Ok(l))) if l.len() == 1 => Route::Token(l[0].serial.clone()),
        (Route::Start, Some(Ok(l))) if l.is_empty() => Route::Pair { link: None },
        (Route::Start, Some(Ok(_))) => Route::List,
        (r, _) => r,
    }
}

/// Where the person went, and the screen that shows.
#[derive(Clone, Copy)]
pub struct Navigation {
    route: Signal<Route>,
    shown: Memo<Route>,
}

impl Navigation {
    /// Provides navigation over `route` (root only, once): the screen
    /// shown is `route` with [`Route::Start`] resolved from `tokens`.
    pub fn provide(route: Signal<Route>, tokens: TokenList) -> Navigation {
        let shown = use_memo(move || resolve_route(route(), tokens.list.read().as_ref()));
        use_context_provider(|| Navigation { route, shown })
    }

    /// Goes to `to`.
    pub fn go(&self, to: Route) {
        let mut route = self.route;
        route.set(to);
    }

    /// Where the person went ([`Route::Start`] until they go somewhere);
    /// subscribes the caller.
    pub fn route(&self) -> Route {
        (self.route)()
    }

    /// The screen shown: the route with [`Route::Start`] resolved from the
    /// token list (stays `Start` while the list loads or failed);
    /// subscribes the caller.
    pub fn shown(&self) -> Route {
        (self.shown)()
    }

    /// Pins the pairing screen when it is only shown as the start screen,
    /// so that its result stays visible when the new token changes what the
    /// start screen would be.
    pub fn stay_on_pairing(&self) {
        if *self.route.peek() == Route::Start {
            self.go(Route::Pair { link: None });
        }
    }
}

/// The navigation of the current app.
pub fn use_navigation() -> Navigation {
    use_context::<Navigation>()
}

// ------------------------------------------------------------ ticker

/// Largest difference, in milliseconds, between how far the device clock
/// and the monotonic clock moved between two ticks that is not a jump.
pub const CLOCK_JUMP_MILLIS: i128 = 2_000;

/// Largest difference, in milliseconds, between how far the app clock and
/// the monotonic clock moved between two ticks that is not a shift: well
/// above the jitter of reading both clocks and any NTP slew, well below
/// the smallest deliberate change (a one-second QA shift).
pub const CLOCK_SHIFT_MILLIS: i128 = 250;

/// How much more (or less) the wall clock moved than the monotonic clock
/// between two `(wall ms, monotonic)` readings, in milliseconds.
fn clock_moved_by(before: (u64, tokio::time::Instant), after: (u64, tokio::time::Instant)) -> i128 {
    let wall = i128::from(after.0) - i128::from(before.0);
    let mono = after.1.saturating_duration_since(before.1).as_millis() as i128;
    wall - mono
}

/// Whether the device clock jumped between two `(wall ms, monotonic)`
/// readings: it moved more than [`CLOCK_JUMP_MILLIS`] more or less than
/// the monotonic clock did.
pub fn clock_jumped(
    before: (u64, tokio::time::Instant),
    after: (u64, tokio::time::Instant),
) -> bool {
    clock_moved_by(before, after).abs() > CLOCK_JUMP_MILLIS
}

/// Whether the app clock was shifted between two `(wall ms, monotonic)`
/// readings: it moved more than [`CLOCK_SHIFT_MILLIS`] more or less than
/// the monotonic clock did. Every jump is a shift.
pub fn clock_shifted(
    before: (u64, tokio::time::Instant),
    after: (u64, tokio::time::Instant),
) -> bool {
    clock_moved_by(before, after).abs() > CLOCK_SHIFT_MILLIS
}

/// The app clock, published once per second, and the times it moved
/// against the monotonic clock.
///
/// The per-second signal wakes only its subscribers: a screen that derives
/// a step from it through a memo (the code screens) re-renders once per
/// step, and the countdown between steps runs in the web view
/// ([`crate::ui::widgets::Countdown`]), so a second passing sends the web
/// view nothing.
#[derive(Clone, Copy)]
pub struct Ticker {
    now: Signal<u64>,
    jumps: Signal<u64>,
    shifts: Signal<u64>,
}

impl Ticker {
    /// Provides the ticker (root only, once) and runs its one timer: it
    /// sleeps until the next whole second of `clock` (or a change that
    /// [`Clock::changes`] announces) and publishes it; nothing runs between
    /// ticks. It also counts the times the app clock
    /// moved differently from the monotonic clock: by more than
    /// [`CLOCK_SHIFT_MILLIS`] ([`Ticker::shifts`]: `--clock-offset` is
    /// fixed, but the clock may be set by hand, by the network or a QA
    /// shift, or the device slept), and by more than [`CLOCK_JUMP_MILLIS`]
    /// ([`Ticker::jumps`]).
    pub fn provide(clock: Arc<dyn Clock>) -> Ticker {
        let now = use_signal({
            let clock = clock.clone();
            move || clock.now_unix()
        });
        let jumps = use_signal(|| 0u64);
        let shifts = use_signal(|| 0u64);
        let ticker = use_context_provider(|| Ticker { now, jumps, shifts });
        use_future(move || {
            let clock = clock.clone();
            let (mut now, mut jumps, mut shifts) = (now, jumps, shifts);
            async move {
                let mut last = (clock.now_millis(), tokio::time::Instant::now());
                let mut changes = clock.changes();
                loop {
                    let wait = millis_to_next_second(clock.now_millis());
                    let sleep = tokio::time::sleep(Duration::from_millis(wait));
                    match changes.as_mut() {
                        // A change of the clock (a QA shift) is read at once,
                        // not at the next whole second.
                        Some(rx) => tokio::select! {
                            () = sleep => {}
                            changed = rx.changed() => {
                                if changed.is_err() {
                                    changes = None;
                                }
                            }
                        },
                        None => sleep.await,
                    }
                    let (wall, mono) = (clock.now_millis(), tokio::time::Instant::now());
                    if clock_shifted(last, (wall, mono)) {
                        shifts += 1;
                    }
                    if clock_jumped(last, (wall, mono)) {
                        jumps += 1;
                    }
                    last = (wall, mono);
                    let t = wall / 1000;
                    if *now.peek() != t {
                        now.set(t);
                    }
                }
            }
        });
        ticker
    }

    /// Current time in whole Unix seconds; subscribes the caller to every
    /// tick (derive a step through a memo to re-render once per step).
    pub fn now(&self) -> u64 {
        (self.now)()
    }

    /// How many times the device clock jumped; subscribes the caller to
    /// jumps only.
    pub fn jumps(&self) -> u64 {
        (self.jumps)()
    }

    /// How many times the app clock was shifted (every jump, and smaller
    /// shifts of a second or more); subscribes the caller to shifts only.
    pub fn shifts(&self) -> u64 {
        (self.shifts)()
    }
}

/// The ticker of the current app.
pub fn use_ticker() -> Ticker {
    use_context::<Ticker>()
}

// ------------------------------------------------------------ token list

/// The token list as loaded from the store (off the UI thread): `None`
/// until the first load finished; keeps the last list while reloading.
pub type LoadedTokens = Option<Result<Vec<TokenMeta>, StoreError>>;

/// The token list shared by all screens, read once per change.
#[derive(Clone, Copy)]
pub struct TokenList {
    list: Resource<Result<Vec<TokenMeta>, StoreError>>,
    rev: Signal<u64>,
    first: Signal<Option<(Serial, Generator)>>,
    pairing: Signal<bool>,
}

impl TokenList {
    /// Provides the token list (root only, once): one read of `store` per
    /// [`TokenList::reload`], off the UI thread. When `at_start()` holds
    /// and the store has a single token, its generator is read in the same
    /// blocking call, so the first code needs no second trip.
    pub fn provide(store: Arc<dyn TokenStore>, at_start: impl Fn() -> bool + 'static) -> TokenList {
        let rev = use_signal(|| 0u64);
        let pairing = use_signal(|| false);
        let mut first = use_signal(|| None::<(Serial, Generator)>);
        let list = use_resource(move || {
            let _ = rev();
            let store = store.clone();
            let at_start = at_start();
            async move {
                let (list, only) = blocking(&store, move |s| {
                    let list = s.list()?;
                    let only = match (at_start, list.as_slice()) {
                        (true, [only]) => s
                            .secret(&only.serial)
                            .ok()
                            .and_then(|k| Generator::new(&k, Params::STK1).ok())
                            .map(|g| (only.serial.clone(), g)),
                        _ => None,
                    };
                    Ok((list, only))
                })
                .await?;
                first.set(only);
                Ok(list)
            }
        });
        use_context_provider(|| TokenList {
            list,
            rev,
            first,
            pairing,
        })
    }

    /// Reads the list again (after a change, or "Reload" after an error).
    pub fn reload(&self) {
        let mut rev = self.rev;
        rev += 1;
    }

    /// A number that changes on every [`TokenList::reload`]; subscribes
    /// the caller to reloads (e.g. to read a secret again).
    pub fn revision(&self) -> u64 {
        (self.rev)()
    }

    /// The list as loaded (see [`LoadedTokens`]); subscribes the caller.
    pub fn loaded(&self) -> LoadedTokens {
        self.list.read().as_ref().cloned()
    }

    /// The loaded tokens, empty while loading or after an error;
    /// subscribes the caller.
    pub fn tokens(&self) -> Vec<TokenMeta> {
        match self.list.read().as_ref() {
            Some(Ok(l)) => l.clone(),
            _ => Vec::new(),
        }
    }

    /// Number of loaded tokens (0 while loading or after an error);
    /// subscribes the caller.
    pub fn count(&self) -> usize {
        match self.list.read().as_ref() {
            Some(Ok(l)) => l.len(),
            _ => 0,
        }
    }

    /// The loaded token `serial`, if listed; subscribes the caller.
    pub fn find(&self, serial: &Serial) -> Option<TokenMeta> {
        match self.list.read().as_ref() {
            Some(Ok(l)) => l.iter().find(|m| &m.serial == serial).cloned(),
            _ => None,
        }
    }

    /// The generator of `serial` if it was read with the list at start
    /// (the only token); the next list read clears it. Does not subscribe.
    pub fn first_generator(&self, serial: &Serial) -> Option<Generator> {
        match &*self.first.peek() {
            Some((s, g)) if s == serial => Some(g.clone()),
            _ => None,
        }
    }

    /// Marks a pairing as talking to the bank (`true`) or done; no recovery
    /// pass starts meanwhile, so it never touches a pairing in flight.
    pub fn set_pairing(&self, on: bool) {
        let mut pairing = self.pairing;
        pairing.set(on);
    }

    /// Whether a pairing talks to the bank; subscribes the caller.
    pub fn pairing(&self) -> bool {
        (self.pairing)()
    }
}

/// The token list of the current app.
pub fn use_token_list() -> TokenList {
    use_context::<TokenList>()
}

// ------------------------------------------------------------ language

/// The display language.
#[derive(Clone, Copy)]
pub struct Language(Signal<Lang>);

impl Language {
    /// Provides the language (root only, once), starting with `start`.
    pub fn provide(start: Lang) -> Language {
        let lang = use_signal(|| start);
        use_context_provider(|| Language(lang))
    }

    /// The current language; subscribes the caller.
    pub fn get(&self) -> Lang {
        (self.0)()
    }

    /// `msg` in the current language; subscribes the caller.
    pub fn t(&self, msg: Msg) -> &'static str {
        tr(self.get(), msg)
    }

    /// Switches to the other language.
    pub fn switch(&self) {
        let mut lang = self.0;
        let next = lang.peek().other();
        lang.set(next);
    }
}

/// The display language of the current app.
pub fn use_language() -> Language {
    use_context::<Language>()
}
