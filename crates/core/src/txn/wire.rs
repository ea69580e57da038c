//! JSON bodies of the two app endpoints of STK1-TXN.
//!
//! * `POST /v1/tokens/{serial}/transactions/pending`: [`PollRequest`] →
//!   [`PollResponse`] of [`WireTransaction`]s;
//! * `POST /v1/tokens/{serial}/transactions/{txn_id}/decision`:
//!   [`DecisionRequest`] → [`DecisionResponse`].
//!
//! [`decode`] is the one entry point for received bodies. It is the STK1
//! decoder ([`crate::stk1::messages::decode`]): size limit, JSON syntax, no
//! duplicate key at any depth, `"v"` (absent → `invalid_request`, other
//! than 1 → `unsupported_version`), then the fields, with binary fields in
//! strict base32 of their exact length. Request bodies refuse unknown
//! members; response bodies ignore them (they are never shown and no MAC
//! covers them). Errors never quote the input.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{
    txn_digest, Decision, Kind, Transaction, TxnDigest, TxnError, TxnId, TxnKey, MAC_LEN, NONCE_LEN,
};
use crate::serial::Serial;
use crate::stk1::VERSION;

/// Most transactions one poll response may carry.
pub const MAX_PENDING: usize = 10;

/// Parses a received body (see the module documentation).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, TxnError> {
    crate::stk1::messages::decode(body).map_err(TxnError::from)
}

/// serde adapter: a fixed-length byte array as strict base32.
pub mod b32 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes upper-case base32 without padding.
    pub fn serialize<S: Serializer, const N: usize>(b: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::encoding::encode(b))
    }

    /// Reads strict base32 of exactly `N` bytes.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        crate::encoding::decode_array::<N>(&s).map_err(serde::de::Error::custom)
    }
}

/// States of a transaction at the token service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TxnState {
    /// Waiting for the customer's decision.
    Pending,
    /// Approved in the app; web banking may consume it once.
    Approved,
    /// Rejected in the app; never runs.
    Rejected,
    /// Not decided in time; never runs.
    Expired,
    /// Executed by web banking (after `consume` or `verify_code`).
    Consumed,
}

impl TxnState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TxnState::Pending => "pending",
            TxnState::Approved => "approved",
            TxnState::Rejected => "rejected",
            TxnState::Expired => "expired",
            TxnState::Consumed => "consumed",
        }
    }

    /// The state a decision leads to.
    pub fn after(decision: Decision) -> TxnState {
        match decision {
            Decision::Approve => TxnState::Approved,
            Decision::Reject => TxnState::Rejected,
        }
    }
}

/// `POST …/transactions/pending` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollRequest {
    /// Always 1.
    pub v: u32,
    /// The app's clock, Unix seconds.
    pub t: u64,
    /// 16 random bytes, base32.
    #[serde(with = "b32")]
    pub nonce: [u8; NONCE_LEN],
    /// The poll MAC, base32.
    #[serde(with = "b32")]
    pub mac: [u8; MAC_LEN],
}

impl PollRequest {
    /// Builds a request with its MAC (the app's side).
    pub fn new(key: &TxnKey, serial: &Serial, t: u64, nonce: [u8; NONCE_LEN]) -> PollRequest {
        PollRequest {
            v: VERSION,
            t,
            mac: key.poll_mac(serial, t, &nonce),
            nonce,
        }
    }

    /// Checks the MAC in constant time (the server's side) →
    /// [`TxnError::PollMac`]. The `|t − now| ≤ 120` window and the nonce
    /// memory are the server's.
    pub fn verify(&self, key: &TxnKey, serial: &Serial) -> Result<(), TxnError> {
        key.verify_poll_mac(serial, self.t, &self.nonce, &self.mac)
    }
}

/// One transaction as carried in a poll response. `Debug` leaves out the
/// values (payee data stays out of logs).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireTransaction {
    /// 16 bytes, base32.
    pub txn_id: TxnId,
    /// Transfer or payment.
    pub kind: Kind,
    /// Unix seconds, server clock.
    pub created_at: u64,
    /// Unix seconds, server clock.
    pub expires_at: u64,
    /// `[key, value]` pairs, in order.
    pub fields: Vec<(String, String)>,
    /// `bank_mac`, base32.
    #[serde(with = "b32")]
    pub bank_mac: [u8; MAC_LEN],
}

impl core::fmt::Debug for WireTransaction {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WireTransaction")
            .field("txn_id", &self.txn_id)
            .field("kind", &self.kind)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("fields", &"[not shown]")
            .finish_non_exhaustive()
    }
}

impl WireTransaction {
    /// The server's side: the transaction with its `bank_mac`.
    pub fn sign(tx: &Transaction, key: &TxnKey) -> WireTransaction {
        WireTransaction {
            txn_id: *tx.txn_id(),
            kind: tx.kind(),
            created_at: tx.created_at(),
            expires_at: tx.expires_at(),
            fields: tx.fields().to_vec(),
            bank_mac: key.bank_mac(&tx.digest()),
        }
    }

    /// `txn_digest` of the values exactly as received.
    pub fn digest(&self, serial: &Serial) -> TxnDigest {
        txn_digest(
            &self.txn_id,
            serial,
            self.kind,
            self.created_at,
            self.expires_at,
            &self.fields,
        )
    }

    /// The app's side: what must hold before anything is shown. In this
    /// order: `bank_mac` over the values as received (constant time) →
    /// [`TxnError::BankMac`]; the kind's keys, in order, and every value's
    /// rule → [`TxnError::WrongKeys`] / [`TxnError::InvalidValue`]; the
    /// lifetime → [`TxnError::Lifetime`]; `expires_at` after the bank's
    /// `server_time` → [`TxnError::Expired`].
    pub fn verify(
        &self,
        key: &TxnKey,
        serial: &Serial,
        server_time: u64,
    ) -> Result<Transaction, TxnError> {
        key.verify_bank_mac(&self.digest(serial), &self.bank_mac)?;
        let tx = Transaction::new(
            self.txn_id,
            serial.clone(),
            self.kind,
            self.created_at,
            self.expires_at,
            self.fields.clone(),
        )?;
        if tx.is_expired(server_time) {
            return Err(TxnError::Expired);
        }
        Ok(tx)
    }
}

/// `POST …/transactions/pending` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollResponse {
    /// Always 1.
    pub v: u32,
    /// The server clock, Unix seconds.
    pub server_time: u64,
    /// Pending, unexpired transactions of the token, oldest first, at most
    /// [`MAX_PENDING`].
    pub transactions: Vec<WireTransaction>,
}

impl PollResponse {
    /// Parses a received response: [`decode`], then at most
    /// [`MAX_PENDING`] transactions (more → `invalid_request`).
    pub fn decode(body: &[u8]) -> Result<PollResponse, TxnError> {
        let r: PollResponse = decode(body)?;
        if r.transactions.len() > MAX_PENDING {
            return Err(TxnError::InvalidRequest(format!(
                "more than {MAX_PENDING} transactions"
            )));
        }
        Ok(r)
    }
}

/// `POST …/transactions/{txn_id}/decision` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Always 1.
    pub v: u32,
    /// `approve` or `reject`.
    pub decision: Decision,
    /// The approval or the rejection, base32.
    #[serde(with = "b32")]
    pub mac: [u8; MAC_LEN],
}

impl DecisionRequest {
    /// The app's side: the decision with its MAC over the shown
    /// transaction.
    pub fn new(key: &TxnKey, tx: &Transaction, decision: Decision) -> DecisionRequest {
        DecisionRequest {
            v: VERSION,
            decision,
            mac: key.decision_mac(decision, &tx.digest()),
        }
    }

    /// The server's side: constant-time check of the MAC for the stored
    /// transaction → [`TxnError::DecisionMac`] (`confirm_failed`).
    pub fn verify(&self, key: &TxnKey, tx: &Transaction) -> Result<(), TxnError> {
        key.verify_decision(self.decision, &tx.digest(), &self.mac)
    }
}

/// `POST …/transactions/{txn_id}/decision` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionResponse {
    /// Always 1.
    pub v: u32,
    /// The transaction decided.
    pub txn_id: TxnId,
    /// `approved` or `rejected`.
    pub state: TxnState,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "UCQ2FI5EUWTKPKFJVKV2ZLNOV4";
    const MAC: &str = "ZCMGPFUTMQSI4L7WLHSN5BWTQXGNYA47Z4GPES2DC7LSSEALOGGQ";

    fn poll(body: &str) -> Result<PollRequest, TxnError> {
        decode(body.as_bytes())
    }

    #[test]
    fn poll_request_is_strict() {
        let ok = format!(r#"{{"v":1,"t":5,"nonce":"{NONCE}","mac":"{MAC}"}}"#);
        assert_eq!(poll(&ok).unwrap().t, 5);
        let cases = [
            // version
            (
                format!(r#"{{"t":5,"nonce":"{NONCE}","mac":"{MAC}"}}"#),
                false,
            ),
            (
                format!(r#"{{"v":2,"t":5,"nonce":"{NONCE}","mac":"{MAC}"}}"#),
                true,
            ),
            (
                format!(r#"{{"v":"1","t":5,"nonce":"{NONCE}","mac":"{MAC}"}}"#),
                true,
            ),
            // base32: lower case, padding, wrong length, stray character
            (
                format!(
                    r#"{{"v":1,"t":5,"nonce":"{}","mac":"{MAC}"}}"#,
                    NONCE.to_lowercase()
                ),
                false,
            ),
            (
                format!(r#"{{"v":1,"t":5,"nonce":"{NONCE}======","mac":"{MAC}"}}"#),
                false,
            ),
            (
                format!(
                    r#"{{"v":1,"t":5,"nonce":"{}","mac":"{MAC}"}}"#,
                    &NONCE[..24]
                ),
                false,
            ),
            (
                format!(
                    r#"{{"v":1,"t":5,"nonce":"{NONCE}","mac":"{}"}}"#,
                    &MAC[..51]
                ),
                false,
            ),
            (
                format!(r#"{{"v":1,"t":5,"nonce":"{NONCE} ","mac":"{MAC}"}}"#),
                false,
            ),
            // types, unknown member, duplicate key
            (
                format!(r#"{{"v":1,"t":-5,"nonce":"{NONCE}","mac":"{MAC}"}}"#),
                false,
            ),
            (
                format!(r#"{{"v":1,"t":"5","nonce":"{NONCE}","mac":"{MAC}"}}"#),
                false,
            ),
            (
                format!(r#"{{"v":1,"t":5,"nonce":"{NONCE}","mac":"{MAC}","x":1}}"#),
                false,
            ),
            (
                format!(r#"{{"v":1,"t":5,"t":6,"nonce":"{NONCE}","mac":"{MAC}"}}"#),
                false,
            ),
            (
                format!(r#"{{"v":1,"v":1,"t":5,"nonce":"{NONCE}","mac":"{MAC}"}}"#),
                false,
            ),
        ];
        for (body, version) in cases {
            let err = poll(&body).unwrap_err();
            if version {
                assert_eq!(err, TxnError::UnsupportedVersion, "{body}");
            } else {
                assert!(
                    matches!(err, TxnError::InvalidRequest(_)),
                    "{body}: {err:?}"
                );
                assert_eq!(err.code(), crate::stk1::ErrorCode::InvalidRequest);
            }
        }
    }

    fn tx_json(extra: &str) -> String {
        format!(
            r#"{{"v":1,"server_time":1,"transactions":[{{"txn_id":"AAAQEAYEAUDAOCAJBIFQYDIOB4","kind":"payment",
            "created_at":1,"expires_at":301,"fields":[["biller_number","12345"],["customer_number","A1"],
            ["confirmation_number","9"],["amount","5"]],"bank_mac":"{MAC}"{extra}}}]}}"#
        )
    }

    #[test]
    fn poll_response_is_strict_but_ignores_unknown_members() {
        let r = PollResponse::decode(tx_json("").as_bytes()).unwrap();
        assert_eq!(r.transactions[0].kind, Kind::Payment);
        assert!(PollResponse::decode(tx_json(r#","hint":"x""#).as_bytes()).is_ok());
        for bad in [
            tx_json(r#","kind":"transfer""#),
            tx_json("").replace("\"payment\"", "\"loan\""),
            tx_json("").replace(r#"["amount","5"]"#, r#"["amount","5","x"]"#),
            tx_json("").replace(r#"["amount","5"]"#, r#"["amount",5]"#),
            tx_json("").replace("AAAQEAYEAUDAOCAJBIFQYDIOB4", "AAAQEAYEAUDAOCAJBIFQYDIOB"),
        ] {
            assert!(
                matches!(
                    PollResponse::decode(bad.as_bytes()),
                    Err(TxnError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
        let one = tx_json("");
        let start = one.find("{\"txn_id\"").unwrap();
        let end = one.rfind(']').unwrap();
        let item = &one[start..end];
        let eleven = [item; MAX_PENDING + 1].join(",");
        let body = format!(r#"{{"v":1,"server_time":1,"transactions":[{eleven}]}}"#);
        assert!(matches!(
            PollResponse::decode(body.as_bytes()),
            Err(TxnError::InvalidRequest(_))
        ));
        let ten = [item; MAX_PENDING].join(",");
        let body = format!(r#"{{"v":1,"server_time":1,"transactions":[{ten}]}}"#);
        assert_eq!(
            PollResponse::decode(body.as_bytes())
                .unwrap()
                .transactions
                .len(),
            10
        );
    }

    #[test]
    fn decision_request_is_strict() {
        let ok = format!(r#"{{"v":1,"decision":"approve","mac":"{MAC}"}}"#);
        let d: DecisionRequest = decode(ok.as_bytes()).unwrap();
        assert_eq!(d.decision, Decision::Approve);
        for bad in [
            format!(r#"{{"v":1,"decision":"Approve","mac":"{MAC}"}}"#),
            format!(r#"{{"v":1,"decision":"approved","mac":"{MAC}"}}"#),
            r#"{"v":1,"decision":"approve"}"#.to_string(),
            format!(r#"{{"v":1,"decision":"approve","decision":"reject","mac":"{MAC}"}}"#),
        ] {
            assert!(
                matches!(
                    decode::<DecisionRequest>(bad.as_bytes()),
                    Err(TxnError::InvalidRequest(_))
                ),
                "{bad}"
            );
        }
        let resp: DecisionResponse =
            decode(br#"{"v":1,"txn_id":"AAAQEAYEAUDAOCAJBIFQYDIOB4","state":"approved"}"#).unwrap();
        assert_eq!(resp.state, TxnState::Approved);
    }

    #[test]
    fn errors_and_debug_do_not_echo_values() {
        let body = tx_json("").replace("\"A1\"", "\"SECRETPAYEE1\"");
        let r = PollResponse::decode(body.as_bytes()).unwrap();
        let shown = format!("{r:?}");
        assert!(!shown.contains("SECRETPAYEE1"), "{shown}");
        let body = body.replace("\"SECRETPAYEE1\"", "[\"SECRETPAYEE1\"]");
        let err = PollResponse::decode(body.as_bytes()).unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let body = format!(r#"{{"v":1,"decision":"SECRET-PAYEE","mac":"{MAC}"}}"#);
        let err = decode::<DecisionRequest>(body.as_bytes()).unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }
}
