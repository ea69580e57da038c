//! Serial parsing: never panics; an accepted serial is 12 alphabet
//! characters that format and re-parse to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::serial::{Serial, ALPHABET};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for parsed in [Serial::parse_strict(text), Serial::parse_typed(text)].into_iter().flatten() {
        assert_eq!(parsed.as_str().len(), 12);
        assert!(parsed.as_str().bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(Serial::parse_typed(&parsed.formatted()).ok(), Some(parsed.clone()));
    }
});
