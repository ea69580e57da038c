//! Puts one token (random secret, random serial) into a simulator profile
//! through the real store and keystore, for the benchmarks (bench/app/):
//! `seed_profile DIR`. Prints the serial only.
use rand_core::{OsRng, RngCore};
use softtoken_core::{Params, Secret, Serial};
use softtoken_store::{BankRef, Keystore, Namespace, TokenMeta, TokenStore};
use std::path::PathBuf;

fn main() {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: seed_profile DIR");
        std::process::exit(2);
    };
    if let Err(e) = run(&dir) {
        eprintln!("seed_profile: {e}");
        std::process::exit(1);
    }
}

fn run(dir: &std::path::Path) -> Result<(), softtoken_store::StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| softtoken_store::StoreError::KeystoreFailure {
        detail: e.to_string(),
    })?;
    let ks = Keystore::platform(Namespace::for_profile_dir(dir)?)?;
    let (mut store, _) = TokenStore::open(dir, ks)?;
    let mut key = vec![0u8; 20];
    OsRng.fill_bytes(&mut key);
    let serial = Serial::generate(&mut OsRng);
    let bank = BankRef {
        id: "bench".into(),
        name: "Bench Shinkin".into(),
        url: "http://127.0.0.1:9".into(),
    };
    let meta = TokenMeta::new(serial.clone(), bank, Params::STK1, 1_700_000_000);
    store.begin_add(meta, &Secret::new(key), None)?;
    store.commit_add(&serial)?;
    println!("{}", serial.as_str());
    Ok(())
}
