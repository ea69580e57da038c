//! No code, confirmation value or key ever shows in `Debug` output.
//!
//! Every message and handshake type is built with known values, formatted
//! with `{:?}` and `{:#?}`, and the output searched for each value (and for
//! the base32 of each key).
// Test and measurement code: a panic is the failure report (the workspace
// denies unwrap/expect, Cargo.toml `[workspace.lints]`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use softtoken_core::encoding::encode;
use softtoken_core::stk1::client::ClientHandshake;
use softtoken_core::stk1::kdf::SessionKeys;
use softtoken_core::stk1::messages::*;
use softtoken_core::stk1::server::{respond, ServerEphemeral, ServerKey};
use softtoken_core::{Code, Generator, Params, Secret, Serial};

const CODE: &str = "493817";
const CODE2: &str = "720564";
const KEY: &[u8; 20] = b"k3y-m4t3r14l-0f-t0k3";

fn shown<T: std::fmt::Debug>(value: &T) -> String {
    format!("{value:?}\n{value:#?}")
}

#[track_caller]
fn assert_hidden<T: std::fmt::Debug>(value: &T, needles: &[&str]) {
    let text = shown(value);
    for needle in needles {
        assert!(!needle.is_empty());
        assert!(!text.contains(needle), "{needle:?} shows in {text}");
    }
}

fn device() -> Device {
    Device {
        platform: Platform::Test,
        app_version: "1.0".into(),
    }
}

#[test]
fn request_bodies_hide_their_codes() {
    let customer_id = "1234567890".to_string();
    let bind = BindRequest {
        v: 1,
        customer_id: customer_id.clone(),
        serial: "K7M3Q9XZ2PD0".into(),
        otp: CODE.into(),
    };
    let verify = VerifyRequest {
        v: 1,
        customer_id: customer_id.clone(),
        otp: CODE.into(),
        purpose: Purpose::Transfer,
    };
    let change = ChangeRequest {
        v: 1,
        customer_id: customer_id.clone(),
        old_otp: CODE.into(),
        new_serial: "K7M3Q9XZ2PD0".into(),
        new_otp: CODE2.into(),
    };
    let deactivate = DeactivateRequest {
        v: 1,
        customer_id,
        otp: CODE.into(),
    };
    let resync = ResyncRequest {
        v: 1,
        serial: "K7M3Q9XZ2PD0".into(),
        otp1: CODE.into(),
        otp2: CODE2.into(),
    };
    assert_hidden(&bind, &[CODE]);
    assert_hidden(&verify, &[CODE]);
    assert_hidden(&change, &[CODE, CODE2]);
    assert_hidden(&deactivate, &[CODE]);
    assert_hidden(&resync, &[CODE, CODE2]);
    assert_hidden(&OtpText::from(CODE), &[CODE]);
    // The non-secret fields are still there to debug with.
    assert!(shown(&bind).contains("K7M3Q9XZ2PD0"));
    assert!(shown(&verify).contains("Transfer"));
}

#[test]
fn decoded_request_bodies_hide_their_codes() {
    let body = format!(
        r#"{{"v":1,"customer_id":"1","old_otp":"{CODE}","new_serial":"K7M3Q9XZ2PD0","new_otp":"{CODE2}"}}"#
    );
    let req: ChangeRequest = decode(body.as_bytes()).unwrap();
    assert_eq!(req.old_otp.as_str(), CODE);
    assert_eq!(&*req.new_otp, CODE2);
    assert_hidden(&req, &[CODE, CODE2]);
    // Serialised, the body is the same JSON again.
    assert_eq!(serde_json::to_string(&req).unwrap(), body);
    // And a refusal quotes none of it.
    let bad = body.replace(r#""v":1"#, r#""v":1,"x":1"#);
    let err = decode::<ChangeRequest>(bad.as_bytes()).unwrap_err();
    assert_hidden(&err, &[CODE, CODE2]);
    assert!(!err.to_string().contains(CODE));
}

#[test]
fn codes_generators_and_secrets_are_redacted() {
    let secret = Secret::from_slice(KEY);
    let b32 = encode(KEY);
    let g = Generator::new(&secret, Params::STK1).unwrap();
    let code = g.totp(1_700_000_000).unwrap();
    let digits = code.as_str().to_owned();
    assert_hidden(&code, &[&digits]);
    assert_hidden(&Code::parse(CODE, 6).unwrap(), &[CODE]);
    assert_hidden(&g, &[&digits, &b32]);
    assert_hidden(&secret, &[&b32, "k3y"]);
    assert_hidden(&secret.to_base32(), &[&b32]);
}

#[test]
fn pairing_values_are_redacted_on_both_sides() {
    let mut rng = rand_core::OsRng;
    let server = ServerKey::generate("k1", &mut rng);
    let server_secret = encode(&server.secret_bytes()[..]);
    let (client, init) = ClientHandshake::start(&mut rng, "k1", &server.public_bytes(), device());
    let serial = Serial::generate(&mut rng);
    let (resp, pending) = respond(
        &server,
        &init,
        ServerEphemeral::generate(&mut rng),
        serial,
        1_700_000_000,
        300,
    )
    .unwrap();
    let server_confirm = resp.server_confirm.clone();
    let client_confirm = encode(&pending.client_confirm);
    let token_key = encode(pending.token_key.expose());

    assert_hidden(&server, &[&server_secret]);
    assert_hidden(&client, &[&server_secret]);
    assert_hidden(&resp, &[&server_confirm]);
    assert_hidden(&pending, &[&client_confirm, &token_key]);

    let paired = client.finish(&resp).unwrap();
    assert_eq!(paired.finish_request.client_confirm, client_confirm);
    assert_hidden(&paired, &[&client_confirm, &token_key]);
    assert_hidden(&paired.finish_request, &[&client_confirm]);
    assert_hidden(&paired.secret, &[&token_key]);
    // The public parts stay visible.
    assert!(shown(&resp).contains(&resp.server_eph_pub));
    assert!(shown(&paired.finish_request).contains(&paired.finish_request.session_id));
}

#[test]
fn session_keys_are_redacted() {
    let keys = SessionKeys::derive(&[7; 32], &[9; 32], &[1; 16], &[2; 16], [3; 32]);
    let conf = encode(&keys.server_confirm());
    let cconf = encode(&keys.client_confirm());
    assert_hidden(&keys, &[&conf, &cconf]);
    let token = keys.into_token_key();
    assert_hidden(&token, &[&encode(token.expose())]);
}
