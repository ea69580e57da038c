//! Namespaces, phases, errors, redaction.

use super::*;

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
