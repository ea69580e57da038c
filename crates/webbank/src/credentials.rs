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
use crate::login_limit::Refusal;
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
    /// Too many failures recently from this client address.
    #[error("rate limited")]
    Limited,
    /// Another login for this contract ID is being checked right now.
    #[error("attempt in flight")]
    Busy,
    /// The progressive delay of this contract ID has not passed (seconds left).
    #[error("wait before the next attempt")]
    Wait(u64),
    /// The contract ID is locked after many failures.
    #[error("locked")]
    Locked,
    /// Storage or hashing failed.
    #[error("internal")]
    Internal,
}

impl AuthError {
    /// A plain message.
    pub fn message(self, l: Lang) -> String {
        match self {
            AuthError::Wait(s) => match l {
                Lang::Ja => format!("ログインに続けて失敗したため、{s} 秒後に再度お試しください。"),
                Lang::En => format!("Too many failed logins. Please try again in {s} s."),
            },
            e => e.static_message(l).to_string(),
        }
    }

    fn static_message(self, l: Lang) -> &'static str {
        match self {
            AuthError::Busy => l.t(
                "このご契約のログインを処理中です。しばらくしてから再度お試しください。",
                "A login for this contract is being processed. Please try again in a moment.",
            ),
            AuthError::Locked | AuthError::Wait(_) => l.t(
                "ログインに続けて失敗したため、しばらくの間ご利用いただけません。お取引店にお問い合わせください。",
                "Too many failed logins: this contract is locked for now. Please contact your branch.",
            ),
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

/// Checks a contract ID and password ([`authenticate_noting`] without
/// the count of earlier failures).
pub async fn authenticate(
    state: &WebState,
    ctx: &PageCtx,
    contract_id: &str,
    password: String,
) -> Result<Customer, AuthError> {
    authenticate_noting(state, ctx, contract_id, password)
        .await
        .map(|(c, _)| c)
}

/// Checks a contract ID and password; on success also returns how many
/// wrong passwords were typed for this ID since its previous success.
///
/// Contract: the client-address limit and the contract ID's
/// [`LoginGuard`](crate::login_limit::LoginGuard) reservation are decided
/// before the customer row is read or any hash is computed (a refusal
/// costs no Argon2 and no database work); the attempt counts as a failure
/// from its reservation. The Argon2 check runs on the blocking pool under
/// a semaphore of as many permits as the machine has cores. Unknown IDs
/// cost one hash verification too (same timing).
pub async fn authenticate_noting(
    state: &WebState,
    ctx: &PageCtx,
    contract_id: &str,
    password: String,
) -> Result<(Customer, u32), AuthError> {
    let password = Zeroizing::new(password);
    if contract_id.trim().is_empty() || password.is_empty() {
        return Err(AuthError::Missing);
    }
    let id = normalise_contract_id(contract_id).ok_or(AuthError::Format)?;
    let now = Instant::now();
    let client_key = ctx.client.as_ref().map(|c| format!("client:{c}"));
    if client_key
        .as_ref()
        .is_some_and(|k| !state.limit_client.allowed(k, now))
    {
        return Err(AuthError::Limited);
    }
    let reservation = state.login_guard.reserve(&id, now).map_err(|r| match r {
        Refusal::Busy => AuthError::Busy,
        Refusal::Wait(d) => AuthError::Wait(d.as_secs_f64().ceil() as u64),
        Refusal::Locked => AuthError::Locked,
        _ => AuthError::Limited,
    })?;
    let customer = state
        .db
        .customer(&id)
        .await
        .map_err(|_| AuthError::Internal)?;
    let hash = customer
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| state.dummy_hash.clone());
    let permit = state
        .argon2_permits
        .acquire()
        .await
        .map_err(|_| AuthError::Internal)?;
    #[cfg(test)]
    let _flight = state.checks.enter(&id);
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    drop(permit);
    match customer {
        Some(c) if ok => Ok((c, reservation.succeeded())),
        _ => {
            // The client window counts failures only (successes of a
            // household behind one address must not lock it out); its
            // concurrency is bounded by the ID guard and the semaphore.
            if let Some(k) = client_key {
                state.limit_client.fail(&k, now);
            }
            Err(AuthError::Wrong)
        }
    }
}

/// Counts password checks in flight per contract ID (tests only).
#[cfg(test)]
#[derive(Debug, Default)]
pub struct CheckCounter {
    inner: std::sync::Mutex<(std::collections::HashMap<String, usize>, usize, usize)>,
}

#[cfg(test)]
impl CheckCounter {
    fn enter(&self, id: &str) -> CheckFlight<'_> {
        let mut g = self.inner.lock().unwrap();
        let n = g.0.entry(id.to_string()).or_default();
        *n += 1;
        let n = *n;
        g.1 = g.1.max(n);
        g.2 += 1;
        CheckFlight {
            counter: self,
            id: id.to_string(),
        }
    }

    /// (most checks ever in flight at once for one ID, checks run).
    pub fn seen(&self) -> (usize, usize) {
        let g = self.inner.lock().unwrap();
        (g.1, g.2)
    }
}

#[cfg(test)]
struct CheckFlight<'a> {
    counter: &'a CheckCounter,
    id: String,
}

#[cfg(test)]
impl Drop for CheckFlight<'_> {
    fn drop(&mut self) {
        let mut g = self.counter.inner.lock().unwrap();
        if let Some(n) = g.0.get_mut(&self.id) {
            *n -= 1;
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
