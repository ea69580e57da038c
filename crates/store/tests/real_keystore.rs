//! Tests against the real platform keystore (on Linux: gnome-keyring's
//! Secret Service in a private D-Bus session). They are `#[ignore]`d in a
//! plain `cargo test`; `scripts/test.d/10-keystore.sh` starts the keyring
//! and runs them with `--ignored`, and fails if the keystore is unreachable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use softtoken_core::stk1::messages::TokenState;
use softtoken_core::{Params, Secret, Serial};
use softtoken_store::{BankRef, ErrorKind, Keystore, Namespace, Phase, TokenMeta, TokenStore};
use std::time::{SystemTime, UNIX_EPOCH};

const WHY: &str = "needs a real Secret Service: run scripts/test.d/10-keystore.sh";

/// A namespace no other run uses.
fn unique(tag: &str) -> Namespace {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Namespace::profile(&format!("it-{tag}-{}-{nanos}", std::process::id())).unwrap()
}

fn platform(ns: Namespace) -> Keystore {
    match Keystore::platform(ns) {
        Ok(k) => k,
        Err(e) => panic!("the real keystore must be reachable here: {e}"),
    }
}

fn random_serial() -> Serial {
    Serial::generate(&mut rand_core::OsRng)
}

fn random_secret() -> Secret {
    let mut bytes = vec![0u8; 20];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    Secret::new(bytes)
}

fn meta(serial: &Serial) -> TokenMeta {
    let bank = BankRef {
        id: "demo".into(),
        name: "Demo Shinkin".into(),
        url: "http://127.0.0.1:8080".into(),
    };
    TokenMeta::new(serial.clone(), bank, Params::STK1, 1_700_000_000)
}

#[test]
#[ignore = "needs a real Secret Service: run scripts/test.d/10-keystore.sh"]
fn keystore_round_trip_and_idempotent_delete() {
    let keystore = platform(unique("rt"));
    let serial = random_serial();
    let secret = random_secret();
    assert_eq!(keystore.get(&serial).unwrap(), None, "{WHY}");
    keystore.put(&serial, &secret).unwrap();
    assert_eq!(keystore.get(&serial).unwrap(), Some(secret.clone()));
    // Replace in place.
    let other = random_secret();
    keystore.put(&serial, &other).unwrap();
    assert_eq!(keystore.get(&serial).unwrap(), Some(other));
    assert!(keystore.delete(&serial).unwrap());
    assert!(
        !keystore.delete(&serial).unwrap(),
        "second delete finds nothing"
    );
    assert_eq!(keystore.get(&serial).unwrap(), None);
}

#[test]
#[ignore = "needs a real Secret Service: run scripts/test.d/10-keystore.sh"]
fn profiles_never_see_each_other() {
    let old_phone = platform(unique("old"));
    let new_phone = platform(unique("new"));
    let serial = random_serial();
    let (a, b) = (random_secret(), random_secret());
    old_phone.put(&serial, &a).unwrap();
    assert_eq!(new_phone.get(&serial).unwrap(), None);
    new_phone.put(&serial, &b).unwrap();
    assert_eq!(old_phone.get(&serial).unwrap(), Some(a));
    assert_eq!(new_phone.get(&serial).unwrap(), Some(b.clone()));
    assert!(old_phone.delete(&serial).unwrap());
    assert_eq!(
        new_phone.get(&serial).unwrap(),
        Some(b),
        "delete stays in its namespace"
    );
    assert!(new_phone.delete(&serial).unwrap());
}

#[test]
#[ignore = "needs a real Secret Service: run scripts/test.d/10-keystore.sh"]
fn token_store_persists_across_reopen_and_removes_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let ns = Namespace::for_profile_dir(dir.path()).unwrap();
    let serial = random_serial();
    let secret = random_secret();
    {
        let (mut store, recovered) = TokenStore::open(dir.path(), platform(ns.clone())).unwrap();
        assert!(recovered.is_empty());
        store.begin_add(meta(&serial), &secret, None).unwrap();
        store.commit_add(&serial).unwrap();
        store
            .set_state(&serial, TokenState::Issued, 1_700_000_001)
            .unwrap();
    }
    // A new process: new connection, same directory and namespace.
    let (mut store, recovered) = TokenStore::open(dir.path(), platform(ns.clone())).unwrap();
    assert!(recovered.is_empty(), "{recovered:?}");
    let listed: Vec<_> = store.tokens().map(|m| m.serial.clone()).collect();
    assert_eq!(listed, vec![serial.clone()]);
    assert_eq!(store.secret(&serial).unwrap(), secret);
    let text = std::fs::read_to_string(dir.path().join("tokens.json")).unwrap();
    assert!(!text.contains(secret.to_base32().as_str()));

    // Another profile directory does not see the token's secret.
    let other = tempfile::tempdir().unwrap();
    let other_ns = Namespace::for_profile_dir(other.path()).unwrap();
    assert_ne!(other_ns, ns);
    assert_eq!(platform(other_ns).get(&serial).unwrap(), None);

    store.remove(&serial).unwrap();
    assert_eq!(platform(ns.clone()).get(&serial).unwrap(), None);
    let (store, _) = TokenStore::open(dir.path(), platform(ns)).unwrap();
    assert!(store.entries().is_empty());
}

#[test]
#[ignore = "needs a real Secret Service: run scripts/test.d/10-keystore.sh"]
fn pending_add_survives_a_crash_with_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let ns = unique("crash");
    let serial = random_serial();
    let secret = random_secret();
    {
        let (mut store, _) = TokenStore::open(dir.path(), platform(ns.clone())).unwrap();
        store.begin_add(meta(&serial), &secret, None).unwrap();
        // "crash": no commit_add
    }
    let (mut store, recovered) = TokenStore::open(dir.path(), platform(ns.clone())).unwrap();
    assert_eq!(
        recovered,
        vec![softtoken_store::Recovered::PendingAdd {
            serial: serial.clone(),
            finish: None
        }]
    );
    assert_eq!(store.get(&serial).unwrap().phase(), Phase::Pending);
    store.abort_add(&serial).unwrap();
    assert_eq!(platform(ns).get(&serial).unwrap(), None);
}

/// Run by the script without any D-Bus session, and again on a bare session
/// bus where no Secret Service exists: a clear typed error, and the metadata
/// file is left exactly as it was.
#[test]
#[ignore = "run by scripts/test.d/10-keystore.sh without a D-Bus session"]
fn no_secret_service_is_a_clear_error_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let serial = random_serial();
    let list = format!(
        "{{\"version\":1,\"tokens\":[{{\"phase\":\"ready\",\"meta\":{{\"serial\":\"{serial}\",\
         \"bank\":{{\"id\":\"demo\",\"name\":\"Demo\",\"url\":\"http://127.0.0.1:1\"}},\
         \"params\":{{\"alg\":\"SHA1\",\"digits\":6,\"period\":30,\"t0\":0}},\"paired_at\":1}}}}]}}"
    );
    let path = dir.path().join("tokens.json");
    std::fs::write(&path, &list).unwrap();
    let ns = Namespace::for_profile_dir(dir.path()).unwrap();
    let err = Keystore::platform(ns).expect_err("no Secret Service must be an error");
    assert_eq!(err.kind(), ErrorKind::KeystoreUnavailable, "{err}");
    let text = err.to_string();
    assert!(text.contains("keystore is not available"), "{text}");
    assert!(text.contains("Secret Service"), "{text}");
    eprintln!("message shown to the person: {text}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), list);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Run by the script in a D-Bus session where gnome-keyring is activated
/// but never unlocked and no prompt can be shown: adding a token fails with
/// a keystore error, and neither metadata nor a secret is left behind.
#[test]
#[ignore = "run by scripts/test.d/10-keystore.sh with a locked keyring"]
fn locked_keyring_refuses_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ns = unique("locked");
    let (mut store, _) = TokenStore::open(dir.path(), platform(ns)).unwrap();
    let serial = random_serial();
    let err = store
        .begin_add(meta(&serial), &random_secret(), None)
        .expect_err("a locked keyring cannot store a secret");
    assert!(err.is_keystore(), "{err}");
    eprintln!("message shown to the person: {err}");
    assert!(store.entries().is_empty(), "{:?}", store.entries());
    let (again, recovered) = TokenStore::open(dir.path(), store.keystore().clone()).unwrap();
    assert!(again.entries().is_empty());
    assert!(recovered.is_empty(), "{recovered:?}");
}

/// The app (Dioxus desktop) runs tokio. The Secret Service store must work
/// when called from a blocking thread of a tokio runtime (the app's
/// pattern), from a current-thread runtime, and even directly inside an
/// async task (blocking it, but never panicking with "cannot start a
/// runtime from within a runtime").
#[test]
#[ignore = "needs a real Secret Service: run scripts/test.d/10-keystore.sh"]
fn works_inside_the_apps_tokio_runtime() {
    let ns = unique("tokio");
    let serial = random_serial();
    let secret = random_secret();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (ns2, serial2, secret2) = (ns.clone(), serial.clone(), secret.clone());
    rt.block_on(async move {
        tokio::task::spawn_blocking(move || {
            let keystore = platform(ns2);
            keystore.put(&serial2, &secret2).unwrap();
            assert_eq!(keystore.get(&serial2).unwrap(), Some(secret2));
        })
        .await
        .unwrap();
    });
    let (ns3, serial3, secret3) = (ns.clone(), serial.clone(), secret.clone());
    rt.block_on(async move {
        tokio::spawn(async move {
            let keystore = platform(ns3);
            assert_eq!(keystore.get(&serial3).unwrap(), Some(secret3));
        })
        .await
        .unwrap();
    });
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    current.block_on(async {
        let keystore = platform(ns.clone());
        assert!(keystore.delete(&serial).unwrap());
        assert_eq!(keystore.get(&serial).unwrap(), None);
    });
}
