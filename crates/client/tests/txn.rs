//! The STK1-TXN calls against a raw loopback HTTP server: the request is
//! exactly what the spec's vector says, and the answers map to typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use softtoken_client::{BankClient, ClientError};
use softtoken_core::stk1::ErrorCode;
use softtoken_core::txn::wire::{DecisionRequest, TxnState, WireTransaction};
use softtoken_core::txn::{derive_txn_keys, Decision, Kind, Transaction, TxnId, TxnKey};
use softtoken_core::{Secret, Serial};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const SERIAL: &str = "K7M3Q9XZ2PD0";
const K_TOKEN: &str = "726c4957f09af0142f7f33b057e6d159b4e632ac";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn b32(bytes: &[u8]) -> String {
    softtoken_core::encoding::encode(bytes)
}

fn serial() -> Serial {
    Serial::parse_strict(SERIAL).unwrap()
}

fn key() -> TxnKey {
    derive_txn_keys(&Secret::from_slice(&unhex(K_TOKEN)), &serial()).0
}

fn vector_tx() -> Transaction {
    let fields = [
        ("payee_bank", "かけしん信用金庫"),
        ("payee_branch", "本店営業部"),
        ("account_type", "普通"),
        ("account_number", "1234567"),
        ("payee_name", "ヤマダ タロウ"),
        ("amount", "12000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let id: [u8; 16] = core::array::from_fn(|i| i as u8);
    Transaction::new(
        TxnId::from_bytes(id),
        serial(),
        Kind::Transfer,
        1_700_000_000,
        1_700_000_300,
        fields,
    )
    .unwrap()
}

/// The request as the server saw it.
struct Seen {
    head: String,
    body: serde_json::Value,
}

/// Serves one request with `status` and `body`; returns the base URL and
/// the request it received.
async fn serve_once(status: &'static str, body: String) -> (String, JoinHandle<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head, body_start, len) = loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..p]).to_string();
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                break (head, p + 4, len);
            }
            assert!(n > 0, "connection closed early");
        };
        while buf.len() < body_start + len {
            let n = sock.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&chunk[..n]);
        }
        let req_body = serde_json::from_slice(&buf[body_start..body_start + len]).unwrap();
        let resp = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(resp.as_bytes()).await.unwrap();
        let _ = sock.shutdown().await;
        Seen {
            head,
            body: req_body,
        }
    });
    (format!("http://{addr}/"), seen)
}

fn nonce() -> [u8; 16] {
    core::array::from_fn(|i| 0xa0 + i as u8)
}

#[tokio::test]
async fn poll_sends_the_vector_mac_and_returns_the_transactions() {
    let wire = WireTransaction::sign(&vector_tx(), &key());
    let answer =
        serde_json::json!({"v": 1, "server_time": 1_700_000_012u64, "transactions": [wire]});
    let (url, seen) = serve_once("200 OK", answer.to_string()).await;
    let resp = BankClient::new(&url)
        .unwrap()
        .poll_pending(&serial(), &key(), 1_700_000_010, nonce())
        .await
        .unwrap();
    let seen = seen.await.unwrap();
    assert!(
        seen.head
            .starts_with(&format!("POST /v1/tokens/{SERIAL}/transactions/pending ")),
        "{}",
        seen.head
    );
    assert_eq!(seen.body["v"], 1);
    assert_eq!(seen.body["t"], 1_700_000_010u64);
    assert_eq!(seen.body["nonce"], "UCQ2FI5EUWTKPKFJVKV2ZLNOV4");
    assert_eq!(
        seen.body["mac"],
        b32(&unhex(
            "ddad4914a67184b14f4c1da7ef4ceb88ccaf08b5ccba736916de75eded948129"
        ))
    );
    assert_eq!(resp.server_time, 1_700_000_012);
    assert_eq!(resp.transactions.len(), 1);
    let shown = resp.transactions[0]
        .verify(&key(), &serial(), resp.server_time)
        .unwrap();
    assert_eq!(shown.amount(), 12_000);
}

#[tokio::test]
async fn a_server_without_the_extension_is_told_apart() {
    // Plain 404 (no STK1 body) and STK1's own `not_found`.
    for body in [
        "not here".to_string(),
        r#"{"v":1,"error":"not_found","message":"unknown path"}"#.to_string(),
    ] {
        let (url, _seen) = serve_once("404 Not Found", body).await;
        let err = BankClient::new(&url)
            .unwrap()
            .poll_pending(&serial(), &key(), 1_700_000_010, nonce())
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::TxnNotSupported), "{err:?}");
    }
}

#[tokio::test]
async fn poll_refusals_keep_their_code() {
    for (status, code, want) in [
        ("401 Unauthorized", "unauthorized", ErrorCode::Unauthorized),
        (
            "429 Too Many Requests",
            "rate_limited",
            ErrorCode::RateLimited,
        ),
    ] {
        let body = format!(r#"{{"v":1,"error":"{code}","message":"no"}}"#);
        let (url, _seen) = serve_once(status, body).await;
        let err = BankClient::new(&url)
            .unwrap()
            .poll_pending(&serial(), &key(), 1_700_000_010, nonce())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(want), "{err:?}");
        assert!(!matches!(err, ClientError::TxnNotSupported));
    }
}

#[tokio::test]
async fn too_many_transactions_are_a_bad_answer() {
    let wire = WireTransaction::sign(&vector_tx(), &key());
    let many: Vec<_> = (0..11).map(|_| wire.clone()).collect();
    let answer = serde_json::json!({"v": 1, "server_time": 1_700_000_012u64, "transactions": many});
    let (url, _seen) = serve_once("200 OK", answer.to_string()).await;
    let err = BankClient::new(&url)
        .unwrap()
        .poll_pending(&serial(), &key(), 1_700_000_010, nonce())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::BadResponse(_)), "{err:?}");
}

#[tokio::test]
async fn approve_sends_the_vector_approval() {
    let tx = vector_tx();
    let id = "AAAQEAYEAUDAOCAJBIFQYDIOB4";
    let (url, seen) = serve_once(
        "200 OK",
        format!(r#"{{"v":1,"txn_id":"{id}","state":"approved"}}"#),
    )
    .await;
    let req = DecisionRequest::new(&key(), &tx, Decision::Approve);
    let resp = BankClient::new(&url)
        .unwrap()
        .decide(&serial(), tx.txn_id(), &req)
        .await
        .unwrap();
    assert_eq!(resp.state, TxnState::Approved);
    let seen = seen.await.unwrap();
    assert!(
        seen.head.starts_with(&format!(
            "POST /v1/tokens/{SERIAL}/transactions/{id}/decision "
        )),
        "{}",
        seen.head
    );
    assert_eq!(seen.body["decision"], "approve");
    assert_eq!(
        seen.body["mac"],
        b32(&unhex(
            "4e606ac1b353774f0c8a15e63281daaaace79050f1e8a133f58d2b1a9b6d038b"
        ))
    );
}

#[tokio::test]
async fn decision_answers_are_checked() {
    let tx = vector_tx();
    let id = "AAAQEAYEAUDAOCAJBIFQYDIOB4";
    let req = DecisionRequest::new(&key(), &tx, Decision::Reject);
    // Answer with the wrong state for a rejection.
    let (url, _seen) = serve_once(
        "200 OK",
        format!(r#"{{"v":1,"txn_id":"{id}","state":"approved"}}"#),
    )
    .await;
    let err = BankClient::new(&url)
        .unwrap()
        .decide(&serial(), tx.txn_id(), &req)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::BadResponse(_)), "{err:?}");
    // Another transaction's id.
    let other = TxnId::from_bytes([9; 16]).to_base32();
    let (url, _seen) = serve_once(
        "200 OK",
        format!(r#"{{"v":1,"txn_id":"{other}","state":"rejected"}}"#),
    )
    .await;
    let err = BankClient::new(&url)
        .unwrap()
        .decide(&serial(), tx.txn_id(), &req)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::BadResponse(_)), "{err:?}");
    // 404 unknown_txn is the bank's refusal, not a missing extension.
    let (url, _seen) = serve_once(
        "404 Not Found",
        r#"{"v":1,"error":"unknown_txn","message":"no such transaction"}"#.into(),
    )
    .await;
    let err = BankClient::new(&url)
        .unwrap()
        .decide(&serial(), tx.txn_id(), &req)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::UnknownTxn), "{err:?}");
    let (url, _seen) = serve_once(
        "409 Conflict",
        r#"{"v":1,"error":"txn_decided","message":"already decided"}"#.into(),
    )
    .await;
    let err = BankClient::new(&url)
        .unwrap()
        .decide(&serial(), tx.txn_id(), &req)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::TxnDecided), "{err:?}");
}
