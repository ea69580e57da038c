//! Pairing, camera scanner (phones): the camera picture on the pairing
//! screen, frames decoded in Rust until one holds a pairing link, then the
//! confirmation step.
//!
//! The camera starts only when the person asks (the system's permission
//! prompt then has its context) and stops when a link is found, when
//! "Stop" is pressed and when the scanner leaves the screen. Refusal, no
//! camera and failure each say so, and the other ways to pair stay on the
//! screen below.
//!
//! [`PairInputs`]: crate::services::scanner::PairInputs
use crate::i18n::Msg;
use crate::services::scanner::{resolve_frame, Camera, CameraEvent, FRAME_INTERVAL, VIDEO_ID};
use crate::services::Services;
use crate::ui::pair::choose::use_pair_inputs;
use crate::ui::pair::PairStep;
use crate::ui::state::{use_language, use_services};
use crate::ui::widgets::Button;
use dioxus::core::Task;
use dioxus::prelude::*;
use std::sync::Arc;

/// Where the scanner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanState {
    /// Not started.
    Idle,
    /// Waiting for the camera (and the permission prompt).
    Starting,
    /// The camera runs; frames are being read.
    Scanning,
    /// Stopped by the person or by the system (app in the background).
    Stopped,
    /// Permission refused.
    Denied,
    /// No usable camera.
    NoCamera,
    /// The camera could not be started.
    Failed,
}

/// The camera scanner on the camera of [`PairInputs`] (nothing without
/// one); a link it reads moves `step` on (to the confirmation, or back to
/// the choice with the reason it was refused).
#[component]
pub fn CameraScanner(step: Signal<PairStep>) -> Element {
    let camera = use_pair_inputs().camera;
    match camera {
        Some(camera) => rsx! { Scanner { step, camera: CameraRef(camera) } },
        None => rsx! {},
    }
}

/// A camera as a component property (equal when it is the same camera).
#[derive(Clone)]
struct CameraRef(Arc<dyn Camera>);

impl PartialEq for CameraRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[component]
fn Scanner(step: Signal<PairStep>, camera: CameraRef) -> Element {
    let camera = camera.0;
    let lang = use_language();
    let services = use_services();
    let mut state = use_signal(|| ScanState::Idle);
    let mut task = use_signal(|| None::<Task>);
    use_drop({
        let camera = camera.clone();
        move || camera.stop_all()
    });
    let start = {
        let camera = camera.clone();
        move |_| {
            if let Some(t) = task.take() {
                t.cancel();
            }
            state.set(ScanState::Starting);
            let t = spawn(run_scanner(camera.clone(), services.clone(), state, step));
            task.set(Some(t));
        }
    };
    let stop = {
        let camera = camera.clone();
        move |_| {
            if let Some(t) = task.take() {
                t.cancel();
            }
            camera.stop_all();
            state.set(ScanState::Stopped);
        }
    };
    let current = state();
    let notice = match current {
        ScanState::Denied => Some(("scan-denied", Msg::ScanDenied)),
        ScanState::NoCamera => Some(("scan-no-camera", Msg::ScanNoCamera)),
        ScanState::Failed => Some(("scan-failed", Msg::ScanFailed)),
        _ => None,
    };
    let running = matches!(current, ScanState::Starting | ScanState::Scanning);
    rsx! {
        div { class: "scanner", id: "scanner",
            if let Some((id, msg)) = notice {
                p { class: "error", id: "{id}", role: "alert", "{lang.t(msg)}" }
            }
            if current == ScanState::Stopped {
                p { id: "scan-stopped", role: "status", "{lang.t(Msg::ScanStopped)}" }
            }
            if running {
                p { id: "scan-status", role: "status",
                    if current == ScanState::Starting {
                        "{lang.t(Msg::ScanStarting)}"
                    } else {
                        "{lang.t(Msg::ScanHint)}"
                    }
                }
                video {
                    id: VIDEO_ID,
                    class: "scan-video",
                    autoplay: true,
                    muted: true,
                    "playsinline": "true",
                    aria_label: "{lang.t(Msg::ScanHint)}",
                }
                Button { msg: Msg::ScanStop, id: "scan-stop", class: "secondary", onclick: stop }
            } else if current != ScanState::NoCamera {
                Button { msg: Msg::ScanStart, id: "scan-start", class: "primary", onclick: start }
            }
        }
    }
}

/// Runs one camera session: frames at most [`FRAME_INTERVAL`] apart, one
/// asked for only after the last was decoded; ends with a link (the step
/// moves on and the camera stops with the session) or a camera event that
/// ends the session.
async fn run_scanner(
    camera: Arc<dyn Camera>,
    services: Services,
    mut state: Signal<ScanState>,
    mut step: Signal<PairStep>,
) {
    let mut session = camera.open();
    let mut asked = tokio::time::Instant::now();
    loop {
        match session.next_event().await {
            CameraEvent::Started => {
                state.set(ScanState::Scanning);
                asked = tokio::time::Instant::now();
                session.request_frame();
            }
            CameraEvent::Frame(frame) => {
                if let Some(resolved) = resolve_frame(&services, frame).await {
                    drop(session);
                    state.set(ScanState::Idle);
                    step.set(PairStep::from_link(resolved));
                    return;
                }
                tokio::time::sleep_until(asked + FRAME_INTERVAL).await;
                asked = tokio::time::Instant::now();
                session.request_frame();
            }
            CameraEvent::Denied => return state.set(ScanState::Denied),
            CameraEvent::NoCamera => return state.set(ScanState::NoCamera),
            CameraEvent::Stopped => return state.set(ScanState::Stopped),
            _ => return state.set(ScanState::Failed),
        }
    }
}
