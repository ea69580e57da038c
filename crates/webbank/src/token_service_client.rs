//! Client of the token service's STK1 back-end API (`/v1/bank/*`), server
//! to server with the bank's API key — exactly what a real bank's web
//! banking would do. Bodies are the core's `stk1::messages` types.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use softtoken_core::stk1::messages::{
    BindRequest, ChangeRequest, DeactivateRequest, ErrorBody, ErrorCode, Purpose, VerifyRequest,
};

use softtoken_core::stk1::api_key::ApiKey;
use softtoken_core::txn::wire::TxnState;
use softtoken_core::txn::Kind;

use crate::i18n::Lang;

/// Why a back-end call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenServiceError {
    /// The token service refused the request with a wire error code.
    #[error("token service refused: {}", .code.as_str())]
    Refused {
        /// Wire code.
        code: ErrorCode,
        /// Consecutive failures (for `invalid_otp`-like answers).
        fail_count: Option<u32>,
    },
    /// The token service could not be reached.
    #[error("token service unreachable")]
    Unreachable,
    /// The answer was not an STK1 body.
    #[error("token service answered HTTP {0} without an STK1 body")]
    Protocol(u16),
}

impl TokenServiceError {
    /// The refusal code, if any.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            TokenServiceError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A plain message for the customer (never contains a code).
    pub fn message(&self, l: Lang) -> String {
        let (code, fails) = match self {
            TokenServiceError::Refused { code, fail_count } => (*code, *fail_count),
            _ => {
                return l
                    .t(
                        "ただいまお取扱いできません。しばらくしてから再度お試しください。",
                        "The service is not available right now. Please try again later.",
                    )
                    .to_string()
            }
        };
        let count = |ja: &str, en: &str| {
            match fails {
            Some(n) => match l {
                Lang::Ja => format!("{ja}（連続{n}回目の誤りです。一定回数続けて誤るとご利用いただけなくなります。）"),
                Lang::En => format!("{en} (wrong {n} time(s) in a row; after too many wrong codes the one-time password is locked.)"),
            },
            None => l.t(ja, en).to_string(),
        }
        };
        match code {
            ErrorCode::InvalidOtp => count(
                "ワンタイムパスワードが正しくありません。ソフトウェアトークンに表示されている最新のワンタイムパスワードを入力してください。",
                "The one-time password is not correct. Enter the one the soft token shows now.",
            ),
            ErrorCode::OldOtpInvalid => count(
                "現行（旧）のソフトウェアトークンのワンタイムパスワードが正しくありません。現行のトークンに表示されている最新のワンタイムパスワードを入力してください。",
                "The one-time password of the current (old) soft token is not correct. Enter the one it shows now.",
            ),
            ErrorCode::Replay => l
                .t(
                    "このワンタイムパスワードは使用済みです。次のワンタイムパスワードが表示されてから入力してください。",
                    "This one-time password has already been used. Wait for the next one and enter it.",
                )
                .to_string(),
            ErrorCode::Locked => l
                .t(
                    "ワンタイムパスワードが誤って続けて入力されたため、ご利用を停止しています。お手数ですが当金庫までご連絡ください。",
                    "The one-time password is locked after too many wrong codes. Please call the bank.",
                )
                .to_string(),
            ErrorCode::NoToken => l
                .t(
                    "ワンタイムパスワードが登録されていません。ログイン画面の「利用開始」から登録してください。",
                    "No one-time password token is registered. Register one with “Start” on the login screen.",
                )
                .to_string(),
            ErrorCode::SerialOrOtpInvalid => l
                .t(
                    "シリアル番号またはワンタイムパスワードが正しくありません。新しいソフトウェアトークンに表示されているシリアル番号と最新のワンタイムパスワードを入力してください。",
                    "The serial number or the one-time password is not correct. Enter the serial number and the current one-time password shown by the new soft token.",
                )
                .to_string(),
            ErrorCode::CustomerHasToken => l
                .t(
                    "すでにワンタイムパスワードをご利用中です。トークンを変更する場合はログイン画面の「交換」をご利用ください。",
                    "A one-time password token is already registered. To change it, use “Exchange” on the login screen.",
                )
                .to_string(),
            ErrorCode::RateLimited => l
                .t(
                    "ただいま混み合っています。しばらくしてから再度お試しください。",
                    "Too many requests. Please try again in a moment.",
                )
                .to_string(),
            _ => l
                .t(
                    "ただいまお取扱いできません。しばらくしてから再度お試しください。",
                    "The service is not available right now. Please try again later.",
                )
                .to_string(),
        }
    }
}

/// `bind` success body.
#[derive(Debug, Clone, Deserialize)]
pub struct BindOk {
    /// The bound serial.
    pub serial: String,
}

/// `verify` success body.
#[derive(Debug, Clone, Deserialize)]
pub struct VerifyOk {}

/// `change` success body.
#[derive(Debug, Clone, Deserialize)]
pub struct ChangeOk {
    /// Serial before the change.
    pub previous_serial: String,
    /// Serial after the change.
    pub serial: String,
}

/// `deactivate` success body.
#[derive(Debug, Clone, Deserialize)]
pub struct DeactivateOk {
    /// The stopped serial.
    pub serial: String,
}

/// `POST /v1/bank/transactions` body.
#[derive(Serialize)]
struct TxnCreateRequest<'a> {
    v: u32,
    customer_id: &'a str,
    kind: Kind,
    fields: &'a [(String, String)],
}

/// Body of `status` and `consume`.
#[derive(Serialize)]
struct TxnRef<'a> {
    v: u32,
    customer_id: &'a str,
    txn_id: &'a str,
}

/// `verify_code` body.
#[derive(Serialize)]
struct TxnCodeRequest<'a> {
    v: u32,
    customer_id: &'a str,
    txn_id: &'a str,
    code: &'a str,
}

/// `transactions` success body: the created transaction.
#[derive(Debug, Clone, Deserialize)]
pub struct TxnCreated {
    /// Its id (base32, 26 characters).
    pub txn_id: String,
    /// The token it was sent to.
    pub serial: String,
    /// Unix seconds, token service's clock.
    pub created_at: i64,
    /// Unix seconds, token service's clock.
    pub expires_at: i64,
}

/// `status`, `consume` and `verify_code` success body.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct TxnStateOk {
    /// The transaction's state at the token service.
    pub state: TxnState,
}

/// The token service's back-end API client.
#[derive(Clone)]
pub struct TokenServiceClient {
    http: reqwest::Client,
    base: String,
    api_key: ApiKey,
}

impl std::fmt::Debug for TokenServiceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenServiceClient")
            .field("base", &self.base)
            .field("api_key", &self.api_key)
            .finish()
    }
}

impl TokenServiceClient {
    /// A client of `base` (e.g. `http://127.0.0.1:8700`) with `api_key`.
    pub fn new(base: &str, api_key: &ApiKey) -> Result<TokenServiceClient, TokenServiceError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .no_proxy()
            .build()
            .map_err(|_| TokenServiceError::Unreachable)?;
        Ok(TokenServiceClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            api_key: api_key.clone(),
        })
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        test_time: Option<&str>,
    ) -> Result<T, TokenServiceError> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.api_key.expose())
            .json(body);
        if let Some(t) = test_time {
            req = req.header("X-Test-Time", t);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(path, timeout = e.is_timeout(), "token service unreachable");
                return Err(TokenServiceError::Unreachable);
            }
        };
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|_| TokenServiceError::Unreachable)?;
        let answer = if status.is_success() {
            serde_json::from_slice::<T>(&bytes)
                .map_err(|_| TokenServiceError::Protocol(status.as_u16()))
        } else {
            match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(e) => Err(TokenServiceError::Refused {
                    code: e.error,
                    fail_count: e.fail_count,
                }),
                Err(_) => Err(TokenServiceError::Protocol(status.as_u16())),
            }
        };
        if let Err(TokenServiceError::Protocol(s)) = &answer {
            // Only the path and status: bodies may echo request fields.
            tracing::warn!(
                path,
                status = s,
                "token service answered without an STK1 body"
            );
        }
        answer
    }

    /// `POST /v1/bank/bind`.
    pub async fn bind(
        &self,
        customer_id: &str,
        serial: &str,
        otp: &str,
        test_time: Option<&str>,
    ) -> Result<BindOk, TokenServiceError> {
        let body = BindRequest {
            v: 1,
            customer_id: customer_id.into(),
            serial: serial.into(),
            otp: otp.into(),
        };
        self.call("/v1/bank/bind", &body, test_time).await
    }

    /// `POST /v1/bank/verify`.
    pub async fn verify(
        &self,
        customer_id: &str,
        otp: &str,
        purpose: Purpose,
        test_time: Option<&str>,
    ) -> Result<VerifyOk, TokenServiceError> {
        let body = VerifyRequest {
            v: 1,
            customer_id: customer_id.into(),
            otp: otp.into(),
            purpose,
        };
        self.call("/v1/bank/verify", &body, test_time).await
    }

    /// `POST /v1/bank/change` (atomic at the token service).
    pub async fn change(
        &self,
        customer_id: &str,
        old_otp: &str,
        new_serial: &str,
        new_otp: &str,
        test_time: Option<&str>,
    ) -> Result<ChangeOk, TokenServiceError> {
        let body = ChangeRequest {
            v: 1,
            customer_id: customer_id.into(),
            old_otp: old_otp.into(),
            new_serial: new_serial.into(),
            new_otp: new_otp.into(),
        };
        self.call("/v1/bank/change", &body, test_time).await
    }

    /// `POST /v1/bank/transactions`: creates a transaction for the
    /// customer's active token. `fields` are the kind's keys in order.
    pub async fn create_txn(
        &self,
        customer_id: &str,
        kind: Kind,
        fields: &[(String, String)],
        test_time: Option<&str>,
    ) -> Result<TxnCreated, TokenServiceError> {
        let body = TxnCreateRequest {
            v: 1,
            customer_id,
            kind,
            fields,
        };
        self.call("/v1/bank/transactions", &body, test_time).await
    }

    /// `POST /v1/bank/transactions/status`.
    pub async fn txn_status(
        &self,
        customer_id: &str,
        txn_id: &str,
        test_time: Option<&str>,
    ) -> Result<TxnStateOk, TokenServiceError> {
        self.txn_ref_call(
            "/v1/bank/transactions/status",
            customer_id,
            txn_id,
            test_time,
        )
        .await
    }

    /// `POST /v1/bank/transactions/consume`: ok exactly once, only from
    /// `approved`.
    pub async fn consume_txn(
        &self,
        customer_id: &str,
        txn_id: &str,
        test_time: Option<&str>,
    ) -> Result<TxnStateOk, TokenServiceError> {
        self.txn_ref_call(
            "/v1/bank/transactions/consume",
            customer_id,
            txn_id,
            test_time,
        )
        .await
    }

    /// A back-end call whose body names one transaction of one customer.
    async fn txn_ref_call(
        &self,
        path: &str,
        customer_id: &str,
        txn_id: &str,
        test_time: Option<&str>,
    ) -> Result<TxnStateOk, TokenServiceError> {
        let body = TxnRef {
            v: 1,
            customer_id,
            txn_id,
        };
        self.call(path, &body, test_time).await
    }

    /// `POST /v1/bank/transactions/verify_code`: the offline
    /// 取引認証番号; ok means consumed.
    pub async fn verify_txn_code(
        &self,
        customer_id: &str,
        txn_id: &str,
        code: &str,
        test_time: Option<&str>,
    ) -> Result<TxnStateOk, TokenServiceError> {
        let body = TxnCodeRequest {
            v: 1,
            customer_id,
            txn_id,
            code,
        };
        self.call("/v1/bank/transactions/verify_code", &body, test_time)
            .await
    }

    /// `POST /v1/bank/deactivate`.
    pub async fn deactivate(
        &self,
        customer_id: &str,
        otp: &str,
        test_time: Option<&str>,
    ) -> Result<DeactivateOk, TokenServiceError> {
        let body = DeactivateRequest {
            v: 1,
            customer_id: customer_id.into(),
            otp: otp.into(),
        };
        self.call("/v1/bank/deactivate", &body, test_time).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_plain_and_carry_the_count() {
        let e = TokenServiceError::Refused {
            code: ErrorCode::InvalidOtp,
            fail_count: Some(3),
        };
        assert!(e.message(Lang::Ja).contains("連続3回目"));
        assert!(e.message(Lang::En).contains("3 time"));
        let r = TokenServiceError::Refused {
            code: ErrorCode::Replay,
            fail_count: None,
        };
        assert!(r.message(Lang::Ja).contains("使用済み"));
        let l = TokenServiceError::Refused {
            code: ErrorCode::Locked,
            fail_count: None,
        };
        assert!(l.message(Lang::Ja).contains("当金庫までご連絡ください"));
        assert!(TokenServiceError::Unreachable
            .message(Lang::En)
            .contains("not available"));
    }
}
