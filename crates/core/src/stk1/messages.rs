//! STK1 JSON bodies. Binary fields are strings in strict base32; they are
//! decoded (and refused with `invalid_request`) by the handshake code.
//!
//! [`decode`] is the one entry point for received bodies: malformed JSON →
//! [`Stk1Error::InvalidRequest`]; a `"v"` other than 1 →
//! [`Stk1Error::UnsupportedVersion`]; a wrong field → `InvalidRequest`.
//! Unknown extra fields are ignored (forward compatibility).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Stk1Error, VERSION};
use crate::serial::Serial;

/// Largest body any STK1 endpoint accepts, in bytes.
pub const MAX_BODY: usize = 8 * 1024;

/// Parses a received body: JSON, then the version, then the fields.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Stk1Error> {
    if body.len() > MAX_BODY {
        return Err(Stk1Error::InvalidRequest(format!(
            "body larger than {MAX_BODY} bytes"
        )));
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        Stk1Error::InvalidRequest(format!(
            "malformed JSON at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    match value.get("v") {
        Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
        Some(_) => return Err(Stk1Error::UnsupportedVersion),
        None => return Err(Stk1Error::InvalidRequest("missing field `v`".into())),
    }
    serde_json::from_value(value).map_err(|e| Stk1Error::InvalidRequest(field_error(&e)))
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
            alg: p.alg.name().to_string(),
            digits: p.digits,
            period: p.period,
            t0: p.t0,
        }
    }
}

/// `POST /v1/provision/init` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// `POST /v1/provision/init` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// `POST /v1/provision/finish` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct BindRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID.
    pub customer_id: String,
    /// Serial as typed (normalised by the server).
    pub serial: String,
    /// Code as typed.
    pub otp: String,
}

/// `POST /v1/bank/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID.
    pub customer_id: String,
    /// Code as typed.
    pub otp: String,
    /// What the code authorises.
    pub purpose: Purpose,
}

/// `POST /v1/bank/change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID.
    pub customer_id: String,
    /// Code of the current (old) token.
    pub old_otp: String,
    /// Serial of the new token.
    pub new_serial: String,
    /// Code of the new token.
    pub new_otp: String,
}

/// `POST /v1/bank/deactivate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeactivateRequest {
    /// Always 1.
    pub v: u32,
    /// Contract ID.
    pub customer_id: String,
    /// Code of the current token.
    pub otp: String,
}

/// `POST /v1/admin/resync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResyncRequest {
    /// Always 1.
    pub v: u32,
    /// Token serial.
    pub serial: String,
    /// First code.
    pub otp1: String,
    /// The next code.
    pub otp2: String,
}

/// `POST /v1/admin/unlock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        let ok: UnlockRequest = decode(br#"{"v":1,"serial":"K7M3Q9XZ2PD0","extra":true}"#).unwrap();
        assert_eq!(ok.serial, "K7M3Q9XZ2PD0");
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
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().into())
            );
        }
    }
}
