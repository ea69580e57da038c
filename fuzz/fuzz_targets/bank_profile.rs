//! The app's bank profile parser (`BankDirectory::trust_profile`, the JSON
//! printed by the token service's `profile` command), compiled from the
//! app's own module with `#[path]`.
//!
//! Properties: never panics; an accepted profile adds exactly one bank
//! with one pinned key, replacing any bank of the same id, and a link to
//! it checks; a refused profile leaves the directory unchanged.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/services/directory.rs"]
mod directory;

use directory::BankDirectory;
use libfuzzer_sys::fuzz_target;
use softtoken_core::stk1::link::PairLink;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut dir = BankDirectory::builtin();
    let before = dir.clone();
    match dir.trust_profile(text) {
        Ok(entry) => {
            assert_eq!(entry.keys.len(), 1);
            assert_eq!(dir.bank(&entry.id), Some(&entry));
            let others = before.banks().iter().filter(|b| b.id != entry.id).count();
            assert_eq!(dir.banks().len(), others + 1);
            let link = PairLink {
                bank: entry.id.clone(),
                url: entry.url.clone(),
                kid: entry.keys[0].kid.clone(),
            };
            assert!(dir.check_link(&link).is_ok());
        }
        Err(_) => assert_eq!(dir, before),
    }
});
