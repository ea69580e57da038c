//! The `/v1` routers in process (no socket): what the extractors guarantee
//! (`BackendAuth`, `OpsAuth`, `Stk1Json`, `RequestTime`), which listener
//! has which routes, the STK1 error bodies, and
//! the success bodies of a pairing, bind and verify. The same API over a
//! real socket, against the binary, is tested in `crates/bank/tests`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use rand_core::OsRng;
use serde_json::{json, Value};
use softtoken_core::stk1::api_key::ApiKey;
use softtoken_core::stk1::client::ClientHandshake;
use softtoken_core::stk1::messages::{Device, InitResponse, Platform};
use softtoken_core::stk1::server::ServerKey;
use softtoken_core::{Generator, Params};
use softtoken_token_service::db::{pg, Db, DbConfig};
use softtoken_token_service::seal::Sealer;
use softtoken_token_service::{admin_router, router, ApiState};
use tower::ServiceExt;

const KEY: &str = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZPIYTEMZUGU3A";
const OPS_KEY: &str = "ONXW2ZJAMJQXGZJTGIQGW2LMNRSXE4TPN5ZWK3TUOJSWC3DNNVXG";
const KID: &str = "k1-test";
/// A test time at the start of a step.
const T: u64 = 1_900_000_020;

struct Api {
    app: Router,
    admin: Router,
    server_pub: [u8; 32],
    _dir: tempfile::TempDir,
}

/// The API on SQLite in a temporary directory, or — with
/// `SOFTTOKEN_TEST_DATABASE` set (stage 50) — on PostgreSQL in a fresh
/// schema of that database: the same tests on both backends.
async fn api(test_clock: bool) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let sealer = Arc::new(Sealer::new(&[9; 32]));
    let db = match std::env::var("SOFTTOKEN_TEST_DATABASE") {
        Err(_) => Db::open(DbConfig::new(dir.path().join("t.sqlite")), sealer).unwrap(),
        Ok(url) => {
            let pw = std::env::var_os("SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE");
            let mut cfg = pg::connection_config(&url, pw.as_deref().map(std::path::Path::new))
                .expect("SOFTTOKEN_TEST_DATABASE");
            let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let schema = format!("h_{}", rand_core::RngCore::next_u64(&mut OsRng));
            client
                .batch_execute(&format!("CREATE SCHEMA {schema}"))
                .await
                .unwrap();
            cfg.options(format!("-c search_path={schema}"));
            Db::open_postgres(pg::PgConfig::new(cfg), sealer, &[])
                .await
                .unwrap()
        }
    };
    assert_eq!(
        db.kind(),
        if std::env::var_os("SOFTTOKEN_TEST_DATABASE").is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    );
    let key = ServerKey::generate(KID, &mut OsRng);
    let server_pub = key.public_bytes();
    let mut keys = HashMap::new();
    keys.insert(KID.to_string(), key);
    let state = Arc::new(ApiState {
        db,
        keys,
        api_key: ApiKey::new(KEY.into()).unwrap(),
        ops_key: ApiKey::new(OPS_KEY.into()).unwrap(),
        test_clock,
    });
    let shown = format!("{state:?}");
    assert!(
        !shown.contains(KEY) && !shown.contains(&KEY[..8]) && !shown.contains(&OPS_KEY[..8]),
        "{shown}"
    );
    Api {
        admin: admin_router(Arc::clone(&state)),
        app: router(state),
        server_pub,
        _dir: dir,
    }
}

/// One request; `headers` are (name, value) pairs.
async fn call(
    app: &Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const JSON: (&str, &str) = ("content-type", "application/json");

fn bearer() -> String {
    format!("Bearer {KEY}")
}

async fn backend(app: &Router, path: &str, body: &Value, t: u64) -> (StatusCode, Value) {
    let auth = bearer();
    let t = t.to_string();
    call(
        app,
        "POST",
        path,
        &[JSON, ("authorization", &auth), ("x-test-time", &t)],
        body.to_string(),
    )
    .await
}

fn assert_refused(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "{}", got.1);
    assert_eq!(got.1["v"], 1, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    assert!(got.1["message"].is_string(), "{}", got.1);
}

/// Pairs a token at time `t` and returns its serial and generator.
async fn pair(a: &Api, t: u64) -> (String, Generator) {
    let device = Device {
        platform: Platform::Test,
        app_version: "it".into(),
    };
    let (hs, init) = ClientHandshake::start(&mut OsRng, KID, &a.server_pub, device);
    let ts = t.to_string();
    let (st, body) = call(
        &a.app,
        "POST",
        "/v1/provision/init",
        &[JSON, ("x-test-time", &ts)],
        serde_json::to_string(&init).unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let resp: InitResponse = serde_json::from_value(body).unwrap();
    assert_eq!(resp.server_time, t);
    let paired = hs.finish(&resp).unwrap();
    let (st, body) = call(
        &a.app,
        "POST",
        "/v1/provision/finish",
        &[JSON, ("x-test-time", &ts)],
        serde_json::to_string(&paired.finish_request).unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "issued");
    let gen = Generator::new(&paired.secret, Params::STK1).unwrap();
    (paired.serial.as_str().to_string(), gen)
}

#[tokio::test]
async fn backend_auth_is_checked_before_the_body_in_constant_form() {
    let a = api(true).await;
    let too_big = "x".repeat(20_000);
    let wrong = format!("Bearer {}", KEY.to_lowercase());
    let short = format!("Bearer {}", &KEY[..KEY.len() - 1]);
    let lower = format!("bearer {KEY}");
    for auth in [
        None,
        Some(KEY),
        Some(lower.as_str()),
        Some(wrong.as_str()),
        Some(short.as_str()),
    ] {
        let mut headers = vec![JSON];
        if let Some(v) = auth {
            headers.push(("authorization", v));
        }
        // The body is too large and not JSON: only the key is looked at.
        let got = call(&a.app, "POST", "/v1/bank/verify", &headers, too_big.clone()).await;
        assert_refused(&got, 401, "unauthorized");
    }
    let auth = bearer();
    let got = call(
        &a.app,
        "POST",
        "/v1/bank/verify",
        &[JSON, ("authorization", &auth)],
        too_big,
    )
    .await;
    assert_refused(&got, 400, "invalid_request");
    // The public endpoints need no key.
    let got = call(&a.app, "GET", "/v1/tokens/ABCD-EFGH-JKLM/status", &[], "").await;
    assert_ne!(got.0, StatusCode::UNAUTHORIZED, "{}", got.1);
}

#[tokio::test]
async fn stk1_json_refuses_what_is_not_one_stk1_body() {
    let a = api(true).await;
    let auth = bearer();
    let verify = |body: String, ct: &'static str| {
        let auth = auth.clone();
        let app = a.app.clone();
        async move {
            call(
                &app,
                "POST",
                "/v1/bank/verify",
                &[("content-type", ct), ("authorization", &auth)],
                body,
            )
            .await
        }
    };
    let ok = r#"{"v":1,"customer_id":"c1","otp":"123456","purpose":"login"}"#;
    // A well-formed body reaches the operation (no token → no_token).
    assert_refused(
        &verify(ok.into(), "application/json").await,
        404,
        "no_token",
    );
    assert_refused(
        &verify(ok.into(), "application/json; charset=utf-8").await,
        404,
        "no_token",
    );
    assert_refused(
        &verify(ok.into(), "text/plain").await,
        400,
        "invalid_request",
    );
    let cases = [
        ("not json", "invalid_request", 400),
        (
            r#"{"v":1,"customer_id":"c1","otp":"1"}"#,
            "invalid_request",
            400,
        ),
        (
            r#"{"v":1,"customer_id":"c1","otp":"123456","purpose":"login","x":1}"#,
            "invalid_request",
            400,
        ),
        (
            r#"{"v":1,"customer_id":"c1","customer_id":"c2","otp":"123456","purpose":"login"}"#,
            "invalid_request",
            400,
        ),
        (
            r#"{"v":2,"customer_id":"c1","otp":"123456","purpose":"login"}"#,
            "unsupported_version",
            400,
        ),
        (
            r#"{"customer_id":"c1","otp":"123456","purpose":"login"}"#,
            "invalid_request",
            400,
        ),
        (
            r#"{"v":1,"customer_id":"","otp":"123456","purpose":"login"}"#,
            "invalid_request",
            400,
        ),
    ];
    for (body, code, status) in cases {
        let got = verify(body.into(), "application/json").await;
        assert_refused(&got, status, code);
        assert!(
            !got.1["message"].as_str().unwrap().contains("123456"),
            "{}",
            got.1
        );
    }
    let padded = format!(
        r#"{{"v":1,"customer_id":"c1","otp":"123456","purpose":"login","pad":"{}"}}"#,
        " ".repeat(9_000)
    );
    assert_refused(
        &verify(padded, "application/json").await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn request_time_comes_from_the_header_only_with_the_test_clock() {
    let a = api(true).await;
    let (st, body) = call(
        &a.app,
        "GET",
        "/v1/tokens/ABCD-EFGH-JKLM/status",
        &[("x-test-time", "soon")],
        "",
    )
    .await;
    assert_refused(&(st, body), 400, "invalid_request");
    // pair() checks server_time == the header's time.
    pair(&a, T).await;

    let b = api(false).await;
    let device = Device {
        platform: Platform::Test,
        app_version: "it".into(),
    };
    let (_, init) = ClientHandshake::start(&mut OsRng, KID, &b.server_pub, device);
    let (st, body) = call(
        &b.app,
        "POST",
        "/v1/provision/init",
        &[JSON, ("x-test-time", "soon")],
        serde_json::to_string(&init).unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let server_time = body["server_time"].as_u64().unwrap();
    assert!(server_time.abs_diff(real) < 60, "{server_time} vs {real}");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_get_stk1_bodies() {
    let a = api(true).await;
    assert_refused(
        &call(&a.app, "GET", "/v1/nope", &[], "").await,
        404,
        "not_found",
    );
    assert_refused(
        &call(&a.app, "POST", "/v1", &[], "").await,
        404,
        "not_found",
    );
    assert_refused(
        &call(&a.app, "GET", "/v1/bank/verify", &[], "").await,
        405,
        "invalid_request",
    );
}

#[tokio::test]
async fn success_bodies_are_typed_and_versioned() {
    let a = api(true).await;
    let (serial, gen) = pair(&a, T).await;
    let code = |t: u64| gen.totp(t).unwrap().as_str().to_string();
    let (st, body) = backend(
        &a.app,
        "/v1/bank/bind",
        &json!({"v":1,"customer_id":"c1","serial":serial,"otp":code(T)}),
        T,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"v":1,"result":"ok","serial":serial,"state":"active"})
    );
    let (st, body) = backend(
        &a.app,
        "/v1/bank/verify",
        &json!({"v":1,"customer_id":"c1","otp":code(T + 30),"purpose":"login"}),
        T + 30,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"v":1,"result":"ok"}));
    // The same code again: replay, with the STK1 error body.
    let got = backend(
        &a.app,
        "/v1/bank/verify",
        &json!({"v":1,"customer_id":"c1","otp":code(T + 30),"purpose":"login"}),
        T + 30,
    )
    .await;
    assert_refused(&got, 409, "replay");
    let ts = (T + 30).to_string();
    let (st, body) = call(
        &a.app,
        "GET",
        &format!("/v1/tokens/{serial}/status"),
        &[("x-test-time", &ts)],
        "",
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"v":1,"serial":serial,"state":"active"}));
    let (st, body) = backend(
        &a.app,
        "/v1/bank/deactivate",
        &json!({"v":1,"customer_id":"c1","otp":code(T + 60)}),
        T + 60,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"v":1,"result":"ok","serial":serial,"state":"revoked"})
    );
}

#[tokio::test]
async fn admin_routes_are_only_on_the_admin_router_with_the_operations_key() {
    let a = api(true).await;
    let (serial, _) = pair(&a, T).await;
    let body = json!({"v":1,"serial":serial}).to_string();
    let backend_key = bearer();
    let ops_key = format!("Bearer {OPS_KEY}");
    for path in ["/v1/admin/unlock", "/v1/admin/resync"] {
        // Absent from the public router, whatever the key.
        for auth in [&backend_key, &ops_key] {
            let got = call(
                &a.app,
                "POST",
                path,
                &[JSON, ("authorization", auth)],
                body.clone(),
            )
            .await;
            assert_refused(&got, 404, "not_found");
        }
        // The back-end key (or none) is refused on the admin router
        // before the body is read.
        for headers in [
            vec![JSON, ("authorization", backend_key.as_str())],
            vec![JSON],
        ] {
            let got = call(&a.admin, "POST", path, &headers, "x".repeat(20_000)).await;
            assert_refused(&got, 401, "unauthorized");
        }
    }
    // The operations key is accepted there …
    let got = call(
        &a.admin,
        "POST",
        "/v1/admin/unlock",
        &[JSON, ("authorization", &ops_key)],
        body,
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    // … and grants no back-end call.
    let verify = json!({"v":1,"customer_id":"1","otp":"123456","purpose":"login"}).to_string();
    let got = call(
        &a.app,
        "POST",
        "/v1/bank/verify",
        &[JSON, ("authorization", &ops_key)],
        verify,
    )
    .await;
    assert_refused(&got, 401, "unauthorized");
    // Nothing else is served by the admin router.
    let got = call(&a.admin, "GET", "/v1/tokens/ABCD-EFGH-JKLM/status", &[], "").await;
    assert_refused(&got, 404, "not_found");
    let got = call(
        &a.admin,
        "POST",
        "/v1/bank/verify",
        &[JSON, ("authorization", &backend_key)],
        "{}",
    )
    .await;
    assert_refused(&got, 404, "not_found");
}

/// `GET /v1/admin/tokens/{serial}` with `auth` at time `t`.
async fn inspect(router: &Router, serial: &str, auth: Option<&str>, t: u64) -> (StatusCode, Value) {
    let ts = t.to_string();
    let mut headers = vec![("x-test-time", ts.as_str())];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    call(
        router,
        "GET",
        &format!("/v1/admin/tokens/{serial}"),
        &headers,
        "",
    )
    .await
}

/// Runs on SQLite, and on PostgreSQL in stage 50 (`SOFTTOKEN_TEST_DATABASE`).
#[tokio::test]
async fn the_operations_read_shows_failures_lock_drift_and_times() {
    let a = api(true).await;
    let ops_key = format!("Bearer {OPS_KEY}");
    let ops = Some(ops_key.as_str());
    let (serial, gen) = pair(&a, T).await;
    let code = |t: u64| gen.totp(t).unwrap().as_str().to_string();

    // Issued, never used.
    let (st, body) = inspect(&a.admin, &serial, ops, T + 1).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"v":1,"serial":serial,"state":"issued","fail_count":0,"locked":false,
               "lockout_limit":10,"drift_steps":0,"step_seconds":30,
               "last_accepted_step_at":null,"issued_at":T,"bind_by":body["bind_by"],
               "bound_at":null,"revoked_at":null})
    );
    assert!(body["bind_by"].as_u64().unwrap() > T, "{body}");

    let (st, body) = backend(
        &a.app,
        "/v1/bank/bind",
        &json!({"v":1,"customer_id":"c1","serial":serial,"otp":code(T + 30)}),
        T + 40,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");

    // A code no step near the test times has.
    let wrong = (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|w| (0..40u64).all(|s| code(T + s * 30) != *w))
        .unwrap();
    let verify = |otp: &str| json!({"v":1,"customer_id":"c1","otp":otp,"purpose":"login"});
    for n in 1..=3u64 {
        let got = backend(&a.app, "/v1/bank/verify", &verify(&wrong), T + 60 + n).await;
        assert_eq!(got.1["fail_count"], n, "{}", got.1);
    }
    let (st, body) = inspect(&a.admin, &serial, ops, T + 70).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "active");
    assert_eq!(
        (&body["fail_count"], &body["locked"]),
        (&json!(3), &json!(false))
    );
    // The bind's code was the step starting at T + 30; never the code itself.
    assert_eq!(body["last_accepted_step_at"], T + 30);
    assert_eq!(body["bound_at"], T + 40);
    assert!(!body.to_string().contains(&code(T + 30)), "{body}");

    for n in 4..=10u64 {
        backend(&a.app, "/v1/bank/verify", &verify(&wrong), T + 60 + n).await;
    }
    let got = backend(&a.app, "/v1/bank/verify", &verify(&code(T + 90)), T + 90).await;
    assert_refused(&got, 423, "locked");
    let (st, body) = inspect(&a.admin, &serial, ops, T + 91).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["fail_count"], &body["locked"]),
        (&json!(10), &json!(true))
    );

    // Unlock: the read shows 0 and no lock, the last step kept.
    let unlock = json!({"v":1,"serial":serial}).to_string();
    let got = call(
        &a.admin,
        "POST",
        "/v1/admin/unlock",
        &[
            JSON,
            ("authorization", &ops_key),
            ("x-test-time", "1900000112"),
        ],
        unlock,
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    let (_, body) = inspect(&a.admin, &serial, ops, T + 93).await;
    assert_eq!(
        (&body["fail_count"], &body["locked"]),
        (&json!(0), &json!(false))
    );
    assert_eq!(body["last_accepted_step_at"], T + 30);

    // A resync learns a drift: the token's codes run 4 and 5 steps ahead
    // of the server's step; the drift is that of the second code.
    let ahead = T + 300 + 4 * 30;
    let resync = json!({"v":1,"serial":serial,"otp1":code(ahead),"otp2":code(ahead + 30)});
    let ts = (T + 300).to_string();
    let got = call(
        &a.admin,
        "POST",
        "/v1/admin/resync",
        &[JSON, ("authorization", &ops_key), ("x-test-time", &ts)],
        resync.to_string(),
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    let (_, body) = inspect(&a.admin, &serial, ops, T + 301).await;
    assert_eq!(body["drift_steps"], 5, "{body}");
    assert_eq!(body["last_accepted_step_at"], ahead + 30);

    // Revoked: the read still answers, with the time.
    let got = backend(
        &a.app,
        "/v1/bank/deactivate",
        &json!({"v":1,"customer_id":"c1","otp":code(ahead + 90)}),
        T + 390,
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    let (_, body) = inspect(&a.admin, &serial, ops, T + 391).await;
    assert_eq!(
        (&body["state"], &body["revoked_at"]),
        (&json!("revoked"), &json!(T + 390))
    );

    // The back-end key, no key, or the public listener: refused.
    let backend_key = bearer();
    assert_refused(
        &inspect(&a.admin, &serial, Some(&backend_key), T + 392).await,
        401,
        "unauthorized",
    );
    assert_refused(
        &inspect(&a.admin, &serial, None, T + 392).await,
        401,
        "unauthorized",
    );
    assert_refused(
        &inspect(&a.app, &serial, ops, T + 392).await,
        404,
        "not_found",
    );
    // Unknown (well-formed) and malformed serials.
    let other = softtoken_core::Serial::generate(&mut OsRng);
    assert_refused(
        &inspect(&a.admin, other.as_str(), ops, T + 392).await,
        404,
        "not_found",
    );
    assert_refused(
        &inspect(&a.admin, "not-a-serial!", ops, T + 392).await,
        400,
        "invalid_request",
    );
    // Only GET.
    let got = call(
        &a.admin,
        "POST",
        &format!("/v1/admin/tokens/{serial}"),
        &[JSON, ("authorization", &ops_key)],
        "{}",
    )
    .await;
    assert_refused(&got, 405, "invalid_request");
}

/// Reading an issued token past its deadline expires it (as the public
/// status does), for good.
#[tokio::test]
async fn the_operations_read_expires_an_unbound_token() {
    let a = api(true).await;
    let ops_key = format!("Bearer {OPS_KEY}");
    let (serial, _) = pair(&a, T).await;
    let (_, body) = inspect(&a.admin, &serial, Some(&ops_key), T).await;
    let late = body["bind_by"].as_u64().unwrap() + 1;
    let (st, body) = inspect(&a.admin, &serial, Some(&ops_key), late).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "expired");
    let ts = late.to_string();
    let (_, body) = call(
        &a.app,
        "GET",
        &format!("/v1/tokens/{serial}/status"),
        &[("x-test-time", &ts)],
        "",
    )
    .await;
    assert_eq!(body["state"], "expired");
    let (_, body) = inspect(&a.admin, &serial, Some(&ops_key), T + 1).await;
    assert_eq!(body["state"], "expired", "stored, not only computed");
    // On SQLite (on PostgreSQL: tests/pg_store.rs): the expiry is the only
    // event the reads wrote, stamped with the operations scope.
    if std::env::var_os("SOFTTOKEN_TEST_DATABASE").is_none() {
        let c = rusqlite::Connection::open(a._dir.path().join("t.sqlite")).unwrap();
        let mut st = c
            .prepare("SELECT kind, scope FROM events WHERE serial = ?1 ORDER BY id")
            .unwrap();
        let rows: Vec<(String, Option<String>)> = st
            .query_map([&serial], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let last = rows.last().cloned();
        assert_eq!(
            last,
            Some(("expired".to_string(), Some("operations".to_string()))),
            "{rows:?}"
        );
        assert_eq!(
            rows.iter().filter(|(_, s)| s.is_some()).count(),
            1,
            "{rows:?}"
        );
    }
}
