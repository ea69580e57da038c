//! The offline 取引認証番号: RFC 6287 OCRA with `K_OCRA`.

use std::str::FromStr;

use super::{OcraKey, TxnError, OFFLINE_STEP, OFFLINE_SUITE};
use crate::ocra::{self, OcraCode, OcraInput, Question, Suite};

/// The time step of the offline code at `unix`: `floor(unix / 30)`.
pub fn offline_step(unix: u64) -> u64 {
    unix / OFFLINE_STEP
}

fn offline_suite() -> Suite {
    // The constant is a valid suite; the unit test `offline_suite_parses`
    // pins it.
    Suite::from_str(OFFLINE_SUITE).unwrap_or_else(|_| unreachable!())
}

impl OcraKey {
    /// The 6-digit 取引認証番号 for `question` (the account number of a
    /// transfer or the biller number of a payment, 1 to 8 ASCII digits as
    /// typed, after [`offline_question`]) at time step `step`
    /// ([`offline_step`]): OCRA suite [`OFFLINE_SUITE`] with this key.
    pub fn offline_code_at_step(&self, question: &str, step: u64) -> Result<OcraCode, TxnError> {
        if question.is_empty()
            || question.len() > 8
            || !question.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(TxnError::OfflineQuestion);
        }
        let input = OcraInput {
            question: Question::One(question),
            timestep: Some(step),
            ..OcraInput::default()
        };
        ocra::compute(&offline_suite(), &self.expose()[..], &input)
            .map_err(|_| TxnError::OfflineQuestion)
    }

    /// [`OcraKey::offline_code_at_step`] at the step of `unix`.
    pub fn offline_code(&self, question: &str, unix: u64) -> Result<OcraCode, TxnError> {
        self.offline_code_at_step(question, offline_step(unix))
    }

    /// Whether `typed` (6 ASCII digits) is the code of `question` at
    /// `step`, compared in constant time. Malformed input is `false`.
    pub fn check_offline_code(&self, question: &str, step: u64, typed: &str) -> bool {
        match self.offline_code_at_step(question, step) {
            Ok(code) => code.matches(typed),
            Err(_) => false,
        }
    }
}

/// Normalises what a customer typed as the offline question: ASCII or
/// full-width digits, spaces and `-` ignored. `None` unless 1 to 8 digits
/// remain.
pub fn offline_question(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(8);
    for c in typed.chars() {
        match c {
            '0'..='9' => out.push(c),
            '０'..='９' => out.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
            ' ' | '\u{3000}' | '-' | 'ー' | '－' => {}
            _ => return None,
        }
        if out.len() > 8 {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::serial::Serial;
    use crate::txn::derive_txn_keys;

    #[test]
    fn offline_suite_parses() {
        assert_eq!(offline_suite().to_string(), OFFLINE_SUITE);
    }

    #[test]
    fn offline_question_normalises_typing() {
        assert_eq!(
            offline_question("１２３ ４５６７").as_deref(),
            Some("1234567")
        );
        assert_eq!(offline_question("123-4567").as_deref(), Some("1234567"));
        assert_eq!(offline_question(""), None);
        assert_eq!(offline_question("123456789"), None);
        assert_eq!(offline_question("12a"), None);
    }

    #[test]
    fn wrong_offline_question_is_refused() {
        let serial = Serial::parse_strict("K7M3Q9XZ2PD0").unwrap();
        let (_, o) = derive_txn_keys(&Secret::from_slice(&[7; 20]), &serial);
        for q in ["", "123456789", "12a", "１２"] {
            assert_eq!(
                o.offline_code_at_step(q, 1).unwrap_err(),
                TxnError::OfflineQuestion,
                "{q}"
            );
            assert!(!o.check_offline_code(q, 1, "000000"));
        }
    }
}
