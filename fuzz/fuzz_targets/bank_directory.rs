//! The app's bank directory parser (`BankDirectory::from_json`, the format
//! of `assets/banks.json`). The app's own module is compiled into this
//! target with `#[path]`, so this fuzzes the shipped code without building
//! the UI crate.
//!
//! Properties: never panics; an accepted directory has unique bank ids,
//! http(s) URLs without a trailing slash, and every pinned key's kid is
//! found again by `key`; every bank accepts a pairing link naming its own
//! id, URL and first kid.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/services/directory.rs"]
mod directory;

use directory::BankDirectory;
use libfuzzer_sys::fuzz_target;
use softtoken_core::stk1::link::PairLink;
use std::collections::BTreeSet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(dir) = BankDirectory::from_json(text) else {
        return;
    };
    let ids: BTreeSet<_> = dir.banks().iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids.len(), dir.banks().len());
    for bank in dir.banks() {
        assert!(bank.url.starts_with("https://") || bank.url.starts_with("http://"));
        assert!(!bank.url.ends_with('/'));
        for key in &bank.keys {
            assert!(bank.key(&key.kid).is_some());
        }
        if let Some(first) = bank.keys.first() {
            let link = PairLink {
                bank: bank.id.clone(),
                url: bank.url.clone(),
                kid: first.kid.clone(),
            };
            assert!(dir.check_link(&link).is_ok());
        }
    }
});
