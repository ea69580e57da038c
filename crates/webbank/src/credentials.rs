//! Customer credentials: Argon2id password hashes and the password check
//! with the login rate limit. Used by the login screen and by the 利用者認証
//! step of 利用開始, 交換 and 利用中止.

use std::time::Instant;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use zeroize::Zeroizing;

use crate::db::Customer;
use crate::i18n::Lang;
use crate::request::PageCtx;
use crate::web_state::WebState;

/// Why authentication failed (no detail that tells which field was wrong).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A field is empty.
    #[error("missing field")]
    Missing,
    /// The contract ID is not digits.
    #[error("contract id format")]
    Format,
    /// Unknown contract ID or wrong password.
    #[error("wrong credentials")]
    Wrong,
    /// Too many failures recently.
    #[error("rate limited")]
    Limited,
    /// Storage or hashing failed.
    #[error("internal")]
    Internal,
}

impl AuthError {
    /// A plain message.
    pub fn message(self, l: Lang) -> &'static str {
        match self {
            AuthError::Missing => l.t(
                "契約者ID（利用者番号）とログインパスワードを入力してください。",
                "Enter your contract ID (user number) and login password.",
            ),
            AuthError::Format => l.t(
                "契約者ID（利用者番号）は半角数字で入力してください。",
                "The contract ID (user number) is digits only.",
            ),
            AuthError::Wrong => l.t(
                "契約者ID（利用者番号）またはログインパスワードが正しくありません。",
                "The contract ID (user number) or the login password is not correct.",
            ),
            AuthError::Limited => l.t(
                "ログインに続けて失敗したため、しばらくの間ご利用いただけません。時間をおいて再度お試しください。",
                "Too many failed logins. Please wait a while and try again.",
            ),
            AuthError::Internal => l.t(
                "ただいまお取扱いできません。しばらくしてから再度お試しください。",
                "The service is not available right now. Please try again later.",
            ),
        }
    }
}

/// Normalises a typed contract ID: trims, maps full-width digits; `None`
/// unless 1–16 ASCII digits remain.
pub fn normalise_contract_id(text: &str) -> Option<String> {
    let s: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            c => c,
        })
        .collect();
    (!s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// An Argon2id PHC hash of `password` (default parameters: 19 MiB, t=2).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AuthError::Internal)
}

fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks a contract ID and password. Unknown IDs cost one hash
/// verification too (same timing), and failures count per ID and per
/// client address.
pub async fn authenticate(
    state: &WebState,
    ctx: &PageCtx,
    contract_id: &str,
    password: String,
) -> Result<Customer, AuthError> {
    let password = Zeroizing::new(password);
    if contract_id.trim().is_empty() || password.is_empty() {
        return Err(AuthError::Missing);
    }
    let id = normalise_contract_id(contract_id).ok_or(AuthError::Format)?;
    let now = Instant::now();
    let client_key = ctx.client.as_ref().map(|c| format!("client:{c}"));
    if !state.limit_account.allowed(&id, now)
        || client_key
            .as_ref()
            .is_some_and(|k| !state.limit_client.allowed(k, now))
    {
        return Err(AuthError::Limited);
    }
    let customer = state
        .db
        .customer(&id)
        .await
        .map_err(|_| AuthError::Internal)?;
    let hash = customer
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| state.dummy_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    match customer {
        Some(c) if ok => Ok(c),
        _ => {
            state.limit_account.fail(&id, now);
            if let Some(k) = client_key {
                state.limit_client.fail(&k, now);
            }
            Err(AuthError::Wrong)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_ids() {
        assert_eq!(
            normalise_contract_id(" 1000001 ").as_deref(),
            Some("1000001")
        );
        assert_eq!(
            normalise_contract_id("１０００００１").as_deref(),
            Some("1000001")
        );
        assert_eq!(normalise_contract_id("10a"), None);
        assert_eq!(normalise_contract_id(""), None);
        assert_eq!(normalise_contract_id(&"1".repeat(17)), None);
    }

    #[test]
    fn argon2id_round_trip() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("correct horse"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("not a hash", "x"));
    }
}
