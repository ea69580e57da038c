//! The "Test vector" block of `shared/spec/stk1-txn.md`, line by line, and
//! the wire round trip of the example transaction.
// Test and measurement code: a panic is the failure report (the workspace
// denies unwrap/expect, Cargo.toml `[workspace.lints]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use softtoken_core::ocra::{self, OcraInput, Question, Suite};
use softtoken_core::serial::Serial;
use softtoken_core::txn::wire::{
    self, DecisionRequest, PollRequest, PollResponse, TxnState, WireTransaction,
};
use softtoken_core::txn::{
    derive_txn_keys, offline_question, offline_step, Decision, Kind, Transaction, TxnError, TxnId,
    TxnKey, OFFLINE_SUITE,
};
use softtoken_core::Secret;

/// shared/spec/stk1-txn.md, "Test vector".
struct TxnVector {
    serial: &'static str,
    k_token: &'static str,
    txn_id_base32: &'static str,
    created_at: u64,
    expires_at: u64,
    k_txn: &'static str,
    k_ocra: &'static str,
    txn_digest: &'static str,
    bank_mac: &'static str,
    approval: &'static str,
    rejection: &'static str,
    poll_t: u64,
    poll_nonce_base32: &'static str,
    poll_mac: &'static str,
    /// `offline code, question …, t = … → …`
    offline: [(&'static str, u64, &'static str); 3],
}

const V: TxnVector = TxnVector {
    serial: "K7M3Q9XZ2PD0",
    k_token: "726c4957f09af0142f7f33b057e6d159b4e632ac",
    txn_id_base32: "AAAQEAYEAUDAOCAJBIFQYDIOB4",
    created_at: 1_700_000_000,
    expires_at: 1_700_000_300,
    k_txn: "79cfdcee7fabd6c260b4621ba1ed6d2805791dd1104afdec76c89304ece4524c",
    k_ocra: "9a8c5f62e020a65ad35f0fe7b99d9e18b78cb459a51da084832b94346ae6c083",
    txn_digest: "9b1ab3512cca4dfdfbfe854360f0949d73e3e410d49d149cde6b29902d1df597",
    bank_mac: "c89867969364248e2ff659e4de86d385ccdc039fcf0cf24b0317d729100b718d",
    approval: "4e606ac1b353774f0c8a15e63281daaaace79050f1e8a133f58d2b1a9b6d038b",
    rejection: "ae07584edea5433ac0874731203e8b10a98cef62c75ec2af8aeb59dca9511c5d",
    poll_t: 1_700_000_010,
    poll_nonce_base32: "UCQ2FI5EUWTKPKFJVKV2ZLNOV4",
    poll_mac: "ddad4914a67184b14f4c1da7ef4ceb88ccaf08b5ccba736916de75eded948129",
    offline: [
        ("1234567", 1_700_000_000, "414993"),
        ("1234567", 1_700_000_030, "073759"),
        ("12345", 1_700_000_000, "985725"),
    ],
};

/// The transfer of the spec's poll-response example.
const FIELDS: [(&str, &str); 6] = [
    ("payee_bank", "かけしん信用金庫"),
    ("payee_branch", "本店営業部"),
    ("account_type", "普通"),
    ("account_number", "1234567"),
    ("payee_name", "ヤマダ タロウ"),
    ("amount", "12000"),
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn serial() -> Serial {
    Serial::parse_strict(V.serial).unwrap()
}

fn keys() -> (TxnKey, softtoken_core::txn::OcraKey) {
    derive_txn_keys(&Secret::new(unhex(V.k_token)), &serial())
}

fn fields() -> Vec<(String, String)> {
    FIELDS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn transaction() -> Transaction {
    Transaction::new(
        TxnId::parse(V.txn_id_base32).unwrap(),
        serial(),
        Kind::Transfer,
        V.created_at,
        V.expires_at,
        fields(),
    )
    .unwrap()
}

#[test]
fn txn_id_is_bytes_00_to_0f() {
    let id = TxnId::parse(V.txn_id_base32).unwrap();
    assert_eq!(
        id.as_bytes(),
        &core::array::from_fn::<u8, 16, _>(|i| i as u8)
    );
    assert_eq!(id.to_base32(), V.txn_id_base32);
}

#[test]
fn k_txn_and_k_ocra() {
    let (t, o) = keys();
    assert_eq!(hex(t.expose()), V.k_txn);
    assert_eq!(hex(o.expose()), V.k_ocra);
}

#[test]
fn digest_and_macs() {
    let (t, _) = keys();
    let tx = transaction();
    let d = tx.digest();
    assert_eq!(hex(d.as_bytes()), V.txn_digest);
    assert_eq!(hex(&t.bank_mac(&d)), V.bank_mac);
    assert_eq!(hex(&t.approval(&d)), V.approval);
    assert_eq!(hex(&t.rejection(&d)), V.rejection);
    t.verify_bank_mac(&d, &unhex(V.bank_mac)).unwrap();
    t.verify_approval(&d, &unhex(V.approval)).unwrap();
    t.verify_rejection(&d, &unhex(V.rejection)).unwrap();
    // The labels keep the three MACs apart.
    assert_eq!(
        t.verify_approval(&d, &unhex(V.rejection)),
        Err(TxnError::DecisionMac)
    );
    assert_eq!(
        t.verify_rejection(&d, &unhex(V.approval)),
        Err(TxnError::DecisionMac)
    );
    assert_eq!(
        t.verify_bank_mac(&d, &unhex(V.approval)),
        Err(TxnError::BankMac)
    );
}

#[test]
fn poll_mac() {
    let (t, _) = keys();
    let nonce: [u8; 16] = core::array::from_fn(|i| 0xa0 + i as u8);
    assert_eq!(
        softtoken_core::encoding::encode(&nonce),
        V.poll_nonce_base32
    );
    assert_eq!(hex(&t.poll_mac(&serial(), V.poll_t, &nonce)), V.poll_mac);
    t.verify_poll_mac(&serial(), V.poll_t, &nonce, &unhex(V.poll_mac))
        .unwrap();
    assert_eq!(
        t.verify_poll_mac(&serial(), V.poll_t + 1, &nonce, &unhex(V.poll_mac)),
        Err(TxnError::PollMac)
    );
}

#[test]
fn poll_request_body_of_the_vector() {
    let (t, _) = keys();
    let body = format!(
        r#"{{"v":1,"t":{},"nonce":"{}","mac":"{}"}}"#,
        V.poll_t,
        V.poll_nonce_base32,
        softtoken_core::encoding::encode(&unhex(V.poll_mac))
    );
    let req: PollRequest = wire::decode(body.as_bytes()).unwrap();
    req.verify(&t, &serial()).unwrap();
    let nonce: [u8; 16] = core::array::from_fn(|i| 0xa0 + i as u8);
    assert_eq!(PollRequest::new(&t, &serial(), V.poll_t, nonce), req);
    assert_eq!(serde_json::to_string(&req).unwrap(), body);
}

/// The poll response of the spec (with the vector's `bank_mac`) decodes,
/// verifies and gives back the transaction; a decision made from it
/// carries the vector's approval/rejection.
#[test]
fn poll_response_body_of_the_spec_example() {
    let (t, _) = keys();
    let body = format!(
        r#"{{"v":1,"server_time":1700000012,"transactions":[
  {{"txn_id":"{}","kind":"transfer","created_at":1700000000,"expires_at":1700000300,
   "fields":[["payee_bank","かけしん信用金庫"],["payee_branch","本店営業部"],["account_type","普通"],
             ["account_number","1234567"],["payee_name","ヤマダ タロウ"],["amount","12000"]],
   "bank_mac":"{}"}}]}}"#,
        V.txn_id_base32,
        softtoken_core::encoding::encode(&unhex(V.bank_mac))
    );
    let resp = PollResponse::decode(body.as_bytes()).unwrap();
    assert_eq!(resp.server_time, 1_700_000_012);
    assert_eq!(resp.transactions.len(), 1);
    let w = &resp.transactions[0];
    assert_eq!(w, &WireTransaction::sign(&transaction(), &t));
    let tx = w.verify(&t, &serial(), resp.server_time).unwrap();
    assert_eq!(tx, transaction());
    assert_eq!(tx.amount(), 12_000);
    assert_eq!(tx.offline_question(), "1234567");

    let approve = DecisionRequest::new(&t, &tx, Decision::Approve);
    assert_eq!(hex(&approve.mac), V.approval);
    approve.verify(&t, &transaction()).unwrap();
    let reject = DecisionRequest::new(&t, &tx, Decision::Reject);
    assert_eq!(hex(&reject.mac), V.rejection);
    let json = serde_json::to_string(&reject).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"v":1,"decision":"reject","mac":"{}"}}"#,
            softtoken_core::encoding::encode(&unhex(V.rejection))
        )
    );
    let back: DecisionRequest = wire::decode(json.as_bytes()).unwrap();
    back.verify(&t, &transaction()).unwrap();
    // A rejection sent as an approval fails.
    let swapped = DecisionRequest {
        decision: Decision::Approve,
        ..back
    };
    assert_eq!(
        swapped.verify(&t, &transaction()),
        Err(TxnError::DecisionMac)
    );
    assert_eq!(TxnState::after(Decision::Reject).as_str(), "rejected");
}

#[test]
fn expired_by_the_bank_clock_is_not_shown() {
    let (t, _) = keys();
    let w = WireTransaction::sign(&transaction(), &t);
    assert!(w.verify(&t, &serial(), V.expires_at - 1).is_ok());
    assert_eq!(
        w.verify(&t, &serial(), V.expires_at).unwrap_err(),
        TxnError::Expired
    );
}

#[test]
fn another_tokens_key_or_serial_fails_the_bank_mac() {
    let (t, _) = keys();
    let w = WireTransaction::sign(&transaction(), &t);
    let other = Serial::parse_strict("0000000000AC").unwrap();
    assert_eq!(
        w.verify(&t, &other, V.created_at).unwrap_err(),
        TxnError::BankMac
    );
    let (t2, _) = derive_txn_keys(&Secret::new(unhex(V.k_token)), &other);
    assert_eq!(
        w.verify(&t2, &serial(), V.created_at).unwrap_err(),
        TxnError::BankMac
    );
}

#[test]
fn offline_codes() {
    let (_, o) = keys();
    for (question, t, want) in V.offline {
        let code = o.offline_code(question, t).unwrap();
        assert_eq!(code.as_str(), want, "question {question}, t = {t}");
        let step = offline_step(t);
        assert_eq!(step, t / 30);
        assert!(o.check_offline_code(question, step, want));
        // Bound to the question and to the step.
        assert!(!o.check_offline_code("7654321", step, want));
        assert!(!o.check_offline_code(question, step + 1, want));
        // The same code through the general OCRA implementation.
        let suite: Suite = OFFLINE_SUITE.parse().unwrap();
        let general = ocra::compute(
            &suite,
            o.expose(),
            &OcraInput {
                question: Question::One(question),
                timestep: suite.timestep_at(t),
                ..OcraInput::default()
            },
        )
        .unwrap();
        assert_eq!(general.as_str(), want);
    }
    // Typed with full-width digits and a space, as a customer might.
    let typed = offline_question("１２３ ４５６７").unwrap();
    assert_eq!(
        o.offline_code(&typed, 1_700_000_000).unwrap().as_str(),
        "414993"
    );
    // The stored transaction's question is the account number.
    assert_eq!(transaction().offline_question(), "1234567");
}

/// No key, MAC-checked value, code or payee datum of the vector appears in
/// any `Debug` output of the types that carry them.
#[test]
fn debug_output_of_the_vector_is_redacted() {
    let (t, o) = keys();
    let tx = transaction();
    let w = WireTransaction::sign(&tx, &t);
    let resp = PollResponse {
        v: 1,
        server_time: V.created_at,
        transactions: vec![w.clone()],
    };
    let code = o.offline_code("1234567", V.created_at).unwrap();
    let shown = format!("{t:?} {o:?} {tx:?} {w:?} {resp:?} {code:?} {:#?}", resp);
    for secret in [
        &V.k_txn[..16],
        &V.k_ocra[..16],
        &V.k_token[..16],
        "かけしん",
        "本店",
        "ヤマダ",
        "1234567",
        "12000",
        "414993",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains(V.txn_id_base32), "the id is not secret");
}
