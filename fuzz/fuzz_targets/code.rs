//! Typed codes: never panic; an accepted code has exactly the asked
//! number of ASCII digits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::Code;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for digits in 6..=8 {
        if let Some(code) = Code::parse(text, digits) {
            assert_eq!(code.as_str().len(), digits as usize);
            assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
    }
});
