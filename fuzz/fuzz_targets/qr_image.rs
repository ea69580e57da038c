//! QR images as the app reads them (`qr::decode_image`: `image` decodes a
//! PNG or JPEG within the size limits, `rqrr` finds and decodes the code,
//! the pairing link parser reads its text), compiled from the app's own
//! module with `#[path]`.
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
    if let Ok(link) = qr::decode_image(data) {
        assert_eq!(PairLink::parse(&link.to_uri()).ok(), Some(link));
    }
});
