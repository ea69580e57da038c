//! Property tests of STK1-TXN: the boundaries of every value rule and of
//! the lifetime, and tamper evidence (any change of any part of a
//! transaction, or of any byte of a MAC, fails verification).
// Test and measurement code: a panic is the failure report (the workspace
// denies unwrap/expect, Cargo.toml `[workspace.lints]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use softtoken_core::serial::Serial;
use softtoken_core::txn::wire::{self, PollRequest, PollResponse, WireTransaction};
use softtoken_core::txn::{
    derive_txn_keys, Decision, FieldProblem, Kind, Transaction, TxnError, TxnId, TxnKey, ValueRule,
};
use softtoken_core::Secret;

fn serial() -> Serial {
    Serial::parse_strict("K7M3Q9XZ2PD0").unwrap()
}

fn key() -> TxnKey {
    derive_txn_keys(&Secret::from_slice(&[0x42; 20]), &serial()).0
}

/// Free text of 1..=128 bytes: kana, kanji, ASCII letters and inner spaces.
fn text() -> impl Strategy<Value = String> {
    "[ァ-ヶ亜-熙A-Za-z0-9][ァ-ヶ亜-熙A-Za-z0-9 ]{0,30}[ァ-ヶ亜-熙A-Za-z0-9]"
        .prop_filter("≤ 128 bytes", |s| s.len() <= 128)
}

fn amount() -> impl Strategy<Value = String> {
    (1u64..=10_000_000).prop_map(|n| n.to_string())
}

fn transfer_fields() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        text(),
        text(),
        prop::sample::select(vec!["普通", "当座", "貯蓄"]),
        "[0-9]{7}",
        text(),
        amount(),
    )
        .prop_map(|(bank, branch, ty, acct, name, amt)| {
            vec![
                ("payee_bank".into(), bank),
                ("payee_branch".into(), branch),
                ("account_type".into(), ty.into()),
                ("account_number".into(), acct),
                ("payee_name".into(), name),
                ("amount".into(), amt),
            ]
        })
}

fn payment_fields() -> impl Strategy<Value = Vec<(String, String)>> {
    ("[0-9]{5}", "[A-Za-z0-9]{1,20}", "[0-9]{1,16}", amount()).prop_map(|(b, c, k, a)| {
        vec![
            ("biller_number".into(), b),
            ("customer_number".into(), c),
            ("confirmation_number".into(), k),
            ("amount".into(), a),
        ]
    })
}

fn transaction() -> impl Strategy<Value = Transaction> {
    (
        any::<[u8; 16]>(),
        prop_oneof![
            transfer_fields().prop_map(|f| (Kind::Transfer, f)),
            payment_fields().prop_map(|f| (Kind::Payment, f)),
        ],
        0u64..(1 << 40),
        60u64..=900,
    )
        .prop_map(|(id, (kind, fields), created, life)| {
            Transaction::new(
                TxnId::from_bytes(id),
                serial(),
                kind,
                created,
                created + life,
                fields,
            )
            .unwrap()
        })
}

/// A copy of `tx` with one part changed; `which` picks the part.
fn tampered(tx: &Transaction, which: usize, byte: u8) -> Option<WireTransaction> {
    let mut w = WireTransaction::sign(tx, &key());
    let n = w.fields.len();
    match which % (n + 4) {
        0 => {
            let mut id = *w.txn_id.as_bytes();
            id[usize::from(byte) % 16] ^= 1 | byte;
            w.txn_id = TxnId::from_bytes(id);
        }
        1 => w.created_at ^= 1 + u64::from(byte),
        2 => w.expires_at ^= 1 + u64::from(byte),
        3 => {
            w.kind = if w.kind == Kind::Transfer {
                Kind::Payment
            } else {
                Kind::Transfer
            }
        }
        i => {
            let v = &mut w.fields[i - 4].1;
            // Change one character (keeping the value well formed is not
            // needed: the MAC must fail first).
            let c = v.pop()?;
            let replacement = if c == char::from(b'0' + byte % 10) {
                char::from(b'0' + (byte + 1) % 10)
            } else {
                char::from(b'0' + byte % 10)
            };
            v.push(replacement);
        }
    }
    Some(w)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Valid transactions survive the wire: sign → JSON → decode → verify.
    #[test]
    fn wire_round_trip(tx in transaction()) {
        let k = key();
        let body = serde_json::json!({
            "v": 1,
            "server_time": tx.created_at(),
            "transactions": [WireTransaction::sign(&tx, &k)],
        })
        .to_string();
        let resp = PollResponse::decode(body.as_bytes()).unwrap();
        let back = resp.transactions[0].verify(&k, &serial(), tx.created_at()).unwrap();
        prop_assert_eq!(&back, &tx);
        prop_assert_eq!(back.digest(), tx.digest());
    }

    /// Changing any part of a signed transaction changes the digest and the
    /// app refuses it with `BankMac`; the stored approval no longer checks.
    #[test]
    fn tampering_any_part_fails(tx in transaction(), which in 0usize..64, byte in any::<u8>()) {
        let k = key();
        if let Some(w) = tampered(&tx, which, byte) {
            prop_assert_ne!(w.digest(&serial()), tx.digest());
            prop_assert_eq!(w.verify(&k, &serial(), tx.created_at()).unwrap_err(), TxnError::BankMac);
            let approval = k.approval(&tx.digest());
            prop_assert_eq!(
                k.verify_approval(&w.digest(&serial()), &approval),
                Err(TxnError::DecisionMac)
            );
        }
    }

    /// Flipping any bit of any MAC fails its check; so does any other length.
    #[test]
    fn any_mac_bit_flip_fails(tx in transaction(), bit in 0usize..256, cut in 0usize..32) {
        let k = key();
        let d = tx.digest();
        for decision in [Decision::Approve, Decision::Reject] {
            let mut m = k.decision_mac(decision, &d);
            k.verify_decision(decision, &d, &m).unwrap();
            m[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(k.verify_decision(decision, &d, &m), Err(TxnError::DecisionMac));
        }
        let mut b = k.bank_mac(&d);
        prop_assert!(k.verify_bank_mac(&d, &b[..cut]).is_err());
        b[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(k.verify_bank_mac(&d, &b), Err(TxnError::BankMac));
    }

    /// The poll MAC binds t, nonce and serial; the wire body round-trips.
    #[test]
    fn poll_mac_binds_everything(t in any::<u64>(), nonce in any::<[u8; 16]>(), bit in 0usize..128) {
        let k = key();
        let req = PollRequest::new(&k, &serial(), t, nonce);
        let back: PollRequest = wire::decode(serde_json::to_string(&req).unwrap().as_bytes()).unwrap();
        back.verify(&k, &serial()).unwrap();
        let mut n2 = nonce;
        n2[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(PollRequest { nonce: n2, ..back.clone() }.verify(&k, &serial()), Err(TxnError::PollMac));
        prop_assert_eq!(PollRequest { t: t ^ 1, ..back.clone() }.verify(&k, &serial()), Err(TxnError::PollMac));
        let other = Serial::parse_strict("0000000000AC").unwrap();
        prop_assert_eq!(back.verify(&k, &other), Err(TxnError::PollMac));
    }

    /// Values: accepted exactly up to 128 bytes.
    #[test]
    fn text_length_boundary(n in 1usize..200, kana in any::<bool>()) {
        let v: String = if kana {
            // 3 bytes each
            "ア".repeat(n.div_ceil(3))
        } else {
            "a".repeat(n)
        };
        let r = ValueRule::Text.check(&v);
        if v.len() <= 128 {
            prop_assert_eq!(r, Ok(()));
        } else {
            prop_assert_eq!(r, Err(FieldProblem::TooLong));
        }
    }

    /// Amounts: accepted exactly in 1..=10,000,000, never with a leading
    /// zero or a separator.
    #[test]
    fn amount_boundary(n in 0u64..20_000_000, zeros in 1usize..3) {
        let ok = (1..=10_000_000).contains(&n);
        prop_assert_eq!(ValueRule::Amount.check(&n.to_string()).is_ok(), ok);
        let padded = format!("{}{}", "0".repeat(zeros), n);
        prop_assert!(ValueRule::Amount.check(&padded).is_err());
        if n >= 1_000 {
            let grouped = softtoken_core::txn::amount::group_thousands(n);
            prop_assert!(ValueRule::Amount.check(&grouped).is_err());
        }
    }

    /// Digit fields: exactly their length.
    #[test]
    fn digit_lengths(len in 0usize..12) {
        let v = "1".repeat(len);
        prop_assert_eq!(ValueRule::Digits(7).check(&v).is_ok(), len == 7);
        prop_assert_eq!(ValueRule::Digits(5).check(&v).is_ok(), len == 5);
        prop_assert_eq!(ValueRule::ConfirmationNumber.check(&v).is_ok(), (1..=16).contains(&len));
        prop_assert_eq!(ValueRule::CustomerNumber.check(&v).is_ok(), (1..=20).contains(&len));
    }

    /// The lifetime must be 60..=900 seconds.
    #[test]
    fn lifetime_boundary(created in 0u64..(1 << 40), life in 0u64..1_200) {
        let fields = vec![
            ("biller_number".to_string(), "12345".to_string()),
            ("customer_number".to_string(), "1".to_string()),
            ("confirmation_number".to_string(), "1".to_string()),
            ("amount".to_string(), "1".to_string()),
        ];
        let r = Transaction::new(TxnId::from_bytes([0; 16]), serial(), Kind::Payment, created, created + life, fields);
        if (60..=900).contains(&life) {
            prop_assert!(r.is_ok());
        } else {
            prop_assert_eq!(r.unwrap_err(), TxnError::Lifetime);
        }
    }

    /// Keys: any reordering, omission, addition or renaming is refused.
    #[test]
    fn keys_exactly_in_order(fields in transfer_fields(), i in 0usize..6, j in 0usize..6, op in 0u8..4) {
        let mut f = fields;
        match op {
            0 if i != j => f.swap(i, j),
            1 => { f.remove(i); }
            2 => f.insert(i, ("memo".into(), "x".into())),
            3 => f[i].0.push('x'),
            _ => return Ok(()),
        }
        let r = Transaction::new(TxnId::from_bytes([0; 16]), serial(), Kind::Transfer, 0, 300, f);
        prop_assert_eq!(r.unwrap_err(), TxnError::WrongKeys);
    }
}

#[test]
fn payment_keys_are_not_transfer_keys() {
    let fields = vec![
        ("biller_number".to_string(), "12345".to_string()),
        ("customer_number".to_string(), "1".to_string()),
        ("confirmation_number".to_string(), "1".to_string()),
        ("amount".to_string(), "1".to_string()),
    ];
    let r = Transaction::new(
        TxnId::from_bytes([0; 16]),
        serial(),
        Kind::Transfer,
        0,
        300,
        fields,
    );
    assert_eq!(r.unwrap_err(), TxnError::WrongKeys);
}

#[test]
fn invalid_value_names_its_key() {
    let mut f: Vec<(String, String)> = softtoken_core::txn::TRANSFER_KEYS
        .iter()
        .map(|k| (k.to_string(), String::new()))
        .collect();
    for (k, v) in f.iter_mut() {
        *v = match k.as_str() {
            "account_type" => "普通".into(),
            "account_number" => "1234567".into(),
            "amount" => "1".into(),
            _ => "ヤマダ".into(),
        };
    }
    f[3].1 = "123456".into();
    let err = Transaction::new(
        TxnId::from_bytes([0; 16]),
        serial(),
        Kind::Transfer,
        0,
        300,
        f,
    )
    .unwrap_err();
    assert_eq!(
        err,
        TxnError::InvalidValue {
            key: "account_number",
            problem: FieldProblem::Digits(7)
        }
    );
    assert!(!err.to_string().contains("123456"));
}

/// A transaction the bank signed correctly but that breaks a rule (keys
/// out of order, a value not in NFC, a lifetime outside 60..=900) is still
/// never handed to the app as something to show.
#[test]
fn signed_but_malformed_is_refused_by_the_app() {
    let k = key();
    let good = Transaction::new(
        TxnId::from_bytes([9; 16]),
        serial(),
        Kind::Payment,
        1_000,
        1_300,
        vec![
            ("biller_number".to_string(), "12345".to_string()),
            ("customer_number".to_string(), "A1".to_string()),
            ("confirmation_number".to_string(), "7".to_string()),
            ("amount".to_string(), "500".to_string()),
        ],
    )
    .unwrap();
    let sign = |mut w: WireTransaction| {
        w.bank_mac = k.bank_mac(&w.digest(&serial()));
        w
    };
    let base = WireTransaction::sign(&good, &k);
    assert!(base.verify(&k, &serial(), 1_000).is_ok());

    let mut swapped = base.clone();
    swapped.fields.swap(1, 2);
    assert_eq!(
        sign(swapped).verify(&k, &serial(), 1_000).unwrap_err(),
        TxnError::WrongKeys
    );

    let mut not_nfc = base.clone();
    not_nfc.fields[1].1 = "A\u{0301}".into();
    assert_eq!(
        sign(not_nfc).verify(&k, &serial(), 1_000).unwrap_err(),
        TxnError::InvalidValue {
            key: "customer_number",
            problem: FieldProblem::NotNfc
        }
    );

    let mut long_life = base.clone();
    long_life.expires_at = long_life.created_at + 901;
    assert_eq!(
        sign(long_life).verify(&k, &serial(), 1_000).unwrap_err(),
        TxnError::Lifetime
    );

    let mut extra = base;
    extra.fields.push(("memo".into(), "x".into()));
    assert_eq!(
        sign(extra).verify(&k, &serial(), 1_000).unwrap_err(),
        TxnError::WrongKeys
    );
}
