//! Strict and lenient base32 decoders: never panic; whatever the strict
//! decoder accepts re-encodes to the same text; the lenient decoder
//! accepts everything the strict one does, with the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::encoding::{decode_lenient, decode_strict, encode};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(bytes) = decode_strict(text) {
        assert_eq!(encode(&bytes), text);
        assert_eq!(decode_lenient(text).ok(), Some(bytes));
    }
    if let Ok(bytes) = decode_lenient(text) {
        assert_eq!(decode_strict(&encode(&bytes)).ok(), Some(bytes));
    }
});
