//! The rule each field value must follow.
//!
//! Common to every value (spec): UTF-8 in NFC, at most 128 bytes. Per key
//! (spec, and `docs/protocol.md` where the spec is silent):
//!
//! | key | rule |
//! |---|---|
//! | `payee_bank`, `payee_branch`, `payee_name` | [`ValueRule::Text`] |
//! | `account_type` | `普通`, `当座` or `貯蓄` |
//! | `account_number` | exactly 7 ASCII digits |
//! | `amount` | ASCII decimal 1..=10,000,000, no sign, separators or leading zero |
//! | `biller_number` | exactly 5 ASCII digits |
//! | `customer_number` | 1 to 20 ASCII letters or digits |
//! | `confirmation_number` | 1 to 16 ASCII digits |

use thiserror::Error;

use super::{MAX_AMOUNT, MAX_VALUE_BYTES, MIN_AMOUNT};

/// What is wrong with a value. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FieldProblem {
    /// The value is empty.
    #[error("empty")]
    Empty,
    /// More than 128 UTF-8 bytes.
    #[error("longer than {MAX_VALUE_BYTES} bytes")]
    TooLong,
    /// Not in Unicode Normalization Form C.
    #[error("not in NFC")]
    NotNfc,
    /// A control, bidirectional-formatting or other invisible formatting
    /// character.
    #[error("contains a control or formatting character")]
    ForbiddenCharacter,
    /// Starts or ends with white space.
    #[error("starts or ends with white space")]
    SurroundingSpace,
    /// `account_type` other than 普通/当座/貯蓄.
    #[error("not one of the allowed values")]
    NotAllowed,
    /// Not the required number of ASCII digits.
    #[error("must be {0} ASCII digits")]
    Digits(usize),
    /// Not an ASCII decimal without sign, separators or leading zero.
    #[error("not a plain decimal number")]
    NotDecimal,
    /// An amount outside 1..=10,000,000 yen.
    #[error("outside {MIN_AMOUNT}..={MAX_AMOUNT}")]
    OutOfRange,
    /// Another format rule (customer or confirmation number).
    #[error("wrong format")]
    Format,
}

/// The rule of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueRule {
    /// Free text shown to the customer (bank, branch, payee name): not
    /// empty, no leading or trailing white space, no control character
    /// (Unicode `Cc`), no bidirectional or invisible formatting character
    /// (U+200B–U+200F, U+202A–U+202E, U+2060–U+206F, U+FEFF) that could
    /// make the screen show something other than the bytes hashed.
    Text,
    /// `普通`, `当座` or `貯蓄`.
    AccountType,
    /// Exactly this many ASCII digits.
    Digits(usize),
    /// An amount in yen.
    Amount,
    /// 1 to 20 ASCII letters or digits.
    CustomerNumber,
    /// 1 to 16 ASCII digits.
    ConfirmationNumber,
}

/// Account types allowed for `account_type`.
pub const ACCOUNT_TYPES: [&str; 3] = ["普通", "当座", "貯蓄"];

fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}'                  // soft hyphen (invisible)
            | '\u{061C}'                // Arabic letter mark
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'   // zero-width, LRM, RLM
            | '\u{2028}'..='\u{2029}'   // line/paragraph separators
            | '\u{202A}'..='\u{202E}'   // embeddings and overrides
            | '\u{2060}'..='\u{206F}'   // word joiner, isolates, invisible operators
            | '\u{FEFF}'                // zero-width no-break space
            | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
        )
}

impl ValueRule {
    /// The rule of a key of the vocabulary; free text for anything else
    /// (never reached: keys are checked first).
    pub fn for_key(key: &str) -> ValueRule {
        match key {
            "account_type" => ValueRule::AccountType,
            "account_number" => ValueRule::Digits(7),
            "biller_number" => ValueRule::Digits(5),
            "amount" => ValueRule::Amount,
            "customer_number" => ValueRule::CustomerNumber,
            "confirmation_number" => ValueRule::ConfirmationNumber,
            _ => ValueRule::Text,
        }
    }

    /// Checks a value as carried (no normalisation).
    pub fn check(self, value: &str) -> Result<(), FieldProblem> {
        if value.is_empty() {
            return Err(FieldProblem::Empty);
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(FieldProblem::TooLong);
        }
        if !unicode_normalization::is_nfc(value) {
            return Err(FieldProblem::NotNfc);
        }
        match self {
            ValueRule::Text => {
                if value.chars().any(forbidden) {
                    return Err(FieldProblem::ForbiddenCharacter);
                }
                let starts = value.chars().next().is_some_and(char::is_whitespace);
                let ends = value.chars().next_back().is_some_and(char::is_whitespace);
                if starts || ends {
                    return Err(FieldProblem::SurroundingSpace);
                }
                Ok(())
            }
            ValueRule::AccountType => {
                if ACCOUNT_TYPES.contains(&value) {
                    Ok(())
                } else {
                    Err(FieldProblem::NotAllowed)
                }
            }
            ValueRule::Digits(n) => {
                if value.len() == n && value.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(())
                } else {
                    Err(FieldProblem::Digits(n))
                }
            }
            ValueRule::Amount => parse_amount(value).map(|_| ()),
            ValueRule::CustomerNumber => {
                if value.len() <= 20 && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    Ok(())
                } else {
                    Err(FieldProblem::Format)
                }
            }
            ValueRule::ConfirmationNumber => {
                if value.len() <= 16 && value.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(())
                } else {
                    Err(FieldProblem::Format)
                }
            }
        }
    }
}

/// Parses an `amount` value: ASCII digits, no leading zero, 1..=10,000,000.
pub(crate) fn parse_amount(value: &str) -> Result<u64, FieldProblem> {
    let b = value.as_bytes();
    if b.is_empty() || b[0] == b'0' || !b.iter().all(u8::is_ascii_digit) {
        return Err(FieldProblem::NotDecimal);
    }
    if b.len() > 8 {
        return Err(FieldProblem::OutOfRange);
    }
    let n = b.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
    if (MIN_AMOUNT..=MAX_AMOUNT).contains(&n) {
        Ok(n)
    } else {
        Err(FieldProblem::OutOfRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_bounds_and_format() {
        assert_eq!(parse_amount("1"), Ok(1));
        assert_eq!(parse_amount("12000"), Ok(12_000));
        assert_eq!(parse_amount("10000000"), Ok(10_000_000));
        assert_eq!(parse_amount("10000001"), Err(FieldProblem::OutOfRange));
        assert_eq!(
            parse_amount("99999999999999999999999"),
            Err(FieldProblem::OutOfRange)
        );
        for bad in ["", "0", "012", "1,000", "+5", "-5", "1.0", " 1", "１２"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_amount("0"), Err(FieldProblem::NotDecimal));
    }

    #[test]
    fn text_rules() {
        let t = ValueRule::Text;
        assert_eq!(t.check("かけしん信用金庫"), Ok(()));
        assert_eq!(t.check("ヤマダ タロウ"), Ok(()));
        assert_eq!(t.check(""), Err(FieldProblem::Empty));
        assert_eq!(t.check(" ヤマダ"), Err(FieldProblem::SurroundingSpace));
        assert_eq!(
            t.check("ヤマダ\u{3000}"),
            Err(FieldProblem::SurroundingSpace)
        );
        assert_eq!(t.check("ヤマ\nダ"), Err(FieldProblem::ForbiddenCharacter));
        assert_eq!(
            t.check("ab\u{202E}cd"),
            Err(FieldProblem::ForbiddenCharacter)
        );
        assert_eq!(
            t.check("ab\u{2066}cd"),
            Err(FieldProblem::ForbiddenCharacter)
        );
        // "ガ" as カ + combining dakuten is not NFC.
        assert_eq!(t.check("\u{30AB}\u{3099}"), Err(FieldProblem::NotNfc));
        assert_eq!(t.check(&"あ".repeat(42)), Ok(())); // 126 bytes
        assert_eq!(t.check(&"あ".repeat(43)), Err(FieldProblem::TooLong)); // 129 bytes
        assert_eq!(t.check(&"a".repeat(128)), Ok(()));
        assert_eq!(t.check(&"a".repeat(129)), Err(FieldProblem::TooLong));
    }

    #[test]
    fn fixed_formats() {
        assert_eq!(ValueRule::AccountType.check("普通"), Ok(()));
        assert_eq!(
            ValueRule::AccountType.check("普通預金"),
            Err(FieldProblem::NotAllowed)
        );
        assert_eq!(ValueRule::Digits(7).check("1234567"), Ok(()));
        assert_eq!(
            ValueRule::Digits(7).check("123456"),
            Err(FieldProblem::Digits(7))
        );
        assert_eq!(
            ValueRule::Digits(7).check("１２３４５６７"),
            Err(FieldProblem::Digits(7))
        );
        assert_eq!(ValueRule::Digits(5).check("12345"), Ok(()));
        assert_eq!(ValueRule::CustomerNumber.check("AB12cd"), Ok(()));
        assert_eq!(
            ValueRule::CustomerNumber.check(&"1".repeat(21)),
            Err(FieldProblem::Format)
        );
        assert_eq!(
            ValueRule::CustomerNumber.check("12-34"),
            Err(FieldProblem::Format)
        );
        assert_eq!(ValueRule::ConfirmationNumber.check("0001"), Ok(()));
        assert_eq!(
            ValueRule::ConfirmationNumber.check("12a"),
            Err(FieldProblem::Format)
        );
        assert_eq!(
            ValueRule::ConfirmationNumber.check(&"1".repeat(17)),
            Err(FieldProblem::Format)
        );
    }
}
