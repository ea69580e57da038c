//! The app's metadata file `tokens.json`, read through the store's public
//! API (`TokenStore::open` on a profile directory holding the fuzzed file,
//! with the in-memory keystore).
//!
//! Properties: never panics; a file that opens lists each serial once, and
//! opening the directory again (after any recovery the first open wrote)
//! gives the same entries: reading is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use softtoken_store::metadata::{FILE_NAME, TEMP_NAME};
use softtoken_store::testing::MemoryKeystore;
use softtoken_store::{Namespace, TokenStore};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("softtoken-fuzz-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary profile directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    let _ = std::fs::remove_file(dir.join(TEMP_NAME));
    std::fs::write(dir.join(FILE_NAME), data).expect("write tokens.json");
    let memory = MemoryKeystore::new();
    let first = match TokenStore::open(dir, memory.keystore(Namespace::default_profile())) {
        Ok((store, _recovered)) => store.entries().to_vec(),
        Err(_) => {
            // A refused file is left exactly as it was.
            assert_eq!(
                std::fs::read(dir.join(FILE_NAME)).ok().as_deref(),
                Some(data)
            );
            return;
        }
    };
    let serials: BTreeSet<_> = first.iter().map(|e| e.serial().clone()).collect();
    assert_eq!(serials.len(), first.len(), "a serial is listed twice");
    let (again, _) = TokenStore::open(dir, memory.keystore(Namespace::default_profile()))
        .expect("a file the store accepted (and perhaps rewrote) opens again");
    assert_eq!(again.entries(), &first[..]);
});
