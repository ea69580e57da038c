//! Storage costs: the atomic metadata write (fsync-bound), a full
//! add/commit/remove cycle, open with recovery checks, and, when
//! `SOFTTOKEN_REAL_KEYSTORE=1` (inside a session with a Secret Service),
//! the real keystore's put/get/delete.
//!
//! `cargo bench -p softtoken-store --features test-store --bench store`
// Test and measurement code: a panic is the failure report (the workspace
// denies unwrap/expect, Cargo.toml `[workspace.lints]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]
// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use softtoken_core::{Params, Secret, Serial};
use softtoken_store::testing::MemoryKeystore;
use softtoken_store::{BankRef, Keystore, Namespace, TokenMeta, TokenStore};

fn meta(serial: &Serial) -> TokenMeta {
    let bank = BankRef {
        id: "demo".into(),
        name: "Demo Shinkin".into(),
        url: "http://127.0.0.1:8080".into(),
    };
    TokenMeta::new(serial.clone(), bank, Params::STK1, 1_700_000_000)
}

fn serials(n: usize) -> Vec<Serial> {
    (0..n)
        .map(|_| Serial::generate(&mut rand_core::OsRng))
        .collect()
}

fn store_with(dir: &std::path::Path, keystore: Keystore, tokens: &[Serial]) -> TokenStore {
    let (mut store, _) = TokenStore::open(dir, keystore).expect("open");
    for s in tokens {
        store
            .begin_add(meta(s), &Secret::from_slice(&[7; 20]), None)
            .expect("add");
        store.commit_add(s).expect("commit");
    }
    store
}

fn bench_memory(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mem = MemoryKeystore::new();
    let ns = Namespace::profile("bench").expect("ns");
    let mut store = store_with(dir.path(), mem.keystore(ns.clone()), &serials(5));
    let first = store.tokens().next().expect("token").serial.clone();
    let extra = serials(1).remove(0);
    let secret = Secret::from_slice(&[9; 20]);

    c.bench_function("metadata write (set_state, 5 tokens, fsync)", |b| {
        b.iter(|| {
            store
                .set_state(
                    &first,
                    softtoken_core::stk1::messages::TokenState::Active,
                    1,
                )
                .expect("set_state")
        })
    });
    c.bench_function("add+commit+remove (memory keystore, 5 tokens)", |b| {
        b.iter(|| {
            store.begin_add(meta(&extra), &secret, None).expect("add");
            store.commit_add(&extra).expect("commit");
            store.remove(&extra).expect("remove");
        })
    });
    c.bench_function("open (5 ready tokens, memory keystore)", |b| {
        b.iter(|| TokenStore::open(dir.path(), mem.keystore(ns.clone())).expect("open"))
    });
}

fn bench_real(c: &mut Criterion) {
    if std::env::var("SOFTTOKEN_REAL_KEYSTORE").as_deref() != Ok("1") {
        return;
    }
    let keystore = Keystore::platform(Namespace::profile("bench-real").expect("ns"))
        .expect("SOFTTOKEN_REAL_KEYSTORE=1 needs a reachable keystore");
    let serial = serials(1).remove(0);
    let secret = Secret::from_slice(&[5; 20]);
    keystore.put(&serial, &secret).expect("put");
    c.bench_function("Secret Service get", |b| {
        b.iter(|| keystore.get(&serial).expect("get"))
    });
    c.bench_function("Secret Service put+delete", |b| {
        b.iter(|| {
            keystore.put(&serial, &secret).expect("put");
            keystore.delete(&serial).expect("delete");
        })
    });
    c.bench_function("Secret Service connect", |b| {
        b.iter(|| {
            Keystore::platform(Namespace::profile("bench-real").expect("ns")).expect("connect")
        })
    });
    let _ = keystore.delete(&serial);
}

criterion_group!(benches, bench_memory, bench_real);
criterion_main!(benches);
