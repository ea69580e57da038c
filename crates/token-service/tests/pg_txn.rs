//! STK1-TXN, garbage collection, audit scopes, the unbound-token cap,
//! migrations and re-keying on a real PostgreSQL, with two store handles
//! (two pools: two instances) on one database. Needs
//! `SOFTTOKEN_TEST_DATABASE` (libpq URL) and optionally
//! `SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE`; `scripts/test.d/50-postgres.sh`
//! runs these with `--include-ignored`. Each test works in its own schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use rand_core::{OsRng, RngCore};
use softtoken_core::encoding::encode;
use softtoken_core::stk1::messages::{ErrorCode, FinishRequest};
use softtoken_core::stk1::server::PendingSession;
use softtoken_core::txn::wire::{DecisionRequest, PollRequest, TxnState};
use softtoken_core::txn::{
    derive_txn_keys, offline_step, Decision, Kind, OcraKey, Transaction, TxnId, TxnKey,
};
use softtoken_core::{Generator, Params, Secret, Serial};
use softtoken_token_service::db::pg::{
    connection_config, kek_check, PgConfig, PgError, PG_SCHEMA_VERSION,
};
use softtoken_token_service::db::Db;
use softtoken_token_service::gc::{Collect, Collected};
use softtoken_token_service::ops::txn::consume::Consume;
use softtoken_token_service::ops::txn::create::CreateTxn;
use softtoken_token_service::ops::txn::decision::Decide;
use softtoken_token_service::ops::txn::poll::Poll;
use softtoken_token_service::ops::txn::status::TxnStatus;
use softtoken_token_service::ops::txn::verify_code::VerifyCode;
use softtoken_token_service::ops::{
    bind::Bind, finish::Finish, init::CreateSession, verify::Verify,
};
use softtoken_token_service::refusal::Refusal;
use softtoken_token_service::rekey;
use softtoken_token_service::scope::{Scope, Scoped};
use softtoken_token_service::seal::Sealer;

const NEEDS: &str = "needs PostgreSQL: SOFTTOKEN_TEST_DATABASE (scripts/test.d/50-postgres.sh)";
const NOW: u64 = 1_700_000_010;

fn base_config() -> tokio_postgres::Config {
    let url = std::env::var("SOFTTOKEN_TEST_DATABASE").expect(NEEDS);
    let pw = std::env::var_os("SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE");
    connection_config(&url, pw.as_deref().map(std::path::Path::new)).expect("connection string")
}

async fn connect(cfg: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

/// A fresh schema; returns a config whose connections use it.
async fn fresh_schema() -> tokio_postgres::Config {
    let cfg = base_config();
    let client = connect(&cfg).await;
    let name = format!("t_{}", OsRng.next_u64());
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .await
        .expect("create schema");
    let mut cfg = cfg;
    cfg.options(format!("-c search_path={name}"));
    cfg.application_name(&name);
    cfg
}

fn pg_config(cfg: &tokio_postgres::Config) -> PgConfig {
    let mut pc = PgConfig::new(cfg.clone());
    pc.pool_size = 8;
    // New connections are slow in a debug build (SCRAM unoptimised).
    pc.wait = Duration::from_secs(10);
    pc
}

async fn open(pc: PgConfig, kek: &[u8; 32]) -> Db {
    Db::open_postgres(
        pc,
        Arc::new(Sealer::new(kek)),
        &[("kek", b"check".to_vec())],
    )
    .await
    .expect("open")
}

struct Instances {
    a: Db,
    b: Db,
    cfg: tokio_postgres::Config,
}

async fn two_instances() -> Instances {
    let cfg = fresh_schema().await;
    let kek = [5u8; 32];
    let a = open(pg_config(&cfg), &kek).await;
    let b = open(pg_config(&cfg), &kek).await;
    Instances { a, b, cfg }
}

/// A token of `customer` bound at NOW: serial, its code generator and
/// its STK1-TXN keys.
struct Token {
    serial: Serial,
    gen: Generator,
    k_txn: TxnKey,
    k_ocra: OcraKey,
}

async fn issue(store: &Db, now: u64) -> (Serial, Secret) {
    let mut key = vec![0u8; 20];
    OsRng.fill_bytes(&mut key);
    let mut session_id = [0u8; 16];
    OsRng.fill_bytes(&mut session_id);
    let mut confirm = [0u8; 32];
    OsRng.fill_bytes(&mut confirm);
    let serial = Serial::generate(&mut OsRng);
    let pending = PendingSession {
        session_id,
        serial: serial.clone(),
        token_key: Secret::new(key.clone()),
        client_confirm: confirm,
    };
    store
        .run(
            CreateSession {
                pending,
                expires_at: now + 300,
            },
            now,
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
    store
        .run(Finish { session_id, req }, now)
        .await
        .map_err(Refusal::from)
        .expect("finish");
    (serial, Secret::new(key))
}

async fn bound(store: &Db, customer: &str) -> Token {
    let (serial, secret) = issue(store, NOW).await;
    let gen = Generator::new(&secret, Params::STK1).unwrap();
    store
        .run(
            Bind {
                customer_id: customer.into(),
                serial: serial.as_str().into(),
                otp: gen.totp(NOW).unwrap().as_str().to_string().into(),
            },
            NOW,
        )
        .await
        .map_err(Refusal::from)
        .expect("bind");
    let (k_txn, k_ocra) = derive_txn_keys(&secret, &serial);
    Token {
        serial,
        gen,
        k_txn,
        k_ocra,
    }
}

fn fields() -> Vec<(String, String)> {
    vec![
        ("payee_bank".into(), "かけしん信用金庫".into()),
        ("payee_branch".into(), "本店営業部".into()),
        ("account_type".into(), "普通".into()),
        ("account_number".into(), "7654321".into()),
        ("payee_name".into(), "ヤマダ タロウ".into()),
        ("amount".into(), "98765".into()),
    ]
}

/// A pending transfer of `customer` created at `now`, as the app sees it.
async fn create(store: &Db, customer: &str, tok: &Token, now: u64) -> Transaction {
    let out = store
        .run(
            Scoped::new(
                Scope::Backend,
                CreateTxn {
                    customer_id: customer.into(),
                    kind: Kind::Transfer,
                    fields: fields(),
                },
            ),
            now,
        )
        .await
        .map_err(Refusal::from)
        .expect("create");
    assert_eq!(out.serial, tok.serial);
    Transaction::new(
        out.txn_id,
        tok.serial.clone(),
        Kind::Transfer,
        out.created_at,
        out.expires_at,
        fields(),
    )
    .unwrap()
}

fn decide(tok: &Token, tx: &Transaction, d: Decision) -> Decide {
    Decide {
        serial: tok.serial.clone(),
        txn_id: *tx.txn_id(),
        req: DecisionRequest::new(&tok.k_txn, tx, d),
    }
}

fn consume(customer: &str, id: TxnId) -> Consume {
    Consume {
        customer_id: customer.into(),
        txn_id: id,
    }
}

async fn count(cfg: &tokio_postgres::Config, sql: &str) -> i64 {
    connect(cfg)
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get::<_, i64>(0)
}

async fn events_of(cfg: &tokio_postgres::Config, kind: &str, id: &TxnId) -> i64 {
    connect(cfg)
        .await
        .query_one(
            "SELECT count(*) FROM events WHERE kind = $1 AND detail = $2",
            &[&kind, &id.to_base32()],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn fifty_racing_consumes_on_two_instances_exactly_one_ok() {
    let i = two_instances().await;
    let tok = bound(&i.a, "T-consume").await;
    let tx = create(&i.a, "T-consume", &tok, NOW + 5).await;
    // Not approved yet: refused with the state, nothing consumed.
    let r =
        i.b.run(consume("T-consume", *tx.txn_id()), NOW + 6)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
    assert_eq!(r.code, ErrorCode::TxnNotApproved);
    assert_eq!(
        i.b.run(decide(&tok, &tx, Decision::Approve), NOW + 7)
            .await
            .map_err(Refusal::from),
        Ok(TxnState::Approved)
    );
    let mut tasks = Vec::new();
    for n in 0..50 {
        let store = if n % 2 == 0 { i.a.clone() } else { i.b.clone() };
        let op = consume("T-consume", *tx.txn_id());
        tasks.push(tokio::spawn(async move {
            store.run(op, NOW + 8).await.map_err(Refusal::from)
        }));
    }
    let (mut ok, mut consumed) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(r) if r.code == ErrorCode::TxnConsumed => consumed += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, consumed), (1, 49));
    assert_eq!(events_of(&i.cfg, "txn_consumed", tx.txn_id()).await, 1);
    // Another customer cannot see it.
    let r =
        i.a.run(consume("T-other", *tx.txn_id()), NOW + 9)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
    assert_eq!(r.code, ErrorCode::UnknownTxn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn fifty_racing_decisions_leave_one_state() {
    let i = two_instances().await;
    let tok = bound(&i.a, "T-decide").await;
    let tx = create(&i.b, "T-decide", &tok, NOW + 5).await;
    let mut tasks = Vec::new();
    for n in 0..50 {
        let store = if n % 2 == 0 { i.a.clone() } else { i.b.clone() };
        let d = if n % 4 < 2 {
            Decision::Approve
        } else {
            Decision::Reject
        };
        let op = decide(&tok, &tx, d);
        tasks.push(tokio::spawn(async move {
            (d, store.run(op, NOW + 6).await.map_err(Refusal::from))
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let state =
        i.a.run(
            TxnStatus {
                customer_id: "T-decide".into(),
                txn_id: *tx.txn_id(),
            },
            NOW + 7,
        )
        .await
        .map_err(Refusal::from)
        .unwrap();
    assert!(matches!(state, TxnState::Approved | TxnState::Rejected));
    for (d, r) in &answers {
        match r {
            // Every success names the one stored state …
            Ok(s) => assert_eq!((*s, TxnState::after(*d)), (state, state)),
            // … and every refusal is the other decision.
            Err(r) => {
                assert_eq!(r.code, ErrorCode::TxnDecided, "{r:?}");
                assert_ne!(TxnState::after(*d), state);
            }
        }
    }
    let approved = events_of(&i.cfg, "txn_approved", tx.txn_id()).await;
    let rejected = events_of(&i.cfg, "txn_rejected", tx.txn_id()).await;
    assert_eq!(approved + rejected, 1);
    // A bad MAC is confirm_failed and counted; eleven more in the window
    // make every decision rate_limited.
    let mut bad = decide(&tok, &tx, Decision::Approve);
    bad.req.mac = DecisionRequest::new(
        &derive_txn_keys(&Secret::new(vec![1; 20]), &tok.serial).0,
        &tx,
        Decision::Approve,
    )
    .mac;
    for n in 0..11 {
        let store = if n % 2 == 0 { &i.a } else { &i.b };
        let op = Decide {
            serial: tok.serial.clone(),
            txn_id: *tx.txn_id(),
            req: bad.req.clone(),
        };
        let r = store
            .run(op, NOW + 10)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
        assert_eq!(r.code, ErrorCode::ConfirmFailed, "bad MAC {n}");
    }
    let r =
        i.b.run(decide(&tok, &tx, Decision::Approve), NOW + 11)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
    assert_eq!(r.code, ErrorCode::RateLimited);
    // The window ends: decisions are looked at again (the stored one
    // stands). Bad MACs never touched the code lockout.
    match i
        .a
        .run(decide(&tok, &tx, Decision::Approve), NOW + 11 + 600)
        .await
        .map_err(Refusal::from)
    {
        Ok(s) => assert_eq!(s, state),
        Err(r) => assert_eq!((r.code, state), (ErrorCode::TxnDecided, TxnState::Rejected)),
    }
    let fails = count(
        &i.cfg,
        &format!(
            "SELECT fail_count::bigint FROM tokens WHERE serial = '{}'",
            tok.serial.as_str()
        ),
    )
    .await;
    assert_eq!(fails, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn a_poll_nonce_is_accepted_once_across_instances_and_expiry_is_the_servers() {
    let i = two_instances().await;
    let tok = bound(&i.a, "T-poll").await;
    let tx = create(&i.a, "T-poll", &tok, NOW + 5).await;
    let mut nonce = [0u8; 16];
    OsRng.fill_bytes(&mut nonce);
    let req = PollRequest::new(&tok.k_txn, &tok.serial, NOW + 10, nonce);
    let poll = |req: PollRequest| Poll {
        serial: tok.serial.clone(),
        req,
    };
    let out =
        i.a.run(poll(req.clone()), NOW + 10)
            .await
            .map_err(Refusal::from)
            .unwrap();
    assert_eq!(out.transactions.len(), 1);
    assert_eq!(out.transactions[0].txn_id, *tx.txn_id());
    // The same request again, on either instance: refused.
    for store in [&i.b, &i.a] {
        let r = store
            .run(poll(req.clone()), NOW + 20)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
        assert_eq!(r.code, ErrorCode::Unauthorized);
    }
    // 50 racing polls with one fresh nonce: exactly one answered.
    OsRng.fill_bytes(&mut nonce);
    let req = PollRequest::new(&tok.k_txn, &tok.serial, NOW + 30, nonce);
    let mut tasks = Vec::new();
    for n in 0..50 {
        let store = if n % 2 == 0 { i.a.clone() } else { i.b.clone() };
        let op = poll(req.clone());
        tasks.push(tokio::spawn(async move {
            store.run(op, NOW + 30).await.map_err(Refusal::from)
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(r) => assert_eq!(r.code, ErrorCode::Unauthorized),
        }
    }
    assert_eq!(ok, 1);
    // A MAC under another key is refused and not remembered.
    OsRng.fill_bytes(&mut nonce);
    let other = derive_txn_keys(&Secret::new(vec![1; 20]), &tok.serial).0;
    let forged = PollRequest::new(&other, &tok.serial, NOW + 40, nonce);
    assert!(i.a.run(poll(forged), NOW + 40).await.is_err());
    let real = PollRequest::new(&tok.k_txn, &tok.serial, NOW + 40, nonce);
    assert!(i.b.run(poll(real), NOW + 40).await.is_ok());
    // Past the server's expiry the transaction is expired, once.
    let late = tx.expires_at();
    OsRng.fill_bytes(&mut nonce);
    let req = PollRequest::new(&tok.k_txn, &tok.serial, late, nonce);
    let out =
        i.a.run(poll(req), late)
            .await
            .map_err(Refusal::from)
            .unwrap();
    assert!(out.transactions.is_empty());
    let r =
        i.b.run(decide(&tok, &tx, Decision::Approve), late)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
    assert_eq!(r.code, ErrorCode::TxnExpired);
    assert_eq!(events_of(&i.cfg, "txn_expired", tx.txn_id()).await, 1);
    // A remembered nonce is forgotten after 300 s.
    let again = PollRequest::new(&tok.k_txn, &tok.serial, late + 300, nonce);
    assert!(i.b.run(poll(again), late + 300).await.is_ok());
}

fn offline_code(tok: &Token, tx: &Transaction, now: u64) -> String {
    tok.k_ocra
        .offline_code_at_step(tx.offline_question(), offline_step(now))
        .unwrap()
        .as_str()
        .to_string()
}

fn verify_code(customer: &str, tx: &Transaction, code: String) -> VerifyCode {
    VerifyCode {
        customer_id: customer.into(),
        txn_id: *tx.txn_id(),
        code: code.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn offline_codes_once_per_step_and_in_the_shared_lockout() {
    let i = two_instances().await;
    let c = "T-offline";
    let tok = bound(&i.a, c).await;
    let t = NOW + 60;
    let tx1 = create(&i.a, c, &tok, t).await;
    let tx2 = create(&i.a, c, &tok, t).await;
    let code = offline_code(&tok, &tx1, t);
    // 20 racing submissions of the right code over both instances: one
    // consumes the transaction.
    let mut tasks = Vec::new();
    for n in 0..20 {
        let store = if n % 2 == 0 { i.a.clone() } else { i.b.clone() };
        let op = verify_code(c, &tx1, code.clone());
        tasks.push(tokio::spawn(async move {
            store.run(op, t).await.map_err(Refusal::from)
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(r) => assert_eq!(r.code, ErrorCode::TxnDecided, "{r:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(events_of(&i.cfg, "txn_offline_ok", tx1.txn_id()).await, 1);
    // The same step cannot confirm another transaction (replay, not a
    // failure) — even with the code that is right for tx2.
    let r =
        i.b.run(verify_code(c, &tx2, offline_code(&tok, &tx2, t)), t)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
    assert_eq!(r.code, ErrorCode::Replay);
    // Wrong offline codes count in the token's one counter: 5 wrong codes
    // here and 4 on login make 9; the 10th (offline) locks.
    for n in 0..5u32 {
        let store = if n % 2 == 0 { &i.a } else { &i.b };
        let r = store
            .run(verify_code(c, &tx2, "000000".into()), t + 30)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
        // (000000 could be right by chance: one in a million per step.)
        assert_eq!((r.code, r.fail_count), (ErrorCode::InvalidOtp, Some(n + 1)));
    }
    for n in 0..4u32 {
        let wrong = {
            let right: u32 = tok.gen.totp(t + 30).unwrap().as_str().parse().unwrap();
            format!("{:06}", (right + 1) % 1_000_000)
        };
        let r =
            i.b.run(
                Verify {
                    customer_id: c.into(),
                    otp: wrong.into(),
                    purpose: softtoken_core::stk1::messages::Purpose::Login,
                },
                t + 30,
            )
            .await
            .map_err(Refusal::from)
            .unwrap_err();
        assert_eq!(r.fail_count, Some(6 + n));
    }
    let r =
        i.a.run(verify_code(c, &tx2, "000000".into()), t + 30)
            .await
            .map_err(Refusal::from)
            .unwrap_err();
    assert_eq!(r.code, ErrorCode::Locked);
    // Locked: the right code is refused before it is looked at.
    let r =
        i.b.run(
            verify_code(c, &tx2, offline_code(&tok, &tx2, t + 60)),
            t + 60,
        )
        .await
        .map_err(Refusal::from)
        .unwrap_err();
    assert_eq!(r.code, ErrorCode::Locked);
    assert_eq!(
        events_of(&i.cfg, "txn_offline_failed", tx2.txn_id()).await,
        6
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn events_carry_the_callers_scope() {
    let i = two_instances().await;
    let tok = bound(&i.a, "T-scope").await;
    let _tx = create(&i.a, "T-scope", &tok, NOW + 5).await;
    let otp = tok.gen.totp(NOW + 30).unwrap().as_str().to_string();
    i.b.run(
        Scoped::new(
            Scope::Backend,
            Verify {
                customer_id: "T-scope".into(),
                otp: otp.into(),
                purpose: softtoken_core::stk1::messages::Purpose::Login,
            },
        ),
        NOW + 30,
    )
    .await
    .map_err(Refusal::from)
    .unwrap();
    i.a.run(
        Scoped::new(
            Scope::Operations,
            softtoken_token_service::ops::unlock::Unlock {
                serial: tok.serial.as_str().into(),
            },
        ),
        NOW + 31,
    )
    .await
    .map_err(Refusal::from)
    .unwrap();
    let client = connect(&i.cfg).await;
    let rows = client
        .query("SELECT kind, scope FROM events ORDER BY id", &[])
        .await
        .unwrap();
    let got: Vec<(String, Option<String>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let scope_of = |kind: &str| {
        got.iter()
            .find(|(k, _)| k == kind)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("no {kind} event in {got:?}"))
    };
    assert_eq!(scope_of("issued"), None);
    assert_eq!(scope_of("bound"), None); // bound without Scoped here
    assert_eq!(scope_of("txn_created").as_deref(), Some("backend"));
    assert_eq!(scope_of("verified").as_deref(), Some("backend"));
    assert_eq!(scope_of("unlocked").as_deref(), Some("operations"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn gc_deletes_expired_sessions_and_unbound_tokens_and_the_cap_holds() {
    let cfg = fresh_schema().await;
    let kek = [6u8; 32];
    let mut pc = pg_config(&cfg);
    pc.max_unbound_tokens = 3;
    pc.bind_ttl = 1000;
    let a = open(pc.clone(), &kek).await;
    let b = open(pc, &kek).await;
    let kept = bound(&a, "T-gc").await;
    for n in 0..3 {
        issue(if n % 2 == 0 { &a } else { &b }, NOW).await;
    }
    // Three unbound tokens: the cap refuses the next pairing on either
    // instance …
    let mut sid = [0u8; 16];
    OsRng.fill_bytes(&mut sid);
    let pending = |sid: [u8; 16]| PendingSession {
        session_id: sid,
        serial: Serial::generate(&mut OsRng),
        token_key: Secret::new(vec![3; 20]),
        client_confirm: [4; 32],
    };
    let r = b
        .run(
            CreateSession {
                pending: pending(sid),
                expires_at: NOW + 300,
            },
            NOW,
        )
        .await
        .map_err(Refusal::from)
        .unwrap_err();
    assert_eq!(r.code, ErrorCode::RateLimited);
    // … until they are past bind_by. An open session stays open.
    let later = NOW + 1001;
    a.run(
        CreateSession {
            pending: pending(sid),
            expires_at: later + 300,
        },
        later,
    )
    .await
    .map_err(Refusal::from)
    .unwrap();
    let client = connect(&cfg).await;
    client
        .execute(
            "INSERT INTO sessions(session_id, serial, sealed_confirm, expires_at) VALUES ($1, 'S-old', '\\x00', $2)",
            &[&vec![9u8; 16], &((NOW - 10) as i64)],
        )
        .await
        .unwrap();
    let op = Collect {
        event_retention: 10 * 86_400,
        batch: 2,
    };
    let mut total = Collected::default();
    for n in 0..10 {
        let d = (if n % 2 == 0 { &a } else { &b })
            .run(op, later)
            .await
            .map_err(Refusal::from)
            .unwrap();
        assert!(d.sessions <= 2 && d.tokens <= 2 && d.events <= 2, "{d:?}");
        if d == Collected::default() {
            break;
        }
        total.sessions += d.sessions;
        total.tokens += d.tokens;
        total.events += d.events;
    }
    // The old session, and the 3 unbound tokens (their sessions were
    // finished: kept a day past expiry, so not yet collected).
    assert_eq!((total.sessions, total.tokens), (1, 3));
    assert_eq!(count(&cfg, "SELECT count(*) FROM tokens").await, 1);
    assert_eq!(
        count(
            &cfg,
            "SELECT count(*) FROM sessions WHERE finished_at IS NULL"
        )
        .await,
        1
    );
    let s: String = client
        .query_one("SELECT serial FROM tokens", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(s, kept.serial.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn a_version_1_database_is_migrated_to_the_current_schema() {
    let cfg = fresh_schema().await;
    let client = connect(&cfg).await;
    client
        .batch_execute(include_str!("../migrations/postgres/0001_init.sql"))
        .await
        .unwrap();
    client
        .execute("INSERT INTO schema_version(version) VALUES (1)", &[])
        .await
        .unwrap();
    client
        .execute("INSERT INTO events(at, kind) VALUES (1, 'issued')", &[])
        .await
        .unwrap();
    let store = open(pg_config(&cfg), &[8; 32]).await;
    assert!(store.ready(Duration::from_secs(5)).await.is_ok());
    assert_eq!(
        count(&cfg, "SELECT max(version)::bigint FROM schema_version").await,
        i64::from(PG_SCHEMA_VERSION)
    );
    // The old event is kept; the new column and tables exist.
    assert_eq!(
        count(&cfg, "SELECT count(*) FROM events WHERE scope IS NULL").await,
        1
    );
    assert_eq!(count(&cfg, "SELECT count(*) FROM txns").await, 0);
    let tok = bound(&store, "T-mig").await;
    create(&store, "T-mig", &tok, NOW + 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/test.d/50-postgres.sh)"]
async fn rekey_on_postgres_is_resumable_and_frees_the_old_key() {
    let cfg = fresh_schema().await;
    let old = [1u8; 32];
    let new = [2u8; 32];
    let a = Db::open_postgres(
        pg_config(&cfg),
        Arc::new(Sealer::new(&old)),
        &[kek_check(&old)],
    )
    .await
    .unwrap();
    let mut toks = Vec::new();
    for n in 0..4 {
        toks.push(bound(&a, &format!("T-rk-{n}")).await);
    }
    // One unfinished pairing session (two sealed blobs).
    let mut sid = [0u8; 16];
    OsRng.fill_bytes(&mut sid);
    a.run(
        CreateSession {
            pending: PendingSession {
                session_id: sid,
                serial: Serial::generate(&mut OsRng),
                token_key: Secret::new(vec![3; 20]),
                client_confirm: [4; 32],
            },
            expires_at: NOW + 300,
        },
        NOW,
    )
    .await
    .map_err(Refusal::from)
    .unwrap();
    let both = Sealer::new(&new).also_opening(&old);
    let mut client = rekey::pg_open(&cfg).await.unwrap();
    // 4 tokens + the finished sessions' confirmations (4) + the open
    // session's key and confirmation (2).
    let backlog = rekey::pg_remaining(&client, &both).await.unwrap();
    assert_eq!(backlog, 10);
    assert_eq!(rekey::pg_step(&mut client, &both, 3).await.unwrap(), 3);
    assert_eq!(rekey::pg_remaining(&client, &both).await.unwrap(), 7);
    drop(client);
    // An instance holding both keys starts and serves meanwhile; one
    // with only the new key is refused until the run is finished.
    let served = Db::open_postgres(
        pg_config(&cfg),
        Arc::new(Sealer::new(&new).also_opening(&old)),
        &[kek_check(&new), kek_check(&old)],
    )
    .await
    .unwrap();
    let early = Db::open_postgres(
        pg_config(&cfg),
        Arc::new(Sealer::new(&new)),
        &[kek_check(&new)],
    )
    .await
    .unwrap_err();
    assert!(matches!(early, PgError::KeyMismatch { .. }), "{early}");
    let t = NOW + 30;
    for (n, tok) in toks.iter().enumerate() {
        served
            .run(
                Verify {
                    customer_id: format!("T-rk-{n}"),
                    otp: tok.gen.totp(t).unwrap().as_str().to_string().into(),
                    purpose: softtoken_core::stk1::messages::Purpose::Login,
                },
                t,
            )
            .await
            .map_err(Refusal::from)
            .unwrap();
    }
    let mut client = rekey::pg_open(&cfg).await.unwrap();
    let mut seen = 0;
    let report = rekey::pg_rekey(&mut client, &both, 3, |_| seen += 1)
        .await
        .unwrap();
    assert_eq!(report.resealed, 7);
    assert_eq!(seen, report.batches);
    assert_eq!(rekey::pg_remaining(&client, &both).await.unwrap(), 0);
    assert!(rekey::pg_finish(&client, &both, &new).await.unwrap());
    // The old KEK alone is refused now; the new KEK alone serves every
    // token.
    let stale = Db::open_postgres(
        pg_config(&cfg),
        Arc::new(Sealer::new(&old)),
        &[kek_check(&old)],
    )
    .await
    .unwrap_err();
    assert!(matches!(stale, PgError::KeyMismatch { .. }), "{stale}");
    let only_new = Db::open_postgres(
        pg_config(&cfg),
        Arc::new(Sealer::new(&new)),
        &[kek_check(&new)],
    )
    .await
    .unwrap();
    let t = NOW + 60;
    for (n, tok) in toks.iter().enumerate() {
        only_new
            .run(
                Verify {
                    customer_id: format!("T-rk-{n}"),
                    otp: tok.gen.totp(t).unwrap().as_str().to_string().into(),
                    purpose: softtoken_core::stk1::messages::Purpose::Login,
                },
                t,
            )
            .await
            .map_err(Refusal::from)
            .unwrap();
    }
    // A blob neither key opens stops the run without naming its content.
    let wrong = Sealer::new(&[9; 32]).also_opening(&[10; 32]);
    let err = rekey::pg_rekey(&mut client, &wrong, 10, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, rekey::RekeyError::Unopenable { .. }), "{err}");
}
