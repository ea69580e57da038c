//! Metadata writes interrupted (kill, disk error) at each step.

use super::*;

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
