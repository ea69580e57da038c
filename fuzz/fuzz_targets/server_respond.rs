//! The token service's side of a pairing on any body an anonymous client
//! could send: `respond` on an init request, `check_finish` on a finish
//! request against the genuine pending session.
//!
//! Properties: never panics; a finish request passes only with the
//! genuine serial and `client_confirm`; an init request other than the
//! genuine one never yields the genuine session's keys.
#![no_main]

#[path = "support/pairing.rs"]
mod pairing;

use libfuzzer_sys::fuzz_target;
use softtoken_core::encoding::encode;
use softtoken_core::stk1::messages::{decode, FinishRequest, InitRequest};
use softtoken_core::stk1::server::{respond, PendingSession};
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static GENUINE: OnceLock<(InitRequest, PendingSession)> = OnceLock::new();
    let (init, pending) = GENUINE.get_or_init(|| {
        let (init, _, pending) = pairing::genuine();
        (init, pending)
    });
    if let Ok(req) = decode::<InitRequest>(data) {
        let out = respond(
            &pairing::server_key(),
            &req,
            pairing::server_ephemeral(),
            pairing::serial(),
            pairing::NOW,
            300,
        );
        if let Ok((_, p)) = out {
            if req.client_eph_pub != init.client_eph_pub || req.client_nonce != init.client_nonce {
                assert_ne!(p.token_key, pending.token_key);
            }
        }
    }
    if let Ok(req) = decode::<FinishRequest>(data) {
        if pending.check_finish(&req).is_ok() {
            assert_eq!(req.serial, pending.serial);
            assert_eq!(req.client_confirm, encode(&pending.client_confirm));
        }
    }
});
