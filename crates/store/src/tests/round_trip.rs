//! Round trip, the metadata file format, the fail point and the failing keystore themselves.

use super::*;

#[test]
fn add_commit_read_remove_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mem = MemoryKeystore::new();
    let (mut store, recovered) = TokenStore::open(dir.path(), mem.keystore(ns())).unwrap();
    assert!(recovered.is_empty());
    assert_eq!(store.tokens().count(), 0);

    store
        .begin_add(meta(1), &secret(1), Some(&finish(1)))
        .unwrap();
    assert_eq!(store.get(&serial(1)).unwrap().phase(), Phase::Pending);
    assert_eq!(store.tokens().count(), 0, "pending tokens are not listed");
    assert_eq!(mem.users(&ns()), vec![serial(1).to_string()]);
    store.commit_add(&serial(1)).unwrap();
    assert_eq!(
        store.tokens().map(|m| m.serial.clone()).collect::<Vec<_>>(),
        vec![serial(1)]
    );
    assert_eq!(store.secret(&serial(1)).unwrap(), secret(1));
    assert!(store.get(&serial(1)).unwrap().pending_finish().is_none());

    // Persisted: a new store over the same dir and memory sees the token.
    let (again, recovered) = TokenStore::open(dir.path(), mem.keystore(ns())).unwrap();
    assert!(recovered.is_empty());
    assert_eq!(again.tokens().next().unwrap(), &meta(1));

    store.remove(&serial(1)).unwrap();
    assert!(store.get(&serial(1)).is_none());
    assert!(mem.is_empty());
    let (again, _) = TokenStore::open(dir.path(), mem.keystore(ns())).unwrap();
    assert_eq!(again.entries().len(), 0);
}

#[test]
fn metadata_file_holds_no_secret_and_is_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let mem = MemoryKeystore::new();
    let (mut store, _) = TokenStore::open(dir.path(), mem.keystore(ns())).unwrap();
    add(&mut store, 1);
    store
        .set_state(&serial(1), TokenState::Active, 1_700_000_100)
        .unwrap();
    store
        .set_clock_offset(&serial(1), -7, 1_700_000_101)
        .unwrap();
    store.set_bind_by(&serial(1), 1_700_086_400).unwrap();
    let text = file_text(dir.path());
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["version"], 1);
    let token = &value["tokens"][0];
    assert_eq!(token["phase"], "ready");
    assert_eq!(token["meta"]["serial"], serial(1).as_str());
    assert_eq!(token["meta"]["bank_state"]["state"], "active");
    assert_eq!(token["meta"]["clock_offset"]["seconds"], -7);
    assert_eq!(token["meta"]["bind_by"], 1_700_086_400u64);
    let b32 = secret(1).to_base32();
    assert!(!text.contains(b32.as_str()), "secret in tokens.json");
    assert!(!text.contains("1234567890"));
}

#[test]
fn fail_point_rename_leaves_old_file_and_temp() {
    let dir = tempfile::tempdir().unwrap();
    let mem = MemoryKeystore::new();
    let (mut store, _) = TokenStore::open(dir.path(), mem.keystore(ns())).unwrap();
    add(&mut store, 1);
    let before = file_text(dir.path());
    fail_point::arm(fail_point::Step::Rename, 1);
    let err = store
        .set_state(&serial(1), TokenState::Active, 5)
        .unwrap_err();
    fail_point::disarm();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(file_text(dir.path()), before, "old list intact");
    assert!(
        dir.path().join(TEMP_NAME).exists(),
        "crash leaves the temp file"
    );
    assert_eq!(store.get(&serial(1)).unwrap().meta().bank_state, None);
    let (again, recovered) = TokenStore::open(dir.path(), mem.keystore(ns())).unwrap();
    assert_eq!(
        recovered,
        vec![Recovered::StaleTempRemoved {
            path: dir.path().join(TEMP_NAME)
        }]
    );
    assert!(!dir.path().join(TEMP_NAME).exists());
    assert_eq!(again.tokens().count(), 1);
    let _ = metadata::FORMAT_VERSION;
}

#[test]
fn failing_keystore_counts_and_fails_nth_put() {
    let dir = tempfile::tempdir().unwrap();
    let failing = FailingKeystore::new(MemoryKeystore::new());
    failing.fail_nth(Op::Put, 1, Injected::Failure);
    let (mut store, _) = TokenStore::open(dir.path(), failing.keystore(ns())).unwrap();
    let err = store.begin_add(meta(1), &secret(1), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeystoreFailure);
    assert_eq!(failing.calls(Op::Put), 1);
    assert!(store.entries().is_empty());
    assert!(failing.memory().is_empty());
}
