//! The QA panel (`--qa`): the clock shift and jump move the code shown,
//! profiles are created and switched in process, the bank's raw status and
//! the measured time difference are shown, and every action is logged
//! without a code. Without `--qa` there is no panel.
use crate::harness::{app, dir_of, rfc_token, world, Harness, SERIAL};
use dioxus::prelude::*;
use softtoken::i18n::Lang;
use softtoken::services::clock::AdjustableClock;
use softtoken::services::testing::{FakeBank, MemoryClipboard, MemoryStore, RFC_SEED};
use softtoken::services::{Services, TokenStore};
use softtoken::ui::qa::log::LOG_FILE;
use softtoken::ui::qa::profiles::{ProfileRef, Profiles};
use softtoken::ui::qa::{QaContext, QaShell};
use softtoken::ui::StartOptions;
use softtoken_core::stk1::messages::TokenState;
use softtoken_core::{Generator, Params, Secret};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// 1111111100 is 20 s into its step (10 s left).
const T: u64 = 1_111_111_100;

fn code_at(unix: u64) -> String {
    let g = Generator::new(&Secret::from_slice(RFC_SEED), Params::STK1).unwrap();
    g.totp(unix).unwrap().as_str().to_owned()
}

fn grouped_at(unix: u64) -> String {
    let c = code_at(unix);
    format!(">{} {}<", &c[..3], &c[3..])
}

/// A fresh directory under the system's temp dir.
fn temp_root(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!(
        "softtoken-screens-qa-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// The app under `--qa` on profile `a` (holding the RFC token) in `root`;
/// other profiles get an empty in-memory store each, kept across switches.
/// The bank tells its time, 40 s behind the device.
struct Qa {
    h: Harness,
    qa: QaContext,
    bank: Arc<FakeBank>,
    root: PathBuf,
}

/// Remounts `QaShell` whenever the test calls `notify_one` on it, as the
/// simulator's root does when a pairing link arrives.
#[derive(Clone, Default)]
struct Restart(Arc<tokio::sync::Notify>);

#[component]
fn Remounting() -> Element {
    let restart = use_context::<Restart>();
    let mut generation = use_signal(|| 0u64);
    use_future(move || {
        let restart = restart.0.clone();
        async move {
            loop {
                restart.notified().await;
                generation += 1;
            }
        }
    });
    rsx! {
        for g in [generation()] {
            QaShell { key: "{g}" }
        }
    }
}

async fn qa_app(name: &str) -> Qa {
    qa_app_under(name, QaShell, Restart::default()).await
}

async fn qa_app_under(name: &str, root_component: fn() -> Element, restart: Restart) -> Qa {
    let root = temp_root(name);
    let w = world(T, rfc_token());
    let mut bank = FakeBank::new(w.clock.clone(), w.store.clone());
    bank.status_time = true;
    bank.server_skew.store(-40, Ordering::SeqCst);
    bank.set_state(SERIAL, TokenState::Active);
    let bank = Arc::new(bank);
    let stores: Arc<Mutex<HashMap<PathBuf, Arc<dyn TokenStore>>>> = Arc::default();
    let first: Arc<dyn TokenStore> = w.store.clone();
    stores.lock().unwrap().insert(root.join("a"), first.clone());
    let open = {
        let stores = stores.clone();
        Box::new(move |p: &ProfileRef| -> Arc<dyn TokenStore> {
            stores
                .lock()
                .unwrap()
                .entry(p.dir.clone())
                .or_insert_with(|| Arc::new(MemoryStore::default()))
                .clone()
        })
    };
    let clock = Arc::new(AdjustableClock::new(Arc::new(w.clock.clone()), 0));
    let start = Profiles::of_dir(&root.join("a"));
    std::fs::create_dir_all(&start.dir).unwrap();
    let qa = QaContext::new(
        clock.clone(),
        Profiles::new(root.clone(), None, open),
        start,
        false,
    );
    let clipboard = MemoryClipboard::default();
    let services = Services {
        clock,
        store: first,
        bank: bank.clone(),
        directory: Arc::new(dir_of(&bank)),
        clipboard: Arc::new(clipboard.clone()),
    };
    let dom = VirtualDom::new(root_component)
        .with_root_context(restart)
        .with_root_context(services)
        .with_root_context(StartOptions {
            lang: Lang::En,
            pair_link: None,
        })
        .with_root_context(qa.clone());
    let mut h = Harness::from_dom(dom, w.clock.clone(), clipboard);
    h.settle().await;
    Qa { h, qa, bank, root }
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(LOG_FILE)).unwrap_or_default()
}

/// Every six-digit run in `text`.
fn six_digit_runs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = String::new();
    for c in text.chars().chain([' ']) {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            if run.len() >= 6 {
                out.push(run.clone());
            }
            run.clear();
        }
    }
    out
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn shift_by_30_s_shows_the_next_steps_code_and_back() {
    let Qa { mut h, qa, .. } = qa_app("shift").await;
    let html = h.html();
    assert!(html.contains(r#"id="qa-panel""#), "{html}");
    assert!(html.contains(&grouped_at(T)), "{html}");
    assert!(
        html.contains(r#"id="qa-offset""#) && html.contains(">0 s<"),
        "{html}"
    );

    h.click("qa-plus30").await;
    assert_eq!(qa.clock.offset_secs(), 30);
    // The one clock moved: the token screen shows the next step's code at
    // once (or at the latest with the next tick).
    h.tick_to(T + 1).await;
    let html = h.html();
    assert_ne!(code_at(T + 31), code_at(T + 1));
    assert!(html.contains(&grouped_at(T + 31)), "{html}");
    assert!(!html.contains(&grouped_at(T + 1)), "{html}");
    assert!(html.contains(">+30 s<"), "{html}");

    h.click("qa-minus30").await;
    h.click("qa-plus1").await;
    h.tick_to(T + 2).await;
    assert_eq!(qa.clock.offset_secs(), 1);
    assert!(h.html().contains(&grouped_at(T + 3)), "{}", h.html());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn steps_stop_at_five_minutes() {
    let Qa { mut h, qa, .. } = qa_app("limit").await;
    for _ in 0..10 {
        h.click("qa-plus30").await;
    }
    assert_eq!(qa.clock.offset_secs(), 300);
    let html = h.html();
    let at = html.find(r#"id="qa-plus1""#).unwrap();
    let tag = &html[html[..at].rfind('<').unwrap()..at + html[at..].find('>').unwrap()];
    assert!(tag.contains("disabled"), "{tag}");
    h.click("qa-minus1").await;
    assert_eq!(qa.clock.offset_secs(), 299);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_typed_jump_sets_the_offset_and_a_bad_one_is_refused() {
    let Qa { mut h, qa, .. } = qa_app("jump").await;
    h.type_into("qa-jump-input", "-4:30").await;
    h.click("qa-jump").await;
    assert_eq!(qa.clock.offset_secs(), -270);
    h.tick_to(T + 1).await;
    let html = h.html();
    assert!(html.contains(&grouped_at(T + 1 - 270)), "{html}");
    assert!(html.contains(">-270 s<"), "{html}");
    assert!(!html.contains("qa-jump-error"));

    h.type_into("qa-jump-input", "soon").await;
    h.click("qa-jump").await;
    assert_eq!(qa.clock.offset_secs(), -270, "unchanged");
    assert!(h.html().contains(r#"id="qa-jump-error""#), "{}", h.html());

    h.type_into("qa-jump-input", "+90000").await;
    h.click("qa-jump").await;
    assert_eq!(qa.clock.offset_secs(), -270, "beyond a day");

    h.click("qa-reset").await;
    assert_eq!(qa.clock.offset_secs(), 0);
    assert!(!h.html().contains("qa-jump-error"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_raw_bank_status_and_time_difference_follow_the_shift() {
    let Qa { mut h, bank, .. } = qa_app("status").await;
    let html = h.html();
    let bank_time = T - 40;
    assert!(html.contains(&format!("{SERIAL} state=active")), "{html}");
    assert!(html.contains(&format!("{bank_time} (")), "{html}");
    assert!(html.contains("device − bank: +40 s"), "{html}");

    h.click("qa-plus30").await;
    assert!(h.html().contains("device − bank: +70 s"), "{}", h.html());

    *bank.fail_status.lock().unwrap() = Some(softtoken::services::ClientError::Network(
        "http://127.0.0.1:8700 refused".into(),
    ));
    h.click("qa-check").await;
    let html = h.html();
    assert!(html.contains("failed=network"), "{html}");
    assert!(!html.contains("127.0.0.1:8700 refused"), "{html}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn profiles_are_created_and_switched_in_process() {
    let Qa { mut h, root, .. } = qa_app("profiles").await;
    assert!(h.html().contains(r#"id="otp-code""#));

    h.type_into("qa-new-profile", "../x").await;
    h.click("qa-create-profile").await;
    assert!(
        h.html().contains(r#"id="qa-profile-error""#),
        "{}",
        h.html()
    );
    assert!(!root.parent().unwrap().join("x").exists());

    h.type_into("qa-new-profile", "b").await;
    h.click("qa-create-profile").await;
    let html = h.html();
    assert!(root.join("b").is_dir());
    // Profile b has no token: the app starts over at pairing.
    assert!(!html.contains(r#"id="otp-code""#), "{html}");
    assert!(html.contains(r#"id="pair-link""#), "{html}");
    assert!(html.contains("b (current)"), "{html}");
    assert!(html.contains(r#"id="qa-profile-a""#), "{html}");
    assert!(html.contains("no tokens"), "{html}");

    h.click("qa-profile-a").await;
    let html = h.html();
    assert!(html.contains(&grouped_at(T)), "{html}");
    assert!(html.contains("a (current)"), "{html}");
    assert!(html.contains(r#"id="qa-profile-b""#), "{html}");

    let a = log_of(&root.join("a"));
    let b = log_of(&root.join("b"));
    assert!(a.contains("profile create b"), "{a}");
    assert!(a.contains("profile switch from=a to=b"), "{a}");
    assert!(a.contains("profile switch from=b to=a"), "{a}");
    assert!(b.contains("profile switch from=a to=b"), "{b}");
    assert!(b.contains("profile switch from=b to=a"), "{b}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_remounted_shell_stays_on_the_profile_switched_to() {
    let restart = Restart::default();
    let Qa { mut h, root, .. } = qa_app_under("remount", Remounting, restart.clone()).await;
    h.type_into("qa-new-profile", "b").await;
    h.click("qa-create-profile").await;
    assert!(h.html().contains("b (current)"), "{}", h.html());
    restart.0.notify_one();
    h.settle().await;
    let html = h.html();
    assert!(html.contains("b (current)"), "{html}");
    assert!(html.contains(r#"id="pair-link""#), "{html}");
    // One start line only, in the first profile's log.
    let a = log_of(&root.join("a"));
    assert_eq!(a.matches(" start ").count(), 1, "{a}");
    assert!(!log_of(&root.join("b")).contains(" start "));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn every_action_is_logged_without_a_code() {
    let Qa { mut h, root, .. } = qa_app("log").await;
    let mut shown = vec![code_at(T)];
    h.click("qa-plus30").await;
    h.tick_to(T + 1).await;
    shown.push(code_at(T + 31));
    h.click("qa-plus1").await;
    h.click("qa-minus1").await;
    h.click("qa-minus30").await;
    h.type_into("qa-jump-input", "-120").await;
    h.click("qa-jump").await;
    h.tick_to(T + 2).await;
    shown.push(code_at(T + 2 - 120));
    h.click("qa-reset").await;
    h.click("qa-check").await;
    h.tick_to(T + 3).await;
    // The codes were on the screen.
    assert!(h.html().contains(&grouped_at(T + 3)), "{}", h.html());

    let log = log_of(&root.join("a"));
    let actions: Vec<&str> = log
        .lines()
        .map(|l| l.splitn(3, ' ').nth(2).unwrap())
        .filter(|a| !a.starts_with("bank status"))
        .collect();
    assert_eq!(
        actions,
        [
            "start profile=a offset=0 s",
            "clock shift +30 s offset=+30 s",
            "clock shift +1 s offset=+31 s",
            "clock shift -1 s offset=+30 s",
            "clock shift -30 s offset=0 s",
            "clock jump from=0 s offset=-120 s",
            "clock jump from=-120 s offset=0 s",
        ],
        "{log}"
    );
    // Each line: real time, app time, action; the app time follows the
    // shift.
    let shift = log.lines().find(|l| l.contains("clock shift")).unwrap();
    assert!(
        shift.starts_with("2005-03-18T01:58:20Z app=2005-03-18T01:58:50Z clock shift"),
        "{shift}"
    );
    assert!(log.contains(&format!("bank status serial={SERIAL} state=active")));
    // No code, of any step around, and no six digits in a row at all.
    for t in (T - 600..T + 600).step_by(30) {
        assert!(!log.contains(&code_at(t)), "{log}");
    }
    for c in &shown {
        assert!(!log.contains(c.as_str()));
    }
    assert_eq!(six_digit_runs(&log), Vec::<String>::new(), "{log}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn without_qa_there_is_no_panel() {
    let w = world(T, rfc_token());
    w.bank.set_state(SERIAL, TokenState::Active);
    let h = app(&w, Lang::En, None).await;
    let html = h.html();
    assert!(html.contains(&grouped_at(T)), "{html}");
    assert!(!html.contains("qa-panel"), "{html}");
    assert!(!html.contains("QA panel"), "{html}");
    // And the command line has no QA unless asked for.
    let opts = softtoken::cli::parse(Vec::<String>::new()).unwrap();
    assert!(!opts.qa);
}
