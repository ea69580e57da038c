//! Unit tests (in-memory and failing keystores).

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

// ---------------------------------------------------------------------------
// Failure injection at each keystore call of add and remove.

const KEYSTORE_FAULTS: [(Injected, ErrorKind); 3] = [
    (Injected::Unavailable, ErrorKind::KeystoreUnavailable),
    (Injected::Locked, ErrorKind::KeystoreLocked),
    (Injected::Failure, ErrorKind::KeystoreFailure),
];

fn failing_store(dir: &Path) -> (TokenStore, FailingKeystore) {
    let failing = FailingKeystore::new(MemoryKeystore::new());
    let (store, recovered) = TokenStore::open(dir, failing.keystore(ns())).unwrap();
    assert!(recovered.is_empty());
    (store, failing)
}

fn reopen(dir: &Path, failing: &FailingKeystore) -> (TokenStore, Vec<Recovered>) {
    TokenStore::open(dir, failing.memory().keystore(ns())).unwrap()
}

#[test]
fn add_put_failure_rolls_back_cleanly() {
    for (how, kind) in KEYSTORE_FAULTS {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, failing) = failing_store(dir.path());
        add(&mut store, 1);
        failing.fail_next(Op::Put, how);
        let err = store.begin_add(meta(2), &secret(2), None).unwrap_err();
        assert_eq!(err.kind(), kind, "{how:?}");
        assert!(!err.to_string().contains(secret(2).to_base32().as_str()));
        assert!(
            store.get(&serial(2)).is_none(),
            "{how:?}: entry rolled back"
        );
        assert_eq!(failing.memory().users(&ns()), vec![serial(1).to_string()]);
        let (again, recovered) = reopen(dir.path(), &failing);
        assert!(recovered.is_empty(), "{recovered:?}");
        assert_eq!(again.entries().len(), 1);
        assert_eq!(again.secret(&serial(1)).unwrap(), secret(1), "nothing lost");
    }
}

#[test]
fn add_put_that_stored_then_failed_is_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    failing.fail_next(Op::Put, Injected::FailureAfterEffect);
    let err = store.begin_add(meta(1), &secret(1), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeystoreFailure);
    assert!(store.entries().is_empty());
    assert!(failing.memory().is_empty(), "no secret without an entry");
}

#[test]
fn add_put_and_cleanup_both_failing_keeps_the_pending_entry() {
    // The put stored the secret, reported an error, and the cleanup delete
    // failed too: the entry must stay so that the secret is never orphaned.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    failing.fail_next(Op::Put, Injected::FailureAfterEffect);
    failing.fail_next(Op::Delete, Injected::Unavailable);
    store
        .begin_add(meta(1), &secret(1), Some(&finish(1)))
        .unwrap_err();
    assert_eq!(store.get(&serial(1)).unwrap().phase(), Phase::Pending);
    assert_eq!(failing.memory().len(), 1);
    let (mut again, recovered) = reopen(dir.path(), &failing);
    assert_eq!(
        recovered,
        vec![Recovered::PendingAdd {
            serial: serial(1),
            finish: Some(PendingFinish::new(finish(1)))
        }]
    );
    // The app resends finish, then commits.
    again.commit_add(&serial(1)).unwrap();
    assert_eq!(again.secret(&serial(1)).unwrap(), secret(1));

    // Same double failure without effect: pending entry without secret is
    // rolled back at the next open, and cannot be committed before.
    let dir2 = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir2.path());
    failing.fail_next(Op::Put, Injected::Failure);
    failing.fail_next(Op::Delete, Injected::Failure);
    store.begin_add(meta(2), &secret(2), None).unwrap_err();
    assert_eq!(store.get(&serial(2)).unwrap().phase(), Phase::Pending);
    let err = store.commit_add(&serial(2)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SecretMissing);
    assert_eq!(store.get(&serial(2)).unwrap().phase(), Phase::Pending);
    // A retry of begin_add for the pending serial works.
    store.begin_add(meta(2), &secret(2), None).unwrap();
    store.commit_add(&serial(2)).unwrap();
    assert_eq!(store.secret(&serial(2)).unwrap(), secret(2));
}

#[test]
fn add_rolled_back_at_open_when_the_secret_never_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    failing.fail_next(Op::Put, Injected::Unavailable);
    failing.fail_next(Op::Delete, Injected::Unavailable);
    store.begin_add(meta(1), &secret(1), None).unwrap_err();
    drop(store);
    let (again, recovered) = reopen(dir.path(), &failing);
    assert_eq!(
        recovered,
        vec![Recovered::RolledBackAdd { serial: serial(1) }]
    );
    assert!(again.entries().is_empty());
    assert!(file_text(dir.path()).contains("\"tokens\": []"));
}

#[test]
fn commit_add_get_failure_keeps_pending() {
    for (how, kind) in KEYSTORE_FAULTS {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, failing) = failing_store(dir.path());
        store.begin_add(meta(1), &secret(1), None).unwrap();
        failing.fail_next(Op::Get, how);
        assert_eq!(store.commit_add(&serial(1)).unwrap_err().kind(), kind);
        assert_eq!(store.get(&serial(1)).unwrap().phase(), Phase::Pending);
        store.commit_add(&serial(1)).unwrap();
        assert_eq!(store.tokens().count(), 1);
    }
}

#[test]
fn remove_delete_failure_keeps_entry_and_secret() {
    for (how, kind) in KEYSTORE_FAULTS {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, failing) = failing_store(dir.path());
        add(&mut store, 1);
        failing.fail_next(Op::Delete, how);
        let err = store.remove(&serial(1)).unwrap_err();
        assert_eq!(err.kind(), kind);
        assert!(err.to_string().contains("Nothing was"), "{err}");
        let entry = store.get(&serial(1)).expect("entry kept");
        assert_eq!(entry.phase(), Phase::Removing);
        assert_eq!(store.tokens().count(), 0, "no longer listed as usable");
        assert_eq!(
            store.secret(&serial(1)).unwrap_err().kind(),
            ErrorKind::WrongPhase
        );
        assert_eq!(failing.memory().len(), 1, "secret kept");
        // Retrying finishes the job.
        store.remove(&serial(1)).unwrap();
        assert!(store.entries().is_empty());
        assert!(failing.memory().is_empty());
    }
}

#[test]
fn remove_interrupted_is_completed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    add(&mut store, 1);
    add(&mut store, 2);
    failing.fail_next(Op::Delete, Injected::Failure);
    store.remove(&serial(1)).unwrap_err();
    drop(store);
    let (again, recovered) = reopen(dir.path(), &failing);
    assert_eq!(
        recovered,
        vec![Recovered::CompletedRemove { serial: serial(1) }]
    );
    assert_eq!(again.entries().len(), 1);
    assert_eq!(failing.memory().users(&ns()), vec![serial(2).to_string()]);
}

#[test]
fn remove_of_a_token_whose_secret_is_already_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    add(&mut store, 1);
    assert!(failing.memory().remove_raw(&ns(), serial(1).as_str()));
    assert_eq!(
        store.secret(&serial(1)).unwrap_err().kind(),
        ErrorKind::SecretMissing
    );
    let (_, recovered) = reopen(dir.path(), &failing);
    assert_eq!(
        recovered,
        vec![Recovered::SecretMissing { serial: serial(1) }]
    );
    store.remove(&serial(1)).unwrap();
    assert!(store.entries().is_empty());
}

#[test]
fn unreadable_keystore_value_is_reported_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    add(&mut store, 1);
    for raw in [&b"not base32!"[..], b"", &[0xff, 0xfe][..], b"gezdgnbv"] {
        failing.memory().insert_raw(&ns(), serial(1).as_str(), raw);
        let err = store.secret(&serial(1)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SecretUnreadable, "{raw:?}");
        assert_eq!(failing.memory().len(), 1);
    }
}

#[test]
fn unreadable_item_does_not_block_open() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    add(&mut store, 1);
    add(&mut store, 2);
    store.begin_add(meta(3), &secret(3), None).unwrap();
    failing
        .memory()
        .insert_raw(&ns(), serial(1).as_str(), b"garbage");
    failing
        .memory()
        .insert_raw(&ns(), serial(3).as_str(), b"garbage");
    let (mut again, recovered) = reopen(dir.path(), &failing);
    assert_eq!(
        recovered,
        vec![
            Recovered::SecretUnreadable { serial: serial(1) },
            Recovered::PendingAdd {
                serial: serial(3),
                finish: None
            },
        ]
    );
    assert_eq!(
        again.secret(&serial(2)).unwrap(),
        secret(2),
        "others usable"
    );
    assert_eq!(
        again.secret(&serial(1)).unwrap_err().kind(),
        ErrorKind::SecretUnreadable
    );
    assert_eq!(
        again.commit_add(&serial(3)).unwrap_err().kind(),
        ErrorKind::SecretUnreadable
    );
    again.abort_add(&serial(3)).unwrap();
    again.remove(&serial(1)).unwrap();
    assert_eq!(failing.memory().users(&ns()), vec![serial(2).to_string()]);
}

#[test]
fn public_types_are_thread_safe() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Keystore>();
    send_sync::<TokenStore>();
    send_sync::<StoreError>();
    send_sync::<Recovered>();
}

#[test]
fn open_with_failing_keystore_changes_nothing() {
    for (how, kind) in KEYSTORE_FAULTS {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, failing) = failing_store(dir.path());
        add(&mut store, 1);
        store.begin_add(meta(2), &secret(2), None).unwrap();
        add(&mut store, 3);
        failing.fail_next(Op::Delete, Injected::Failure);
        store.remove(&serial(3)).unwrap_err();
        drop(store);
        let before = file_text(dir.path());
        failing.fail_all(Some(how));
        let err = TokenStore::open(dir.path(), failing.keystore(ns())).unwrap_err();
        assert_eq!(err.kind(), kind);
        assert_eq!(file_text(dir.path()), before);
        assert_eq!(failing.memory().len(), 3);
        failing.fail_all(None);
        let (again, recovered) = TokenStore::open(dir.path(), failing.keystore(ns())).unwrap();
        assert_eq!(recovered.len(), 2, "{recovered:?}");
        assert_eq!(again.entries().len(), 2);
        assert_eq!(failing.memory().len(), 2);
    }
}

// ---------------------------------------------------------------------------
// Metadata writes interrupted (kill, disk error) at each step.

#[test]
fn metadata_write_failure_before_pending_makes_no_keystore_call() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    for step in [fail_point::Step::WriteTemp, fail_point::Step::Rename] {
        fail_point::arm(step, 1);
        let err = store.begin_add(meta(1), &secret(1), None).unwrap_err();
        fail_point::disarm();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(
            failing.calls(Op::Put),
            0,
            "no secret before its entry is durable"
        );
        assert!(store.entries().is_empty());
    }
}

#[test]
fn metadata_write_failure_during_add_commit_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    add(&mut store, 1);

    // commit_add cannot be written: still pending, recovered as pending.
    store.begin_add(meta(2), &secret(2), None).unwrap();
    fail_point::arm(fail_point::Step::Rename, 1);
    assert_eq!(
        store.commit_add(&serial(2)).unwrap_err().kind(),
        ErrorKind::Io
    );
    fail_point::disarm();
    assert_eq!(store.get(&serial(2)).unwrap().phase(), Phase::Pending);

    // remove cannot mark `removing`: nothing deleted.
    fail_point::arm(fail_point::Step::WriteTemp, 1);
    assert_eq!(store.remove(&serial(1)).unwrap_err().kind(), ErrorKind::Io);
    fail_point::disarm();
    assert_eq!(failing.calls(Op::Delete), 0);
    assert_eq!(store.get(&serial(1)).unwrap().phase(), Phase::Ready);

    // remove: secret deleted, final write fails → `removing` kept.
    fail_point::arm(fail_point::Step::Rename, 2);
    assert_eq!(store.remove(&serial(1)).unwrap_err().kind(), ErrorKind::Io);
    fail_point::disarm();
    assert_eq!(store.get(&serial(1)).unwrap().phase(), Phase::Removing);
    drop(store);

    let (again, recovered) = reopen(dir.path(), &failing);
    assert!(recovered.contains(&Recovered::CompletedRemove { serial: serial(1) }));
    assert!(recovered.contains(&Recovered::PendingAdd {
        serial: serial(2),
        finish: None
    }));
    assert!(recovered.contains(&Recovered::StaleTempRemoved {
        path: dir.path().join(TEMP_NAME)
    }));
    assert_eq!(again.entries().len(), 1);
    assert_eq!(failing.memory().users(&ns()), vec![serial(2).to_string()]);
}

#[test]
fn temp_file_left_by_a_first_write_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(TEMP_NAME), b"{\"version\":1,\"tok").unwrap();
    let mem = MemoryKeystore::new();
    let (store, recovered) = TokenStore::open(dir.path(), mem.keystore(ns())).unwrap();
    assert_eq!(recovered.len(), 1);
    assert!(store.entries().is_empty());
    assert!(
        !dir.path().join(FILE_NAME).exists(),
        "open writes nothing it need not"
    );
}

// ---------------------------------------------------------------------------
// Damaged and too-new files: kept, reported, never written.

fn damaged_variants(valid: &str) -> Vec<(&'static str, Vec<u8>, ErrorKind)> {
    let bytes = valid.as_bytes();
    let one_token = serde_json::from_str::<serde_json::Value>(valid).unwrap()["tokens"][0].clone();
    let duplicate =
        serde_json::json!({"version": 1, "tokens": [one_token.clone(), one_token.clone()]});
    let mut unknown_field = one_token.clone();
    unknown_field["secret"] = serde_json::json!("GEZDGNBV");
    let unknown = serde_json::json!({"version": 1, "tokens": [unknown_field]});
    let newer = serde_json::json!({"version": 2, "tokens": "whatever the future holds"});
    let mut bad_serial = one_token;
    bad_serial["meta"]["serial"] = serde_json::json!("K7M3Q9XZ2PD1");
    let bad_serial = serde_json::json!({"version": 1, "tokens": [bad_serial]});
    vec![
        (
            "partial file",
            bytes[..bytes.len() / 2].to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "truncated JSON",
            bytes[..bytes.len() - 3].to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        ("empty file", Vec::new(), ErrorKind::MetadataCorrupt),
        (
            "garbage",
            b"\x00\xffPK\x03\x04 garbage".to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "zeros (lost blocks)",
            vec![0; 512],
            ErrorKind::MetadataCorrupt,
        ),
        (
            "not an object",
            b"[1,2,3]".to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "no version",
            b"{\"tokens\":[]}".to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "version as text",
            b"{\"version\":\"1\",\"tokens\":[]}".to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "version 0",
            b"{\"version\":0,\"tokens\":[]}".to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "duplicate serial",
            duplicate.to_string().into_bytes(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "unknown field",
            unknown.to_string().into_bytes(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "bad serial",
            bad_serial.to_string().into_bytes(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "newer version",
            newer.to_string().into_bytes(),
            ErrorKind::MetadataTooNew,
        ),
    ]
}

#[test]
fn damaged_or_newer_file_is_kept_reported_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    add(&mut store, 1);
    drop(store);
    let valid = file_text(dir.path());
    for (what, bytes, kind) in damaged_variants(&valid) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, &bytes).unwrap();
        let calls = failing.calls(Op::Get) + failing.calls(Op::Delete);
        let err = TokenStore::open(dir.path(), failing.keystore(ns())).unwrap_err();
        assert_eq!(err.kind(), kind, "{what}: {err}");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{what}: {text}");
        assert!(text.contains("untouched"), "{what}: {text}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: file unchanged"
        );
        assert_eq!(
            failing.calls(Op::Get) + failing.calls(Op::Delete),
            calls,
            "{what}: keystore untouched"
        );
        assert_eq!(failing.memory().len(), 1, "{what}: secrets kept");
        // Refuses again at the next start, until the person decides.
        assert!(TokenStore::open(dir.path(), failing.keystore(ns())).is_err());
        // The person sets it aside: kept under a new name, fresh start.
        let aside = TokenStore::set_aside(dir.path(), 1_700_000_000)
            .unwrap()
            .unwrap();
        assert_eq!(std::fs::read(&aside).unwrap(), bytes, "{what}: kept aside");
        let (fresh, _) = TokenStore::open(dir.path(), failing.keystore(ns())).unwrap();
        assert!(fresh.entries().is_empty());
    }
}

#[test]
fn set_aside_never_replaces_an_earlier_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, b"first").unwrap();
    let a = TokenStore::set_aside(dir.path(), 42).unwrap().unwrap();
    std::fs::write(&path, b"second").unwrap();
    let b = TokenStore::set_aside(dir.path(), 42).unwrap().unwrap();
    assert_ne!(a, b);
    assert_eq!(std::fs::read(&a).unwrap(), b"first");
    assert_eq!(std::fs::read(&b).unwrap(), b"second");
    assert_eq!(TokenStore::set_aside(dir.path(), 42).unwrap(), None);
}

#[cfg(unix)]
#[test]
fn files_and_directory_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("profile");
    let mem = MemoryKeystore::new();
    let (mut store, _) = TokenStore::open(&dir, mem.keystore(ns())).unwrap();
    add(&mut store, 1);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(FILE_NAME)), 0o600);
}

// ---------------------------------------------------------------------------
// Namespaces, phases, errors, redaction.

#[test]
fn namespaces_separate_profiles() {
    let mem = MemoryKeystore::new();
    let old = mem.keystore(Namespace::profile("old-phone").unwrap());
    let new = mem.keystore(Namespace::profile("new-phone").unwrap());
    old.put(&serial(1), &secret(1)).unwrap();
    assert_eq!(new.get(&serial(1)).unwrap(), None);
    new.put(&serial(1), &secret(2)).unwrap();
    assert_eq!(old.get(&serial(1)).unwrap(), Some(secret(1)));
    assert!(old.delete(&serial(1)).unwrap());
    assert_eq!(new.get(&serial(1)).unwrap(), Some(secret(2)));
    assert_eq!(Namespace::default_profile().service(), "softtoken");
    assert_eq!(
        Namespace::profile("qa_1-old").unwrap().service(),
        "softtoken.profile.qa_1-old"
    );
    for bad in ["", "a b", "x/y", "é", &"x".repeat(65)] {
        let err = Namespace::profile(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidNamespace, "{bad:?}");
    }
}

#[test]
fn profile_dir_namespace_is_stable_and_distinct() {
    let base = tempfile::tempdir().unwrap();
    let a = base.path().join("a");
    let b = base.path().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let na = Namespace::for_profile_dir(&a).unwrap();
    assert_eq!(
        na,
        Namespace::for_profile_dir(&base.path().join("b/../a")).unwrap()
    );
    assert_ne!(na, Namespace::for_profile_dir(&b).unwrap());
    assert!(na.service().starts_with("softtoken.profile.d-"));
    let missing = Namespace::for_profile_dir(&base.path().join("missing")).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Io);
}

#[test]
fn wrong_phase_and_unknown_token() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _failing) = failing_store(dir.path());
    assert_eq!(
        store.secret(&serial(9)).unwrap_err().kind(),
        ErrorKind::UnknownToken
    );
    assert_eq!(
        store.remove(&serial(9)).unwrap_err().kind(),
        ErrorKind::UnknownToken
    );
    assert_eq!(
        store.commit_add(&serial(9)).unwrap_err().kind(),
        ErrorKind::UnknownToken
    );
    add(&mut store, 1);
    let err = store.begin_add(meta(1), &secret(1), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(
        store.abort_add(&serial(1)).unwrap_err().kind(),
        ErrorKind::WrongPhase
    );
    store.commit_add(&serial(1)).unwrap(); // already ready: no-op
    store.begin_add(meta(2), &secret(2), None).unwrap();
    store.abort_add(&serial(2)).unwrap();
    assert!(store.get(&serial(2)).is_none());
}

#[test]
fn error_kinds_are_stable_and_distinct() {
    let kinds = [
        ErrorKind::KeystoreUnavailable,
        ErrorKind::KeystoreLocked,
        ErrorKind::KeystoreFailure,
        ErrorKind::SecretMissing,
        ErrorKind::SecretUnreadable,
        ErrorKind::MetadataCorrupt,
        ErrorKind::MetadataTooNew,
        ErrorKind::Io,
        ErrorKind::AlreadyExists,
        ErrorKind::UnknownToken,
        ErrorKind::WrongPhase,
        ErrorKind::InvalidNamespace,
    ];
    let names: std::collections::BTreeSet<_> = kinds.iter().map(|k| k.as_str()).collect();
    assert_eq!(names.len(), kinds.len());
    assert_eq!(
        ErrorKind::KeystoreUnavailable.as_str(),
        "keystore_unavailable"
    );
    assert_eq!(ErrorKind::MetadataCorrupt.as_str(), "metadata_corrupt");
}

#[test]
fn debug_output_never_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    store
        .begin_add(meta(1), &secret(1), Some(&finish(1)))
        .unwrap();
    let (reopened, recovered) = reopen(dir.path(), &failing);
    let shown = format!(
        "{store:?} {reopened:?} {recovered:?} {:?} {:?} {:?}",
        store.entries(),
        store.keystore(),
        failing
    );
    let b32 = secret(1).to_base32();
    assert!(!shown.contains(b32.as_str()), "{shown}");
    assert!(!shown.contains("CLIENTCONFIRM"), "{shown}");
    assert!(shown.contains(serial(1).as_str()));
}

// ---------------------------------------------------------------------------
// Property: any sequence of operations with random injected failures and
// crashes keeps "every ready entry has its secret, no secret without an
// entry", and loses no committed token that was not being removed.

mod invariant {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Debug, Clone, Copy)]
    enum Action {
        Add(u8),
        AddAndCommit(u8),
        Commit(u8),
        Abort(u8),
        Remove(u8),
        SetState(u8),
        Read(u8),
        /// Crash: the process dies, a new one opens the store.
        Reopen,
    }

    #[derive(Debug, Clone, Copy)]
    enum Fault {
        None,
        Keystore(Op, Injected),
        File(fail_point::Step),
    }

    fn action() -> impl Strategy<Value = Action> {
        let n = 0u8..4;
        prop_oneof![
            n.clone().prop_map(Action::Add),
            n.clone().prop_map(Action::AddAndCommit),
            n.clone().prop_map(Action::Commit),
            n.clone().prop_map(Action::Abort),
            n.clone().prop_map(Action::Remove),
            n.clone().prop_map(Action::SetState),
            n.prop_map(Action::Read),
            Just(Action::Reopen),
        ]
    }

    fn fault() -> impl Strategy<Value = Fault> {
        let op = prop_oneof![Just(Op::Put), Just(Op::Get), Just(Op::Delete)];
        let how = prop_oneof![
            Just(Injected::Unavailable),
            Just(Injected::Locked),
            Just(Injected::Failure),
            Just(Injected::FailureAfterEffect),
        ];
        let step = prop_oneof![
            Just(fail_point::Step::WriteTemp),
            Just(fail_point::Step::Rename)
        ];
        prop_oneof![
            3 => Just(Fault::None),
            2 => (op, how).prop_map(|(o, h)| Fault::Keystore(o, h)),
            1 => step.prop_map(Fault::File),
        ]
    }

    /// The durable state (file + keystore) is consistent.
    fn check_durable(dir: &Path, mem: &MemoryKeystore) -> Result<(), TestCaseError> {
        let entries = metadata::read(dir)
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .unwrap_or_default();
        let listed: BTreeSet<String> = entries.iter().map(|e| e.serial().to_string()).collect();
        for user in mem.users(&ns()) {
            prop_assert!(listed.contains(&user), "secret {user} without an entry");
        }
        let keystore = mem.keystore(ns());
        for e in &entries {
            if e.phase() == Phase::Ready {
                prop_assert!(
                    keystore.get(e.serial()).unwrap().is_some(),
                    "ready {} without secret",
                    e.serial()
                );
            }
        }
        Ok(())
    }

    /// After a successful open: no half-done operation is left, secrets
    /// are the right ones, and protected tokens are all there.
    fn check_opened(
        store: &TokenStore,
        mem: &MemoryKeystore,
        protected: &BTreeSet<u8>,
    ) -> Result<(), TestCaseError> {
        let keystore = mem.keystore(ns());
        for e in store.entries() {
            prop_assert_ne!(e.phase(), Phase::Removing);
            let n = (0u8..4).find(|n| &serial(*n) == e.serial()).unwrap();
            prop_assert_eq!(keystore.get(e.serial()).unwrap(), Some(secret(n)));
        }
        for n in protected {
            let entry = store.get(&serial(*n));
            prop_assert!(
                entry.map(|e| e.phase()) == Some(Phase::Ready),
                "committed token {} lost",
                n
            );
        }
        Ok(())
    }

    fn open_clean(dir: &Path, failing: &FailingKeystore) -> Result<TokenStore, TestCaseError> {
        failing.clear_failures();
        fail_point::disarm();
        TokenStore::open(dir, failing.keystore(ns()))
            .map(|(s, _)| s)
            .map_err(|e| TestCaseError::fail(format!("clean open failed: {e}")))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]
        #[test]
        fn journal_keeps_metadata_and_keystore_in_step(
            steps in proptest::collection::vec((action(), fault()), 1..40)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let failing = FailingKeystore::new(MemoryKeystore::new());
            let mem = failing.memory().clone();
            let mut store = open_clean(dir.path(), &failing)?;
            // Tokens whose commit succeeded and that nobody tried to remove.
            let mut protected = BTreeSet::new();
            for (action, fault) in steps {
                failing.clear_failures();
                fail_point::disarm();
                match fault {
                    Fault::None => {}
                    Fault::Keystore(op, how) => failing.fail_next(op, how),
                    Fault::File(step) => fail_point::arm(step, 1),
                }
                match action {
                    Action::Add(n) => {
                        let _ = store.begin_add(meta(n), &secret(n), Some(&finish(n)));
                    }
                    Action::AddAndCommit(n) => {
                        if store.begin_add(meta(n), &secret(n), None).is_ok()
                            && store.commit_add(&serial(n)).is_ok()
                        {
                            protected.insert(n);
                        }
                    }
                    Action::Commit(n) => {
                        if store.commit_add(&serial(n)).is_ok() {
                            protected.insert(n);
                        }
                    }
                    Action::Abort(n) => {
                        protected.remove(&n);
                        let _ = store.abort_add(&serial(n));
                    }
                    Action::Remove(n) => {
                        protected.remove(&n);
                        let _ = store.remove(&serial(n));
                    }
                    Action::SetState(n) => {
                        let _ = store.set_state(&serial(n), TokenState::Active, 7);
                    }
                    Action::Read(n) => {
                        if let Ok(s) = store.secret(&serial(n)) {
                            prop_assert_eq!(s, secret(n));
                        }
                    }
                    Action::Reopen => {
                        drop(store);
                        store = match TokenStore::open(dir.path(), failing.keystore(ns())) {
                            Ok((s, _)) => s,
                            Err(e) => {
                                prop_assert!(e.is_keystore() || e.kind() == ErrorKind::Io, "{}", e);
                                open_clean(dir.path(), &failing)?
                            }
                        };
                        check_opened(&store, &mem, &protected)?;
                    }
                }
                fail_point::disarm();
                check_durable(dir.path(), &mem)?;
                // Ready in memory implies ready on disk with a secret.
                for e in store.entries() {
                    if e.phase() == Phase::Ready {
                        prop_assert!(mem.keystore(ns()).get(e.serial()).unwrap().is_some());
                    }
                }
            }
            drop(store);
            let store = open_clean(dir.path(), &failing)?;
            check_opened(&store, &mem, &protected)?;
            check_durable(dir.path(), &mem)?;
        }
    }
}
