//! The desktop simulator's QA panel (`--qa`): shift the app clock, switch
//! or create profiles, see the bank's raw status of each token and the
//! measured device − bank time difference; every action is logged
//! ([`log`]).
//!
//! [`QaShell`] is the root under `--qa`: it renders [`App`] and the panel
//! beside it. The clock it shifts is the app's one clock
//! ([`AdjustableClock`], also `Services::clock`), so codes, the countdown
//! and transaction expiry follow it, and [`Clock::changes`] tells the
//! ticker. A profile switch happens in process: a new token store for the
//! profile's directory replaces the store in the `Services` context and
//! `App` is mounted again (its screens start over; the language returns to
//! the start language; the window title keeps the first profile's name).
//!
//! Not built into mobile builds (the module needs the `desktop` or the
//! `testing` feature), and the app refuses `--qa` there.
//!
//! [`Clock::changes`]: crate::services::Clock::changes
pub mod log;
pub mod offset;
pub mod profiles;
pub mod texts;

use self::log::{error_kind, signed_secs, utc, QaAction, QaLog, StatusOutcome};
use crate::i18n::Lang;
use crate::services::clock::AdjustableClock;
use crate::services::keystore::{Profile, ProfileStore};
use crate::services::store::blocking;
use crate::services::{Clock, Services, SystemClock, TokenStore};
use crate::ui::{App, StartOptions};
use dioxus::prelude::*;
use offset::{parse_offset, shifted, OffsetError, STEPS};
use profiles::{ProfileError, ProfileRef, Profiles};
use softtoken_core::Serial;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use texts::{qt, QaMsg};

/// A profile switched to and its token store.
type Current = (ProfileRef, Arc<dyn TokenStore>);

/// What the QA panel works on: a root context the simulator provides with
/// `--qa` (and only then).
#[derive(Clone)]
pub struct QaContext {
    /// The app's clock (the same `Arc` as `Services::clock`).
    pub clock: Arc<AdjustableClock>,
    /// The profiles one may switch to.
    pub profiles: Arc<Profiles>,
    /// The action log.
    pub log: Arc<QaLog>,
    /// The profile the app started on.
    pub start: ProfileRef,
    /// The profile switched to last and its store (`None` before any
    /// switch), so that a remounted shell (a pairing link restarts the
    /// root) stays on it.
    current: Arc<Mutex<Option<Current>>>,
    /// Whether the `start` line was logged.
    started: Arc<AtomicBool>,
}

impl QaContext {
    /// A QA context on `clock` starting on profile `start`, logging into its
    /// directory (`echo`: also on stderr).
    pub fn new(
        clock: Arc<AdjustableClock>,
        profiles: Profiles,
        start: ProfileRef,
        echo: bool,
    ) -> QaContext {
        QaContext {
            log: Arc::new(QaLog::new(start.dir.clone(), echo)),
            clock,
            profiles: Arc::new(profiles),
            start,
            current: Arc::default(),
            started: Arc::default(),
        }
    }

    /// The profile the app is on now and its store (`None`: the start
    /// profile with the store `main` gave).
    fn current(&self) -> Option<Current> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_current(&self, profile: ProfileRef, store: Arc<dyn TokenStore>) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((profile, store));
    }

    /// Logs `action` at the real time and the app clock's time; `false`
    /// when the line could not be written (the reason goes to stderr).
    pub fn record(&self, action: &QaAction) -> bool {
        let real = self.clock.base().now_unix();
        match self.log.record(real, self.clock.now_unix(), action) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("softtoken::qa: {e}");
                false
            }
        }
    }
}

/// The simulator's QA context for the profile it started on: the system
/// clock shifted by `offset_secs` (`--clock-offset`), the real keystore-
/// backed store per profile, and profiles side by side with the start
/// profile (`--profile DIR`: the other directories in DIR's parent; the
/// default profile: `qa-profiles/` in its data directory). Lines are also
/// echoed on stderr.
pub fn simulator(profile: &Profile, offset_secs: i64) -> QaContext {
    let clock = Arc::new(AdjustableClock::new(
        Arc::new(SystemClock::default()),
        offset_secs,
    ));
    let (start, root, default) = match profile {
        Profile::Dir(d) => {
            let root = match d.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            };
            (Profiles::of_dir(d), root, None)
        }
        Profile::Default(d) => {
            let p = ProfileRef {
                name: "default".to_owned(),
                dir: d.clone(),
                is_default: true,
            };
            (p.clone(), d.join("qa-profiles"), Some(p))
        }
    };
    let open = Box::new(|p: &ProfileRef| -> Arc<dyn TokenStore> {
        Arc::new(ProfileStore::new(if p.is_default {
            Profile::Default(p.dir.clone())
        } else {
            Profile::Dir(p.dir.clone())
        }))
    });
    QaContext::new(clock, Profiles::new(root, default, open), start, true)
}

/// Names the desktop window after the profile, as the simulator does at
/// start (`softtoken: NAME`); nothing outside a desktop window.
fn retitle(profile: &ProfileRef) {
    #[cfg(feature = "desktop")]
    if let Some(desktop) = try_consume_context::<dioxus::desktop::DesktopContext>() {
        desktop
            .window
            .set_title(&format!("softtoken: {}", profile.name));
    }
    #[cfg(not(feature = "desktop"))]
    let _ = profile;
}

/// The app as the QA panel switched it: the services (with the current
/// profile's store), the profile, and how many switches happened.
#[derive(Clone)]
struct Session {
    services: Services,
    profile: ProfileRef,
    generation: u64,
}

/// The panel's styles: fixed at the bottom of the window, over the app,
/// in the app's colour properties (light and dark).
const QA_CSS: &str = "\
.qa-shell { padding-bottom: 64vh; }
.qa { position: fixed; left: 0; right: 0; bottom: 0; max-height: 62vh; overflow: auto;
  background: var(--card); color: var(--fg); border-top: 3px solid var(--accent);
  padding: 0.5rem 0.75rem; font-size: 0.875rem; box-shadow: 0 -2px 6px rgba(0,0,0,.2); }
.qa summary { font-weight: 700; cursor: pointer; }
.qa h3 { font-size: 0.9375rem; margin: 0.375rem 0 0.125rem; }
.qa label { display: inline; margin: 0; }
.qa .qrow { display: flex; flex-wrap: wrap; gap: 0.375rem; align-items: center; margin: 0.25rem 0; }
.qa button{ font-size: 0.875rem; padding: 0.25rem 0.5rem; }
.qa input{ font-size: 0.875rem; padding: 0.25rem; width: 8rem; }
.qa .offset { font-size: 1.125rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.qa .err { color: var(--err); }
.qa .raw { font-family: \"DejaVu Sans Mono\", monospace; font-size: 0.8125rem; margin: 0.125rem 0; }
.qa .path { font-family: \"DejaVu Sans Mono\", monospace; font-size: 0.75rem; color: var(--muted); }
";

/// The root under `--qa`: [`App`] with the QA panel. Needs the root
/// contexts [`Services`] (whose clock is [`QaContext::clock`]),
/// [`StartOptions`] and [`QaContext`].
#[component]
pub fn QaShell() -> Element {
    let qa = use_context::<QaContext>();
    let initial = use_context::<Services>();
    let start = use_context::<StartOptions>();
    let session = use_signal(|| match qa.current() {
        Some((profile, store)) => Session {
            services: Services {
                store,
                ..initial.clone()
            },
            profile,
            generation: 0,
        },
        None => Session {
            services: initial.clone(),
            profile: qa.start.clone(),
            generation: 0,
        },
    });
    use_hook(|| {
        if !qa.started.swap(true, Ordering::SeqCst) {
            qa.record(&QaAction::Start {
                profile: qa.start.name.clone(),
                offset: qa.clock.offset_secs(),
            });
        }
    });
    let current = session.read().clone();
    // Shadows the root contexts for `App`, which reads them when it mounts:
    // the current profile's store; a start link only for the first profile.
    provide_context(current.services.clone());
    provide_context(StartOptions {
        pair_link: start.pair_link.clone().filter(|_| current.generation == 0),
        ..start.clone()
    });
    rsx! {
        style { {QA_CSS} }
        div { class: "qa-shell",
            for generation in [current.generation] {
                App { key: "{generation}" }
            }
        }
        QaPanel { session, lang: start.lang }
    }
}

/// The raw status of one token as the panel shows it.
type StatusRow = (Serial, StatusOutcome);

/// Fetches the status of every token of `services`' store and logs each.
async fn check_all(qa: &QaContext, services: &Services) -> Result<Vec<StatusRow>, ()> {
    let tokens = blocking(&services.store, |s| s.list()).await.map_err(|e| {
        eprintln!("softtoken::qa: token list: {e}");
    })?;
    let mut rows = Vec::with_capacity(tokens.len());
    for meta in tokens {
        let outcome = match services.bank.status(&meta.url, &meta.serial).await {
            Ok(s) => StatusOutcome::Answered {
                state: s.state,
                bank_time: s.server_time,
                device_minus_bank: s
                    .server_time
                    .map(|t| services.clock.now_unix() as i64 - t as i64),
            },
            Err(e) => StatusOutcome::Failed(error_kind(&e)),
        };
        qa.record(&QaAction::BankStatus {
            serial: meta.serial.clone(),
            outcome: outcome.clone(),
        });
        rows.push((meta.serial, outcome));
    }
    Ok(rows)
}

/// The HTML id of a profile's switch button.
fn profile_id(p: &ProfileRef) -> String {
    if p.is_default {
        "qa-profile--default".to_owned()
    } else {
        format!("qa-profile-{}", p.name)
    }
}

/// The panel: clock, profiles, bank status, log path.
#[component]
fn QaPanel(session: Signal<Session>, lang: Lang) -> Element {
    let qa = use_context::<QaContext>();
    let t = move |m| qt(lang, m);
    let mut offset = use_signal(|| qa.clock.offset_secs());
    let mut jump_text = use_signal(String::new);
    let mut jump_error = use_signal(|| None::<OffsetError>);
    let mut new_name = use_signal(String::new);
    let mut profile_error = use_signal(|| None::<QaMsg>);
    let mut log_failed = use_signal(|| false);
    let mut checks = use_signal(|| 0u64);

    let statuses = use_resource({
        let qa = qa.clone();
        move || {
            let _ = checks();
            let services = session.read().services.clone();
            let qa = qa.clone();
            async move { check_all(&qa, &services).await }
        }
    });

    // Every action: do it, log it, note a failed log write.
    let mut note = move |written: bool| log_failed.set(!written);

    let set_offset = {
        let qa = qa.clone();
        move |next: i64, action: QaAction| {
            qa.clock.set_offset(next);
            offset.set(next);
            note(qa.record(&action));
            checks += 1;
        }
    };

    let current = session.read().profile.clone();
    let listed = qa.profiles.list(&current);
    let switch_to = {
        let qa = qa.clone();
        move |to: ProfileRef| {
            let now = session.peek().clone();
            if now.profile.dir == to.dir {
                return;
            }
            let action = QaAction::ProfileSwitched {
                from: now.profile.name.clone(),
                to: to.name.clone(),
            };
            let mut written = qa.record(&action);
            qa.log.move_to(&to.dir);
            written &= qa.record(&action);
            note(written);
            let store = qa.profiles.open(&to);
            qa.set_current(to.clone(), store.clone());
            let services = Services {
                store,
                ..now.services
            };
            retitle(&to);
            session.set(Session {
                services,
                profile: to,
                generation: now.generation + 1,
            });
        }
    };

    let off = offset();
    let step_buttons = STEPS.iter().map(|&by| {
        let mut set_offset = set_offset.clone();
        let id = match by {
            -30 => "qa-minus30",
            -1 => "qa-minus1",
            1 => "qa-plus1",
            _ => "qa-plus30",
        };
        let next = shifted(off, by);
        rsx! {
            button {
                key: "{id}",
                id: "{id}",
                aria_label: "{t(QaMsg::Clock)} {signed_secs(by)}",
                disabled: next.is_none(),
                onclick: move |_| {
                    if let Some(n) = shifted(offset(), by) {
                        set_offset(n, QaAction::Shift { by, offset: n });
                    }
                },
                "{signed_secs(by)}"
            }
        }
    });

    let mut reset = set_offset.clone();
    let mut jump = set_offset.clone();
    let profile_buttons = listed.into_iter().map(|p| {
        let mut switch_to = switch_to.clone();
        let id = profile_id(&p);
        let is_current = p.dir == current.dir;
        let name = if is_current {
            format!("{} ({})", p.name, t(QaMsg::Current))
        } else {
            p.name.clone()
        };
        rsx! {
            button {
                key: "{id}",
                id: "{id}",
                aria_label: "{name}",
                aria_pressed: "{is_current}",
                disabled: is_current,
                onclick: move |_| switch_to(p.clone()),
                "{name}"
            }
        }
    });
    let mut create_switch = switch_to.clone();
    let create_qa = qa.clone();

    let status_view = match &*statuses.read() {
        None => rsx! { p { id: "qa-status-checking", {t(QaMsg::Checking)} } },
        Some(Err(())) => {
            rsx! { p { class: "err", id: "qa-status-error", {t(QaMsg::StoreFailed)} } }
        }
        Some(Ok(rows)) if rows.is_empty() => {
            rsx! { p { id: "qa-status-none", {t(QaMsg::NoTokens)} } }
        }
        Some(Ok(rows)) => {
            let rows = rows.clone();
            rsx! {
                for (serial, outcome) in rows {
                    p { class: "raw", key: "{serial.as_str()}", id: "qa-status-{serial.as_str()}",
                        match outcome {
                            StatusOutcome::Answered { state, bank_time, device_minus_bank } => {
                                let bank = match bank_time {
                                    Some(b) => format!("{b} ({})", utc(b)),
                                    None => "none".to_owned(),
                                };
                                let diff = device_minus_bank.map(signed_secs).unwrap_or_else(|| "—".to_owned());
                                rsx! {
                                    "{serial.as_str()} state={state.as_str()}"
                                    br {}
                                    "{t(QaMsg::BankTime)}: {bank}"
                                    br {}
                                    span { id: "qa-diff-{serial.as_str()}", "{t(QaMsg::DeviceMinusBank)}: {diff}" }
                                }
                            }
                            StatusOutcome::Failed(kind) => rsx! {
                                "{serial.as_str()} "
                                span { class: "err", "failed={kind}" }
                            },
                        }
                    }
                }
            }
        }
    };

    rsx! {
        details { class: "qa", id: "qa-panel", open: true, lang: "{lang.tag()}",
            summary { {t(QaMsg::Title)} }
            h3 { {t(QaMsg::Clock)} }
            div { class: "qrow",
                span { {t(QaMsg::Offset)} ": " }
                span { class: "offset", id: "qa-offset", role: "status", "{signed_secs(off)}" }
            }
            div { class: "qrow",
                {step_buttons}
                button {
                    id: "qa-reset",
                    aria_label: "{t(QaMsg::Reset)}",
                    onclick: move |_| {
                        let from = offset();
                        jump_error.set(None);
                        reset(0, QaAction::Jump { from, offset: 0 });
                    },
                    {t(QaMsg::Reset)}
                }
            }
            div { class: "qrow",
                label { r#for: "qa-jump-input", {t(QaMsg::JumpLabel)} }
                input {
                    id: "qa-jump-input",
                    aria_label: "{t(QaMsg::JumpLabel)}",
                    inputmode: "numeric",
                    value: "{jump_text}",
                    oninput: move |e| jump_text.set(e.value()),
                }
                button {
                    id: "qa-jump",
                    aria_label: "{t(QaMsg::Jump)}",
                    onclick: move |_| match parse_offset(&jump_text.peek()) {
                        Ok(n) => {
                            jump_error.set(None);
                            let from = offset();
                            jump(n, QaAction::Jump { from, offset: n });
                        }
                        Err(e) => jump_error.set(Some(e)),
                    },
                    {t(QaMsg::Jump)}
                }
            }
            if let Some(e) = jump_error() {
                p { class: "err", id: "qa-jump-error", role: "alert",
                    {t(match e { OffsetError::TooFar => QaMsg::TooFar, _ => QaMsg::Malformed })}
                }
            }
            h3 { {t(QaMsg::Profiles)} }
            div { class: "qrow", id: "qa-profiles", {profile_buttons} }
            div { class: "qrow",
                label { r#for: "qa-new-profile", {t(QaMsg::NewProfile)} }
                input {
                    id: "qa-new-profile",
                    aria_label: "{t(QaMsg::NewProfile)}",
                    value: "{new_name}",
                    oninput: move |e| new_name.set(e.value()),
                }
                button {
                    id: "qa-create-profile",
                    aria_label: "{t(QaMsg::Create)}",
                    onclick: move |_| {
                        let name = new_name.peek().trim().to_owned();
                        match create_qa.profiles.create(&name) {
                            Ok(p) => {
                                profile_error.set(None);
                                new_name.set(String::new());
                                note(create_qa.record(&QaAction::ProfileCreated { name }));
                                create_switch(p);
                            }
                            Err(e) => profile_error.set(Some(match e {
                                ProfileError::BadName => QaMsg::BadName,
                                ProfileError::Exists(_) => QaMsg::Exists,
                                _ => QaMsg::CreateFailed,
                            })),
                        }
                    },
                    {t(QaMsg::Create)}
                }
            }
            if let Some(m) = profile_error() {
                p { class: "err", id: "qa-profile-error", role: "alert", {t(m)} }
            }
            h3 { {t(QaMsg::BankStatus)} }
            div { id: "qa-status", {status_view} }
            div { class: "qrow",
                button {
                    id: "qa-check",
                    aria_label: "{t(QaMsg::CheckAgain)}",
                    onclick: move |_| checks += 1,
                    {t(QaMsg::CheckAgain)}
                }
            }
            h3 { {t(QaMsg::Log)} }
            p { class: "path", id: "qa-log-path", "{qa.log.path().display()}" }
            if log_failed() {
                p { class: "err", id: "qa-log-error", role: "alert", {t(QaMsg::LogFailed)} }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    #[test]
    fn the_simulator_lists_profiles_beside_the_start_profile() {
        let qa = simulator(&Profile::Dir(PathBuf::from("/tmp/qa-root/p1")), -40);
        assert_eq!(qa.start.name, "p1");
        assert!(!qa.start.is_default);
        assert_eq!(qa.profiles.root(), Path::new("/tmp/qa-root"));
        assert_eq!(qa.clock.offset_secs(), -40);
        assert_eq!(qa.log.path(), Path::new("/tmp/qa-root/p1/qa-log.txt"));
        // A relative profile dir without a parent: the working directory.
        let qa = simulator(&Profile::Dir(PathBuf::from("p2")), 0);
        assert_eq!(qa.profiles.root(), Path::new("."));

        let qa = simulator(&Profile::Default(PathBuf::from("/data/softtoken")), 0);
        assert_eq!(qa.start.name, "default");
        assert!(qa.start.is_default);
        assert_eq!(qa.profiles.root(), Path::new("/data/softtoken/qa-profiles"));
        assert!(qa.current().is_none());
    }
}
