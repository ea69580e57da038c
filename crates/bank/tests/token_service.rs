//! The token service and back-end API over HTTP, against the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use softtoken_client::{BankClient, ClientError};
use softtoken_core::stk1::messages::{ErrorCode, TokenState};

#[tokio::test]
async fn pair_with_rust_client_bind_and_verify_every_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let client = BankClient::new(&s.url).unwrap();

    // Pairing over the real clock with the app's client.
    let paired = client.pair(&s.kid, &s.server_pub, device()).await.unwrap();
    let serial = paired.serial.clone();
    assert!(paired.server_time.abs_diff(real_now()) < 60);
    assert_eq!(
        client.status(&serial).await.unwrap().state,
        TokenState::Expired
    );
    let done = client.finish(&paired.finish_request).await.unwrap();
    assert_eq!(done.state, TokenState::Issued);
    assert!(done.bind_by > real_now() + 23 * 3600);
    // finish is idempotent: same answer again.
    assert_eq!(client.finish(&paired.finish_request).await.unwrap(), done);
    assert_eq!(
        client.status(&serial).await.unwrap().state,
        TokenState::Issued
    );

    let tok = Token::from(paired);
    let t = real_now();
    let (st, body) = s
        .bank(
            "/v1/bank/bind",
            json!({"v":1,"customer_id":"1000001","serial":serial.formatted().to_lowercase(),"otp":tok.code(t)}),
            t,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["result"], "ok");
    assert_eq!(body["serial"], serial.as_str());
    assert_eq!(body["state"], "active");
    assert_eq!(
        client.status(&serial).await.unwrap().state,
        TokenState::Active
    );

    for (i, purpose) in ["login", "transfer", "payment", "settings"]
        .iter()
        .enumerate()
    {
        let t = t + 30 * (i as u64 + 1);
        let (st, body) = s
            .bank(
                "/v1/bank/verify",
                json!({"v":1,"customer_id":"1000001","otp":tok.code(t),"purpose":purpose}),
                t,
            )
            .await;
        assert_eq!(st, 200, "{purpose}: {body}");
        assert_eq!(body["result"], "ok");
    }
    // The code just used is refused as a replay, sequentially, and is not
    // counted as a failure.
    let t_last = t + 120;
    for _ in 0..12 {
        let (st, body) = s.verify("1000001", &tok.code(t_last), t_last).await;
        assert_eq!(
            (st, body["error"].as_str()),
            (409, Some("replay")),
            "{body}"
        );
    }
    let t_next = t_last + 30;
    let (st, _) = s.verify("1000001", &tok.code(t_next), t_next).await;
    assert_eq!(st, 200, "replays must not lock");
    // A customer without a token.
    let (st, body) = s.verify("999", &tok.code(t_next + 30), t_next + 30).await;
    assert_eq!((st, body["error"].as_str()), (404, Some("no_token")));
}

#[tokio::test]
async fn fifty_concurrent_requests_with_one_code_pass_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(Server::start(&data_in(&dir)));
    let t = base_time();
    let tok = s.bound("2000002", t).await;
    for round in 1..=3u64 {
        let t = t + 30 * round;
        let code = tok.code(t);
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let s = s.clone();
            let code = code.clone();
            tasks.push(tokio::spawn(
                async move { s.verify("2000002", &code, t).await },
            ));
        }
        let mut ok = 0;
        let mut replay = 0;
        for task in tasks {
            let (st, body) = task.await.unwrap();
            match st {
                200 => ok += 1,
                409 if body["error"] == "replay" => replay += 1,
                _ => panic!("unexpected {st} {body}"),
            }
        }
        assert_eq!((ok, replay), (1, 49), "round {round}");
    }
}

#[tokio::test]
async fn lockout_across_sessions_at_the_limit_and_unlock() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let t = base_time();
    let tok = s.bound("3000003", t).await;
    let wrong = tok.wrong(t + 30);
    for i in 1..=10u32 {
        // A fresh HTTP client (connection) each time: counting is per token.
        let (st, body) = s.verify_new_connection("3000003", &wrong, t + 30).await;
        if i < 10 {
            assert_eq!(
                (st, body["error"].as_str()),
                (422, Some("invalid_otp")),
                "{i}: {body}"
            );
            assert_eq!(body["fail_count"], i);
            assert!(!body["message"].as_str().unwrap().contains(&wrong));
        } else {
            assert_eq!(
                (st, body["error"].as_str()),
                (423, Some("locked")),
                "{body}"
            );
        }
        // Replays in between are not failures.
        let (st, _) = s.verify("3000003", &tok.code(t), t + 30).await;
        assert!(st == 409 || st == 423);
    }
    // Even the right code is refused now.
    let (st, body) = s.verify("3000003", &tok.code(t + 30), t + 30).await;
    assert_eq!((st, body["error"].as_str()), (423, Some("locked")));
    // Unlock needs the operations key, on the admin listener.
    let (st, body) = s
        .admin_with(
            "/v1/admin/unlock",
            &json!({"v":1,"serial":tok.serial}),
            None,
            t + 30,
        )
        .await;
    assert_eq!((st, body["error"].as_str()), (401, Some("unauthorized")));
    let (st, body) = s
        .admin(
            "/v1/admin/unlock",
            json!({"v":1,"serial":tok.serial}),
            t + 30,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = s.verify("3000003", &tok.code(t + 30), t + 30).await;
    assert_eq!(st, 200, "{body}");
    // Unknown serial at unlock.
    let (st, body) = s
        .admin(
            "/v1/admin/unlock",
            json!({"v":1,"serial":"K7M3Q9XZ2PD0"}),
            t + 30,
        )
        .await;
    assert_eq!((st, body["error"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn drift_is_learned_from_successes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let t = base_time();
    let a = s.bound("4000004", t).await;
    let b = s.bound("4000005", t).await;
    let step = t / 30;
    // Token b runs two steps ahead: refused without a learned drift.
    let (st, body) = s.verify("4000005", &b.code_at_step(step + 3), t + 30).await;
    assert_eq!((st, body["error"].as_str()), (422, Some("invalid_otp")));
    // Token a: one step ahead is accepted and teaches drift 1 …
    let (st, _) = s.verify("4000004", &a.code_at_step(step + 2), t + 30).await;
    assert_eq!(st, 200);
    // … after which two steps ahead is accepted.
    let (st, body) = s.verify("4000004", &a.code_at_step(step + 4), t + 60).await;
    assert_eq!(st, 200, "{body}");
}

#[tokio::test]
async fn resync_with_two_consecutive_codes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let t = base_time();
    let tok = s.bound("5000005", t).await;
    let step = (t + 30) / 30;
    // The phone runs 15 steps ahead.
    let (st, _) = s
        .verify("5000005", &tok.code_at_step(step + 15), t + 30)
        .await;
    assert_eq!(st, 422);
    let (st, body) = s
        .admin(
            "/v1/admin/resync",
            json!({"v":1,"serial":tok.serial,"otp1":tok.code_at_step(step + 15),"otp2":tok.code_at_step(step + 17)}),
            t + 30,
        )
        .await;
    assert_eq!((st, body["error"].as_str()), (422, Some("resync_failed")));
    let (st, body) = s
        .admin(
            "/v1/admin/resync",
            json!({"v":1,"serial":tok.serial,"otp1":tok.code_at_step(step + 15),"otp2":tok.code_at_step(step + 16)}),
            t + 30,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["drift_steps"], 16);
    let (st, body) = s
        .verify("5000005", &tok.code_at_step(step + 17), t + 30)
        .await;
    assert_eq!(st, 200, "{body}");
}

#[tokio::test]
async fn bind_errors_do_not_tell_unknown_serial_from_wrong_code() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let t = base_time();
    let tok = s.pair(t).await;
    let bind = |serial: String, otp: String, customer: &'static str| {
        let s = &s;
        async move {
            s.bank(
                "/v1/bank/bind",
                json!({"v":1,"customer_id":customer,"serial":serial,"otp":otp}),
                t,
            )
            .await
        }
    };
    let (st1, b1) = bind("K7M3Q9XZ2PD0".into(), tok.code(t), "6000006").await;
    let (st2, b2) = bind(tok.serial.clone(), tok.wrong(t), "6000006").await;
    let (st3, b3) = bind("not a serial".into(), tok.code(t), "6000006").await;
    assert_eq!(st1, 422);
    assert_eq!((st1, &b1), (st2, &b2));
    assert_eq!((st1, &b1), (st3, &b3));
    assert_eq!(b1["error"], "serial_or_otp_invalid");
    let (st, _) = bind(tok.serial.clone(), tok.code(t), "6000006").await;
    assert_eq!(st, 200);
    // Bound already: the same token for another customer, another token
    // for this customer.
    let other = s.pair(t).await;
    let (st, b) = bind(tok.serial.clone(), tok.code(t + 30), "6000007").await;
    assert_eq!(
        (st, b["error"].as_str()),
        (422, Some("serial_or_otp_invalid"))
    );
    let (st, b) = bind(other.serial.clone(), other.code(t), "6000006").await;
    assert_eq!((st, b["error"].as_str()), (409, Some("customer_has_token")));
}

#[tokio::test]
async fn change_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let t = base_time();
    let old = s.bound("7000007", t).await;
    let new = s.pair(t).await;
    let change = |old_otp: String, new_serial: String, new_otp: String, t: u64| {
        let s = &s;
        async move {
            s.bank(
                "/v1/bank/change",
                json!({"v":1,"customer_id":"7000007","old_otp":old_otp,"new_serial":new_serial,"new_otp":new_otp}),
                t,
            )
            .await
        }
    };
    let t1 = t + 30;
    // Wrong old code.
    let (st, b) = change(old.wrong(t1), new.serial.clone(), new.code(t1), t1).await;
    assert_eq!(
        (st, b["error"].as_str()),
        (422, Some("old_otp_invalid")),
        "{b}"
    );
    assert_eq!(b["fail_count"], 1);
    // Right old code, wrong new code: nothing changes, the old code is not used up.
    let (st, b) = change(old.code(t1), new.serial.clone(), new.wrong(t1), t1).await;
    assert_eq!(
        (st, b["error"].as_str()),
        (422, Some("serial_or_otp_invalid")),
        "{b}"
    );
    assert_eq!(s.status(&old.serial, t1).await, "active");
    assert_eq!(s.status(&new.serial, t1).await, "issued");
    // Unknown new serial: same.
    let (st, b) = change(old.code(t1), "K7M3Q9XZ2PD0".into(), new.code(t1), t1).await;
    assert_eq!(
        (st, b["error"].as_str()),
        (422, Some("serial_or_otp_invalid"))
    );
    assert_eq!(s.status(&old.serial, t1).await, "active");
    // Success with the same old code.
    let (st, b) = change(old.code(t1), new.serial.clone(), new.code(t1), t1).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["previous_serial"], old.serial.as_str());
    assert_eq!(b["serial"], new.serial.as_str());
    assert_eq!(s.status(&old.serial, t1).await, "revoked");
    assert_eq!(s.status(&new.serial, t1).await, "active");
    let t2 = t1 + 30;
    let (st, _) = s.verify("7000007", &old.code(t2), t2).await;
    assert_eq!(st, 422);
    let (st, _) = s.verify("7000007", &new.code(t2), t2).await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn deactivate_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let t = base_time();
    let tok = s.bound("8000008", t).await;
    let t1 = t + 30;
    let (st, b) = s
        .bank(
            "/v1/bank/deactivate",
            json!({"v":1,"customer_id":"8000008","otp":tok.wrong(t1)}),
            t1,
        )
        .await;
    assert_eq!((st, b["error"].as_str()), (422, Some("invalid_otp")));
    let (st, b) = s
        .bank(
            "/v1/bank/deactivate",
            json!({"v":1,"customer_id":"8000008","otp":tok.code(t1)}),
            t1,
        )
        .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(
        (b["serial"].as_str(), b["state"].as_str()),
        (Some(tok.serial.as_str()), Some("revoked"))
    );
    assert_eq!(s.status(&tok.serial, t1).await, "revoked");
    let (st, b) = s.verify("8000008", &tok.code(t1 + 30), t1 + 30).await;
    assert_eq!((st, b["error"].as_str()), (404, Some("no_token")));
    // The customer may register a new token afterwards.
    s.bound("8000008", t1 + 30).await;
}

#[tokio::test]
async fn session_and_bind_expiry_key_ids_and_confirmations() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let t = base_time();
    // A session not finished within expires_in is gone.
    let (paired, init) = s.init(t).await;
    assert_eq!(init["expires_in"], 300);
    assert_eq!(init["server_time"], t);
    let fin = serde_json::to_value(&paired.finish_request).unwrap();
    let (st, b) = s.post("/v1/provision/finish", &fin, t + 301).await;
    assert_eq!(
        (st, b["error"].as_str()),
        (410, Some("session_expired")),
        "{b}"
    );
    let (st, _) = s.post("/v1/provision/finish", &fin, t + 10).await;
    assert_eq!(st, 410, "an expired session stays gone");

    // Unknown key id.
    let (st, b) = s
        .post(
            "/v1/provision/init",
            &json!({"v":1,"server_key_id":"nope","client_eph_pub":init["server_eph_pub"],
                    "client_nonce":"AAAQEAYEAUDAOCAJBIFQYDIOB4","device":{"platform":"test","app_version":"x"}}),
            t,
        )
        .await;
    assert_eq!((st, b["error"].as_str()), (400, Some("unknown_key_id")));

    // Tampered confirmation, then the right one still finishes.
    let (paired, _) = s.init(t).await;
    let mut bad = serde_json::to_value(&paired.finish_request).unwrap();
    let c = bad["client_confirm"].as_str().unwrap().to_string();
    let first = if c.starts_with('A') { 'B' } else { 'A' };
    let flipped = format!("{first}{}", &c[1..]);
    bad["client_confirm"] = json!(flipped);
    let (st, b) = s.post("/v1/provision/finish", &bad, t).await;
    assert_eq!(
        (st, b["error"].as_str()),
        (400, Some("confirm_failed")),
        "{b}"
    );
    assert!(!b["message"].as_str().unwrap().contains(&c[..10]));
    let mut other_serial = serde_json::to_value(&paired.finish_request).unwrap();
    other_serial["serial"] = json!("K7M3Q9XZ2PD0");
    let (st, _) = s.post("/v1/provision/finish", &other_serial, t).await;
    assert_eq!(st, 400);
    let good = serde_json::to_value(&paired.finish_request).unwrap();
    let (st, b) = s.post("/v1/provision/finish", &good, t + 5).await;
    assert_eq!(st, 200, "{b}");
    let bind_by = b["bind_by"].as_u64().unwrap();
    assert_eq!(bind_by, t + 5 + 86400);
    // Unknown session.
    let mut unknown = good.clone();
    unknown["session_id"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAA");
    let (st, b) = s.post("/v1/provision/finish", &unknown, t).await;
    assert_eq!((st, b["error"].as_str()), (410, Some("session_expired")));

    // An issued token not bound by bind_by expires.
    let tok = Token::from(paired);
    assert_eq!(s.status(&tok.serial, bind_by).await, "issued");
    let late = bind_by + 1;
    let (st, b) = s
        .bank(
            "/v1/bank/bind",
            json!({"v":1,"customer_id":"9000009","serial":tok.serial,"otp":tok.code(late)}),
            late,
        )
        .await;
    assert_eq!(
        (st, b["error"].as_str()),
        (422, Some("serial_or_otp_invalid"))
    );
    assert_eq!(s.status(&tok.serial, late).await, "expired");
    // Unknown serial answers like an expired one.
    assert_eq!(s.status("K7M3Q9XZ2PD0", t).await, "expired");
}

#[tokio::test]
async fn bad_bodies_and_unauthorized_calls() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let key = s.api_key.clone();
    let t = base_time();
    let json_ct = Some("application/json");
    let cases: Vec<(Vec<u8>, Option<&str>, u16, &str)> = vec![
        (b"{".to_vec(), json_ct, 400, "invalid_request"),
        (b"".to_vec(), json_ct, 400, "invalid_request"),
        (
            br#"{"v":2,"customer_id":"1","otp":"123456","purpose":"login"}"#.to_vec(),
            json_ct,
            400,
            "unsupported_version",
        ),
        (
            br#"{"v":1,"customer_id":"1","otp":"123456"}"#.to_vec(),
            json_ct,
            400,
            "invalid_request",
        ),
        (
            br#"{"v":1,"customer_id":"1","otp":"123456","purpose":"steal"}"#.to_vec(),
            json_ct,
            400,
            "invalid_request",
        ),
        (
            br#"{"v":1,"customer_id":"","otp":"123456","purpose":"login"}"#.to_vec(),
            json_ct,
            400,
            "invalid_request",
        ),
        (
            br#"{"v":1,"customer_id":"1","otp":"123456","purpose":"login"}"#.to_vec(),
            Some("text/plain"),
            400,
            "invalid_request",
        ),
        (vec![b' '; 9000], json_ct, 400, "invalid_request"),
        (
            [
                br#"{"v":1,"customer_id":"1","otp":"123456","purpose":"login","pad":""#.as_slice(),
                &vec![b'x'; 10_000],
                b"\"}",
            ]
            .concat(),
            json_ct,
            400,
            "invalid_request",
        ),
    ];
    for (body, ct, status, code) in cases {
        let (st, b) = s
            .post_raw("/v1/bank/verify", body, ct, Some(&key), Some(t))
            .await;
        assert_eq!((st, b["error"].as_str()), (status, Some(code)), "{b}");
        assert_eq!(b["v"], 1);
        assert!(b["message"].is_string());
        assert!(!b["message"].as_str().unwrap().contains("123456"));
    }
    let body = br#"{"v":1,"customer_id":"1","otp":"123456","purpose":"login"}"#.to_vec();
    for auth in [None, Some("wrong"), Some("")] {
        let (st, b) = s
            .post_raw("/v1/bank/verify", body.clone(), json_ct, auth, Some(t))
            .await;
        assert_eq!((st, b["error"].as_str()), (401, Some("unauthorized")));
    }
    for path in ["/v1/bank/bind", "/v1/bank/change", "/v1/bank/deactivate"] {
        let (st, _) = s
            .post_raw(path, b"{}".to_vec(), json_ct, None, Some(t))
            .await;
        assert_eq!(st, 401, "{path}");
    }
    for path in ["/v1/admin/resync", "/v1/admin/unlock"] {
        let (st, _) = s.admin_with(path, &json!({}), None, t).await;
        assert_eq!(st, 401, "{path}");
    }
    // Init: malformed encodings.
    let (st, b) = s
        .post(
            "/v1/provision/init",
            &json!({"v":1,"server_key_id":s.kid,"client_eph_pub":"aaaa","client_nonce":"AAAQEAYEAUDAOCAJBIFQYDIOB4",
                    "device":{"platform":"test","app_version":"x"}}),
            t,
        )
        .await;
    assert_eq!((st, b["error"].as_str()), (400, Some("invalid_request")));
    // Unknown endpoint, bad serial, bad test time.
    let (st, b) = s
        .post_raw("/v1/nothing", b"{}".to_vec(), json_ct, None, None)
        .await;
    assert_eq!((st, b["error"].as_str()), (404, Some("not_found")));
    let r = s
        .http
        .get(format!("{}/v1/tokens/BAD!/status", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = s
        .http
        .get(format!("{}/v1/tokens/K7M3Q9XZ2PD0/status", s.url))
        .header("x-test-time", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn test_time_header_is_ignored_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(&data_in(&dir), &[]);
    let far = real_now() + 10 * 365 * 86400;
    let (_, init) = s.init(far).await;
    assert!(init["server_time"].as_u64().unwrap().abs_diff(real_now()) < 60);
}

#[tokio::test]
async fn client_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let client = BankClient::new(&s.url).unwrap();
    // Unknown key id → Refused.
    let err = client
        .pair("nope", &s.server_pub, device())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::UnknownKeyId), "{err}");
    // A wrong pinned key → the confirmation fails on the client.
    let err = client.pair(&s.kid, &[9u8; 32], device()).await.unwrap_err();
    assert!(matches!(err, ClientError::Protocol(_)), "{err}");
    // Nobody listening → Network.
    let url = s.url.clone();
    s.kill();
    let err = BankClient::new(&url)
        .unwrap()
        .status(&"K7M3Q9XZ2PD0".parse_serial())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Network { .. }), "{err}");
}

trait ParseSerial {
    fn parse_serial(&self) -> softtoken_core::Serial;
}
impl ParseSerial for str {
    fn parse_serial(&self) -> softtoken_core::Serial {
        softtoken_core::Serial::parse_strict(self).unwrap()
    }
}

/// Slow-header (slowloris) defence: a client that never finishes its
/// request head loses the connection after `--header-timeout`, while a
/// client that sends a whole request on another connection is served.
#[tokio::test]
async fn a_request_head_sent_too_slowly_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(&data_in(&dir), &["--test-clock", "--header-timeout", "1"]);
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /v1/tokens/K7M3Q9XZ2PD0/status HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Meanwhile a normal request is answered.
    assert_eq!(server.status("K7M3Q9XZ2PD0", base_time()).await, "expired");
    // The slow one is closed by the server (EOF or reset), well before the
    // generous bound below; without the timeout this read would hang.
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        slow.read_to_end(&mut buf),
    )
    .await;
    assert!(closed.is_ok(), "the server kept a half-sent request open");
    let text = String::from_utf8_lossy(&buf);
    assert!(
        !text.contains("200 OK"),
        "an unfinished request was answered: {text}"
    );
}
