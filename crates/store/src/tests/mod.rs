//! Unit tests (in-memory and failing keystores), one module per concern;
//! the helpers shared by all of them are here.

mod damaged_files;
mod interrupted_writes;
mod invariant;
mod keystore_faults;
mod namespaces_errors;
mod round_trip;

use crate::metadata::{self, fail_point, FILE_NAME, TEMP_NAME};
use crate::testing::{FailingKeystore, Injected, MemoryKeystore, Op};
use crate::*;
use softtoken_core::stk1::messages::{FinishRequest, TokenState};
use softtoken_core::{Params, Secret, Serial};
use std::path::Path;

const SECRET_BYTES: &[u8; 20] = b"12345678901234567890";

fn serial(n: u8) -> Serial {
    // Deterministic valid serials: a fixed body with one varying character.
    let alphabet = softtoken_core::serial::ALPHABET;
    let mut body = *b"K7M3Q9XZ2P0";
    body[10] = alphabet[(n % 32) as usize];
    body[9] = alphabet[((n / 32) % 32) as usize];
    let check = softtoken_core::serial::check_char(&body).unwrap();
    let mut full = body.to_vec();
    full.push(check);
    Serial::parse_strict(std::str::from_utf8(&full).unwrap()).unwrap()
}

fn secret(n: u8) -> Secret {
    let mut bytes = SECRET_BYTES.to_vec();
    bytes[0] = n;
    Secret::new(bytes)
}

fn meta(n: u8) -> TokenMeta {
    let bank = BankRef {
        id: "demo".into(),
        name: "Demo Shinkin".into(),
        url: "http://127.0.0.1:8080".into(),
    };
    TokenMeta::new(serial(n), bank, Params::STK1, 1_700_000_000 + u64::from(n))
}

fn finish(n: u8) -> FinishRequest {
    FinishRequest {
        v: 1,
        session_id: "AAAQEAYEAUDAOCAJBIFQYDIOB4".into(),
        serial: serial(n),
        client_confirm: "CLIENTCONFIRMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX".into(),
    }
}

fn ns() -> Namespace {
    Namespace::profile("test").unwrap()
}

fn file_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(FILE_NAME)).unwrap()
}

/// Adds and commits token `n`.
fn add(store: &mut TokenStore, n: u8) {
    store
        .begin_add(meta(n), &secret(n), Some(&finish(n)))
        .unwrap();
    store.commit_add(&serial(n)).unwrap();
}

fn failing_store(dir: &Path) -> (TokenStore, FailingKeystore) {
    let failing = FailingKeystore::new(MemoryKeystore::new());
    let (store, recovered) = TokenStore::open(dir, failing.keystore(ns())).unwrap();
    assert!(recovered.is_empty());
    (store, failing)
}

fn reopen(dir: &Path, failing: &FailingKeystore) -> (TokenStore, Vec<Recovered>) {
    TokenStore::open(dir, failing.memory().keystore(ns())).unwrap()
}
