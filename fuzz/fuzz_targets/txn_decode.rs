//! STK1-TXN body decoding (poll request/response, decision
//! request/response) and the app's verification of a received
//! transaction: never panic, error texts never echo input, and a
//! transaction that verifies is one `Transaction::new` accepts.
#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_core::serial::Serial;
use softtoken_core::txn::wire::{self, *};
use softtoken_core::txn::{derive_txn_keys, TxnError};
use softtoken_core::Secret;

fn check<T: serde::de::DeserializeOwned>(data: &[u8]) -> Option<T> {
    match wire::decode::<T>(data) {
        Ok(v) => Some(v),
        Err(TxnError::InvalidRequest(text)) => {
            assert!(text.len() < 200);
            None
        }
        Err(_) => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let serial = Serial::parse_strict("K7M3Q9XZ2PD0").unwrap();
    let (key, _) = derive_txn_keys(&Secret::from_slice(&[1; 20]), &serial);
    if let Some(req) = check::<PollRequest>(data) {
        let _ = req.verify(&key, &serial);
    }
    check::<DecisionRequest>(data);
    check::<DecisionResponse>(data);
    if let Ok(resp) = PollResponse::decode(data) {
        assert!(resp.transactions.len() <= MAX_PENDING);
        for w in &resp.transactions {
            // A forged MAC never verifies; the real one (computed here)
            // verifies only for a well-formed, unexpired transaction.
            assert!(
                w.verify(&key, &serial, resp.server_time).is_err()
                    || w.bank_mac == key.bank_mac(&w.digest(&serial))
            );
            let mut signed = w.clone();
            signed.bank_mac = key.bank_mac(&w.digest(&serial));
            if let Ok(tx) = signed.verify(&key, &serial, resp.server_time) {
                assert_eq!(tx.digest(), w.digest(&serial));
                assert!(tx.expires_at() > resp.server_time);
            }
        }
    }
});
