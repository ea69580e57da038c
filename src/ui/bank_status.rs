//! The bank's view of a token, fetched from the status endpoint and
//! refreshed every 30 s while the token still waits for registration.
use crate::services::clock::{offset_warning, CLOCK_LIMIT_SECS};
use crate::services::{BankStatus, ClientError, Services, TokenMeta};
use crate::ui::state::{use_services, use_ticker};
use dioxus::prelude::*;
use softtoken_core::stk1::messages::TokenState;
use std::time::Duration;

/// What the screen knows about the bank's state of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusView {
    /// First request still running.
    Checking,
    /// The bank answered.
    Known(BankStatus),
    /// The bank could not be asked.
    Unreachable(ClientError),
}

/// Seconds between status checks while a token is `issued` or unreachable.
pub const POLL_SECS: u64 = 30;

/// What the screens learn from the status endpoint.
#[derive(Clone, Copy)]
pub struct BankCheck {
    /// The token's state at the bank.
    pub view: Signal<StatusView>,
    /// Device − bank clock difference in seconds measured at the last
    /// status answer that carried the bank's time (`None` before that).
    pub device_minus_bank: Signal<Option<i64>>,
}

impl BankCheck {
    /// The clock difference to warn about: the last measurement if there
    /// is one, otherwise `stored` (the token's `server - device` offset
    /// from pairing); `None` when within [`CLOCK_LIMIT_SECS`].
    pub fn clock_warning(&self, stored: Option<i64>) -> Option<i64> {
        match (self.device_minus_bank)() {
            Some(d) => (d.unsigned_abs() > CLOCK_LIMIT_SECS).then_some(d),
            None => stored.and_then(offset_warning),
        }
    }
}

async fn fetch(services: &Services, meta: &TokenMeta) -> (StatusView, Option<i64>) {
    match services.bank.status(&meta.url, &meta.serial).await {
        Ok(s) => {
            let device = services.clock.now_unix();
            let diff = s.server_time.map(|t| device as i64 - t as i64);
            (StatusView::Known(s), diff)
        }
        Err(e) => (StatusView::Unreachable(e), None),
    }
}

/// Polls the token service for `meta`'s state: every [`POLL_SECS`] while
/// `issued` or unreachable, no more once final (`active`, `revoked`,
/// `expired`). Every answer with a bank time re-measures the clock
/// difference; a jump of the device clock ([`Ticker::jumps`], e.g. the
/// person set the time) starts a new check at once.
///
/// [`Ticker::jumps`]: crate::ui::state::Ticker::jumps
pub fn use_bank_status(meta: Option<TokenMeta>) -> BankCheck {
    let services = use_services();
    let ticker = use_ticker();
    let mut view = use_signal(|| StatusView::Checking);
    let mut measured = use_signal(|| None::<i64>);
    let _poller = use_resource(move || {
        let _ = ticker.jumps();
        let services = services.clone();
        let meta = meta.clone();
        async move {
            let Some(meta) = meta else { return };
            loop {
                let (v, diff) = fetch(&services, &meta).await;
                let again = matches!(
                    v,
                    StatusView::Unreachable(_)
                        | StatusView::Known(BankStatus {
                            state: TokenState::Issued,
                            ..
                        })
                );
                view.set(v);
                // A missing or invalid Date keeps the last measurement.
                if diff.is_some() {
                    measured.set(diff);
                }
                if !again {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(POLL_SECS)).await;
            }
        }
    });
    BankCheck {
        view,
        device_minus_bank: measured,
    }
}
