//! Camera frames as the pairing screen's scanner hands them to Rust
//! (`qr::decode_frame`: width, height and grey pixels from the web view),
//! compiled from the app's own module with `#[path]`.
//!
//! Properties: never panics and stays within libFuzzer's memory limit
//! whatever the claimed size; a decoded link re-parses to itself.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/qr.rs"]
mod qr;

use libfuzzer_sys::fuzz_target;
use softtoken_core::stk1::link::PairLink;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let width = u32::from(u16::from_le_bytes([data[0], data[1]]));
    let height = u32::from(u16::from_le_bytes([data[2], data[3]]));
    if let Some(link) = qr::decode_frame(width, height, &data[4..]) {
        assert_eq!(PairLink::parse(&link.to_uri()).ok(), Some(link));
    }
});
