//! STK1 body decoding for every message type: never panics, and an error
//! text never echoes input (it could hold a code).
#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::stk1::messages::*;
use softtoken_core::stk1::Stk1Error;

fn check<T: serde::de::DeserializeOwned>(data: &[u8]) {
    if let Err(Stk1Error::InvalidRequest(text)) = decode::<T>(data) {
        // Messages are built from fixed words, field names and positions.
        assert!(text.len() < 200);
    }
}

fuzz_target!(|data: &[u8]| {
    check::<InitRequest>(data);
    check::<InitResponse>(data);
    check::<FinishRequest>(data);
    check::<FinishResponse>(data);
    check::<StatusResponse>(data);
    check::<BindRequest>(data);
    check::<VerifyRequest>(data);
    check::<ChangeRequest>(data);
    check::<DeactivateRequest>(data);
    check::<ResyncRequest>(data);
    check::<UnlockRequest>(data);
    check::<ErrorBody>(data);
});
