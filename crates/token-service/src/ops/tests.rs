//! Unit tests of the operations on a real database file: redacted `Debug`
//! of every operation and request type, and the typed serial-taken fault.

use std::sync::Arc;

use rand_core::OsRng;
use softtoken_core::stk1::client::ClientHandshake;
use softtoken_core::stk1::messages::{
    decode, BindRequest, ChangeRequest, DeactivateRequest, Device, FinishRequest, Platform,
    Purpose, ResyncRequest, VerifyRequest,
};
use softtoken_core::stk1::server::{respond, PendingSession, ServerEphemeral, ServerKey};
use softtoken_core::Serial;

use super::bind::Bind;
use super::change::Change;
use super::deactivate::Deactivate;
use super::finish::Finish;
use super::init::{CreateSession, SESSION_TTL};
use super::resync::Resync;
use super::status::Status;
use super::unlock::Unlock;
use super::verify::Verify;
use crate::db::{Db, DbConfig, Fault};
use crate::seal::Sealer;

/// A code that appears nowhere else in the values built here.
const CODE: &str = "918273";
const CODE2: &str = "564738";

fn device() -> Device {
    Device {
        platform: Platform::Test,
        app_version: "unit".into(),
    }
}

/// A pending session as `init` builds it, with the serial `serial`.
fn pending(serial: Serial, now: u64) -> PendingSession {
    let key = ServerKey::generate("k1-test", &mut OsRng);
    let (_, req) = ClientHandshake::start(&mut OsRng, "k1-test", &key.public_bytes(), device());
    let (_, pending) = respond(
        &key,
        &req,
        ServerEphemeral::generate(&mut OsRng),
        serial,
        now,
        SESSION_TTL,
    )
    .unwrap();
    pending
}

fn assert_hidden(shown: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!shown.contains(s), "{s} visible in {shown}");
    }
    assert!(
        shown.contains("[redacted]") || shown.contains("redacted"),
        "{shown}"
    );
}

#[test]
fn debug_of_every_operation_and_request_hides_codes_and_keys() {
    let ops: Vec<String> = vec![
        format!(
            "{:?}",
            Bind {
                customer_id: "c1".into(),
                serial: "ABCD".into(),
                otp: CODE.into(),
            }
        ),
        format!(
            "{:?}",
            Verify {
                customer_id: "c1".into(),
                otp: CODE.into(),
                purpose: Purpose::Transfer,
            }
        ),
        format!(
            "{:?}",
            Change {
                customer_id: "c1".into(),
                old_otp: CODE.into(),
                new_serial: "ABCD".into(),
                new_otp: CODE2.into(),
            }
        ),
        format!(
            "{:?}",
            Deactivate {
                customer_id: "c1".into(),
                otp: CODE.into(),
            }
        ),
        format!(
            "{:?}",
            Resync {
                serial: "ABCD".into(),
                otp1: CODE.into(),
                otp2: CODE2.into(),
            }
        ),
    ];
    for shown in &ops {
        assert_hidden(shown, &[CODE, CODE2]);
    }

    // The pairing operations hold K_TOKEN and the expected confirmation.
    let p = pending(Serial::generate(&mut OsRng), 1_000);
    let token_key = softtoken_core::encoding::encode(p.token_key.expose());
    let confirm = softtoken_core::encoding::encode(&p.client_confirm);
    let session_id = p.session_id;
    let create = format!(
        "{:?}",
        CreateSession {
            pending: p,
            expires_at: 1_300,
        }
    );
    assert_hidden(&create, &[&token_key, &confirm]);
    let finish_req = FinishRequest {
        v: 1,
        session_id: softtoken_core::encoding::encode(&session_id),
        serial: Serial::generate(&mut OsRng),
        client_confirm: confirm.clone(),
    };
    let finish = format!(
        "{:?}",
        Finish {
            session_id,
            req: finish_req,
        }
    );
    assert_hidden(&finish, &[&confirm]);
    // No secret in these at all; they must still print.
    let status = format!(
        "{:?}",
        Status {
            serial: Serial::generate(&mut OsRng),
        }
    );
    assert!(status.starts_with("Status"));
    assert!(format!("{:?}", Unlock { serial: "X".into() }).starts_with("Unlock"));

    // The request bodies as decoded from the wire.
    let bodies: Vec<String> = vec![
        format!(
            "{:?}",
            decode::<BindRequest>(
                format!(r#"{{"v":1,"customer_id":"c","serial":"S","otp":"{CODE}"}}"#).as_bytes()
            )
            .unwrap()
        ),
        format!(
            "{:?}",
            decode::<VerifyRequest>(
                format!(r#"{{"v":1,"customer_id":"c","otp":"{CODE}","purpose":"login"}}"#)
                    .as_bytes()
            )
            .unwrap()
        ),
        format!(
            "{:?}",
            decode::<ChangeRequest>(
                format!(
                    r#"{{"v":1,"customer_id":"c","old_otp":"{CODE}","new_serial":"S","new_otp":"{CODE2}"}}"#
                )
                .as_bytes()
            )
            .unwrap()
        ),
        format!(
            "{:?}",
            decode::<DeactivateRequest>(
                format!(r#"{{"v":1,"customer_id":"c","otp":"{CODE}"}}"#).as_bytes()
            )
            .unwrap()
        ),
        format!(
            "{:?}",
            decode::<ResyncRequest>(
                format!(r#"{{"v":1,"serial":"S","otp1":"{CODE}","otp2":"{CODE2}"}}"#).as_bytes()
            )
            .unwrap()
        ),
    ];
    for shown in &bodies {
        assert_hidden(shown, &[CODE, CODE2]);
    }
}

fn open_db(dir: &std::path::Path) -> Db {
    let sealer = Arc::new(Sealer::new(&[3; 32]));
    Db::open(DbConfig::new(dir.join("t.sqlite")), sealer).unwrap()
}

/// A second session with a serial already in use is the typed
/// [`Fault::SerialTaken`] (which `init` answers by drawing another
/// serial), not a refusal recognised by its message; nothing of the
/// second session is stored and the first one still finishes.
#[tokio::test]
async fn fault_serial_taken_when_a_session_reuses_a_serial() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(dir.path());
    let now = 10_000;
    let serial = Serial::generate(&mut OsRng);
    let first = pending(serial.clone(), now);
    db.run(
        CreateSession {
            pending: first,
            expires_at: now + SESSION_TTL,
        },
        now,
    )
    .await
    .unwrap();
    let second = CreateSession {
        pending: pending(serial.clone(), now),
        expires_at: now + SESSION_TTL,
    };
    let second_id = second.pending.session_id;
    match db.run(second, now).await {
        Err(Fault::SerialTaken) => {}
        other => panic!("expected Fault::SerialTaken, got {other:?}"),
    }
    // The second session was not stored: finishing it is session_expired.
    let never = Finish {
        session_id: second_id,
        req: FinishRequest {
            v: 1,
            session_id: softtoken_core::encoding::encode(&second_id),
            serial: serial.clone(),
            client_confirm: softtoken_core::encoding::encode(&[0u8; 32]),
        },
    };
    match db.run(never, now).await {
        Err(Fault::Refused(r)) => {
            assert_eq!(
                r.code,
                softtoken_core::stk1::messages::ErrorCode::SessionExpired
            )
        }
        other => panic!("expected session_expired, got {other:?}"),
    }
    // A serial the database has never seen is accepted.
    db.run(
        CreateSession {
            pending: pending(Serial::generate(&mut OsRng), now),
            expires_at: now + SESSION_TTL,
        },
        now,
    )
    .await
    .unwrap();
}

/// A fault reaches a client as its STK1 error: a refusal as is, a taken
/// serial (after the retries) and a storage failure as `internal_error`.
#[test]
fn faults_map_to_refusals() {
    use crate::refusal::Refusal;
    use softtoken_core::stk1::messages::ErrorCode;
    let r: Refusal = Fault::Refused(Refusal::new(ErrorCode::Replay, "x")).into();
    assert_eq!(r.code, ErrorCode::Replay);
    let r: Refusal = Fault::SerialTaken.into();
    assert_eq!(r.code, ErrorCode::InternalError);
    let r: Refusal = Fault::Storage(rusqlite::Error::InvalidQuery).into();
    assert_eq!(r.code, ErrorCode::InternalError);
}
