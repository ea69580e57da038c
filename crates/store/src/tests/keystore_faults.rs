//! Failure injection at each keystore call of add and remove.

use super::*;

const KEYSTORE_FAULTS: [(Injected, ErrorKind); 3] = [
    (Injected::Unavailable, ErrorKind::KeystoreUnavailable),
    (Injected::Locked, ErrorKind::KeystoreLocked),
    (Injected::Failure, ErrorKind::KeystoreFailure),
];

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
