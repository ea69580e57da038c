//! Pairing links: never panic; an accepted link round-trips through
//! `to_uri`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::stk1::link::PairLink;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(link) = PairLink::parse(text) {
        assert_eq!(PairLink::parse(&link.to_uri()).ok(), Some(link));
    }
});
