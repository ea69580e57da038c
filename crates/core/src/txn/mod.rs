//! STK1-TXN, transaction confirmation 「取引認証」 (`shared/spec/stk1-txn.md`;
//! the choices the spec leaves open are listed in `docs/protocol.md`,
//! "STK1-TXN in the core").
//!
//! * [`derive_txn_keys`] — `K_TXN` and `K_OCRA` from `K_TOKEN`;
//! * [`Transaction`] — an immutable, validated transaction with its
//!   [`Kind`]-specific key vocabulary and [`Transaction::digest`];
//! * [`TxnKey`] — the bank, approval, rejection and poll MACs with
//!   constant-time checks;
//! * [`OcraKey`] — the offline 取引認証番号 (RFC 6287 OCRA,
//!   [`OFFLINE_SUITE`]);
//! * [`wire`] — the JSON bodies of the two app endpoints;
//! * [`amount`] — grouping of yen amounts for display.
//!
//! ```text
//! okm        = HKDF-SHA256(salt = absent, ikm = K_TOKEN,
//!                          info = "STK1 transaction keys" ‖ lp(serial), L = 64)
//! K_TXN      = okm[0..32], K_OCRA = okm[32..64]
//! txn_digest = SHA-256("STK1 txn" ‖ lp(txn_id) ‖ lp(serial) ‖ lp(kind) ‖
//!                      u64be(created_at) ‖ u64be(expires_at) ‖ u16be(n) ‖
//!                      for each field: lp(key) ‖ lp(value))
//! bank_mac   = HMAC-SHA256(K_TXN, "STK1 txn bank"    ‖ txn_digest)
//! approval   = HMAC-SHA256(K_TXN, "STK1 txn approve" ‖ txn_digest)
//! rejection  = HMAC-SHA256(K_TXN, "STK1 txn reject"  ‖ txn_digest)
//! poll mac   = HMAC-SHA256(K_TXN, "STK1 txn poll" ‖ lp(serial) ‖ u64be(t) ‖ lp(nonce))
//! ```
//!
//! Nothing here reads a clock: every time is a parameter.

pub mod amount;
mod fields;
mod offline;
pub mod wire;

use core::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

use crate::secret::Secret;
use crate::serial::Serial;
use crate::stk1::ErrorCode;

pub use fields::{FieldProblem, ValueRule, ACCOUNT_TYPES};
pub use offline::{offline_question, offline_step};

/// Length of a transaction id in bytes.
pub const TXN_ID_LEN: usize = 16;
/// Length of a poll nonce in bytes.
pub const NONCE_LEN: usize = 16;
/// Length of every MAC and of the digest, in bytes.
pub const MAC_LEN: usize = 32;
/// The lifetime the spec names as the default, in seconds.
pub const DEFAULT_LIFETIME: u64 = 300;
/// Shortest lifetime a bank may configure, in seconds.
pub const MIN_LIFETIME: u64 = 60;
/// Longest lifetime a bank may configure, in seconds.
pub const MAX_LIFETIME: u64 = 900;
/// Largest value of a field, in UTF-8 bytes.
pub const MAX_VALUE_BYTES: usize = 128;
/// Smallest amount, in yen.
pub const MIN_AMOUNT: u64 = 1;
/// Largest amount, in yen.
pub const MAX_AMOUNT: u64 = 10_000_000;
/// The OCRA suite of the offline 取引認証番号.
pub const OFFLINE_SUITE: &str = "OCRA-1:HOTP-SHA256-6:QN08-T30S";
/// Time step of the offline code, in seconds.
pub const OFFLINE_STEP: u64 = 30;

/// Errors of this module. Texts name a field key or a rule, never a value,
/// a MAC, a key or a code (payee data must not reach logs).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TxnError {
    /// Malformed body, field or encoding (wire code `invalid_request`).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// `"v"` is not 1.
    #[error("unsupported protocol version")]
    UnsupportedVersion,
    /// `kind` is not `transfer` or `payment`.
    #[error("unknown transaction kind")]
    UnknownKind,
    /// The field keys are not exactly the kind's keys in order.
    #[error("the field keys are not the ones of this kind, in order")]
    WrongKeys,
    /// A value breaks its rule.
    #[error("field `{key}`: {problem}")]
    InvalidValue {
        /// The field's key (a fixed word of the vocabulary).
        key: &'static str,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// `expires_at − created_at` is outside 60..=900 seconds.
    #[error("the lifetime must be {MIN_LIFETIME} to {MAX_LIFETIME} seconds")]
    Lifetime,
    /// The transaction has expired at the given time.
    #[error("the transaction has expired")]
    Expired,
    /// `bank_mac` of a received transaction did not check.
    #[error("the bank's MAC does not match")]
    BankMac,
    /// An approval or rejection MAC did not check.
    #[error("the decision MAC does not match")]
    DecisionMac,
    /// A poll request's MAC did not check.
    #[error("the poll MAC does not match")]
    PollMac,
    /// The offline question is not 1..=8 ASCII digits.
    #[error("the offline question must be 1 to 8 digits")]
    OfflineQuestion,
}

impl TxnError {
    /// The wire error code for this error.
    ///
    /// The mapping is the app endpoints' one: a bad decision MAC is
    /// `confirm_failed`, a bad poll MAC `unauthorized`, an expired
    /// transaction `txn_expired`; everything malformed is `invalid_request`.
    pub fn code(&self) -> ErrorCode {
        match self {
            TxnError::UnsupportedVersion => ErrorCode::UnsupportedVersion,
            TxnError::Expired => ErrorCode::TxnExpired,
            TxnError::DecisionMac => ErrorCode::ConfirmFailed,
            TxnError::PollMac => ErrorCode::Unauthorized,
            TxnError::BankMac => ErrorCode::ConfirmFailed,
            TxnError::InvalidRequest(_)
            | TxnError::UnknownKind
            | TxnError::WrongKeys
            | TxnError::InvalidValue { .. }
            | TxnError::Lifetime
            | TxnError::OfflineQuestion => ErrorCode::InvalidRequest,
        }
    }
}

impl From<crate::stk1::Stk1Error> for TxnError {
    fn from(e: crate::stk1::Stk1Error) -> Self {
        match e {
            crate::stk1::Stk1Error::UnsupportedVersion => TxnError::UnsupportedVersion,
            other => TxnError::InvalidRequest(match other {
                crate::stk1::Stk1Error::InvalidRequest(text) => text,
                other => other.to_string(),
            }),
        }
    }
}

impl From<crate::encoding::DecodeError> for TxnError {
    fn from(e: crate::encoding::DecodeError) -> Self {
        TxnError::InvalidRequest(e.to_string())
    }
}

// ---------------------------------------------------------------- keys

/// `K_TXN`, the key of the online messages. 32 bytes, redacted `Debug`,
/// zeroised on drop; derive it per request and drop it.
#[derive(Clone)]
pub struct TxnKey(Zeroizing<[u8; 32]>);

/// `K_OCRA`, the key of the offline codes. 32 bytes, redacted `Debug`,
/// zeroised on drop.
#[derive(Clone)]
pub struct OcraKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for TxnKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TxnKey([redacted])")
    }
}

impl fmt::Debug for OcraKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OcraKey([redacted])")
    }
}

/// Derives `(K_TXN, K_OCRA)` from `K_TOKEN` and the token's serial:
/// HKDF-SHA256 with an absent salt (RFC 5869 §2.2: 32 zero bytes),
/// info `"STK1 transaction keys" ‖ lp(serial)`, 64 bytes of output.
/// The intermediate output is zeroised.
pub fn derive_txn_keys(token_key: &Secret, serial: &Serial) -> (TxnKey, OcraKey) {
    let mut info = Vec::with_capacity(21 + 2 + 12);
    info.extend_from_slice(b"STK1 transaction keys");
    push_lp(&mut info, serial.as_str().as_bytes());
    let hk = hkdf::Hkdf::<Sha256>::new(None, token_key.expose());
    let mut okm = Zeroizing::new([0u8; 64]);
    // 64 bytes is far below HKDF-SHA256's limit of 8160: this cannot fail.
    if hk.expand(&info, &mut okm[..]).is_err() {
        okm.zeroize();
    }
    let mut txn = Zeroizing::new([0u8; 32]);
    let mut ocra = Zeroizing::new([0u8; 32]);
    txn.copy_from_slice(&okm[..32]);
    ocra.copy_from_slice(&okm[32..]);
    (TxnKey(txn), OcraKey(ocra))
}

impl OcraKey {
    /// The raw key. Every caller is a place where the key leaves the type;
    /// meant for test vectors.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Which of the two decisions a customer took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// 「承認」: the MAC is `approval`.
    Approve,
    /// 「拒否」: the MAC is `rejection`.
    Reject,
}

impl Decision {
    /// Wire name (`approve` / `reject`).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }

    fn label(self) -> &'static [u8] {
        match self {
            Decision::Approve => b"STK1 txn approve",
            Decision::Reject => b"STK1 txn reject",
        }
    }
}

fn ct_check(expected: &[u8; MAC_LEN], got: &[u8], err: TxnError) -> Result<(), TxnError> {
    // `ct_eq` on slices of different lengths is false without looking at
    // the contents; the length of a MAC is not secret.
    if bool::from(expected[..].ct_eq(got)) {
        Ok(())
    } else {
        Err(err)
    }
}

impl TxnKey {
    /// The raw key. Every caller is a place where the key leaves the type;
    /// meant for test vectors.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; MAC_LEN] {
        // HMAC takes keys of any length: a 32-byte key cannot fail.
        let mut m =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0[..]).unwrap_or_else(|_| unreachable!());
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// `bank_mac = HMAC-SHA256(K_TXN, "STK1 txn bank" ‖ txn_digest)`.
    pub fn bank_mac(&self, digest: &TxnDigest) -> [u8; MAC_LEN] {
        self.mac(&[b"STK1 txn bank", &digest.0])
    }

    /// Constant-time check of a received `bank_mac` → [`TxnError::BankMac`].
    pub fn verify_bank_mac(&self, digest: &TxnDigest, got: &[u8]) -> Result<(), TxnError> {
        ct_check(&self.bank_mac(digest), got, TxnError::BankMac)
    }

    /// `approval = HMAC-SHA256(K_TXN, "STK1 txn approve" ‖ txn_digest)`.
    pub fn approval(&self, digest: &TxnDigest) -> [u8; MAC_LEN] {
        self.decision_mac(Decision::Approve, digest)
    }

    /// `rejection = HMAC-SHA256(K_TXN, "STK1 txn reject" ‖ txn_digest)`.
    pub fn rejection(&self, digest: &TxnDigest) -> [u8; MAC_LEN] {
        self.decision_mac(Decision::Reject, digest)
    }

    /// The approval or the rejection, by `decision`.
    pub fn decision_mac(&self, decision: Decision, digest: &TxnDigest) -> [u8; MAC_LEN] {
        self.mac(&[decision.label(), &digest.0])
    }

    /// Constant-time check of an approval → [`TxnError::DecisionMac`].
    pub fn verify_approval(&self, digest: &TxnDigest, got: &[u8]) -> Result<(), TxnError> {
        self.verify_decision(Decision::Approve, digest, got)
    }

    /// Constant-time check of a rejection → [`TxnError::DecisionMac`].
    pub fn verify_rejection(&self, digest: &TxnDigest, got: &[u8]) -> Result<(), TxnError> {
        self.verify_decision(Decision::Reject, digest, got)
    }

    /// Constant-time check of the MAC of `decision`. An approval never
    /// checks as a rejection and the other way round (different labels).
    pub fn verify_decision(
        &self,
        decision: Decision,
        digest: &TxnDigest,
        got: &[u8],
    ) -> Result<(), TxnError> {
        ct_check(
            &self.decision_mac(decision, digest),
            got,
            TxnError::DecisionMac,
        )
    }

    /// `HMAC-SHA256(K_TXN, "STK1 txn poll" ‖ lp(serial) ‖ u64be(t) ‖ lp(nonce))`.
    pub fn poll_mac(&self, serial: &Serial, t: u64, nonce: &[u8; NONCE_LEN]) -> [u8; MAC_LEN] {
        let mut msg = Vec::with_capacity(13 + 2 + 12 + 8 + 2 + NONCE_LEN);
        msg.extend_from_slice(b"STK1 txn poll");
        push_lp(&mut msg, serial.as_str().as_bytes());
        msg.extend_from_slice(&t.to_be_bytes());
        push_lp(&mut msg, nonce);
        self.mac(&[&msg])
    }

    /// Constant-time check of a poll MAC → [`TxnError::PollMac`]. The time
    /// window and the nonce memory are the server's job.
    pub fn verify_poll_mac(
        &self,
        serial: &Serial,
        t: u64,
        nonce: &[u8; NONCE_LEN],
        got: &[u8],
    ) -> Result<(), TxnError> {
        ct_check(&self.poll_mac(serial, t, nonce), got, TxnError::PollMac)
    }
}

// ---------------------------------------------------------------- transaction

/// A transaction id: 16 random bytes, carried as 26 characters of strict
/// base32.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxnId([u8; TXN_ID_LEN]);

impl TxnId {
    /// Wraps 16 bytes.
    pub fn from_bytes(bytes: [u8; TXN_ID_LEN]) -> TxnId {
        TxnId(bytes)
    }

    /// Draws 16 bytes from `rng` (callers pass the OS CSPRNG). Uniqueness
    /// is the server's job.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> TxnId {
        let mut b = [0u8; TXN_ID_LEN];
        rng.fill_bytes(&mut b);
        TxnId(b)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; TXN_ID_LEN] {
        &self.0
    }

    /// Strict base32 (26 characters).
    pub fn to_base32(&self) -> String {
        crate::encoding::encode(&self.0)
    }

    /// Parses strict base32 of exactly 16 bytes.
    pub fn parse(text: &str) -> Result<TxnId, TxnError> {
        Ok(TxnId(crate::encoding::decode_array::<TXN_ID_LEN>(text)?))
    }
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base32())
    }
}

impl fmt::Debug for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxnId({})", self.to_base32())
    }
}

impl FromStr for TxnId {
    type Err = TxnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TxnId::parse(s)
    }
}

impl serde::Serialize for TxnId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base32())
    }
}

impl<'de> serde::Deserialize<'de> for TxnId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        crate::encoding::decode_array::<TXN_ID_LEN>(&s)
            .map(TxnId)
            .map_err(serde::de::Error::custom)
    }
}

/// The two kinds of transaction and their fixed key vocabularies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// 《振込》.
    Transfer,
    /// 《収納サービスへの支払》.
    Payment,
}

/// The keys of a transfer, in order.
pub const TRANSFER_KEYS: [&str; 6] = [
    "payee_bank",
    "payee_branch",
    "account_type",
    "account_number",
    "payee_name",
    "amount",
];

/// The keys of a payment, in order.
pub const PAYMENT_KEYS: [&str; 4] = [
    "biller_number",
    "customer_number",
    "confirmation_number",
    "amount",
];

impl Kind {
    /// Wire name (`transfer` / `payment`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Transfer => "transfer",
            Kind::Payment => "payment",
        }
    }

    /// Parses a wire name → [`TxnError::UnknownKind`].
    pub fn parse(text: &str) -> Result<Kind, TxnError> {
        match text {
            "transfer" => Ok(Kind::Transfer),
            "payment" => Ok(Kind::Payment),
            _ => Err(TxnError::UnknownKind),
        }
    }

    /// The field keys of this kind, in the order they are carried and
    /// hashed.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Transfer => &TRANSFER_KEYS,
            Kind::Payment => &PAYMENT_KEYS,
        }
    }

    /// The key whose value is the offline question: `account_number` of a
    /// transfer, `biller_number` of a payment.
    pub fn question_key(self) -> &'static str {
        match self {
            Kind::Transfer => "account_number",
            Kind::Payment => "biller_number",
        }
    }

    /// The Japanese name shown on the transaction screen.
    pub fn label_ja(self) -> &'static str {
        match self {
            Kind::Transfer => "振込",
            Kind::Payment => "収納サービスへの支払",
        }
    }

    /// The English name shown on the transaction screen.
    pub fn label_en(self) -> &'static str {
        match self {
            Kind::Transfer => "Transfer",
            Kind::Payment => "Payment of a bill",
        }
    }
}

/// The labels of a field key for display (Japanese, English), or `None`
/// for a key outside the vocabulary.
pub fn field_label(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "payee_bank" => ("振込先金融機関", "Payee's bank"),
        "payee_branch" => ("支店名", "Branch"),
        "account_type" => ("科目", "Account type"),
        "account_number" => ("口座番号", "Account number"),
        "payee_name" => ("受取人名", "Payee's name"),
        "amount" => ("金額", "Amount"),
        "biller_number" => ("収納機関番号", "Biller number"),
        "customer_number" => ("お客様番号", "Customer number"),
        "confirmation_number" => ("確認番号", "Confirmation number"),
        _ => return None,
    })
}

/// `txn_digest`, the SHA-256 every MAC of a transaction covers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TxnDigest([u8; MAC_LEN]);

impl TxnDigest {
    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; MAC_LEN] {
        &self.0
    }
}

impl fmt::Debug for TxnDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TxnDigest(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// A validated, immutable transaction.
///
/// Only [`Transaction::new`] builds one, and it checks every rule of the
/// spec and of `docs/protocol.md`: the keys of the kind exactly and in
/// order, every value NFC and at most 128 bytes with its per-key rule
/// ([`ValueRule`]), and a lifetime of 60..=900 seconds. `Debug` shows the
/// id, kind and times but not the values (payee data stays out of logs).
#[derive(Clone, PartialEq, Eq)]
pub struct Transaction {
    txn_id: TxnId,
    serial: Serial,
    kind: Kind,
    created_at: u64,
    expires_at: u64,
    fields: Vec<(String, String)>,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("txn_id", &self.txn_id)
            .field("serial", &self.serial)
            .field("kind", &self.kind)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("fields", &"[not shown]")
            .finish()
    }
}

impl Transaction {
    /// Checks and builds a transaction. `fields` are `[key, value]` pairs
    /// exactly as they will be carried and hashed (no normalisation here).
    pub fn new(
        txn_id: TxnId,
        serial: Serial,
        kind: Kind,
        created_at: u64,
        expires_at: u64,
        fields: Vec<(String, String)>,
    ) -> Result<Transaction, TxnError> {
        check_fields(kind, &fields)?;
        match expires_at.checked_sub(created_at) {
            Some(d) if (MIN_LIFETIME..=MAX_LIFETIME).contains(&d) => {}
            _ => return Err(TxnError::Lifetime),
        }
        Ok(Transaction {
            txn_id,
            serial,
            kind,
            created_at,
            expires_at,
            fields,
        })
    }

    /// The id.
    pub fn txn_id(&self) -> &TxnId {
        &self.txn_id
    }

    /// The token the transaction belongs to.
    pub fn serial(&self) -> &Serial {
        &self.serial
    }

    /// Transfer or payment.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Unix seconds, server clock.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// Unix seconds, server clock. The transaction is pending only while
    /// `now < expires_at`.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// `true` once `now >= expires_at`.
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at
    }

    /// Seconds left at `now` (0 once expired).
    pub fn seconds_left(&self, now: u64) -> u64 {
        self.expires_at.saturating_sub(now)
    }

    /// The `[key, value]` pairs in order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The value of `key`, if the kind has it.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The amount in yen (validated to be 1..=10,000,000).
    pub fn amount(&self) -> u64 {
        self.field("amount")
            .and_then(|a| a.parse().ok())
            .unwrap_or(0)
    }

    /// The value the offline code binds: `account_number` (transfer) or
    /// `biller_number` (payment).
    pub fn offline_question(&self) -> &str {
        self.field(self.kind.question_key()).unwrap_or("")
    }

    /// `txn_digest` (see the module documentation).
    pub fn digest(&self) -> TxnDigest {
        txn_digest(
            &self.txn_id,
            &self.serial,
            self.kind,
            self.created_at,
            self.expires_at,
            &self.fields,
        )
    }
}

fn push_lp(out: &mut Vec<u8>, x: &[u8]) {
    // Every field hashed here is checked to be far below 64 KiB.
    let len = u16::try_from(x.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(x);
}

fn hash_lp(h: &mut Sha256, x: &[u8]) {
    let len = u16::try_from(x.len()).unwrap_or(u16::MAX);
    h.update(len.to_be_bytes());
    h.update(x);
}

/// `txn_digest` over raw parts, exactly as received (no validation, no
/// normalisation). [`Transaction::digest`] is the usual entry point; this
/// one exists so that a received transaction can be hashed before its
/// values are judged.
pub fn txn_digest(
    txn_id: &TxnId,
    serial: &Serial,
    kind: Kind,
    created_at: u64,
    expires_at: u64,
    fields: &[(String, String)],
) -> TxnDigest {
    let mut h = Sha256::new();
    h.update(b"STK1 txn");
    hash_lp(&mut h, &txn_id.0);
    hash_lp(&mut h, serial.as_str().as_bytes());
    hash_lp(&mut h, kind.as_str().as_bytes());
    h.update(created_at.to_be_bytes());
    h.update(expires_at.to_be_bytes());
    let n = u16::try_from(fields.len()).unwrap_or(u16::MAX);
    h.update(n.to_be_bytes());
    for (k, v) in fields {
        hash_lp(&mut h, k.as_bytes());
        hash_lp(&mut h, v.as_bytes());
    }
    TxnDigest(h.finalize().into())
}

/// Checks the keys (exactly the kind's, in order) and every value.
fn check_fields(kind: Kind, fields: &[(String, String)]) -> Result<(), TxnError> {
    let keys = kind.keys();
    if fields.len() != keys.len() || fields.iter().zip(keys).any(|((k, _), want)| k != want) {
        return Err(TxnError::WrongKeys);
    }
    for ((_, value), key) in fields.iter().zip(keys) {
        ValueRule::for_key(key)
            .check(value)
            .map_err(|problem| TxnError::InvalidValue { key, problem })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_codes_are_redacted() {
        let serial = Serial::parse_strict("K7M3Q9XZ2PD0").unwrap();
        let (t, o) = derive_txn_keys(&Secret::from_slice(&[7; 20]), &serial);
        let shown = format!("{t:?} {o:?}");
        assert!(shown.contains("redacted"), "{shown}");
        let hex: String = t.expose()[..4].iter().map(|b| format!("{b:02x}")).collect();
        assert!(!shown.contains(&hex));
    }

    #[test]
    fn error_texts_name_keys_not_values() {
        let e = TxnError::InvalidValue {
            key: "payee_name",
            problem: FieldProblem::TooLong,
        };
        assert_eq!(e.code(), ErrorCode::InvalidRequest);
        assert!(e.to_string().contains("payee_name"));
    }
}
