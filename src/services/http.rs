//! The real [`BankClient`]: STK1 over HTTP through `softtoken-client`.
use crate::services::bank::{BankClient, BankStatus, BoxFuture, ClientError};
use crate::services::directory::{BankEntry, PinnedKey};
use softtoken_client as client;
use softtoken_core::stk1::client::Paired;
use softtoken_core::stk1::messages::{Device, FinishRequest, FinishResponse, Platform};
use softtoken_core::stk1::Stk1Error;
use softtoken_core::txn::wire::{DecisionRequest, DecisionResponse, PollResponse};
use softtoken_core::txn::{TxnId, TxnKey, NONCE_LEN};
use softtoken_core::Serial;

/// Talks to the banks' token services over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpBankClient {
    platform: Platform,
}

impl HttpBankClient {
    /// A client announcing `platform` in `init`.
    pub fn new(platform: Platform) -> Self {
        HttpBankClient { platform }
    }
}

impl Default for HttpBankClient {
    fn default() -> Self {
        let platform = if cfg!(target_os = "android") {
            Platform::Android
        } else if cfg!(target_os = "ios") {
            Platform::Ios
        } else if cfg!(target_os = "macos") {
            Platform::Macos
        } else if cfg!(target_os = "windows") {
            Platform::Windows
        } else {
            Platform::Linux
        };
        HttpBankClient::new(platform)
    }
}

/// Maps the client crate's errors to the app's categories.
pub fn map_error(e: client::ClientError) -> ClientError {
    match e {
        client::ClientError::Network { .. } | client::ClientError::InvalidUrl(_) => {
            ClientError::Network(e.to_string())
        }
        client::ClientError::Refused { code, .. } => ClientError::Refused { code },
        client::ClientError::TxnNotSupported => ClientError::TxnNotSupported,
        client::ClientError::Protocol(Stk1Error::ConfirmFailed)
        | client::ClientError::Protocol(Stk1Error::NonContributory) => ClientError::NotTheBank,
        other => ClientError::Protocol(other.to_string()),
    }
}

fn connect(url: &str) -> Result<client::BankClient, ClientError> {
    client::BankClient::new(url).map_err(map_error)
}

impl BankClient for HttpBankClient {
    fn init<'a>(
        &'a self,
        bank: &'a BankEntry,
        key: &'a PinnedKey,
    ) -> BoxFuture<'a, Result<Paired, ClientError>> {
        Box::pin(async move {
            let c = connect(&bank.url)?;
            let device = Device {
                platform: self.platform,
                app_version: env!("CARGO_PKG_VERSION").to_owned(),
            };
            c.pair(&key.kid, &key.public, device)
                .await
                .map_err(map_error)
        })
    }

    fn finish<'a>(
        &'a self,
        url: &'a str,
        request: &'a FinishRequest,
    ) -> BoxFuture<'a, Result<FinishResponse, ClientError>> {
        Box::pin(async move { connect(url)?.finish(request).await.map_err(map_error) })
    }

    fn status<'a>(
        &'a self,
        url: &'a str,
        serial: &'a Serial,
    ) -> BoxFuture<'a, Result<BankStatus, ClientError>> {
        Box::pin(async move {
            let t = connect(url)?
                .status_with_time(serial)
                .await
                .map_err(map_error)?;
            Ok(BankStatus {
                state: t.status.state,
                server_time: t.server_time,
            })
        })
    }

    fn poll_pending<'a>(
        &'a self,
        url: &'a str,
        serial: &'a Serial,
        key: &'a TxnKey,
        t: u64,
        nonce: [u8; NONCE_LEN],
    ) -> BoxFuture<'a, Result<PollResponse, ClientError>> {
        Box::pin(async move {
            connect(url)?
                .poll_pending(serial, key, t, nonce)
                .await
                .map_err(map_error)
        })
    }

    fn decide<'a>(
        &'a self,
        url: &'a str,
        serial: &'a Serial,
        txn_id: &'a TxnId,
        request: &'a DecisionRequest,
    ) -> BoxFuture<'a, Result<DecisionResponse, ClientError>> {
        Box::pin(async move {
            connect(url)?
                .decide(serial, txn_id, request)
                .await
                .map_err(map_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use softtoken_core::stk1::ErrorCode;

    #[test]
    fn refusals_keep_the_stk1_code() {
        let e = map_error(client::ClientError::Refused {
            status: 410,
            code: ErrorCode::SessionExpired,
            message: "session gone".into(),
            fail_count: None,
        });
        assert_eq!(
            e,
            ClientError::Refused {
                code: ErrorCode::SessionExpired
            }
        );
        assert_eq!(e.to_string(), "server refused: session_expired");
        assert_eq!(
            map_error(client::ClientError::Protocol(Stk1Error::ConfirmFailed)),
            ClientError::NotTheBank
        );
        assert!(matches!(
            map_error(client::ClientError::BadResponse("x".into())),
            ClientError::Protocol(_)
        ));
        assert_eq!(
            map_error(client::ClientError::TxnNotSupported),
            ClientError::TxnNotSupported
        );
    }
}
