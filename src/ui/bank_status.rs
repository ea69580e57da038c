//! The bank's view of a token, fetched from the status endpoint and
//! refreshed every 30 s while the token still waits for registration.
use crate::services::{BankStatus, ClientError, Services, TokenMeta};
use crate::ui::app::use_services;
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

async fn fetch(services: &Services, meta: &TokenMeta) -> StatusView {
    match services.bank.status(&meta.url, &meta.serial).await {
        Ok(s) => StatusView::Known(s),
        Err(e) => StatusView::Unreachable(e),
    }
}

/// Polls the token service for `meta`'s state; stops polling once the
/// state is final (`active`, `revoked`, `expired`).
pub fn use_bank_status(meta: Option<TokenMeta>) -> Signal<StatusView> {
    let services = use_services();
    let mut view = use_signal(|| StatusView::Checking);
    use_future(move || {
        let services = services.clone();
        let meta = meta.clone();
        async move {
            let Some(meta) = meta else { return };
            loop {
                let v = fetch(&services, &meta).await;
                let again = matches!(
                    v,
                    StatusView::Unreachable(_)
                        | StatusView::Known(BankStatus {
                            state: TokenState::Issued,
                            ..
                        })
                );
                view.set(v);
                if !again {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(POLL_SECS)).await;
            }
        }
    });
    view
}

/// Clock difference device − bank in seconds, if the bank told its time
/// and the difference exceeds `limit` seconds.
pub fn clock_difference(device_now: u64, server_time: Option<u64>, limit: u64) -> Option<i64> {
    let server = server_time?;
    let diff = device_now as i64 - server as i64;
    (diff.unsigned_abs() > limit).then_some(diff)
}

/// Allowed clock difference before the app warns (half a step).
pub const CLOCK_LIMIT_SECS: u64 = 15;

/// Device − bank difference from a stored `server - device` offset, if it
/// exceeds [`CLOCK_LIMIT_SECS`].
pub fn offset_warning(server_minus_device: i64) -> Option<i64> {
    (server_minus_device.unsigned_abs() > CLOCK_LIMIT_SECS).then_some(-server_minus_device)
}
