//! Property: any sequence of operations with random injected failures and
//! crashes keeps "every ready entry has its secret, no secret without an
//! entry", and loses no committed token that was not being removed.

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
