//! QR images as the app reads them (`qr::decode_bytes`: `image` decodes a
//! PNG or JPEG, `rqrr` finds and decodes the code), compiled from the
//! app's own module with `#[path]`; then the text goes through the pairing
//! link parser, as in the app.
//!
//! Properties: never panics (in the image decoders, the QR decoder or the
//! link parser) and stays within libFuzzer's memory limit.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/qr.rs"]
mod qr;

use libfuzzer_sys::fuzz_target;
use softtoken_core::stk1::link::PairLink;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = qr::decode_bytes(data) {
        if let Ok(link) = PairLink::parse(&text) {
            assert_eq!(PairLink::parse(&link.to_uri()).ok(), Some(link));
        }
    }
});
