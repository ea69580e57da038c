//! The app's side of a pairing, `ClientHandshake::finish`, on any init
//! response body a server (or a man in the middle) could send.
//!
//! Properties: never panics; a response is accepted only if it carries the
//! genuine server's values (serial, `B`, `N_S`, `server_confirm`, the
//! STK1 parameters), and then the derived secret is the genuine one: the
//! fuzzer cannot make the app accept a key the pinned server did not
//! confirm.
#![no_main]

#[path = "support/pairing.rs"]
mod pairing;

use libfuzzer_sys::fuzz_target;
use softtoken_core::stk1::messages::{decode, InitResponse, WireParams};
use softtoken_core::Params;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static GENUINE: OnceLock<(InitResponse, Vec<u8>, String)> = OnceLock::new();
    let (genuine, key, finish_confirm) = GENUINE.get_or_init(|| {
        let (_, resp, pending) = pairing::genuine();
        let key = pending.token_key.expose().to_vec();
        let confirm = softtoken_core::encoding::encode(&pending.client_confirm);
        (resp, key, confirm)
    });
    let Ok(resp) = decode::<InitResponse>(data) else {
        return;
    };
    let (client, _) = pairing::client();
    if let Ok(paired) = client.finish(&resp) {
        assert_eq!(resp.serial, genuine.serial);
        assert_eq!(resp.server_eph_pub, genuine.server_eph_pub);
        assert_eq!(resp.server_nonce, genuine.server_nonce);
        assert_eq!(resp.server_confirm, genuine.server_confirm);
        assert_eq!(resp.params, WireParams::from(Params::STK1));
        assert_eq!(paired.secret.expose(), &key[..]);
        assert_eq!(paired.params, Params::STK1);
        assert_eq!(&paired.finish_request.client_confirm, finish_confirm);
        assert_eq!(paired.finish_request.session_id, resp.session_id);
    }
});
