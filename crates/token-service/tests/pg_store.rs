//! The PostgreSQL store against a real server, with two store handles
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! (two pools: two instances) on one database. Needs
//! `SOFTTOKEN_TEST_DATABASE` (libpq URL) and optionally
//! `SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE`; `scripts/test.d/50-postgres.sh`
//! starts a throw-away cluster and runs these with `--include-ignored`.
//! Each test works in its own schema, so they run in parallel.

use std::sync::Arc;
use std::time::Duration;

use rand_core::{OsRng, RngCore};
use softtoken_core::encoding::encode;
use softtoken_core::stk1::messages::{ErrorCode, FinishRequest, Purpose};
use softtoken_core::stk1::server::PendingSession;
use softtoken_core::{Generator, Params, Secret, Serial};
use softtoken_token_service::db::pg::{connection_config, PgConfig, PgError};
use softtoken_token_service::db::Db;
use softtoken_token_service::ops::{
    bind::Bind, change::Change, finish::Finish, init::CreateSession, unlock::Unlock, verify::Verify,
};
use softtoken_token_service::refusal::Refusal;
use softtoken_token_service::seal::Sealer;

const NEEDS: &str = "needs PostgreSQL: SOFTTOKEN_TEST_DATABASE (scripts/test.d/50-postgres.sh)";
const NOW: u64 = 1_700_000_000;

fn base_config() -> tokio_postgres::Config {
    let url = std::env::var("SOFTTOKEN_TEST_DATABASE").expect(NEEDS);
    let pw = std::env::var_os("SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE");
    connection_config(&url, pw.as_deref().map(std::path::Path::new)).expect("connection string")
}

/// A fresh schema; returns a config whose connections use it.
async fn fresh_schema() -> tokio_postgres::Config {
    let cfg = base_config();
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    let name = format!("t_{}", OsRng.next_u64());
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .await
        .expect("create schema");
    let mut cfg = cfg;
    cfg.options(format!("-c search_path={name}"));
    // Connections of this test are told apart by their application name.
    cfg.application_name(&name);
    cfg
}

struct Instances {
    a: Db,
    b: Db,
    kek: [u8; 32],
    cfg: tokio_postgres::Config,
}

async fn two_instances() -> Instances {
    let cfg = fresh_schema().await;
    let mut kek = [0u8; 32];
    OsRng.fill_bytes(&mut kek);
    let open = |cfg: tokio_postgres::Config| async move {
        let mut pc = PgConfig::new(cfg);
        pc.pool_size = 8;
        // New connections are slow in a debug build (SCRAM's PBKDF2
        // unoptimised): room for 16 of them being made at once.
        pc.wait = Duration::from_secs(10);
        Db::open_postgres(
            pc,
            Arc::new(Sealer::new(&kek)),
            &[("kek", b"check-a".to_vec())],
        )
        .await
        .expect("open")
    };
    let a = open(cfg.clone()).await;
    let b = open(cfg.clone()).await;
    Instances { a, b, kek, cfg }
}

/// An issued token with a known secret; returns (serial, generator).
async fn issued(store: &Db) -> (Serial, Generator) {
    let mut key = vec![0u8; 20];
    OsRng.fill_bytes(&mut key);
    let gen = Generator::new(&Secret::from_slice(&key), Params::STK1).unwrap();
    let mut session_id = [0u8; 16];
    OsRng.fill_bytes(&mut session_id);
    let mut confirm = [0u8; 32];
    OsRng.fill_bytes(&mut confirm);
    let serial = Serial::generate(&mut OsRng);
    let pending = PendingSession {
        session_id,
        serial: serial.clone(),
        token_key: Secret::new(key),
        client_confirm: confirm,
    };
    store
        .run(
            CreateSession {
                pending,
                expires_at: NOW + 300,
            },
            NOW,
        )
        .await
        .map_err(Refusal::from)
        .expect("session");
    let req = FinishRequest {
        v: 1,
        session_id: encode(&session_id),
        serial: serial.clone(),
        client_confirm: encode(&confirm),
    };
    let out = store
        .run(Finish { session_id, req }, NOW)
        .await
        .map_err(Refusal::from)
        .expect("finish");
    assert_eq!(out.serial, serial);
    (serial, gen)
}

fn code(gen: &Generator, t: u64) -> String {
    gen.totp(t).unwrap().as_str().to_string()
}

fn wrong(gen: &Generator, t: u64) -> String {
    let right: u32 = code(gen, t).parse().unwrap();
    format!("{:06}", (right + 1) % 1_000_000)
}

/// A token bound to `customer` at NOW (step NOW/30 used up).
async fn bound(store: &Db, customer: &str) -> (Serial, Generator) {
    let (serial, gen) = issued(store).await;
    let out = store
        .run(
            Bind {
                customer_id: customer.into(),
                serial: serial.as_str().into(),
                otp: code(&gen, NOW).into(),
            },
            NOW,
        )
        .await
        .map_err(Refusal::from)
        .expect("bind");
    assert_eq!(out, serial);
    (serial, gen)
}

fn verify(customer: &str, otp: String) -> Verify {
    Verify {
        customer_id: customer.into(),
        otp: otp.into(),
        purpose: Purpose::Login,
    }
}

async fn row(cfg: &tokio_postgres::Config, serial: &Serial) -> (Option<i64>, i32, bool, String) {
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let r = client
        .query_one(
            "SELECT last_step, fail_count, locked, state FROM tokens WHERE serial = $1",
            &[&serial.as_str()],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn one_code_fifty_requests_two_instances_exactly_one_accepted() {
    let i = two_instances().await;
    let (serial, gen) = bound(&i.a, "C-race").await;
    let t = NOW + 60;
    let otp = code(&gen, t);
    let mut tasks = Vec::new();
    for n in 0..50 {
        let store = if n % 2 == 0 { i.a.clone() } else { i.b.clone() };
        let otp = otp.clone();
        tasks.push(tokio::spawn(async move {
            store
                .run(verify("C-race", otp), t)
                .await
                .map_err(Refusal::from)
        }));
    }
    let mut ok = 0;
    let mut replay = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(r) if r.code == ErrorCode::Replay => replay += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, replay), (1, 49));
    let (last, fails, locked, _) = row(&i.cfg, &serial).await;
    assert_eq!((last, fails, locked), (Some((t / 30) as i64), 0, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn one_lockout_counter_across_instances_and_success_resets() {
    let i = two_instances().await;
    let (serial, gen) = bound(&i.a, "C-lock").await;
    let t = NOW + 90;
    // 4 wrong on A, 4 on B, then a success on B resets the count.
    for n in 0..8 {
        let store = if n < 4 { &i.a } else { &i.b };
        let r = store
            .run(verify("C-lock", wrong(&gen, t)), t)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
        assert_eq!(r.code, ErrorCode::InvalidOtp);
        assert_eq!(r.fail_count, Some(n + 1));
    }
    assert_eq!(
        i.b.run(verify("C-lock", code(&gen, t)), t)
            .await
            .map_err(Refusal::from),
        Ok(())
    );
    assert_eq!(row(&i.cfg, &serial).await.1, 0);
    // 5 wrong on each, concurrently: the 10th failure locks.
    let t = t + 30;
    let mut tasks = Vec::new();
    for n in 0..10 {
        let store = if n % 2 == 0 { i.a.clone() } else { i.b.clone() };
        let otp = wrong(&gen, t);
        tasks.push(tokio::spawn(async move {
            store
                .run(verify("C-lock", otp), t)
                .await
                .map_err(Refusal::from)
        }));
    }
    let mut invalid = 0;
    let mut locked = 0;
    for task in tasks {
        match task.await.unwrap() {
            Err(r) if r.code == ErrorCode::InvalidOtp => invalid += 1,
            Err(r) if r.code == ErrorCode::Locked => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((invalid, locked), (9, 1));
    let (_, fails, is_locked, _) = row(&i.cfg, &serial).await;
    assert_eq!((fails, is_locked), (10, true));
    // Locked: the right code is refused on both, and not counted.
    for store in [&i.a, &i.b] {
        let r = store
            .run(verify("C-lock", code(&gen, t)), t)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
        assert_eq!(r.code, ErrorCode::Locked);
    }
    assert_eq!(row(&i.cfg, &serial).await.1, 10);
    assert_eq!(
        i.a.run(
            Unlock {
                serial: serial.as_str().into()
            },
            t
        )
        .await
        .map_err(Refusal::from),
        Ok(())
    );
    assert_eq!(
        i.b.run(verify("C-lock", code(&gen, t)), t)
            .await
            .map_err(Refusal::from),
        Ok(())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn change_on_one_instance_while_the_other_verifies_the_old_code() {
    let i = two_instances().await;
    for round in 0..10u64 {
        let customer = format!("C-chg-{round}");
        let (old, old_gen) = bound(&i.a, &customer).await;
        let (new, new_gen) = issued(&i.a).await;
        let t = NOW + 120 + 30 * round;
        let old_code = code(&old_gen, t);
        let change = {
            let s = i.a.clone();
            let op = Change {
                customer_id: customer.clone(),
                old_otp: old_code.clone().into(),
                new_serial: new.as_str().into(),
                new_otp: code(&new_gen, t).into(),
            };
            tokio::spawn(async move { s.run(op, t).await.map_err(Refusal::from) })
        };
        let ver = {
            let s = i.b.clone();
            let op = verify(&customer, old_code.clone());
            tokio::spawn(async move { s.run(op, t).await.map_err(Refusal::from) })
        };
        let (c, v) = (change.await.unwrap(), ver.await.unwrap());
        let (_, _, _, old_state) = row(&i.cfg, &old).await;
        let (_, _, _, new_state) = row(&i.cfg, &new).await;
        match (&c, &v) {
            // 交換 first: the old token is gone; its code is refused.
            (Ok((p, s)), Err(r)) => {
                assert_eq!((p, s), (&old, &new));
                assert!(
                    matches!(r.code, ErrorCode::InvalidOtp | ErrorCode::Replay),
                    "{r:?}"
                );
                assert_eq!(
                    (old_state.as_str(), new_state.as_str()),
                    ("revoked", "active")
                );
            }
            // Verify first: the code is used up; the 交換 is a replay.
            (Err(r), Ok(())) => {
                assert_eq!(r.code, ErrorCode::Replay, "{r:?}");
                assert_eq!(
                    (old_state.as_str(), new_state.as_str()),
                    ("active", "issued")
                );
            }
            other => panic!("inconsistent outcome {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn one_active_token_per_customer_across_instances() {
    let i = two_instances().await;
    for round in 0..5 {
        let customer = format!("C-two-{round}");
        let (s1, g1) = issued(&i.a).await;
        let (s2, g2) = issued(&i.b).await;
        let bind = |store: Db, s: Serial, g: Generator| {
            let customer = customer.clone();
            tokio::spawn(async move {
                store
                    .run(
                        Bind {
                            customer_id: customer,
                            serial: s.as_str().into(),
                            otp: code(&g, NOW).into(),
                        },
                        NOW,
                    )
                    .await
                    .map_err(Refusal::from)
            })
        };
        let x = bind(i.a.clone(), s1, g1);
        let y = bind(i.b.clone(), s2, g2);
        let (x, y) = (x.await.unwrap(), y.await.unwrap());
        let oks = [&x, &y].iter().filter(|r| r.is_ok()).count();
        assert_eq!(oks, 1, "{x:?} {y:?}");
        for r in [x, y] {
            if let Err(r) = r {
                assert_eq!(r.code, ErrorCode::CustomerHasToken);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn newer_schema_and_other_keys_are_refused() {
    let i = two_instances().await;
    let sealer = Arc::new(Sealer::new(&i.kek));
    let other = Db::open_postgres(
        PgConfig::new(i.cfg.clone()),
        sealer.clone(),
        &[("kek", b"check-b".to_vec())],
    )
    .await
    .unwrap_err();
    assert!(matches!(other, PgError::KeyMismatch { .. }), "{other}");
    let (client, conn) = i.cfg.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .execute("INSERT INTO schema_version(version) VALUES (99)", &[])
        .await
        .unwrap();
    let err = Db::open_postgres(PgConfig::new(i.cfg.clone()), sealer, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, PgError::Schema { found: 99, .. }), "{err}");
    assert!(i.a.ready(Duration::from_secs(2)).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn pool_exhaustion_is_a_bounded_503() {
    let cfg = fresh_schema().await;
    let mut pc = PgConfig::new(cfg.clone());
    pc.pool_size = 1;
    pc.wait = Duration::from_millis(300);
    let kek = [7u8; 32];
    let store = Db::open_postgres(pc, Arc::new(Sealer::new(&kek)), &[])
        .await
        .unwrap();
    let (serial, gen) = bound(&store, "C-pool").await;
    // Another session holds the token row: the first verify waits on it
    // (holding the only connection), the second finds no connection.
    let (mut locker, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let tx = locker.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM tokens WHERE serial = $1 FOR UPDATE",
        &[&serial.as_str()],
    )
    .await
    .unwrap();
    let t = NOW + 30;
    let first = {
        let s = store.clone();
        let otp = code(&gen, t);
        tokio::spawn(async move { s.run(verify("C-pool", otp), t).await.map_err(Refusal::from) })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let second = store
        .run(verify("C-pool", code(&gen, t)), t)
        .await
        .map_err(Refusal::from)
        .unwrap_err();
    assert_eq!(second.code, ErrorCode::Unavailable);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    tx.rollback().await.unwrap();
    assert_eq!(first.await.unwrap(), Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn unreachable_database_is_503_not_a_hang() {
    let i = two_instances().await;
    let (_, _) = bound(&i.a, "C-gone").await;
    // Every connection of this instance is killed by the server side.
    let (client, conn) = i.cfg.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let killed = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&i.cfg.get_application_name().unwrap()],
        )
        .await
        .unwrap()
        .len();
    assert!(killed >= 2, "both instances had connections: {killed}");
    // Each killed connection fails at most one request (503), then the
    // pools replace them: service resumes without a restart.
    let mut unavailable = 0;
    let mut answered = 0;
    for n in 0..6u64 {
        let t = NOW + 30 * (n + 1);
        let store = if n % 2 == 0 { &i.a } else { &i.b };
        match store
            .run(verify("C-gone", "000000".into()), t)
            .await
            .map_err(Refusal::from)
        {
            Err(r) if r.code == ErrorCode::Unavailable => unavailable += 1,
            Err(r) if r.code == ErrorCode::InvalidOtp => answered += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        unavailable <= killed,
        "{unavailable} 503s for {killed} killed connections"
    );
    assert_eq!(answered + unavailable, 6);
    // The last request of each instance is answered.
    let t = NOW + 30 * 20;
    for store in [&i.a, &i.b] {
        let r = store
            .run(verify("C-gone", "000000".into()), t)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
        assert_eq!(r.code, ErrorCode::InvalidOtp);
    }
}

/// The operations read (`ops::inspect`) of `serial` on `store` at `t`.
async fn inspect(
    store: &Db,
    serial: &Serial,
    t: u64,
) -> Result<softtoken_token_service::ops::inspect::TokenInfo, Refusal> {
    use softtoken_token_service::ops::inspect::Inspect;
    use softtoken_token_service::scope::{Scope, Scoped};
    store
        .run(
            Scoped::new(
                Scope::Operations,
                Inspect {
                    serial: serial.clone(),
                },
            ),
            t,
        )
        .await
        .map_err(Refusal::from)
}

async fn events(cfg: &tokio_postgres::Config, serial: &Serial) -> Vec<(String, Option<String>)> {
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .query(
            "SELECT kind, scope FROM events WHERE serial = $1 ORDER BY id",
            &[&serial.as_str()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn the_operations_read_sees_the_other_instances_lock_and_unlock() {
    let i = two_instances().await;
    let (serial, gen) = bound(&i.a, "C-read").await;
    let info = inspect(&i.b, &serial, NOW + 1).await.unwrap();
    assert_eq!(
        (info.fail_count, info.locked, info.drift_steps),
        (0, false, 0)
    );
    assert_eq!(info.last_accepted_step_at, Some(NOW / 30 * 30));
    assert_eq!((info.issued_at, info.bound_at), (NOW, Some(NOW)));
    assert_eq!(info.lockout_limit, 10);
    let t = NOW + 90;
    for _ in 0..10 {
        i.a.run(verify("C-read", wrong(&gen, t)), t)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
    }
    let before = events(&i.cfg, &serial).await;
    let info = inspect(&i.b, &serial, t).await.unwrap();
    assert_eq!((info.fail_count, info.locked), (10, true));
    assert_eq!(row(&i.cfg, &serial).await.1, 10, "the row says the same");
    assert_eq!(
        events(&i.cfg, &serial).await,
        before,
        "a read writes no event"
    );
    i.b.run(
        Unlock {
            serial: serial.as_str().into(),
        },
        t,
    )
    .await
    .map_err(Refusal::from)
    .unwrap();
    let info = inspect(&i.a, &serial, t).await.unwrap();
    assert_eq!((info.fail_count, info.locked), (0, false));
    // Unknown serial: not_found.
    let other = Serial::generate(&mut OsRng);
    assert_eq!(
        inspect(&i.a, &other, t).await.unwrap_err().code,
        ErrorCode::NotFound
    );
    // An issued token read past its deadline is expired by the read, and
    // that event carries the operations scope.
    let (late, _) = issued(&i.a).await;
    let bind_by = inspect(&i.b, &late, NOW).await.unwrap().bind_by;
    let info = inspect(&i.b, &late, bind_by + 1).await.unwrap();
    assert_eq!(
        info.state,
        softtoken_core::stk1::messages::TokenState::Expired
    );
    let kinds = events(&i.cfg, &late).await;
    assert!(
        kinds.contains(&("expired".to_string(), Some("operations".to_string()))),
        "{kinds:?}"
    );
}
