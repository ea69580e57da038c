//! STK1 JSON bodies. Binary fields are strings in strict base32; they are
//! decoded (and refused with `invalid_request`) by the handshake code.
//!
//! [`decode`] is the one entry point for received bodies. It checks, in
//! this order: the size ([`MAX_BODY`]); JSON syntax; that no object, at any
//! depth, names a key twice; `"v"` (absent → [`Stk1Error::InvalidRequest`],
//! anything but the number 1 → [`Stk1Error::UnsupportedVersion`]); then the
//! fields. Request bodies (what the token service receives) refuse unknown
//! fields; response bodies (what the app receives) ignore them, so a server
//! may add fields to an answer without breaking older apps.

use core::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{Stk1Error, VERSION};
use crate::serial::Serial;

/// Largest body any STK1 endpoint accepts, in bytes.
pub const MAX_BODY: usize = 8 * 1024;

/// Parses a received body strictly: size, JSON syntax, no duplicate key at
/// any nesting level, the version, then the fields of `T`.
///
/// Every STK1 body (pairing, back-end, transactions) goes through this
/// function. Errors never quote the input: they name a missing field or
/// give a line and column.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Stk1Error> {
    if body.len() > MAX_BODY {
        return Err(Stk1Error::InvalidRequest(format!(
            "body larger than {MAX_BODY} bytes"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let version = TopLevel
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| {
            let what = if e.is_syntax() || e.is_eof() {
                "malformed JSON"
            } else {
                // Only the duplicate-key check raises a data error here.
                "duplicate key"
            };
            Stk1Error::InvalidRequest(format!("{what} at line {} column {}", e.line(), e.column()))
        })?;
    match version {
        Version::One => {}
        Version::Other => return Err(Stk1Error::UnsupportedVersion),
        Version::Absent => return Err(Stk1Error::InvalidRequest("missing field `v`".into())),
    }
    serde_json::from_slice(body).map_err(|e| Stk1Error::InvalidRequest(field_error(&e)))
}

/// serde_json's messages may quote the offending value (which could be a
/// code), so only a missing field's name is kept; everything else becomes a
/// generic text with the position.
fn field_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("missing field") {
        if let Some(i) = text.find(" at line") {
            return text[..i].to_string();
        }
    }
    format!(
        "a field has a wrong type or value (line {} column {})",
        e.line(),
        e.column()
    )
}

/// What the first pass learnt about the top-level `"v"`.
enum Version {
    One,
    Other,
    Absent,
}

/// First pass over the whole document: refuses a duplicate key in any
/// object and reports the top-level `"v"`. Nothing is kept but the keys of
/// the object being read (serde_json bounds the nesting depth at 128).
struct TopLevel;

impl<'de> DeserializeSeed<'de> for TopLevel {
    type Value = Version;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Version, D::Error> {
        d.deserialize_any(NodeVisitor { top: true })
    }
}

/// Any JSON value, checked for duplicate keys; `Version` only matters at
/// the top level.
struct Node;

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor { top: false }).map(|_| Node)
    }
}

/// The value of a `"v"` key: the number 1 or something else.
struct VersionValue(bool);

impl<'de> Deserialize<'de> for VersionValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<VersionValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = VersionValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<VersionValue, E> {
                Ok(VersionValue(n == u64::from(VERSION)))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<VersionValue, E> {
                Ok(VersionValue(false))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<VersionValue, E> {
                Ok(VersionValue(false))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<VersionValue, E> {
                Ok(VersionValue(false))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<VersionValue, E> {
                Ok(VersionValue(false))
            }
            fn visit_unit<E: de::Error>(self) -> Result<VersionValue, E> {
                Ok(VersionValue(false))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<VersionValue, A::Error> {
                NodeVisitor { top: false }.visit_seq(seq)?;
                Ok(VersionValue(false))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<VersionValue, A::Error> {
                NodeVisitor { top: false }.visit_map(map)?;
                Ok(VersionValue(false))
            }
        }
        d.deserialize_any(V)
    }
}

struct NodeVisitor {
    top: bool,
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Version;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Version, E> {
        Ok(Version::Absent)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Version, E> {
        Ok(Version::Absent)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Version, E> {
        Ok(Version::Absent)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Version, E> {
        Ok(Version::Absent)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Version, E> {
        Ok(Version::Absent)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Version, E> {
        Ok(Version::Absent)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Version, A::Error> {
        while seq.next_element::<Node>()?.is_some() {}
        Ok(Version::Absent)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Version, A::Error> {
        // Objects in STK1 bodies have a handful of keys; a sorted set keeps
        // an adversarial body of many keys at O(n log n).
        let mut seen = std::collections::BTreeSet::new();
        let mut version = Version::Absent;
        while let Some(key) = map.next_key::<String>()? {
            if self.top && key == "v" {
                version = if map.next_value::<VersionValue>()?.0 {
                    Version::One
                } else {
                    Version::Other
                };
            } else {
                map.next_value::<Node>()?;
            }
            if !seen.insert(key) {
                // The key itself is not quoted: it is outside input.
                return Err(de::Error::custom("duplicate key"));
            }
        }
        Ok(version)
    }
}

/// A code as typed, in a request body (`otp`, `old_otp`, `new_otp`,
/// `otp1`, `otp2`): not yet parsed, because a malformed code is a failed
/// attempt, not a malformed request.
///
/// Contract: `Debug` prints `OtpText([redacted])` and there is no
/// `Display`; the text is zeroised when the value is dropped; `==` runs in
/// time independent of the contents (it may leak the length). The text is
/// reachable through [`OtpText::as_str`] or `Deref<Target = str>` (so
/// `&req.otp` passes where a `&str` is expected). On the wire it is a plain
/// JSON string. (serde_json copies a string with escapes through its own
/// scratch buffer first, which is not cleared; a code has no reason to
/// contain escapes.)
#[derive(Clone, Default)]
pub struct OtpText(Zeroizing<String>);

impl OtpText {
    /// Wraps typed text. The caller's buffer is moved, not copied.
    pub fn new(text: String) -> OtpText {
        OtpText(Zeroizing::new(text))
    }

    /// The text as typed. Every caller is a place where the code leaves the
    /// type's protection; keep them few (the verifier, the request builder).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl core::ops::Deref for OtpText {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl From<String> for OtpText {
    fn from(text: String) -> OtpText {
        OtpText::new(text)
    }
}

impl From<&str> for OtpText {
    fn from(text: &str) -> OtpText {
        OtpText::new(text.to_owned())
    }
}

impl fmt::Debug for OtpText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpText([redacted])")
    }
}

impl PartialEq for OtpText {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for OtpText {}

impl Serialize for OtpText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for OtpText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OtpText, D::Error> {
        String::deserialize(d).map(OtpText::new)
    }
}

/// `[redacted]` in place of a field's value in a hand-written `Debug`.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Platforms named in `device.platform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Android phone.
    Android,
    /// iPhone.
    Ios,
    /// Linux desktop (the QA simulator).
    Linux,
    /// macOS desktop.
    Macos,
    /// Windows desktop.
    Windows,
    /// Test client.
    Test,
}

/// `device` in the init request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Platform.
    pub platform: Platform,
    /// App version string.
    pub app_version: String,
}

/// Token parameters on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireParams {
    /// `"SHA1"`.
    pub alg: String,
    /// 6.
    pub digits: u32,
    /// 30.
    pub period: u64,
    /// 0.
    pub t0: u64,
}

impl From<crate::otp::Params> for WireParams {
    fn from(p: crate::otp::Params) -> Self {
        WireParams {
            alg: p.alg().name().to_string(),
            digits: p.digits(),
            period: p.period(),
            t0: p.t0(),
        }
    }
}

/// `POST /v1/provision/init` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitRequest {
    /// Always 1.
    pub v: u32,
    /// Pinned server key id.
    pub server_key_id: String,
    /// `A`, base32.
    pub client_eph_pub: String,
    /// `N_C`, base32.
    pub client_nonce: String,
    /// The app's platform and version.
    pub device: Device,
}

/// `POST /v1/provision/init` response. `Debug` hides `server_confirm`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitResponse {
    /// Always 1.
    pub v: u32,
    /// 16 bytes, base32.
    pub session_id: String,
    /// The new token's serial.
    pub serial: Serial,
    /// `B`, base32.
    pub server_eph_pub: String,
    /// `N_S`, base32.
    pub server_nonce: String,
    /// Token parameters.
    pub params: WireParams,
    /// Server clock, Unix seconds.
    pub server_time: u64,
    /// Seconds the session stays open for `finish`.
    pub expires_in: u64,
    /// 32 bytes, base32.
    pub server_confirm: String,
}

/// `POST /v1/provision/finish` request. `Debug` hides `client_confirm`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishRequest {
    /// Always 1.
    pub v: u32,
    /// From the init response.
    pub session_id: String,
    /// From the init response.
    pub serial: Serial,
    /// 32 bytes, base32.
    pub client_confirm: String,
}

impl fmt::Debug for InitResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitResponse")
            .field("v", &self.v)
            .field("session_id", &self.session_id)
            .field("serial", &self.serial)
            .field("server_eph_pub", &self.server_eph_pub)
            .field("server_nonce", &self.server_nonce)
            .field("params", &self.params)
            .field("server_time", &self.server_time)
            .field("expires_in", &self.expires_in)
            .field("server_confirm", &Redacted)
            .finish()
    }
}

impl fmt::Debug for FinishRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FinishRequest")
            .field("v", &self.v)
            .field("session_id", &self.session_id)
            .field("serial", &self.serial)
            .field("client_confirm", &Redacted)
            .finish()
    }
}

/// Life cycle of a token at the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    /// Paired, not yet registered in web banking.
    Issued,
    /// Registered to a customer.
    Active,
    /// Stopped (利用中止) or replaced (交換).
    Revoked,
    /// Not registered in time, or unknown.
    Expired,
}

impl TokenState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Issued => "issued",
            TokenState::Active => "active",
            TokenState::Revoked => "revoked",
            TokenState::Expired => "expired",
        }
    }
}

/// `POST /v1/provision/finish` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishResponse {
    /// Always 1.
    pub v: u32,
    /// The serial.
    pub serial: Serial,
    /// `issued`.
    pub state: TokenState,
    /// Unix time by which the token must be bound.
    pub bind_by: u64,
}

/// `GET /v1/tokens/{serial}/status` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// Always 1.
    pub v: u32,
    /// The serial asked about.
    pub serial: String,
    /// Its state.
    pub state: TokenState,
}

/// Purposes of a verification (back-end API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// Login with OTP 「する」.
    Login,
    /// Transfer 《振込》.
    Transfer,
    /// Payment 《収納サービスへの支払》.
    Payment,
    /// Changing settings (e.g. the login-OTP choice).
    Settings,
}

impl Purpose {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::Transfer => "transfer",
            Purpose::Payment => "payment",
            Purpose::Settings => "settings",
        }
    }
}

/// `POST /v1/bank/bind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID.
    pub customer_id: String,
    /// Serial as typed (normalised by the server).
    pub serial: String,
    /// Code as typed.
    pub otp: OtpText,
}

/// `POST /v1/bank/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID.
    pub customer_id: String,
    /// Code as typed.
    pub otp: OtpText,
    /// What the code authorises.
    pub purpose: Purpose,
}

/// `POST /v1/bank/change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID.
    pub customer_id: String,
    /// Code of the current (old) token.
    pub old_otp: OtpText,
    /// Serial of the new token.
    pub new_serial: String,
    /// Code of the new token.
    pub new_otp: OtpText,
}

/// `POST /v1/bank/deactivate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeactivateRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID.
    pub customer_id: String,
    /// Code of the current token.
    pub otp: OtpText,
}

/// `POST /v1/admin/resync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResyncRequest {
    /// Always 1.
    pub v: u32,
    /// Token serial.
    pub serial: String,
    /// First code.
    pub otp1: OtpText,
    /// The next code.
    pub otp2: OtpText,
}

/// `POST /v1/admin/unlock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnlockRequest {
    /// Always 1.
    pub v: u32,
    /// Token serial.
    pub serial: String,
}

/// Wire error codes (`"error"` of a non-2xx body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Malformed body or field.
    InvalidRequest,
    /// `"v"` is not 1.
    UnsupportedVersion,
    /// Unknown `server_key_id`.
    UnknownKeyId,
    /// Pairing session gone.
    SessionExpired,
    /// Confirmation mismatch.
    ConfirmFailed,
    /// Missing or wrong API key.
    Unauthorized,
    /// Too many requests.
    RateLimited,
    /// Unknown serial or wrong code at bind/change (deliberately the same).
    SerialOrOtpInvalid,
    /// The customer already has an active token.
    CustomerHasToken,
    /// Token locked after too many failures.
    Locked,
    /// Code already used.
    Replay,
    /// Wrong code.
    InvalidOtp,
    /// The customer has no active token.
    NoToken,
    /// Wrong code of the old token at change.
    OldOtpInvalid,
    /// Resync codes not found.
    ResyncFailed,
    /// Unknown path.
    NotFound,
    /// Server fault (storage); nothing was changed.
    InternalError,
    /// The service cannot reach its storage now (HTTP 503); the request is
    /// not known to have taken effect. Retry with a fresh code.
    Unavailable,
    /// STK1-TXN: no such transaction for this token (also another token's).
    UnknownTxn,
    /// STK1-TXN: the transaction has expired.
    TxnExpired,
    /// STK1-TXN: the other decision was already taken.
    TxnDecided,
    /// STK1-TXN: `consume` of a transaction that is not approved.
    TxnNotApproved,
    /// STK1-TXN: the transaction was already consumed.
    TxnConsumed,
}

impl ErrorCode {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::UnknownKeyId => "unknown_key_id",
            ErrorCode::SessionExpired => "session_expired",
            ErrorCode::ConfirmFailed => "confirm_failed",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::SerialOrOtpInvalid => "serial_or_otp_invalid",
            ErrorCode::CustomerHasToken => "customer_has_token",
            ErrorCode::Locked => "locked",
            ErrorCode::Replay => "replay",
            ErrorCode::InvalidOtp => "invalid_otp",
            ErrorCode::NoToken => "no_token",
            ErrorCode::OldOtpInvalid => "old_otp_invalid",
            ErrorCode::ResyncFailed => "resync_failed",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::UnknownTxn => "unknown_txn",
            ErrorCode::TxnExpired => "txn_expired",
            ErrorCode::TxnDecided => "txn_decided",
            ErrorCode::TxnNotApproved => "txn_not_approved",
            ErrorCode::TxnConsumed => "txn_consumed",
        }
    }
}

/// A non-2xx body: `{"v":1,"error":"…","message":"…"}` (plus
/// `fail_count` for `invalid_otp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always 1.
    pub v: u32,
    /// Machine-readable code.
    pub error: ErrorCode,
    /// Human text; never a secret or a code.
    pub message: String,
    /// Consecutive failures, for `invalid_otp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_count: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_and_malformed_bodies() {
        assert!(matches!(
            decode::<UnlockRequest>(b"{"),
            Err(Stk1Error::InvalidRequest(_))
        ));
        assert_eq!(
            decode::<UnlockRequest>(br#"{"v":2,"serial":"x"}"#),
            Err(Stk1Error::UnsupportedVersion)
        );
        assert_eq!(
            decode::<UnlockRequest>(br#"{"v":"1","serial":"x"}"#),
            Err(Stk1Error::UnsupportedVersion)
        );
        assert!(matches!(
            decode::<UnlockRequest>(br#"{"serial":"x"}"#),
            Err(Stk1Error::InvalidRequest(_))
        ));
        assert!(matches!(
            decode::<UnlockRequest>(br#"{"v":1}"#),
            Err(Stk1Error::InvalidRequest(_))
        ));
        assert!(matches!(
            decode::<UnlockRequest>(&vec![b' '; MAX_BODY + 1]),
            Err(Stk1Error::InvalidRequest(_))
        ));
        let ok: UnlockRequest = decode(br#"{"v":1,"serial":"K7M3Q9XZ2PD0"}"#).unwrap();
        assert_eq!(ok.serial, "K7M3Q9XZ2PD0");
    }

    const INIT: &str = r#"{"v":1,"server_key_id":"k1","client_eph_pub":"A6RXZPAUECJ4RN2V3QNRB2DMWQTDOSWRNKUFH3IL37ALFODNDR6A","client_nonce":"AAAQEAYEAUDAOCAJBIFQYDIOB4","device":{"platform":"test","app_version":"1"}}"#;

    /// `body` with `extra` spliced in before its closing brace.
    fn init_with_text(body: &str, extra: &str) -> Vec<u8> {
        format!("{}{extra}}}", &body[..body.len() - 1]).into_bytes()
    }

    /// `INIT` with `extra` spliced in before its closing brace.
    fn init_with(extra: &str) -> Vec<u8> {
        init_with_text(INIT, extra)
    }

    fn is_invalid<T: std::fmt::Debug>(r: Result<T, Stk1Error>) -> bool {
        matches!(r, Err(Stk1Error::InvalidRequest(_)))
    }

    #[test]
    fn valid_init_request_is_accepted() {
        let req: InitRequest = decode(INIT.as_bytes()).unwrap();
        assert_eq!(req.server_key_id, "k1");
        assert_eq!(req.device.platform, Platform::Test);
    }

    #[test]
    fn duplicate_version_key_is_refused() {
        // The last duplicate used to win: {"v":2,…,"v":1} was accepted.
        let body = INIT.replacen(r#""v":1"#, r#""v":2"#, 1);
        let body = init_with_text(&body, r#","v":1"#);
        assert!(body.starts_with(br#"{"v":2,"#) && body.ends_with(br#","v":1}"#));
        let err = decode::<InitRequest>(&body).unwrap_err();
        assert!(matches!(err, Stk1Error::InvalidRequest(_)), "{err:?}");
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        // The same value twice is just as refused.
        assert!(is_invalid(decode::<InitRequest>(&init_with(r#","v":1"#))));
        assert!(is_invalid(decode::<UnlockRequest>(
            br#"{"v":1,"v":1,"serial":"K7M3Q9XZ2PD0"}"#
        )));
    }

    #[test]
    fn duplicate_client_nonce_is_refused() {
        let body = init_with(r#","client_nonce":"AAAQEAYEAUDAOCAJBIFQYDIOB4""#);
        assert!(is_invalid(decode::<InitRequest>(&body)));
    }

    #[test]
    fn duplicate_key_in_nested_object_is_refused() {
        let body = INIT.replace(
            r#""app_version":"1"}"#,
            r#""app_version":"1","platform":"ios"}"#,
        );
        assert!(is_invalid(decode::<InitRequest>(body.as_bytes())));
        // Inside an array inside an unknown field of a response, too.
        let body = br#"{"v":1,"serial":"K7M3Q9XZ2PD0","state":"active","x":[{"a":1,"a":2}]}"#;
        assert!(is_invalid(decode::<StatusResponse>(body)));
        // Without the duplicate, the response's unknown field is ignored.
        let body = br#"{"v":1,"serial":"K7M3Q9XZ2PD0","state":"active","x":[{"a":1,"b":2}]}"#;
        assert_eq!(
            decode::<StatusResponse>(body).unwrap().state,
            TokenState::Active
        );
    }

    #[test]
    fn duplicate_key_error_does_not_quote_the_key() {
        let err = decode::<VerifyRequest>(
            br#"{"v":1,"customer_id":"1","otp":"1","purpose":"login","k123456":1,"k123456":2}"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("123456"), "{err}");
    }

    #[test]
    fn escaped_duplicate_key_is_refused() {
        // "\u0076" is "v": the same key under another spelling.
        assert!(is_invalid(decode::<UnlockRequest>(
            br#"{"v":1,"\u0076":1,"serial":"K7M3Q9XZ2PD0"}"#
        )));
    }

    #[test]
    fn unknown_request_field_is_refused() {
        assert!(is_invalid(decode::<InitRequest>(&init_with(
            r#","extra":true"#
        ))));
        let body = INIT.replace(r#""app_version":"1"}"#, r#""app_version":"1","model":"x"}"#);
        assert!(is_invalid(decode::<InitRequest>(body.as_bytes())));
        assert!(is_invalid(decode::<UnlockRequest>(
            br#"{"v":1,"serial":"K7M3Q9XZ2PD0","extra":true}"#
        )));
    }

    #[test]
    fn trailing_data_after_the_body_is_refused() {
        assert!(is_invalid(decode::<UnlockRequest>(
            br#"{"v":1,"serial":"K7M3Q9XZ2PD0"} {}"#
        )));
    }

    #[test]
    fn version_is_checked_before_fields() {
        assert_eq!(
            decode::<InitRequest>(br#"{"v":2,"something":"else"}"#),
            Err(Stk1Error::UnsupportedVersion)
        );
        assert_eq!(
            decode::<InitRequest>(br#"{"v":{"a":1},"x":1}"#),
            Err(Stk1Error::UnsupportedVersion)
        );
        // A nested "v" is not the version.
        assert!(is_invalid(decode::<InitRequest>(br#"{"x":{"v":1}}"#)));
    }

    #[test]
    fn field_errors_do_not_echo_values() {
        let err = decode::<VerifyRequest>(
            br#"{"v":1,"customer_id":"1","otp":"123456","purpose":"steal-123456"}"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("123456"), "{err}");
    }

    #[test]
    fn error_code_names_match_serde() {
        for code in [
            ErrorCode::SerialOrOtpInvalid,
            ErrorCode::UnknownKeyId,
            ErrorCode::InternalError,
            ErrorCode::Unavailable,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().into())
            );
        }
    }
}
