//! The STK1-TXN test vector (`shared/spec/stk1-txn.md`) end to end through
//! the `/v1` router with the test clock: a token with the vector's serial
//! and `K_TOKEN` and the vector's transactions are written into the
//! database (sealed as the service seals them), then the vector's poll,
//! approval, rejection and offline codes — all as literal bytes of the
//! spec — are sent and the answers compared with the spec's `bank_mac`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use serde_json::{json, Value};
use softtoken_core::encoding::encode;
use softtoken_core::stk1::api_key::ApiKey;
use softtoken_token_service::db::{Db, DbConfig};
use softtoken_token_service::seal::Sealer;
use softtoken_token_service::{router, ApiState};
use tower::ServiceExt;

const KEY: &str = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPIYTEMZUGU3A";
const OPS_KEY: &str = "ONSWG4TFORPW64DTL5VWK6K7MFXGI7LBAZQXEZLBNRWXS3LPNZTQ";
const KEK: [u8; 32] = [7; 32];
const SERIAL: &str = "K7M3Q9XZ2PD0";
const K_TOKEN: &str = "726c4957f09af0142f7f33b057e6d159b4e632ac";
const TXN_ID: &str = "AAAQEAYEAUDAOCAJBIFQYDIOB4";
const NONCE: &str = "UCQ2FI5EUWTKPKFJVKV2ZLNOV4";
const POLL_MAC: &str = "ddad4914a67184b14f4c1da7ef4ceb88ccaf08b5ccba736916de75eded948129";
const BANK_MAC: &str = "c89867969364248e2ff659e4de86d385ccdc039fcf0cf24b0317d729100b718d";
const APPROVAL: &str = "4e606ac1b353774f0c8a15e63281daaaace79050f1e8a133f58d2b1a9b6d038b";
const REJECTION: &str = "ae07584edea5433ac0874731203e8b10a98cef62c75ec2af8aeb59dca9511c5d";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn b32(h: &str) -> String {
    encode(&hex(h))
}

fn fields() -> Value {
    json!([
        ["payee_bank", "かけしん信用金庫"],
        ["payee_branch", "本店営業部"],
        ["account_type", "普通"],
        ["account_number", "1234567"],
        ["payee_name", "ヤマダ タロウ"],
        ["amount", "12000"]
    ])
}

async fn call(app: &Router, path: &str, body: Value, t: u64, auth: bool) -> (u16, Value) {
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header("x-test-time", t.to_string());
    if auth {
        req = req.header("authorization", format!("Bearer {KEY}"));
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The router over a fresh database holding the vector's token (customer
/// `vector`) and the transactions `txns` (id, kind, fields), all created
/// at 1700000000 and expiring at 1700000300.
fn vector_api(txns: &[([u8; 16], &str, Value)]) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    let db = Db::open(DbConfig::new(path.clone()), Arc::new(Sealer::new(&KEK))).unwrap();
    // Written as the service stores them (the token's secret sealed under
    // the row's associated data `token:<serial>`).
    let conn = rusqlite::Connection::open(&path).unwrap();
    let sealed = Sealer::new(&KEK).seal(&hex(K_TOKEN), format!("token:{SERIAL}").as_bytes());
    conn.execute(
        "INSERT INTO tokens(serial, state, customer_id, sealed_secret, issued_at, bind_by, bound_at)
         VALUES (?1, 'active', 'vector', ?2, 1699990000, 1699999999, 1699990000)",
        (SERIAL, sealed),
    )
    .unwrap();
    for (id, kind, f) in txns {
        conn.execute(
            "INSERT INTO txns(txn_id, serial, customer_id, kind, created_at, expires_at, fields, state)
             VALUES (?1, ?2, 'vector', ?3, 1700000000, 1700000300, ?4, 'pending')",
            (&id[..], SERIAL, kind, f.to_string()),
        )
        .unwrap();
    }
    let app = router(Arc::new(ApiState {
        db,
        keys: HashMap::new(),
        api_key: ApiKey::new(KEY.into()).unwrap(),
        ops_key: ApiKey::new(OPS_KEY.into()).unwrap(),
        test_clock: true,
    }));
    (app, dir)
}

#[tokio::test]
async fn spec_vector_end_to_end() {
    let payment = json!([
        ["biller_number", "12345"],
        ["customer_number", "A1"],
        ["confirmation_number", "1"],
        ["amount", "3000"]
    ]);
    let ids: [[u8; 16]; 3] = [
        std::array::from_fn(|i| i as u8),
        std::array::from_fn(|i| 0x10 + i as u8),
        std::array::from_fn(|i| 0x20 + i as u8),
    ];
    assert_eq!(encode(&ids[0]), TXN_ID);
    let (app, _dir) = vector_api(&[
        (ids[0], "transfer", fields()),
        (ids[1], "payment", payment),
        (ids[2], "transfer", fields()),
    ]);
    // The vector's poll.
    let poll = json!({"v":1,"t":1700000010u64,"nonce":NONCE,"mac":b32(POLL_MAC)});
    let (st, body) = call(
        &app,
        &format!("/v1/tokens/{SERIAL}/transactions/pending"),
        poll.clone(),
        1700000010,
        false,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["v"], 1);
    assert_eq!(body["server_time"], 1700000010u64);
    let txs = body["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 3);
    assert_eq!(
        txs[0],
        json!({"txn_id":TXN_ID,"kind":"transfer","created_at":1700000000u64,"expires_at":1700000300u64,
               "fields":fields(),"bank_mac":b32(BANK_MAC)})
    );
    // The same poll again: its nonce is remembered.
    let (st, body) = call(
        &app,
        &format!("/v1/tokens/{SERIAL}/transactions/pending"),
        poll,
        1700000011,
        false,
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );

    let decision = format!("/v1/tokens/{SERIAL}/transactions/{TXN_ID}/decision");
    // The rejection's MAC does not approve.
    let (st, body) = call(
        &app,
        &decision,
        json!({"v":1,"decision":"approve","mac":b32(REJECTION)}),
        1700000012,
        false,
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("confirm_failed")),
        "{body}"
    );
    // The vector's approval.
    let (st, body) = call(
        &app,
        &decision,
        json!({"v":1,"decision":"approve","mac":b32(APPROVAL)}),
        1700000012,
        false,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body, json!({"v":1,"txn_id":TXN_ID,"state":"approved"}));
    // The vector's rejection is a valid MAC, but the decision is taken.
    let (st, body) = call(
        &app,
        &decision,
        json!({"v":1,"decision":"reject","mac":b32(REJECTION)}),
        1700000013,
        false,
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (409, Some("txn_decided")),
        "{body}"
    );
    let (st, body) = call(
        &app,
        "/v1/bank/transactions/consume",
        json!({"v":1,"customer_id":"vector","txn_id":TXN_ID}),
        1700000014,
        true,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body, json!({"v":1,"result":"ok","state":"consumed"}));

    // Offline codes: question 12345 at 1700000000 → 985725; 1234567 at
    // the same step is then a replay; at 1700000030 → 073759.
    let verify = |id: [u8; 16], code: &str| json!({"v":1,"customer_id":"vector","txn_id":encode(&id),"code":code});
    let (st, body) = call(
        &app,
        "/v1/bank/transactions/verify_code",
        verify(ids[1], "985725"),
        1700000000,
        true,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = call(
        &app,
        "/v1/bank/transactions/verify_code",
        verify(ids[2], "414993"),
        1700000000,
        true,
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (409, Some("replay")),
        "{body}"
    );
    let (st, body) = call(
        &app,
        "/v1/bank/transactions/verify_code",
        verify(ids[2], "073759"),
        1700000030,
        true,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["state"], "consumed");
}

#[tokio::test]
async fn spec_vector_offline_code_at_its_own_step() {
    // 1234567 at 1700000000 → 414993 on a fresh token record.
    let id: [u8; 16] = std::array::from_fn(|i| i as u8);
    let (app, _dir) = vector_api(&[(id, "transfer", fields())]);
    let body = json!({"v":1,"customer_id":"vector","txn_id":TXN_ID,"code":"414993"});
    let (st, resp) = call(
        &app,
        "/v1/bank/transactions/verify_code",
        body,
        1700000000,
        true,
    )
    .await;
    assert_eq!(st, 200, "{resp}");
}
