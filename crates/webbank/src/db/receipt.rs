//! Receipts (受付番号): what each finished procedure or transaction issued,
//! as a typed value. The row keeps the kind, the serials of a token
//! procedure in their own columns, and the displayed fields of a
//! transaction as JSON of the typed detail.

use serde::{Deserialize, Serialize};

/// 科目 of the payee's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    /// 普通.
    #[default]
    Futsu,
    /// 当座.
    Toza,
}

impl AccountType {
    /// The form value: `toza` is 当座, anything else 普通.
    pub fn from_form(text: &str) -> Self {
        if text == "toza" {
            AccountType::Toza
        } else {
            AccountType::Futsu
        }
    }
}

/// The fields of a 振込 shown on its receipt (no money moves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferDetail {
    /// 振込先金融機関.
    pub bank: String,
    /// 支店名.
    pub branch: String,
    /// 科目.
    pub account_type: AccountType,
    /// 口座番号 (7 digits).
    pub account_number: String,
    /// 受取人名.
    pub payee: String,
    /// Yen.
    pub amount: u64,
}

/// The fields of a 収納サービスへの支払 shown on its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentDetail {
    /// 収納機関番号.
    pub biller: String,
    /// お客様番号.
    pub customer_number: String,
    /// 確認番号.
    pub confirm_number: String,
    /// Yen.
    pub amount: u64,
}

/// What a receipt was issued for, with what it shows. Holds no code and
/// no password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptDetail {
    /// 利用開始: the registered serial.
    Start {
        /// Serial now active.
        serial: String,
    },
    /// 交換: the serials after and before.
    Exchange {
        /// Serial now active.
        serial: String,
        /// Serial replaced.
        previous_serial: String,
    },
    /// 利用中止: the stopped serial.
    Stop {
        /// Serial stopped.
        serial: String,
    },
    /// 振込.
    Transfer(TransferDetail),
    /// 収納サービスへの支払.
    Payment(PaymentDetail),
}

/// The stored columns of a receipt: kind, serial, previous serial, detail JSON.
pub(super) type Columns = (&'static str, Option<String>, Option<String>, String);

impl ReceiptDetail {
    /// The serial the receipt names (active after 利用開始/交換, stopped by 利用中止).
    pub fn serial(&self) -> Option<&str> {
        match self {
            ReceiptDetail::Start { serial }
            | ReceiptDetail::Exchange { serial, .. }
            | ReceiptDetail::Stop { serial } => Some(serial),
            ReceiptDetail::Transfer(_) | ReceiptDetail::Payment(_) => None,
        }
    }

    /// The row's columns.
    pub(super) fn to_columns(&self) -> Result<Columns, serde_json::Error> {
        Ok(match self {
            ReceiptDetail::Start { serial } => ("start", Some(serial.clone()), None, "{}".into()),
            ReceiptDetail::Exchange {
                serial,
                previous_serial,
            } => (
                "exchange",
                Some(serial.clone()),
                Some(previous_serial.clone()),
                "{}".into(),
            ),
            ReceiptDetail::Stop { serial } => ("stop", Some(serial.clone()), None, "{}".into()),
            ReceiptDetail::Transfer(t) => ("transfer", None, None, serde_json::to_string(t)?),
            ReceiptDetail::Payment(p) => ("payment", None, None, serde_json::to_string(p)?),
        })
    }

    /// A row read back; `None` when the kind is unknown or a column the
    /// kind needs is missing or unreadable.
    pub(super) fn from_columns(
        kind: &str,
        serial: Option<String>,
        previous_serial: Option<String>,
        detail: &str,
    ) -> Option<Self> {
        Some(match kind {
            "start" => ReceiptDetail::Start { serial: serial? },
            "exchange" => ReceiptDetail::Exchange {
                serial: serial?,
                previous_serial: previous_serial?,
            },
            "stop" => ReceiptDetail::Stop { serial: serial? },
            "transfer" => ReceiptDetail::Transfer(serde_json::from_str(detail).ok()?),
            "payment" => ReceiptDetail::Payment(serde_json::from_str(detail).ok()?),
            _ => return None,
        })
    }
}

/// A stored receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Row id; the shown number is [`Receipt::number`].
    pub id: i64,
    /// Whose.
    pub contract_id: String,
    /// 受付時刻, Unix seconds.
    pub at: i64,
    /// For what, with what it shows.
    pub detail: ReceiptDetail,
}

impl Receipt {
    /// 受付番号: seven digits.
    pub fn number(&self) -> String {
        format!("{:07}", 1_000_000 + self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detail_survives_its_columns() {
        let all = [
            ReceiptDetail::Start {
                serial: "K7M3Q9XZ2PD0".into(),
            },
            ReceiptDetail::Exchange {
                serial: "B".into(),
                previous_serial: "A".into(),
            },
            ReceiptDetail::Stop { serial: "C".into() },
            ReceiptDetail::Transfer(TransferDetail {
                bank: "かけしん".into(),
                branch: "本店".into(),
                account_type: AccountType::Toza,
                account_number: "1234567".into(),
                payee: "ヤマダ".into(),
                amount: 1000,
            }),
            ReceiptDetail::Payment(PaymentDetail {
                biller: "12345".into(),
                customer_number: "ABC".into(),
                confirm_number: "9".into(),
                amount: 5400,
            }),
        ];
        for d in all {
            let (kind, s, p, json) = d.to_columns().unwrap();
            assert_eq!(
                ReceiptDetail::from_columns(kind, s, p, &json),
                Some(d.clone())
            );
        }
    }

    #[test]
    fn unreadable_rows_are_none() {
        assert_eq!(ReceiptDetail::from_columns("start", None, None, "{}"), None);
        assert_eq!(
            ReceiptDetail::from_columns("transfer", None, None, "{\"bank\":1}"),
            None
        );
        assert_eq!(
            ReceiptDetail::from_columns("settings", None, None, "{}"),
            None
        );
        assert_eq!(AccountType::from_form("toza"), AccountType::Toza);
        assert_eq!(AccountType::from_form("x"), AccountType::Futsu);
    }
}
