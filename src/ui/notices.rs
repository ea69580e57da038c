//! Interrupted pairings resolved while the app runs, and the notices that
//! say what happened to them.
use crate::i18n::{recovery, Msg};
use crate::services::{recover_pending, Recovery};
use crate::ui::state::{use_language, use_navigation, use_services, use_token_list, Route};
use crate::ui::widgets::Button;
use dioxus::prelude::*;
use softtoken_core::Serial;
use std::time::Duration;

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
/// never while a pairing talks to the bank
/// ([`crate::ui::state::TokenList::pairing`]); a pass only handles the
/// pairings pending when it began, so it never races a pairing started
/// later. Returns the notices to show.
fn use_pairing_recovery() -> Signal<Vec<Recovery>> {
    let services = use_services();
    let nav = use_navigation();
    let tokens = use_token_list();
    let mut notices = use_signal(Vec::<Recovery>::new);
    let mut running = use_signal(|| false);
    let mut retry = use_signal(|| 0u64);
    // Last `retry` value a pass was started for (`None`: no pass yet).
    let mut seen_retry = use_signal(|| None::<u64>);
    use_effect(move || {
        let route = nav.shown();
        let _ = tokens.revision();
        let r = retry();
        let busy = tokens.pairing();
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
                tokens.reload();
            }
            if waiting {
                tokio::time::sleep(Duration::from_secs(RECOVERY_RETRY_SECS)).await;
                retry += 1;
            }
        });
    });
    notices
}

/// Runs the recovery of interrupted pairings for the whole app (mounted
/// once, by the root) and shows its notices, each until dismissed.
#[component]
pub fn RecoveryNotices() -> Element {
    let lang = use_language();
    let mut notices = use_pairing_recovery();
    if notices.read().is_empty() {
        return rsx! {};
    }
    rsx! {
        div { class: "notices", id: "recovery-notices",
            for (i, n) in notices.read().iter().enumerate() {
                div {
                    key: "{i}",
                    class: if matches!(n, Recovery::Completed { .. }) { "notice" } else { "notice warning" },
                    role: "status",
                    p { {recovery(lang.get(), n)} }
                    Button {
                        msg: Msg::Dismiss,
                        id: "dismiss-{recovery_serial(n).as_str()}",
                        class: "link",
                        onclick: move |_| {
                            notices.with_mut(|v| {
                                if i < v.len() {
                                    v.remove(i);
                                }
                            });
                        },
                    }
                }
            }
        }
    }
}
