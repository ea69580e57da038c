//! STK1-TXN 「取引認証」 over HTTP against the real binary (`--test-clock`):
//! the app endpoints (poll, decision) with keys derived from a token paired
//! through STK1, the four back-end calls, races, replay, expiry, the
//! offline code and its shared lockout, the bad-MAC rate limit, and
//! revoked / exchanged / locked tokens. The spec's test vector end to end
//! is in `crates/token-service/tests/txn_vector.rs` (it needs a token with
//! the vector's key, written straight into the database).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use softtoken_core::txn::wire::{DecisionRequest, PollRequest, PollResponse};
use softtoken_core::txn::{derive_txn_keys, Decision, Kind, OcraKey, Transaction, TxnId, TxnKey};

/// The app's keys of a paired token.
struct App {
    tok: Token,
    k_txn: TxnKey,
    k_ocra: OcraKey,
}

impl App {
    fn new(tok: Token) -> App {
        let (k_txn, k_ocra) = derive_txn_keys(&tok.paired.secret, &tok.paired.serial);
        App { tok, k_txn, k_ocra }
    }

    fn serial(&self) -> &str {
        &self.tok.serial
    }

    fn poll_body(&self, t: u64, nonce: [u8; 16]) -> Value {
        serde_json::to_value(PollRequest::new(
            &self.k_txn,
            &self.tok.paired.serial,
            t,
            nonce,
        ))
        .unwrap()
    }

    /// A poll at server time `now` with the app clock `now` and a fresh
    /// nonce; returns the verified transactions.
    async fn poll(&self, s: &Server, now: u64) -> Vec<Transaction> {
        let (st, body) = self.poll_raw(s, self.poll_body(now, nonce()), now).await;
        assert_eq!(st, 200, "{body}");
        let resp = PollResponse::decode(body.to_string().as_bytes()).unwrap();
        assert_eq!(resp.server_time, now);
        resp.transactions
            .iter()
            .map(|w| {
                w.verify(&self.k_txn, &self.tok.paired.serial, resp.server_time)
                    .unwrap()
            })
            .collect()
    }

    async fn poll_raw(&self, s: &Server, body: Value, now: u64) -> (u16, Value) {
        s.post(
            &format!("/v1/tokens/{}/transactions/pending", self.serial()),
            &body,
            now,
        )
        .await
    }

    async fn decide(&self, s: &Server, tx: &Transaction, d: Decision, now: u64) -> (u16, Value) {
        let req = DecisionRequest::new(&self.k_txn, tx, d);
        decide_raw(
            s,
            self.serial(),
            &tx.txn_id().to_base32(),
            serde_json::to_value(req).unwrap(),
            now,
        )
        .await
    }

    fn offline(&self, tx: &Transaction, step: u64) -> String {
        self.k_ocra
            .offline_code_at_step(tx.offline_question(), step)
            .unwrap()
            .as_str()
            .to_string()
    }
}

async fn decide_raw(s: &Server, serial: &str, txn_id: &str, body: Value, now: u64) -> (u16, Value) {
    s.post(
        &format!("/v1/tokens/{serial}/transactions/{txn_id}/decision"),
        &body,
        now,
    )
    .await
}

fn nonce() -> [u8; 16] {
    let mut n = [0u8; 16];
    OsRng.fill_bytes(&mut n);
    n
}

fn transfer_fields(account: &str, amount: &str) -> Value {
    json!([
        ["payee_bank", "かけしん信用金庫"],
        ["payee_branch", "本店営業部"],
        ["account_type", "普通"],
        ["account_number", account],
        ["payee_name", "ヤマダ タロウ"],
        ["amount", amount]
    ])
}

async fn create(s: &Server, customer: &str, fields: Value, now: u64) -> (u16, Value) {
    s.bank(
        "/v1/bank/transactions",
        json!({"v":1,"customer_id":customer,"kind":"transfer","fields":fields}),
        now,
    )
    .await
}

/// Creates a transfer and returns its id.
async fn transfer(s: &Server, customer: &str, account: &str, now: u64) -> String {
    let (st, b) = create(s, customer, transfer_fields(account, "12000"), now).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["result"], "ok");
    assert_eq!(b["created_at"], now);
    assert_eq!(b["expires_at"], now + 300);
    b["txn_id"].as_str().unwrap().to_string()
}

async fn backend(s: &Server, call: &str, customer: &str, txn_id: &str, now: u64) -> (u16, Value) {
    s.bank(
        &format!("/v1/bank/transactions/{call}"),
        json!({"v":1,"customer_id":customer,"txn_id":txn_id}),
        now,
    )
    .await
}

async fn state(s: &Server, customer: &str, txn_id: &str, now: u64) -> String {
    let (st, b) = backend(s, "status", customer, txn_id, now).await;
    assert_eq!(st, 200, "{b}");
    b["state"].as_str().unwrap().to_string()
}

async fn verify_code(
    s: &Server,
    customer: &str,
    txn_id: &str,
    code: &str,
    now: u64,
) -> (u16, Value) {
    s.bank(
        "/v1/bank/transactions/verify_code",
        json!({"v":1,"customer_id":customer,"txn_id":txn_id,"code":code}),
        now,
    )
    .await
}

/// A 6-digit code that is not the offline code of `tx` near `step`.
fn wrong_offline(app: &App, tx: &Transaction, step: u64) -> String {
    let near: Vec<String> = (step - 5..=step + 5).map(|s| app.offline(tx, s)).collect();
    (0..1_000u32)
        .map(|n| format!("{:06}", n * 997 + 11))
        .find(|c| !near.contains(c))
        .unwrap()
}

fn err(r: &(u16, Value)) -> (u16, Option<&str>) {
    (r.0, r.1["error"].as_str())
}

/// The one pending transaction seen by the app, checked against `txn_id`.
async fn shown(app: &App, s: &Server, txn_id: &str, now: u64) -> Transaction {
    let txs = app.poll(s, now).await;
    let tx = txs
        .into_iter()
        .find(|tx| tx.txn_id().to_base32() == txn_id)
        .expect("the transaction is pending");
    tx
}

#[tokio::test]
async fn create_poll_approve_consume_and_the_fields_as_received() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let app = App::new(s.bound("3100001", t).await);
    assert!(app.poll(&s, t).await.is_empty());
    let id = transfer(&s, "3100001", "1234567", t).await;
    let (st, b) = create(&s, "3100001", transfer_fields("7654321", "5"), t + 1).await;
    assert_eq!(st, 200, "{b}");
    let id2 = b["txn_id"].as_str().unwrap().to_string();
    assert_eq!(state(&s, "3100001", &id, t).await, "pending");

    // Oldest first, exactly as created.
    let txs = app.poll(&s, t + 2).await;
    assert_eq!(txs.len(), 2);
    let first = txs[0].clone();
    assert_eq!(txs[0].txn_id().to_base32(), id);
    assert_eq!(txs[1].txn_id().to_base32(), id2);
    assert_eq!(txs[0].kind(), Kind::Transfer);
    assert_eq!(txs[0].field("account_number"), Some("1234567"));
    assert_eq!(txs[0].field("payee_name"), Some("ヤマダ タロウ"));
    assert_eq!(txs[0].amount(), 12000);
    assert_eq!(txs[0].serial().as_str(), app.serial());

    // Not approved yet: consume refused with the state.
    let r = backend(&s, "consume", "3100001", &id, t + 3).await;
    assert_eq!(err(&r), (409, Some("txn_not_approved")), "{}", r.1);
    assert_eq!(r.1["state"], "pending");

    let r = app.decide(&s, &txs[0], Decision::Approve, t + 4).await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1, json!({"v":1,"txn_id":id,"state":"approved"}));
    assert_eq!(state(&s, "3100001", &id, t + 5).await, "approved");
    // An approved transaction is no longer pending.
    let txs = app.poll(&s, t + 6).await;
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].txn_id().to_base32(), id2);

    let r = backend(&s, "consume", "3100001", &id, t + 7).await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1, json!({"v":1,"result":"ok","state":"consumed"}));
    let r = backend(&s, "consume", "3100001", &id, t + 8).await;
    assert_eq!(err(&r), (409, Some("txn_consumed")), "{}", r.1);
    assert_eq!(state(&s, "3100001", &id, t + 9).await, "consumed");
    // The approval repeated after the consume is still answered as taken.
    let tx = first;
    let r = app.decide(&s, &tx, Decision::Approve, t + 10).await;
    assert_eq!(
        (r.0, r.1["state"].as_str()),
        (200, Some("approved")),
        "{}",
        r.1
    );
    let r = app.decide(&s, &tx, Decision::Reject, t + 10).await;
    assert_eq!(err(&r), (409, Some("txn_decided")), "{}", r.1);
}

#[tokio::test]
async fn the_lifetime_is_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(dir.path(), &["--test-clock", "--txn-lifetime", "60"]);
    let t = base_time();
    let app = App::new(s.bound("3150001", t).await);
    let (st, b) = create(&s, "3150001", transfer_fields("1234567", "1"), t).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["expires_at"], t + 60);
    let id = b["txn_id"].as_str().unwrap().to_string();
    let tx = shown(&app, &s, &id, t + 59).await;
    assert_eq!(tx.expires_at(), t + 60);
    assert!(app.poll(&s, t + 60).await.is_empty());
    assert_eq!(state(&s, "3150001", &id, t + 60).await, "expired");
}

#[tokio::test]
async fn create_refusals_and_backend_key() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let _app = App::new(s.bound("3200001", t).await);
    // No token.
    let r = create(&s, "3299999", transfer_fields("1234567", "1"), t).await;
    assert_eq!(err(&r), (404, Some("no_token")), "{}", r.1);
    // Bad kind, keys out of order, bad values, unknown member, no v.
    let bad = [
        json!({"v":1,"customer_id":"3200001","kind":"loan","fields":transfer_fields("1234567","1")}),
        json!({"v":1,"customer_id":"3200001","kind":"payment","fields":transfer_fields("1234567","1")}),
        json!({"v":1,"customer_id":"3200001","kind":"transfer","fields":[["payee_branch","本店"],["payee_bank","x"],["account_type","普通"],["account_number","1234567"],["payee_name","x"],["amount","1"]]}),
        json!({"v":1,"customer_id":"3200001","kind":"transfer","fields":transfer_fields("123456","1")}),
        json!({"v":1,"customer_id":"3200001","kind":"transfer","fields":transfer_fields("1234567","10000001")}),
        json!({"v":1,"customer_id":"3200001","kind":"transfer","fields":transfer_fields("1234567","012")}),
        json!({"v":1,"customer_id":"3200001","kind":"transfer","fields":transfer_fields("1234567","1"),"extra":1}),
        json!({"customer_id":"3200001","kind":"transfer","fields":transfer_fields("1234567","1")}),
    ];
    for body in bad {
        let r = s.bank("/v1/bank/transactions", body.clone(), t).await;
        assert_eq!(err(&r), (400, Some("invalid_request")), "{body} → {}", r.1);
        assert!(
            !r.1["message"].as_str().unwrap().contains("1234567"),
            "{}",
            r.1
        );
    }
    // A payment is accepted.
    let r = s
        .bank(
            "/v1/bank/transactions",
            json!({"v":1,"customer_id":"3200001","kind":"payment","fields":[["biller_number","12345"],["customer_number","AB12"],["confirmation_number","0001"],["amount","3000"]]}),
            t,
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let id = r.1["txn_id"].as_str().unwrap().to_string();
    // Every back-end call needs the key.
    for (path, body) in [
        (
            "/v1/bank/transactions",
            json!({"v":1,"customer_id":"3200001","kind":"transfer","fields":transfer_fields("1234567","1")}),
        ),
        (
            "/v1/bank/transactions/status",
            json!({"v":1,"customer_id":"3200001","txn_id":id}),
        ),
        (
            "/v1/bank/transactions/consume",
            json!({"v":1,"customer_id":"3200001","txn_id":id}),
        ),
        (
            "/v1/bank/transactions/verify_code",
            json!({"v":1,"customer_id":"3200001","txn_id":id,"code":"123456"}),
        ),
    ] {
        for key in [None, Some("WRONGKEY")] {
            let r = s
                .post_raw(
                    path,
                    body.to_string().into_bytes(),
                    Some("application/json"),
                    key,
                    Some(t),
                )
                .await;
            assert_eq!(err(&r), (401, Some("unauthorized")), "{path}: {}", r.1);
        }
    }
    assert_eq!(state(&s, "3200001", &id, t).await, "pending");
}

#[tokio::test]
async fn tampered_field_mac_or_txn_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let app = App::new(s.bound("3300001", t).await);
    let id = transfer(&s, "3300001", "1234567", t).await;
    let id2 = transfer(&s, "3300001", "7777777", t).await;
    let tx = shown(&app, &s, &id, t + 1).await;
    let tx2 = shown(&app, &s, &id2, t + 1).await;

    // The approval of a transaction with a changed payee account.
    let mut fields = tx.fields().to_vec();
    fields[3].1 = "7654321".into();
    let tampered = Transaction::new(
        *tx.txn_id(),
        tx.serial().clone(),
        tx.kind(),
        tx.created_at(),
        tx.expires_at(),
        fields,
    )
    .unwrap();
    let r = app.decide(&s, &tampered, Decision::Approve, t + 2).await;
    assert_eq!(err(&r), (400, Some("confirm_failed")), "{}", r.1);
    // Another expiry (a field of the digest outside `fields`).
    let longer = Transaction::new(
        *tx.txn_id(),
        tx.serial().clone(),
        tx.kind(),
        tx.created_at(),
        tx.expires_at() + 60,
        tx.fields().to_vec(),
    )
    .unwrap();
    let r = app.decide(&s, &longer, Decision::Approve, t + 2).await;
    assert_eq!(err(&r), (400, Some("confirm_failed")), "{}", r.1);
    // One bit of the MAC flipped.
    let mut req = DecisionRequest::new(&app.k_txn, &tx, Decision::Approve);
    req.mac[7] ^= 1;
    let r = decide_raw(
        &s,
        app.serial(),
        &id,
        serde_json::to_value(&req).unwrap(),
        t + 2,
    )
    .await;
    assert_eq!(err(&r), (400, Some("confirm_failed")), "{}", r.1);
    // The rejection's MAC sent as an approval.
    let mut req = DecisionRequest::new(&app.k_txn, &tx, Decision::Reject);
    req.decision = Decision::Approve;
    let r = decide_raw(
        &s,
        app.serial(),
        &id,
        serde_json::to_value(&req).unwrap(),
        t + 2,
    )
    .await;
    assert_eq!(err(&r), (400, Some("confirm_failed")), "{}", r.1);
    // The approval of transaction 1 sent for transaction 2.
    let req = DecisionRequest::new(&app.k_txn, &tx, Decision::Approve);
    let r = decide_raw(
        &s,
        app.serial(),
        &id2,
        serde_json::to_value(&req).unwrap(),
        t + 2,
    )
    .await;
    assert_eq!(err(&r), (400, Some("confirm_failed")), "{}", r.1);
    // An unknown txn_id, a malformed one.
    let other = TxnId::generate(&mut OsRng).to_base32();
    let r = decide_raw(
        &s,
        app.serial(),
        &other,
        serde_json::to_value(&req).unwrap(),
        t + 2,
    )
    .await;
    assert_eq!(err(&r), (404, Some("unknown_txn")), "{}", r.1);
    let r = decide_raw(
        &s,
        app.serial(),
        "NOTANID",
        serde_json::to_value(&req).unwrap(),
        t + 2,
    )
    .await;
    assert_eq!(err(&r), (404, Some("unknown_txn")), "{}", r.1);
    // Malformed bodies.
    for body in [
        json!({"v":1,"decision":"approve"}),
        json!({"v":1,"decision":"maybe","mac":serde_json::to_value(&req).unwrap()["mac"]}),
        json!({"v":1,"decision":"approve","mac":"AAAA"}),
    ] {
        let r = decide_raw(&s, app.serial(), &id, body.clone(), t + 2).await;
        assert_eq!(err(&r), (400, Some("invalid_request")), "{body}: {}", r.1);
    }
    let mut extra = serde_json::to_value(&req).unwrap();
    extra["note"] = json!("x");
    let r = decide_raw(&s, app.serial(), &id, extra, t + 2).await;
    assert_eq!(err(&r), (400, Some("invalid_request")), "{}", r.1);

    // Nothing was decided; the genuine approval still works.
    assert_eq!(state(&s, "3300001", &id, t + 3).await, "pending");
    assert_eq!(state(&s, "3300001", &id2, t + 3).await, "pending");
    let r = app.decide(&s, &tx, Decision::Approve, t + 3).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let r = app.decide(&s, &tx2, Decision::Reject, t + 3).await;
    assert_eq!(
        (r.0, r.1["state"].as_str()),
        (200, Some("rejected")),
        "{}",
        r.1
    );
    assert_eq!(state(&s, "3300001", &id2, t + 4).await, "rejected");
}

#[tokio::test]
async fn another_tokens_or_customers_transaction_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let a = App::new(s.bound("3400001", t).await);
    let b = App::new(s.bound("3400002", t).await);
    let id = transfer(&s, "3400001", "1234567", t).await;
    let tx = shown(&a, &s, &id, t + 1).await;
    assert!(b.poll(&s, t + 1).await.is_empty());
    // B's approval of A's transaction (B's key, B's serial).
    let r = b.decide(&s, &tx, Decision::Approve, t + 2).await;
    assert_eq!(err(&r), (404, Some("unknown_txn")), "{}", r.1);
    // A's genuine approval sent under B's serial.
    let req = DecisionRequest::new(&a.k_txn, &tx, Decision::Approve);
    let r = decide_raw(
        &s,
        b.serial(),
        &id,
        serde_json::to_value(&req).unwrap(),
        t + 2,
    )
    .await;
    assert_eq!(err(&r), (404, Some("unknown_txn")), "{}", r.1);
    // The other customer at the back end.
    for call in ["status", "consume"] {
        let r = backend(&s, call, "3400002", &id, t + 2).await;
        assert_eq!(err(&r), (404, Some("unknown_txn")), "{call}: {}", r.1);
    }
    let r = verify_code(&s, "3400002", &id, &a.offline(&tx, (t + 2) / 30), t + 2).await;
    assert_eq!(err(&r), (404, Some("unknown_txn")), "{}", r.1);
    assert_eq!(state(&s, "3400001", &id, t + 3).await, "pending");
}

#[tokio::test]
async fn approve_is_idempotent_and_then_reject_is_decided() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let app = App::new(s.bound("3500001", t).await);
    let id = transfer(&s, "3500001", "1234567", t).await;
    let tx = shown(&app, &s, &id, t).await;
    for i in 0..3 {
        let r = app.decide(&s, &tx, Decision::Approve, t + 1 + i).await;
        assert_eq!(
            (r.0, r.1["state"].as_str()),
            (200, Some("approved")),
            "{}",
            r.1
        );
    }
    let r = app.decide(&s, &tx, Decision::Reject, t + 5).await;
    assert_eq!(err(&r), (409, Some("txn_decided")), "{}", r.1);
    assert_eq!(state(&s, "3500001", &id, t + 6).await, "approved");

    // The other way round.
    let id = transfer(&s, "3500001", "1234567", t + 10).await;
    let tx = shown(&app, &s, &id, t + 10).await;
    let r = app.decide(&s, &tx, Decision::Reject, t + 11).await;
    assert_eq!(
        (r.0, r.1["state"].as_str()),
        (200, Some("rejected")),
        "{}",
        r.1
    );
    let r = app.decide(&s, &tx, Decision::Reject, t + 12).await;
    assert_eq!(
        (r.0, r.1["state"].as_str()),
        (200, Some("rejected")),
        "{}",
        r.1
    );
    let r = app.decide(&s, &tx, Decision::Approve, t + 13).await;
    assert_eq!(err(&r), (409, Some("txn_decided")), "{}", r.1);
    let r = backend(&s, "consume", "3500001", &id, t + 14).await;
    assert_eq!(err(&r), (409, Some("txn_not_approved")), "{}", r.1);
    assert_eq!(r.1["state"], "rejected");
    let r = verify_code(&s, "3500001", &id, &app.offline(&tx, (t + 14) / 30), t + 14).await;
    assert_eq!(err(&r), (409, Some("txn_decided")), "{}", r.1);
}

#[tokio::test]
async fn fifty_racing_consumes_one_ok() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(Server::start(dir.path()));
    let t = base_time();
    let app = App::new(s.bound("3600001", t).await);
    for round in 0..3u64 {
        let now = t + 10 * round;
        let id = transfer(&s, "3600001", "1234567", now).await;
        let tx = shown(&app, &s, &id, now).await;
        let r = app.decide(&s, &tx, Decision::Approve, now + 1).await;
        assert_eq!(r.0, 200, "{}", r.1);
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (s, id) = (s.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                backend(&s, "consume", "3600001", &id, now + 2).await
            }));
        }
        let (mut ok, mut consumed) = (0, 0);
        for task in tasks {
            let r = task.await.unwrap();
            match err(&r) {
                (200, None) => ok += 1,
                (409, Some("txn_consumed")) => consumed += 1,
                _ => panic!("unexpected {r:?}"),
            }
        }
        assert_eq!((ok, consumed), (1, 49), "round {round}");
    }
}

#[tokio::test]
async fn fifty_racing_decisions_one_state() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(Server::start(dir.path()));
    let t = base_time();
    let app = Arc::new(App::new(s.bound("3700001", t).await));
    for round in 0..3u64 {
        let now = t + 10 * round;
        let id = transfer(&s, "3700001", "1234567", now).await;
        let tx = Arc::new(shown(&app, &s, &id, now).await);
        let mut tasks = Vec::new();
        for i in 0..50 {
            let (s, app, tx) = (s.clone(), app.clone(), tx.clone());
            let d = if i % 2 == 0 {
                Decision::Approve
            } else {
                Decision::Reject
            };
            tasks.push(tokio::spawn(async move {
                (d, app.decide(&s, &tx, d, now + 1).await)
            }));
        }
        let mut winners = std::collections::HashSet::new();
        let (mut ok, mut decided) = (0, 0);
        for task in tasks {
            let (d, r) = task.await.unwrap();
            match err(&r) {
                (200, None) => {
                    ok += 1;
                    winners.insert((d, r.1["state"].as_str().unwrap().to_string()));
                }
                (409, Some("txn_decided")) => decided += 1,
                _ => panic!("unexpected {r:?}"),
            }
        }
        // Exactly one decision won; all its 25 requests were answered ok
        // (idempotent), all 25 of the other one refused.
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert_eq!((ok, decided), (25, 25), "round {round}");
        let (d, st) = winners.into_iter().next().unwrap();
        let expected = match d {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        };
        assert_eq!(st, expected);
        assert_eq!(state(&s, "3700001", &id, now + 2).await, expected);
    }
}

#[tokio::test]
async fn poll_refusals_share_one_body_and_nonces_are_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let app = App::new(s.bound("3800001", t).await);
    let other = App::new(s.bound("3800002", t).await);
    transfer(&s, "3800001", "1234567", t).await;

    let n = nonce();
    let body = app.poll_body(t, n);
    let first = app.poll_raw(&s, body.clone(), t).await;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first.1["transactions"].as_array().unwrap().len(), 1);

    let mut refusals = Vec::new();
    // The same request again (now and 200 s later, new t within the window).
    refusals.push(app.poll_raw(&s, body.clone(), t + 1).await);
    refusals.push(app.poll_raw(&s, app.poll_body(t + 200, n), t + 200).await);
    // t outside ±120.
    refusals.push(app.poll_raw(&s, app.poll_body(t - 121, nonce()), t).await);
    refusals.push(app.poll_raw(&s, app.poll_body(t + 121, nonce()), t).await);
    // Wrong key (another token's), flipped MAC, another serial.
    refusals.push(app.poll_raw(&s, other.poll_body(t, nonce()), t).await);
    let mut flipped = app.poll_body(t, nonce());
    let mut req: PollRequest = serde_json::from_value(flipped.clone()).unwrap();
    req.mac[0] ^= 0x80;
    flipped = serde_json::to_value(&req).unwrap();
    refusals.push(app.poll_raw(&s, flipped, t).await);
    refusals.push(
        s.post(
            "/v1/tokens/K7M3Q9XZ2PD0/transactions/pending",
            &app.poll_body(t, nonce()),
            t,
        )
        .await,
    );
    refusals.push(
        s.post(
            "/v1/tokens/not-a-serial/transactions/pending",
            &app.poll_body(t, nonce()),
            t,
        )
        .await,
    );
    let expected = refusals[0].clone();
    assert_eq!(
        err(&expected),
        (401, Some("unauthorized")),
        "{}",
        expected.1
    );
    for (i, r) in refusals.iter().enumerate() {
        assert_eq!(r, &expected, "refusal {i}");
    }
    // The window edges are accepted; a nonce is forgotten after 300 s.
    assert_eq!(
        app.poll_raw(&s, app.poll_body(t - 120, nonce()), t).await.0,
        200
    );
    assert_eq!(
        app.poll_raw(&s, app.poll_body(t + 120, nonce()), t).await.0,
        200
    );
    assert_eq!(
        app.poll_raw(&s, app.poll_body(t + 301, n), t + 301).await.0,
        200
    );
    // And remembered from then on.
    assert_eq!(
        err(&app.poll_raw(&s, app.poll_body(t + 302, n), t + 302).await),
        (401, Some("unauthorized"))
    );
    // Malformed bodies are invalid_request.
    let r = app.poll_raw(&s, json!({"v":1,"t":t}), t).await;
    assert_eq!(err(&r), (400, Some("invalid_request")), "{}", r.1);
    let r = app
        .poll_raw(&s, json!({"v":2,"t":t,"nonce":"x","mac":"y"}), t)
        .await;
    assert_eq!(err(&r), (400, Some("unsupported_version")), "{}", r.1);
}

#[tokio::test]
async fn nonces_are_remembered_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let app = App::new(s.bound("3810001", t).await);
    let body = app.poll_body(t, nonce());
    assert_eq!(app.poll_raw(&s, body.clone(), t).await.0, 200);
    let s = s.restart();
    let r = app.poll_raw(&s, body, t + 1).await;
    assert_eq!(err(&r), (401, Some("unauthorized")), "{}", r.1);
}

#[tokio::test]
async fn expired_transactions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let app = App::new(s.bound("3900001", t).await);
    let id = transfer(&s, "3900001", "1234567", t).await;
    let id2 = transfer(&s, "3900001", "1234567", t).await;
    let tx = shown(&app, &s, &id, t + 299).await;
    let tx2 = shown(&app, &s, &id2, t + 299).await;
    // At expires_at: no longer listed, nor decidable, nor consumable.
    assert!(app.poll(&s, t + 300).await.is_empty());
    let r = app.decide(&s, &tx, Decision::Approve, t + 300).await;
    assert_eq!(err(&r), (410, Some("txn_expired")), "{}", r.1);
    let r = app.decide(&s, &tx, Decision::Reject, t + 301).await;
    assert_eq!(err(&r), (410, Some("txn_expired")), "{}", r.1);
    assert_eq!(state(&s, "3900001", &id, t + 302).await, "expired");
    let r = backend(&s, "consume", "3900001", &id, t + 302).await;
    assert_eq!(err(&r), (409, Some("txn_not_approved")), "{}", r.1);
    assert_eq!(r.1["state"], "expired");
    let r = verify_code(
        &s,
        "3900001",
        &id2,
        &app.offline(&tx2, (t + 300) / 30),
        t + 300,
    )
    .await;
    assert_eq!(err(&r), (410, Some("txn_expired")), "{}", r.1);
    // Expired for good, even if a later request carries an earlier time.
    assert_eq!(state(&s, "3900001", &id, t + 10).await, "expired");
    // The lifetime runs on the server's (test) clock: one second before
    // the end an approval still passes.
    let id3 = transfer(&s, "3900001", "1234567", t + 1000).await;
    let tx3 = shown(&app, &s, &id3, t + 1000).await;
    let r = app.decide(&s, &tx3, Decision::Approve, t + 1299).await;
    assert_eq!(r.0, 200, "{}", r.1);
}

#[tokio::test]
async fn offline_code_window_replay_and_shared_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let app = App::new(s.bound("4000001", t).await);
    let c = "4000001";
    let t1 = t + 30 * 10;
    let step = t1 / 30;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(transfer(&s, c, "1234567", t1).await);
    }
    let txs: Vec<Transaction> = {
        let all = app.poll(&s, t1).await;
        ids.iter()
            .map(|id| {
                all.iter()
                    .find(|tx| &tx.txn_id().to_base32() == id)
                    .unwrap()
                    .clone()
            })
            .collect()
    };
    // T−1 accepted.
    let r = verify_code(&s, c, &ids[0], &app.offline(&txs[0], step - 1), t1).await;
    assert_eq!(r, (200, json!({"v":1,"result":"ok","state":"consumed"})));
    assert_eq!(state(&s, c, &ids[0], t1).await, "consumed");
    // The same code again for another transaction of the same account: replay, not counted.
    let r = verify_code(&s, c, &ids[1], &app.offline(&txs[1], step - 1), t1).await;
    assert_eq!(err(&r), (409, Some("replay")), "{}", r.1);
    // And for the consumed one: decided.
    let r = verify_code(&s, c, &ids[0], &app.offline(&txs[0], step), t1).await;
    assert_eq!(err(&r), (409, Some("txn_decided")), "{}", r.1);
    // T+1 accepted.
    let r = verify_code(&s, c, &ids[1], &app.offline(&txs[1], step + 1), t1).await;
    assert_eq!(r.0, 200, "{}", r.1);
    // T+2 is outside the window: a failure (count 1).
    let r = verify_code(&s, c, &ids[2], &app.offline(&txs[2], step + 2), t1).await;
    assert_eq!(err(&r), (422, Some("invalid_otp")), "{}", r.1);
    assert_eq!(r.1["fail_count"], 1);
    // A code for another account number (the payee changed on the way): failure 2.
    let q = app
        .k_ocra
        .offline_code_at_step("7654321", step + 2)
        .unwrap();
    let r = verify_code(&s, c, &ids[2], q.as_str(), t1 + 30).await;
    assert_eq!(err(&r), (422, Some("invalid_otp")), "{}", r.1);
    assert_eq!(r.1["fail_count"], 2);
    // Malformed: failure 3. Wrong login codes continue the same count.
    let r = verify_code(&s, c, &ids[2], "12ab", t1 + 30).await;
    assert_eq!(r.1["fail_count"], 3, "{}", r.1);
    let t2 = t1 + 60;
    for i in 4..=9u64 {
        let (st, b) = s.verify(c, &app.tok.wrong(t2), t2).await;
        assert_eq!((st, b["fail_count"].as_u64()), (422, Some(i)), "{b}");
    }
    // The 10th failure is an offline code and locks the token.
    let good2 = app.offline(&txs[2], t2 / 30);
    let r = verify_code(&s, c, &ids[2], &wrong_offline(&app, &txs[2], t2 / 30), t2).await;
    assert_eq!(err(&r), (423, Some("locked")), "{}", r.1);
    // Locked: the right offline code, a login code, an approval, a
    // consume and a new transaction are all refused.
    let r = verify_code(&s, c, &ids[2], &good2, t2).await;
    assert_eq!(err(&r), (423, Some("locked")), "{}", r.1);
    let (st, b) = s.verify(c, &app.tok.code(t2 + 30), t2 + 30).await;
    assert_eq!((st, b["error"].as_str()), (423, Some("locked")), "{b}");
    let r = app.decide(&s, &txs[3], Decision::Approve, t2).await;
    assert_eq!(err(&r), (423, Some("locked")), "{}", r.1);
    let r = create(&s, c, transfer_fields("1234567", "1"), t2).await;
    assert_eq!(err(&r), (423, Some("locked")), "{}", r.1);
    // A rejection is still taken.
    let r = app.decide(&s, &txs[2], Decision::Reject, t2).await;
    assert_eq!(
        (r.0, r.1["state"].as_str()),
        (200, Some("rejected")),
        "{}",
        r.1
    );
}

#[tokio::test]
async fn offline_code_follows_the_learned_drift() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let app = App::new(s.bound("4050001", t).await);
    let c = "4050001";
    // The phone runs 3 steps ahead: login codes teach the drift.
    // Each success one step further ahead: the drift grows to 3.
    let mut now = t + 30;
    for ahead in 1..=3u64 {
        now += 300;
        let (st, b) = s.verify(c, &app.tok.code(now + 30 * ahead), now).await;
        assert_eq!(st, 200, "{b}");
    }
    now += 300;
    let id = transfer(&s, c, "1234567", now).await;
    let tx = shown(&app, &s, &id, now).await;
    let r = verify_code(&s, c, &id, &app.offline(&tx, now / 30 + 3), now).await;
    assert_eq!(r.0, 200, "{}", r.1);
}

#[tokio::test]
async fn rate_limit_after_ten_bad_macs_without_touching_the_code_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    let app = App::new(s.bound("4100001", t).await);
    let id = transfer(&s, "4100001", "1234567", t).await;
    let tx = shown(&app, &s, &id, t).await;
    let mut bad = DecisionRequest::new(&app.k_txn, &tx, Decision::Approve);
    bad.mac[31] ^= 1;
    let bad = serde_json::to_value(&bad).unwrap();
    for i in 0..11 {
        let r = decide_raw(&s, app.serial(), &id, bad.clone(), t + i).await;
        assert_eq!(
            err(&r),
            (400, Some("confirm_failed")),
            "bad mac {i}: {}",
            r.1
        );
    }
    // More than 10 in the window: even the genuine approval waits.
    let r = app.decide(&s, &tx, Decision::Approve, t + 20).await;
    assert_eq!(err(&r), (429, Some("rate_limited")), "{}", r.1);
    let r = decide_raw(&s, app.serial(), &id, bad.clone(), t + 21).await;
    assert_eq!(err(&r), (429, Some("rate_limited")), "{}", r.1);
    // Polls, the back end and the codes are unaffected; no code failure counted.
    assert_eq!(app.poll(&s, t + 22).await.len(), 1);
    let (st, b) = s.verify("4100001", &app.tok.wrong(t + 30), t + 30).await;
    assert_eq!((st, b["fail_count"].as_u64()), (422, Some(1)), "{b}");
    let (st, b) = s.verify("4100001", &app.tok.code(t + 60), t + 60).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(state(&s, "4100001", &id, t + 61).await, "pending");
    // Another token is not limited.
    let other = App::new(s.bound("4100002", t).await);
    let id2 = transfer(&s, "4100002", "1234567", t + 62).await;
    let tx2 = shown(&other, &s, &id2, t + 62).await;
    assert_eq!(
        other.decide(&s, &tx2, Decision::Approve, t + 63).await.0,
        200
    );
    // The window ends 600 s after its first bad MAC.
    let r = app.decide(&s, &tx, Decision::Approve, t + 599).await;
    assert_eq!(err(&r), (429, Some("rate_limited")), "{}", r.1);
    let id3 = transfer(&s, "4100001", "1234567", t + 600).await;
    let tx3 = shown(&app, &s, &id3, t + 600).await;
    let r = app.decide(&s, &tx3, Decision::Approve, t + 600).await;
    assert_eq!(r.0, 200, "{}", r.1);
}

#[tokio::test]
async fn transactions_of_a_revoked_or_exchanged_token_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let t = base_time();
    // Revoked (利用中止).
    let app = App::new(s.bound("4200001", t).await);
    let approved = transfer(&s, "4200001", "1234567", t).await;
    let pending = transfer(&s, "4200001", "1234567", t).await;
    let tx = shown(&app, &s, &approved, t).await;
    let tx_p = shown(&app, &s, &pending, t).await;
    assert_eq!(app.decide(&s, &tx, Decision::Approve, t + 1).await.0, 200);
    let (st, b) = s
        .bank(
            "/v1/bank/deactivate",
            json!({"v":1,"customer_id":"4200001","otp":app.tok.code(t + 30)}),
            t + 30,
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let r = backend(&s, "consume", "4200001", &approved, t + 31).await;
    assert_eq!(err(&r), (404, Some("no_token")), "{}", r.1);
    let r = verify_code(
        &s,
        "4200001",
        &pending,
        &app.offline(&tx_p, (t + 31) / 30),
        t + 31,
    )
    .await;
    assert_eq!(err(&r), (404, Some("no_token")), "{}", r.1);
    let r = app.decide(&s, &tx_p, Decision::Approve, t + 31).await;
    assert_eq!(err(&r), (401, Some("unauthorized")), "{}", r.1);
    let r = app
        .poll_raw(&s, app.poll_body(t + 31, nonce()), t + 31)
        .await;
    assert_eq!(err(&r), (401, Some("unauthorized")), "{}", r.1);
    let r = create(&s, "4200001", transfer_fields("1234567", "1"), t + 31).await;
    assert_eq!(err(&r), (404, Some("no_token")), "{}", r.1);

    // Exchanged (交換): the old token's approved transaction does not run.
    let old = App::new(s.bound("4200002", t).await);
    let id = transfer(&s, "4200002", "1234567", t).await;
    let tx = shown(&old, &s, &id, t).await;
    assert_eq!(old.decide(&s, &tx, Decision::Approve, t + 1).await.0, 200);
    let new = App::new(s.pair(t).await);
    let t3 = t + 60;
    let (st, b) = s
        .bank(
            "/v1/bank/change",
            json!({"v":1,"customer_id":"4200002","old_otp":old.tok.code(t3),"new_serial":new.serial(),"new_otp":new.tok.code(t3)}),
            t3,
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let r = backend(&s, "consume", "4200002", &id, t3).await;
    assert_eq!(err(&r), (404, Some("no_token")), "{}", r.1);
    // The new token sees nothing of the old one's.
    assert!(new.poll(&s, t3).await.is_empty());
    let r = new.decide(&s, &tx, Decision::Approve, t3).await;
    assert_eq!(err(&r), (404, Some("unknown_txn")), "{}", r.1);
}
