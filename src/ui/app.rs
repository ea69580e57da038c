//! The root component: provides the app context, runs the one-second
//! ticker and shows the current route.
use crate::i18n::{tr, Lang, Msg};
use crate::services::clock::millis_to_next_second;
use crate::services::store::blocking;
use crate::services::{recover_pending, Recovery, Services, StoreError, TokenMeta};
use crate::ui::details::DetailsScreen;
use crate::ui::pair::PairScreen;
use crate::ui::problem::StoreProblem;
use crate::ui::token::TokenScreen;
use crate::ui::tokens::TokensScreen;
use dioxus::prelude::*;
use softtoken_core::{Generator, Params, Serial};
use std::time::Duration;

/// The app's stylesheet, inlined so a bare binary needs no asset folder.
pub const CSS: &str = include_str!("../../assets/app.css");

/// Where the app is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Just started: the screen follows from the token list (one token →
    /// its code, none → pairing, several → the list) until the person
    /// goes somewhere ([`AppCtx::shown`] resolves it).
    Start,
    /// All tokens.
    List,
    /// One token's code.
    Token(Serial),
    /// One token's details and removal.
    Details(Serial),
    /// Adding a token, optionally from a pairing link.
    Pair {
        /// A `softtoken://pair` link to start from.
        link: Option<String>,
    },
}

/// How the app starts (root context, from the command line or a test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartOptions {
    /// Display language.
    pub lang: Lang,
    /// Open the pairing screen with this link.
    pub pair_link: Option<String>,
}

/// The token list as loaded from the store (off the UI thread): `None`
/// until the first load finished; keeps the last list while reloading.
pub type TokenList = Resource<Result<Vec<TokenMeta>, StoreError>>;

/// State shared by all screens (signals, so `Copy`).
#[derive(Clone, Copy)]
pub struct AppCtx {
    /// Where the person went ([`Route::Start`] until they go somewhere).
    pub route: Signal<Route>,
    /// The screen shown: `route` with [`Route::Start`] resolved from the
    /// token list (stays `Start` while the list is loading or failed).
    pub shown: Memo<Route>,
    /// Display language.
    pub lang: Signal<Lang>,
    /// Current time in whole Unix seconds, updated once per second.
    pub now: Signal<u64>,
    /// Bumped whenever the token list changes, to reload it.
    pub tokens_rev: Signal<u64>,
    /// `true` while the pairing screen talks to the bank (no recovery pass
    /// starts then, so it never touches a pairing in flight).
    pub pairing: Signal<bool>,
    /// The token list, read once per `tokens_rev` for every screen.
    pub tokens: TokenList,
    /// Bumped when the device clock jumps (see [`clock_jumped`]); the
    /// bank status is checked again then.
    pub clock_jumps: Signal<u64>,
    /// The only token's generator, read with the list at start (cleared by
    /// the next list read); the token screen uses it instead of reading
    /// the secret again.
    pub first_token: Signal<Option<(Serial, Generator)>>,
}

impl AppCtx {
    /// A message in the current language.
    pub fn t(&self, msg: Msg) -> &'static str {
        tr((self.lang)(), msg)
    }
}

/// Largest difference, in milliseconds, between how far the device clock
/// and the monotonic clock moved between two ticks that is not a jump.
pub const CLOCK_JUMP_MILLIS: i128 = 2_000;

/// Whether the device clock jumped between two `(wall ms, monotonic)`
/// readings: it moved more than [`CLOCK_JUMP_MILLIS`] more or less than
/// the monotonic clock did.
pub fn clock_jumped(
    before: (u64, tokio::time::Instant),
    after: (u64, tokio::time::Instant),
) -> bool {
    let wall = i128::from(after.0) - i128::from(before.0);
    let mono = after.1.saturating_duration_since(before.1).as_millis() as i128;
    (wall - mono).abs() > CLOCK_JUMP_MILLIS
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

/// The app context of the current component.
pub fn use_app() -> AppCtx {
    use_context::<AppCtx>()
}

/// The services of the current app.
pub fn use_services() -> Services {
    use_context::<Services>()
}

/// The token list shared by all screens (see [`TokenList`]).
pub fn use_tokens() -> TokenList {
    use_app().tokens
}

/// Seconds before an unconfirmed pairing is tried again while the app runs.
pub const RECOVERY_RETRY_SECS: u64 = 60;

/// Merges the results of a recovery pass into the notices shown: a token's
/// newer result replaces its older one; other notices stay until dismissed.
fn merge_notices(notices: &mut Vec<Recovery>, results: Vec<Recovery>) {
    for r in results {
        let serial = recovery_serial(&r).clone();
        notices.retain(|n| recovery_serial(n) != &serial);
        notices.push(r);
    }
}

fn recovery_serial(r: &Recovery) -> &Serial {
    match r {
        Recovery::Completed { serial, .. }
        | Recovery::Abandoned { serial, .. }
        | Recovery::NotConfirmed { serial, .. }
        | Recovery::StoreFailed { serial, .. } => serial,
    }
}

/// Resolves interrupted pairings ([`recover_pending`]) at start, whenever
/// the token list or a token is shown again, and every
/// [`RECOVERY_RETRY_SECS`] while one stays unconfirmed. One pass at a time,
/// never while [`AppCtx::pairing`]; a pass only handles the pairings
/// pending when it began, so it never races a pairing started later.
/// Returns the notices to show.
fn use_pairing_recovery(ctx: AppCtx) -> Signal<Vec<Recovery>> {
    let services = use_services();
    let mut notices = use_signal(Vec::<Recovery>::new);
    let mut running = use_signal(|| false);
    let mut retry = use_signal(|| 0u64);
    // Last `retry` value a pass was started for (`None`: no pass yet).
    let mut seen_retry = use_signal(|| None::<u64>);
    let mut rev = ctx.tokens_rev;
    use_effect(move || {
        let route = (ctx.shown)();
        let _ = (ctx.tokens_rev)();
        let r = retry();
        let busy = (ctx.pairing)();
        // At start, on a timed retry, or when tokens are shown again.
        let due = *seen_retry.peek() != Some(r) || matches!(route, Route::List | Route::Token(_));
        if *running.peek() || busy || !due {
            return;
        }
        seen_retry.set(Some(r));
        running.set(true);
        let services = services.clone();
        spawn(async move {
            let results = recover_pending(&services).await;
            running.set(false);
            // A store error here shows as the list's own problem screen.
            let Ok(results) = results else { return };
            if results.is_empty() {
                return;
            }
            let changed = results.iter().any(Recovery::changed_list);
            let waiting = results.iter().any(|r| !r.changed_list());
            notices.with_mut(|n| merge_notices(n, results));
            if changed {
                rev += 1;
            }
            if waiting {
                tokio::time::sleep(Duration::from_secs(RECOVERY_RETRY_SECS)).await;
                retry += 1;
            }
        });
    });
    notices
}

/// The root component. Needs the root contexts [`Services`] and
/// [`StartOptions`].
#[component]
pub fn App() -> Element {
    let services = use_services();
    let start = use_context::<StartOptions>();
    let clock = services.clock.clone();
    let route = use_signal(|| match start.pair_link.clone() {
        Some(link) => Route::Pair { link: Some(link) },
        None => Route::Start,
    });
    let lang = use_signal(|| start.lang);
    let now = use_signal(|| clock.now_unix());
    let tokens_rev = use_signal(|| 0u64);
    let pairing = use_signal(|| false);
    let clock_jumps = use_signal(|| 0u64);
    // The one read of the token list (per change), off the UI thread.
    // At start with a single token, its generator is read in the same
    // blocking call, so the first code needs no second trip.
    let mut first_token = use_signal(|| None::<(Serial, Generator)>);
    let tokens = use_resource({
        let store = services.store.clone();
        move || {
            let _ = tokens_rev();
            let store = store.clone();
            let at_start = *route.peek() == Route::Start;
            async move {
                let (list, first) = blocking(&store, move |s| {
                    let list = s.list()?;
                    let first = match (at_start, list.as_slice()) {
                        (true, [only]) => s
                            .secret(&only.serial)
                            .ok()
                            .and_then(|k| Generator::new(&k, Params::STK1).ok())
                            .map(|g| (only.serial.clone(), g)),
                        _ => None,
                    };
                    Ok((list, first))
                })
                .await?;
                first_token.set(first);
                Ok(list)
            }
        }
    });
    let shown = use_memo(move || resolve_route(route(), tokens.read().as_ref()));
    let ctx = use_context_provider(|| AppCtx {
        route,
        shown,
        lang,
        now,
        tokens_rev,
        pairing,
        tokens,
        clock_jumps,
        first_token,
    });
    // One timer: sleep until the next whole second of the app clock, then
    // publish the new second. Nothing runs between ticks. It also notices
    // when the device clock moved differently from the monotonic clock
    // (set by hand or by the network, or the device slept).
    use_future(move || {
        let clock = clock.clone();
        let mut now = ctx.now;
        let mut jumps = ctx.clock_jumps;
        async move {
            let mut last = (clock.now_millis(), tokio::time::Instant::now());
            loop {
                let wait = millis_to_next_second(clock.now_millis());
                tokio::time::sleep(Duration::from_millis(wait)).await;
                let (wall, mono) = (clock.now_millis(), tokio::time::Instant::now());
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
    let mut notices = use_pairing_recovery(ctx);
    let lang = (ctx.lang)();
    let body = match (tokens.read().as_ref(), shown()) {
        (Some(Err(e)), _) => rsx! { StoreProblem { error: e.clone() } },
        (None, _) | (_, Route::Start) => rsx! { Loading {} },
        (Some(Ok(_)), Route::List) => rsx! { TokensScreen {} },
        (Some(Ok(_)), Route::Token(serial)) => {
            rsx! { TokenScreen { key: "{serial.as_str()}", serial } }
        }
        (Some(Ok(_)), Route::Details(serial)) => {
            rsx! { DetailsScreen { key: "{serial.as_str()}", serial } }
        }
        (Some(Ok(_)), Route::Pair { link }) => rsx! { PairScreen { link } },
    };
    let mut lang_sig = ctx.lang;
    rsx! {
        style { {CSS} {crate::ui::widgets::COUNTDOWN_CSS} }
        div { class: "app", lang: "{lang.tag()}",
            header { class: "bar",
                h1 { {tr(lang, Msg::AppTitle)} }
                button {
                    class: "lang",
                    id: "lang-switch",
                    lang: "{lang.other().tag()}",
                    aria_label: "{tr(lang, Msg::SwitchLanguage)}",
                    onclick: move |_| {
                        let next = lang_sig.peek().other();
                        lang_sig.set(next);
                    },
                    {tr(lang, Msg::SwitchLanguage)}
                }
            }
            if !notices.read().is_empty() {
                div { class: "notices", id: "recovery-notices",
                    for (i, n) in notices.read().iter().enumerate() {
                        div {
                            key: "{i}",
                            class: if matches!(n, Recovery::Completed { .. }) { "notice" } else { "notice warning" },
                            role: "status",
                            p { {crate::i18n::recovery(lang, n)} }
                            button {
                                class: "link",
                                aria_label: "{tr(lang, Msg::Dismiss)}",
                                onclick: move |_| {
                                    notices.with_mut(|v| {
                                        if i < v.len() {
                                            v.remove(i);
                                        }
                                    });
                                },
                                {tr(lang, Msg::Dismiss)}
                            }
                        }
                    }
                }
            }
            main { {body} }
        }
    }
}

/// Shown while the store is being read.
#[component]
pub fn Loading() -> Element {
    let ctx = use_app();
    rsx! {
        section { class: "loading", role: "status", aria_live: "polite", id: "loading",
            p { "{ctx.t(Msg::Loading)}" }
        }
    }
}
