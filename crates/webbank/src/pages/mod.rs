//! The screens, one module per family. Every handler returns
//! [`PageResult`](crate::page::PageResult).
//!
//! * [`login`] — login, login OTP, logout;
//! * [`procedure`] — the shape 利用開始, 交換 and 利用中止 share;
//! * [`start`] 利用開始, [`exchange`] 交換, [`stop`] 利用中止;
//! * [`account`] — account home, login-OTP choice, OTP history;
//! * [`transaction`] — 振込 and 収納サービスへの支払 (入力 → 認証 → 完了);
//! * [`txn_auth`] — their 確認 → 取引認証 steps when 取引認証 applies;
//! * [`staff`] — the staff console (its own login and session).

pub mod account;
pub mod exchange;
pub mod login;
pub mod procedure;
pub mod staff;
pub mod start;
pub mod stop;
pub mod transaction;
pub mod txn_auth;
