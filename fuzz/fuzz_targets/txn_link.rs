//! The `softtoken://txn?bank=…&serial=…` link the operating system hands
//! the app (`services::txn_link::parse_txn_link`), compiled from the app's
//! own module with `#[path]`.
//!
//! Properties: never panics; a parsed link names a bank of 1..=64 allowed
//! characters and a serial that re-parses strictly to itself.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/services/txn_link.rs"]
mod txn_link;

use libfuzzer_sys::fuzz_target;
use softtoken_core::Serial;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(link) = txn_link::parse_txn_link(text) {
        assert!((1..=64).contains(&link.bank.len()));
        assert!(link
            .bank
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        assert_eq!(
            Serial::parse_strict(link.serial.as_str()).ok(),
            Some(link.serial)
        );
    }
});
