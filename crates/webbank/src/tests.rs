//! HTTP-level tests of web banking against a mock token service: CSRF,
//! session rotation and cookie flags, the login rate limit, the back-end
//! call (API key, `X-Test-Time` forwarding only with the test clock), error
//! messages, re-filled fields, and that no code reaches a page or the
//! database. The real token service is exercised by the browser tests.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::*;
use crate::db::TokenChange;

const GOOD: &str = "111111";
const USED: &str = "222222";
const PASSWORD: &str = "correct horse battery";

#[derive(Default)]
struct Seen {
    auth: Vec<Option<String>>,
    test_time: Vec<Option<String>>,
    bodies: Vec<Value>,
    fails: u32,
}

async fn mock_backend() -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    let handler = move |headers: HeaderMap, Json(body): Json<Value>| {
        let s = s.clone();
        async move {
            let mut seen = s.lock().unwrap();
            let h = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(String::from)
            };
            seen.auth.push(h("authorization"));
            seen.test_time.push(h("x-test-time"));
            seen.bodies.push(body.clone());
            let otp = body.get("otp").and_then(Value::as_str).unwrap_or("");
            match otp {
                GOOD => (StatusCode::OK, Json(json!({"v":1,"result":"ok"}))),
                USED => (
                    StatusCode::CONFLICT,
                    Json(json!({"v":1,"error":"replay","message":"already used"})),
                ),
                _ => {
                    seen.fails += 1;
                    (
                        StatusCode::UNAUTHORIZED,
                        Json(
                            json!({"v":1,"error":"invalid_otp","message":"wrong","fail_count":seen.fails}),
                        ),
                    )
                }
            }
        }
    };
    let app = Router::new().route("/v1/bank/verify", post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

struct Web {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
    dir: tempfile::TempDir,
    state: WebState,
}

impl Web {
    /// Web banking in the code-only mode (`--txn-auth off`).
    async fn start(backend: &str, test_clock: bool) -> Web {
        Web::start_with(backend, test_clock, TxnAuth::Off).await
    }

    async fn start_with(backend: &str, test_clock: bool, txn_auth: TxnAuth) -> Web {
        let dir = tempfile::tempdir().unwrap();
        let cfg = WebConfig {
            data_dir: dir.path().to_path_buf(),
            token_service_url: backend.to_string(),
            api_key: ApiKey::new("test-api-key".into()).unwrap(),
            bank: BankInfo {
                bank_id: "demo-shinkin".into(),
                name: "テスト信用金庫".into(),
                url: backend.to_string(),
                server_key_id: "k1".into(),
            },
            demo: false,
            test_clock,
            txn_auth,
            trusted_proxies: Vec::new(),
            staff: None,
        };
        let state = WebState::new(&cfg).unwrap();
        let hash = credentials::hash_password(PASSWORD).unwrap();
        {
            let db = state.db.blocking();
            db.upsert_customer("1000001", "テスト", &hash, 0).unwrap();
            db.set_token("1000001", TokenChange::Set("K7M3Q9XZ2PD0".into()))
                .unwrap();
        }
        let app = routes(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        Web {
            base: format!("http://{addr}"),
            http,
            cookie: None,
            dir,
            state,
        }
    }

    fn remember(&mut self, resp: &reqwest::Response) -> Option<String> {
        let set = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        if let Some(s) = &set {
            self.cookie = s.split(';').next().map(String::from);
        }
        set
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.unwrap();
        self.remember(&resp);
        (resp.status(), resp.text().await.unwrap())
    }

    async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        time: Option<&str>,
    ) -> (StatusCode, String, Option<String>) {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(t) = time {
            req = req.header("x-test-time", t);
        }
        let resp = req.send().await.unwrap();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        self.remember(&resp);
        (resp.status(), resp.text().await.unwrap(), location)
    }

    async fn csrf(&mut self, path: &str) -> String {
        let (_, html) = self.get(path).await;
        let i = html.find(r#"name="csrf" value=""#).expect("csrf field") + 19;
        html[i..i + 64].to_string()
    }

    async fn login(&mut self) {
        let csrf = self.csrf("/login").await;
        let (status, _, loc) = self
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("contract_id", "1000001"),
                    ("password", PASSWORD),
                ],
                None,
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(loc.as_deref(), Some("/account"));
    }

    fn db_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for f in ["web.sqlite", "web.sqlite-wal"] {
            if let Ok(b) = std::fs::read(self.dir.path().join(f)) {
                all.extend(b);
            }
        }
        all
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn the_config_debug_shows_no_key() {
    let cfg = WebConfig {
        data_dir: "/tmp/x".into(),
        token_service_url: "http://127.0.0.1:1".into(),
        api_key: ApiKey::new("secret-api-key-value".into()).unwrap(),
        bank: BankInfo {
            bank_id: "b".into(),
            name: "n".into(),
            url: "http://127.0.0.1:1".into(),
            server_key_id: "k".into(),
        },
        demo: false,
        test_clock: false,
        txn_auth: TxnAuth::default(),
        trusted_proxies: Vec::new(),
        staff: None,
    };
    assert_eq!(cfg.txn_auth, TxnAuth::Required, "取引認証 is the default");
    let text = format!("{cfg:?}");
    assert!(!text.contains("secret-api-key-value"), "{text}");
    assert!(text.contains("[redacted]"));
}

#[tokio::test(flavor = "multi_thread")]
async fn csrf_is_required_and_login_rotates_the_session() {
    let (backend, _) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    let csrf = web.csrf("/login").await;
    let before = web.cookie.clone().unwrap();
    let (status, html, _) = web
        .post(
            "/login",
            &[
                ("csrf", "0".repeat(64).as_str()),
                ("contract_id", "1000001"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!html.contains(PASSWORD));
    let (status, _, loc) = web
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("contract_id", "1000001"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/account"));
    assert_ne!(
        web.cookie.clone().unwrap(),
        before,
        "a new session id after login"
    );
    let (status, html) = web.get("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("K7M3 Q9XZ 2PD0"));
    // The old cookie is dead.
    web.cookie = Some(before);
    let (status, _) = web.get("/account").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_delay_the_next_attempt_and_keep_the_contract_id() {
    let (backend, _) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    let csrf = web.csrf("/login").await;
    for _ in 0..login_limit::FREE_FAILURES {
        let (status, html, _) = web
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("contract_id", "1000001"),
                    ("password", "guess"),
                ],
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("ログインパスワードが正しくありません"));
        assert!(
            html.contains(r#"value="1000001""#),
            "the contract ID is re-filled"
        );
        assert!(!html.contains("guess"));
    }
    let (status, html, _) = web
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("contract_id", "1000001"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "even the right password waits"
    );
    assert!(html.contains("1 秒後に再度お試しください"), "{html}");
    // After the delay the customer logs in and is told about the failures.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _, loc) = web
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("contract_id", "1000001"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/account"));
    let (_, html) = web.get("/account").await;
    assert!(
        html.contains("前回のログイン以降、パスワードの誤りが 5 回ありました"),
        "{html}"
    );
    let (_, html) = web.get("/account").await;
    assert!(
        !html.contains("パスワードの誤り"),
        "the notice is shown once"
    );
}

/// 50 wrong logins for one contract ID sent at once: the guard lets one
/// through to Argon2 at a time and refuses the rest without a check.
/// Real Argon2 with the production parameters ([`credentials::hash_password`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_logins_run_one_password_check() {
    let (backend, _) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    let csrf = web.csrf("/login").await;
    let cookie = web.cookie.clone().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let http = web.http.clone();
        let url = format!("{}/login", web.base);
        let (csrf, cookie) = (csrf.clone(), cookie.clone());
        tasks.push(tokio::spawn(async move {
            let resp = http
                .post(url)
                .header("cookie", cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("contract_id", "1000001"),
                    ("password", "guess"),
                ])
                .send()
                .await
                .unwrap();
            (resp.status(), resp.text().await.unwrap())
        }));
    }
    let mut busy = 0;
    for t in tasks {
        let (status, html) = t.await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        if html.contains("ログインを処理中です") || html.contains("秒後に再度お試しください")
        {
            busy += 1;
        }
    }
    let (max_in_flight, checks) = web.state.checks.seen();
    assert_eq!(
        max_in_flight, 1,
        "at most one Argon2 check in flight per ID"
    );
    assert!(
        checks <= login_limit::FREE_FAILURES as usize,
        "{checks} checks"
    );
    assert_eq!(busy + checks, 50, "every other attempt was refused cheaply");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(
        web.state.argon2_permits.available_permits(),
        cores,
        "Argon2 is bounded by one permit per core, all returned"
    );
}

fn transfer_form<'a>(otp: &'a str, csrf: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("bank", "かけしん"),
        ("branch", "本店"),
        ("account_type", "futsu"),
        ("account_number", "1234567"),
        ("payee", "ヤマダ"),
        ("amount", "1,000"),
        ("otp", otp),
        ("csrf", csrf),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn transfer_calls_the_back_end_with_the_key_and_forwards_the_test_clock() {
    let (backend, seen) = mock_backend().await;
    let mut web = Web::start(&backend, true).await;
    web.login().await;
    let csrf = web.csrf("/account/transfer").await;
    let (status, html, _) = web
        .post(
            "/account/transfer",
            &transfer_form("654321", &csrf),
            Some("1800000000"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("連続1回目"));
    assert!(
        html.contains(r#"value="かけしん""#),
        "typed fields are kept"
    );
    assert!(!html.contains("654321"), "the code is never echoed");
    let (_, html, _) = web
        .post(
            "/account/transfer",
            &transfer_form(USED, &csrf),
            Some("1800000030"),
        )
        .await;
    assert!(html.contains("使用済み"));
    let (status, _, loc) = web
        .post(
            "/account/transfer",
            &transfer_form(GOOD, &csrf),
            Some("1800000060"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/account/done"));
    let (_, html) = web.get("/account/done").await;
    assert!(html.contains("1,000円"));
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.bodies.len(), 3);
        assert!(seen
            .auth
            .iter()
            .all(|a| a.as_deref() == Some("Bearer test-api-key")));
        assert_eq!(seen.test_time[0].as_deref(), Some("1800000000"));
        assert_eq!(seen.bodies[2]["purpose"], "transfer");
        assert_eq!(seen.bodies[2]["customer_id"], "1000001");
        assert_eq!(seen.bodies[2]["v"], 1);
    }
    let (_, html) = web.get("/account/history").await;
    assert!(html.contains("認証失敗（連続1回目）"));
    assert!(html.contains("使用済み"));
    let db = web.db_bytes();
    assert!(!db.is_empty());
    for secret in ["654321", GOOD, USED, PASSWORD] {
        assert!(
            !contains(&db, secret),
            "web.sqlite holds no code or password"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_test_clock_the_header_is_not_forwarded() {
    let (backend, seen) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    web.login().await;
    let csrf = web.csrf("/account/settings").await;
    let (status, html, _) = web
        .post(
            "/account/settings",
            &[("csrf", &csrf), ("otp_login", "on"), ("otp", GOOD)],
            Some("1800000000"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("設定を変更しました"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.test_time, vec![None]);
    assert_eq!(seen.bodies[0]["purpose"], "settings");
}

#[tokio::test(flavor = "multi_thread")]
async fn english_on_request_and_procedures_need_their_earlier_steps() {
    let (backend, _) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    let (_, html) = web.get("/login?lang=en").await;
    assert!(html.contains("Contract ID (user number)"));
    let (_, html) = web.get("/exchange").await;
    assert!(
        html.contains("Old one-time password"),
        "the language sticks to the session"
    );
    for path in [
        "/start/register",
        "/exchange/new",
        "/stop/confirm",
        "/account",
    ] {
        let (status, _) = web.get(path).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{path} without its earlier steps"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn token_service_down_gives_a_plain_message_and_keeps_the_form() {
    // Nothing listens on a port we just closed.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let mut web = Web::start(&closed, false).await;
    web.login().await;
    let csrf = web.csrf("/account/transfer").await;
    let (status, html, _) = web
        .post("/account/transfer", &transfer_form("123456", &csrf), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("ただいまお取扱いできません"));
    assert!(html.contains(r#"value="1234567""#), "typed fields are kept");
    assert!(!html.contains("123456\""), "the code is not re-filled");
    let (_, html) = web.get("/account/history").await;
    assert!(
        html.contains("履歴はありません"),
        "nothing recorded for an unanswered call"
    );
}

/// The shared 利用者認証 step (`procedure::submit_auth`) behaves the same on
/// each procedure's first screen: CSRF first, a wrong password keeps the
/// contract ID on that procedure's own screen, the right one rotates the
/// session and opens that procedure's next step (and only that one).
#[tokio::test(flavor = "multi_thread")]
async fn each_procedure_opens_with_the_same_authentication_step() {
    let (backend, _) = mock_backend().await;
    for (first, next, crumb, other) in [
        (
            "/start",
            "/start/register",
            "ワンタイムパスワード登録",
            "/stop/confirm",
        ),
        (
            "/exchange",
            "/exchange/old",
            "旧ワンタイムパスワード認証",
            "/start/register",
        ),
        ("/stop", "/stop/otp", "利用者認証", "/exchange/new"),
    ] {
        let mut web = Web::start(&backend, false).await;
        let csrf = web.csrf(first).await;
        let zeros = "0".repeat(64);
        let (status, _, _) = web
            .post(
                first,
                &[
                    ("csrf", &zeros),
                    ("contract_id", "1000001"),
                    ("password", PASSWORD),
                ],
                None,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{first}: CSRF is checked first"
        );
        let (status, html, _) = web
            .post(
                first,
                &[
                    ("csrf", &csrf),
                    ("contract_id", "1000001"),
                    ("password", "guess"),
                ],
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{first}");
        assert!(
            html.contains("ログインパスワードが正しくありません"),
            "{first}"
        );
        assert!(
            html.contains(r#"value="1000001""#),
            "{first}: contract ID kept"
        );
        assert!(html.contains(crumb), "{first}: its own screen again");
        assert!(
            !html.contains("guess"),
            "{first}: the password is not echoed"
        );
        let before = web.cookie.clone();
        let (status, _, loc) = web
            .post(
                first,
                &[
                    ("csrf", &csrf),
                    ("contract_id", "1000001"),
                    ("password", PASSWORD),
                ],
                None,
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{first}");
        assert_eq!(loc.as_deref(), Some(next), "{first}");
        assert_ne!(web.cookie, before, "{first}: a new session id");
        let (status, _) = web.get(next).await;
        assert_eq!(status, StatusCode::OK, "{first}: its next step opens");
        let (status, _) = web.get(other).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{first} does not open {other}"
        );
    }
}

impl Web {
    async fn raw(&mut self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let resp = req.send().await.unwrap();
        self.remember(&resp);
        resp
    }
}

fn assert_security_headers(what: &str, h: &reqwest::header::HeaderMap) {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    let csp = get("content-security-policy");
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{what}: CSP has {part}: {csp}");
    }
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(get("cache-control"), "no-store", "{what}");
}

/// The security-headers layer covers pages, redirects, the 403 page and
/// the pages of a logged-in customer alike.
#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_the_security_headers() {
    let (backend, _) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    let url = |p: &str| format!("{}{p}", web.base);
    let (login, account) = (url("/login"), url("/account"));
    let resp = web.raw(web.http.get(&login)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_security_headers("login page", resp.headers());
    let resp = web.raw(web.http.get(&account)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_security_headers("redirect", resp.headers());
    let resp = web.raw(web.http.post(&login).form(&[("csrf", "x")])).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_security_headers("forgery page", resp.headers());
    web.login().await;
    let resp = web.raw(web.http.get(&account)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_security_headers("account page", resp.headers());
}

/// `LoggedIn`: every account page, shown or submitted, sends a visitor
/// without a login to the login screen, and nothing reaches the token
/// service.
#[tokio::test(flavor = "multi_thread")]
async fn account_pages_need_a_login() {
    let (backend, seen) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    for path in [
        "/account",
        "/account/transfer",
        "/account/payment",
        "/account/settings",
        "/account/history",
        "/account/done",
    ] {
        let resp = web.raw(web.http.get(format!("{}{path}", web.base))).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            resp.headers().get("location").and_then(|v| v.to_str().ok()),
            Some("/login"),
            "{path}"
        );
    }
    for path in [
        "/account/transfer/confirm",
        "/account/payment/confirm",
        "/account/txn",
        "/account/txn/status",
    ] {
        let resp = web.raw(web.http.get(format!("{}{path}", web.base))).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            resp.headers().get("location").and_then(|v| v.to_str().ok()),
            Some("/login"),
            "{path}"
        );
    }
    let csrf = web.csrf("/login").await;
    for path in [
        "/account/transfer",
        "/account/payment",
        "/account/settings",
        "/account/transfer/confirm",
        "/account/payment/confirm",
        "/account/txn/check",
        "/account/txn/offline",
    ] {
        let mut form = transfer_form(GOOD, &csrf);
        form.push(("otp_login", "on"));
        let (status, _, loc) = web.post(path, &form, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "POST {path}");
        assert_eq!(loc.as_deref(), Some("/login"), "POST {path}");
    }
    assert!(seen.lock().unwrap().bodies.is_empty(), "no back-end call");
}

/// `CsrfForm`: a logged-in customer's forms without the session's token
/// are refused with 403 before anything is read or sent, and the session
/// stays logged in.
#[tokio::test(flavor = "multi_thread")]
async fn account_forms_check_the_csrf_token() {
    let (backend, seen) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    web.login().await;
    let zeros = "0".repeat(64);
    for path in [
        "/account/transfer",
        "/account/payment",
        "/account/settings",
        "/account/transfer/confirm",
        "/account/payment/confirm",
        "/account/txn/check",
        "/account/txn/offline",
        "/logout",
    ] {
        let mut form = transfer_form(GOOD, &zeros);
        form.push(("otp_login", "on"));
        let (status, html, _) = web.post(path, &form, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("不正な操作"), "{path}: the forgery page");
        assert!(!html.contains(GOOD), "{path}: the code is not echoed");
    }
    assert!(seen.lock().unwrap().bodies.is_empty(), "no back-end call");
    let (status, _) = web.get("/account").await;
    assert_eq!(status, StatusCode::OK, "still logged in");
}

/// Every screen that asks for a code renders the one shared field.
#[tokio::test(flavor = "multi_thread")]
async fn every_code_field_is_the_shared_component() {
    let (backend, _) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    let field = forms::otp_field(i18n::Lang::Ja).into_string();
    assert!(field.contains(r#"id="f-otp""#));
    assert!(field.contains(r#"autocomplete="one-time-code""#));
    let mut pages = Vec::new();
    for (first, next) in [
        ("/start", "/start/register"),
        ("/exchange", "/exchange/old"),
        ("/stop", "/stop/otp"),
    ] {
        let csrf = web.csrf(first).await;
        let (status, _, loc) = web
            .post(
                first,
                &[
                    ("csrf", &csrf),
                    ("contract_id", "1000001"),
                    ("password", PASSWORD),
                ],
                None,
            )
            .await;
        assert_eq!(
            (status, loc.as_deref()),
            (StatusCode::SEE_OTHER, Some(next))
        );
        pages.push((next, web.get(next).await));
    }
    web.login().await;
    for path in ["/account/transfer", "/account/payment", "/account/settings"] {
        pages.push((path, web.get(path).await));
    }
    for (path, (status, html)) in pages {
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(html.matches(&field).count(), 1, "{path}");
        assert_eq!(html.matches(r#"name="otp""#).count(), 1, "{path}");
    }
}

/// A step reached out of order is sent to where the flow stands: the step
/// after 利用者認証 when the code step is missing.
#[tokio::test(flavor = "multi_thread")]
async fn a_step_out_of_order_goes_to_where_the_flow_stands() {
    let (backend, _) = mock_backend().await;
    for (first, later, expected) in [
        ("/stop", "/stop/confirm", "/stop/otp"),
        ("/exchange", "/exchange/new", "/exchange/old"),
    ] {
        let mut web = Web::start(&backend, false).await;
        let csrf = web.csrf(first).await;
        let form = [
            ("csrf", csrf.as_str()),
            ("contract_id", "1000001"),
            ("password", PASSWORD),
        ];
        let (status, _, _) = web.post(first, &form, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{first}");
        let resp = web.raw(web.http.get(format!("{}{later}", web.base))).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{later}");
        assert_eq!(
            resp.headers().get("location").and_then(|v| v.to_str().ok()),
            Some(expected),
            "{later}"
        );
    }
}

// ---- 取引認証 (STK1-TXN back-end calls against a mock token service) ----

const OFFLINE_GOOD: &str = "654321";

/// Whether the `<input>` with this id carries `checked`.
fn is_checked(html: &str, id: &str) -> bool {
    let at = html.find(&format!(r#"id="{id}""#)).expect("the input");
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    html[start..end].contains("checked")
}

#[derive(Default)]
struct MockTxns {
    /// txn_id → (customer, kind, fields, state).
    txns: Vec<(String, String, String, Value, String)>,
    created: Vec<Value>,
    consumed_ok: u32,
    status_calls: u32,
    code_calls: Vec<Value>,
    fails: u32,
    test_time: Vec<Option<String>>,
}

impl MockTxns {
    fn set_state(&mut self, state: &str) {
        let t = self.txns.last_mut().expect("a created transaction");
        t.4 = state.to_string();
    }
    fn state(&self) -> String {
        self.txns.last().map(|t| t.4.clone()).unwrap_or_default()
    }
}

async fn mock_txn_backend() -> (String, Arc<Mutex<MockTxns>>) {
    use axum::extract::State as S;
    type M = Arc<Mutex<MockTxns>>;
    let m: M = Arc::default();
    fn err(status: StatusCode, code: &str) -> (StatusCode, Json<Value>) {
        (status, Json(json!({"v":1,"error":code,"message":"x"})))
    }
    async fn create(
        S(m): S<M>,
        headers: HeaderMap,
        Json(b): Json<Value>,
    ) -> (StatusCode, Json<Value>) {
        let mut m = m.lock().unwrap();
        m.test_time.push(
            headers
                .get("x-test-time")
                .and_then(|v| v.to_str().ok())
                .map(String::from),
        );
        m.created.push(b.clone());
        let id = format!("{:A>26}", format!("T{}", m.txns.len() + 2));
        m.txns.push((
            id.clone(),
            b["customer_id"].as_str().unwrap_or("").into(),
            b["kind"].as_str().unwrap_or("").into(),
            b["fields"].clone(),
            "pending".into(),
        ));
        (
            StatusCode::OK,
            Json(
                json!({"v":1,"result":"ok","txn_id":id,"serial":"K7M3Q9XZ2PD0",
                        "created_at":1_700_000_000,"expires_at":1_700_000_300}),
            ),
        )
    }
    fn find(m: &MockTxns, b: &Value) -> Option<usize> {
        m.txns.iter().position(|t| {
            Some(t.0.as_str()) == b["txn_id"].as_str()
                && Some(t.1.as_str()) == b["customer_id"].as_str()
        })
    }
    async fn status(S(m): S<M>, Json(b): Json<Value>) -> (StatusCode, Json<Value>) {
        let mut m = m.lock().unwrap();
        m.status_calls += 1;
        match find(&m, &b) {
            Some(i) => (
                StatusCode::OK,
                Json(json!({"v":1,"result":"ok","state":m.txns[i].4})),
            ),
            None => err(StatusCode::NOT_FOUND, "unknown_txn"),
        }
    }
    async fn consume(S(m): S<M>, Json(b): Json<Value>) -> (StatusCode, Json<Value>) {
        let mut m = m.lock().unwrap();
        let Some(i) = find(&m, &b) else {
            return err(StatusCode::NOT_FOUND, "unknown_txn");
        };
        match m.txns[i].4.as_str() {
            "approved" => {
                m.txns[i].4 = "consumed".into();
                m.consumed_ok += 1;
                (
                    StatusCode::OK,
                    Json(json!({"v":1,"result":"ok","state":"consumed"})),
                )
            }
            "consumed" => err(StatusCode::CONFLICT, "txn_consumed"),
            _ => err(StatusCode::CONFLICT, "txn_not_approved"),
        }
    }
    async fn verify_code(S(m): S<M>, Json(b): Json<Value>) -> (StatusCode, Json<Value>) {
        let mut m = m.lock().unwrap();
        m.code_calls.push(b.clone());
        let Some(i) = find(&m, &b) else {
            return err(StatusCode::NOT_FOUND, "unknown_txn");
        };
        if m.txns[i].4 != "pending" {
            return err(StatusCode::CONFLICT, "txn_decided");
        }
        if b["code"].as_str() == Some(OFFLINE_GOOD) {
            m.txns[i].4 = "consumed".into();
            m.consumed_ok += 1;
            (
                StatusCode::OK,
                Json(json!({"v":1,"result":"ok","state":"consumed"})),
            )
        } else {
            m.fails += 1;
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"v":1,"error":"invalid_otp","message":"x","fail_count":m.fails})),
            )
        }
    }
    let app = Router::new()
        .route("/v1/bank/transactions", post(create))
        .route("/v1/bank/transactions/status", post(status))
        .route("/v1/bank/transactions/consume", post(consume))
        .route("/v1/bank/transactions/verify_code", post(verify_code))
        .with_state(m.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), m)
}

fn transfer_entry(csrf: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("csrf", csrf),
        ("bank", "かけしん信用金庫"),
        ("branch", "本店営業部"),
        ("account_type", "futsu"),
        ("account_number", "1234567"),
        ("payee", "ヤマダ タロウ"),
        ("amount", "12,000"),
    ]
}

impl Web {
    /// 入力 → 確認 → the 取引認証 page; returns that page.
    async fn confirm_transfer(&mut self) -> String {
        let csrf = self.csrf("/account/transfer").await;
        let (status, _, loc) = self
            .post("/account/transfer", &transfer_entry(&csrf), None)
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(loc.as_deref(), Some("/account/transfer/confirm"));
        let (status, html) = self.get("/account/transfer/confirm").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"id="confirm-submit""#));
        assert!(html.contains("12,000円"), "the amount grouped");
        let (status, _, loc) = self
            .post(
                "/account/transfer/confirm",
                &[("csrf", &csrf)],
                Some("1700000005"),
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(loc.as_deref(), Some("/account/txn"));
        let (status, html) = self.get("/account/txn").await;
        assert_eq!(status, StatusCode::OK);
        html
    }

    async fn check(&mut self, extra: &[(&str, &str)]) -> (StatusCode, String, Option<String>) {
        let csrf = self.csrf("/account").await;
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(extra);
        self.post("/account/txn/check", &form, None).await
    }

    fn receipts(&self) -> i64 {
        let c = rusqlite::Connection::open(self.dir.path().join("web.sqlite")).unwrap();
        c.query_row("SELECT COUNT(*) FROM receipts", [], |r| r.get(0))
            .unwrap()
    }

    async fn status_json(&mut self) -> Value {
        let (status, body) = self.get("/account/txn/status").await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_str(&body).unwrap()
    }
}

/// Under `required` the form has no code; 確認 creates the transaction
/// with the spec's keys in order; the 取引認証 page works without
/// JavaScript; approval executes the **stored** transaction exactly once,
/// whatever fields a later request carries.
#[tokio::test(flavor = "multi_thread")]
async fn approved_transfer_executes_the_stored_transaction_once() {
    let (backend, m) = mock_txn_backend().await;
    let mut web = Web::start_with(&backend, true, TxnAuth::Required).await;
    web.login().await;
    let (_, form) = web.get("/account/transfer").await;
    assert!(!form.contains(r#"id="f-otp""#), "no code under 取引認証");
    assert!(form.contains("確認画面へ"));
    let page = web.confirm_transfer().await;
    {
        let m = m.lock().unwrap();
        assert_eq!(m.created.len(), 1, "one transaction created at 確認");
        assert_eq!(
            m.created[0],
            json!({"v":1,"customer_id":"1000001","kind":"transfer","fields":[
                ["payee_bank","かけしん信用金庫"],["payee_branch","本店営業部"],["account_type","普通"],
                ["account_number","1234567"],["payee_name","ヤマダ タロウ"],["amount","12000"]]})
        );
        assert_eq!(m.test_time, vec![Some("1700000005".to_string())]);
    }
    for id in [
        "txn-instruction",
        "txn-fields",
        "txn-check-form",
        "txn-check-submit",
        "txn-offline",
        "txn-offline-form",
        "f-txn_code",
        "txn-offline-submit",
        "txn-status",
        "txn-app-link",
    ] {
        assert!(page.contains(&format!(r#"id="{id}""#)), "#{id}");
    }
    assert!(page.contains("確認状況を更新"));
    assert!(page.contains("softtoken://txn?bank=demo-shinkin&amp;serial=K7M3Q9XZ2PD0"));
    assert!(page.contains("アプリが通信できない場合"));
    assert!(page.contains(r#"<script src="/static/txn-auth.js"></script>"#));
    assert_eq!(page.matches("<script").count(), 1, "no inline script");
    assert_eq!(web.status_json().await["state"], "pending");

    // Pending: the button only says so; nothing executed.
    let (status, html, _) = web.check(&[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="txn-notice""#));
    assert_eq!(web.receipts(), 0);

    m.lock().unwrap().set_state("approved");
    assert_eq!(web.status_json().await["state"], "approved");
    // A request carrying other fields (as malware would add) changes nothing.
    let (status, _, loc) = web
        .check(&[("account_number", "7654321"), ("amount", "999")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/account/done"));
    let (_, done) = web.get("/account/done").await;
    assert!(done.contains("1234567") && !done.contains("7654321"));
    assert!(done.contains("12,000"));
    assert!(done.contains(r#"id="receipt-number""#));
    // Again (a reload, the poller, a second tab): still one execution.
    let (status, _, loc) = web.check(&[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/account/txn"));
    let (status, _) = web.get("/account/txn").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(m.lock().unwrap().consumed_ok, 1);
    assert_eq!(web.receipts(), 1);
    assert_eq!(web.status_json().await["state"], "executed");
    let (_, history) = web.get("/account/history").await;
    assert!(history.contains("取引認証（アプリで承認・実行）"));
}

/// The receipt is built from the row stored at 確認: even if the row were
/// the only thing left (no session draft, no form), it is what executes.
#[tokio::test(flavor = "multi_thread")]
async fn the_receipt_equals_the_stored_transaction() {
    let (backend, m) = mock_txn_backend().await;
    let mut web = Web::start_with(&backend, false, TxnAuth::Required).await;
    web.login().await;
    web.confirm_transfer().await;
    // A new 入力 after 確認 (e.g. a tampered second submission) does not
    // touch the stored transaction.
    let csrf = web.csrf("/account/transfer").await;
    let mut other = transfer_entry(&csrf);
    other[4] = ("account_number", "7654321");
    web.post("/account/transfer", &other, None).await;
    let (_, txn_page) = web.get("/account/txn").await;
    assert!(
        !txn_page.contains("txn-check-form"),
        "the new draft has no transaction"
    );
    assert_eq!(m.lock().unwrap().created.len(), 1);
}

/// Consumed at the token service but not executed here (a crash between
/// `consume` and the receipt, or a racing request): the next check
/// executes the stored transaction, once.
#[tokio::test(flavor = "multi_thread")]
async fn consumed_but_not_executed_is_executed_once() {
    let (backend, m) = mock_txn_backend().await;
    let mut web = Web::start_with(&backend, false, TxnAuth::Required).await;
    web.login().await;
    web.confirm_transfer().await;
    m.lock().unwrap().set_state("consumed");
    let (status, _, loc) = web.check(&[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/account/done"));
    let (_, _, loc) = web.check(&[]).await;
    assert_eq!(loc.as_deref(), Some("/account/txn"));
    assert_eq!(web.receipts(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_or_expired_runs_nothing() {
    for (state, label, result) in [
        ("rejected", "取引認証（アプリで拒否・未実行）", "rejected"),
        ("expired", "取引認証（有効期限切れ・未実行）", "expired"),
    ] {
        let (backend, m) = mock_txn_backend().await;
        let mut web = Web::start_with(&backend, false, TxnAuth::Required).await;
        web.login().await;
        web.confirm_transfer().await;
        m.lock().unwrap().set_state(state);
        assert_eq!(web.status_json().await["state"], state);
        let (status, _, loc) = web.check(&[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{state}");
        assert_eq!(loc.as_deref(), Some("/account/txn"));
        let (status, html) = web.get("/account/txn").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains(&format!(r#"data-result="{result}""#)),
            "{state}: {html}"
        );
        assert!(html.contains(r#"id="txn-result""#));
        assert!(html.contains("実行されませんでした"));
        // Approving afterwards (a late or forged decision) executes nothing.
        m.lock().unwrap().set_state("approved");
        let (_, _, loc) = web.check(&[]).await;
        assert_eq!(loc.as_deref(), Some("/account/txn"));
        let csrf = web.csrf("/account").await;
        web.post(
            "/account/txn/offline",
            &[("csrf", &csrf), ("txn_code", OFFLINE_GOOD)],
            None,
        )
        .await;
        assert_eq!(m.lock().unwrap().consumed_ok, 0, "{state}");
        assert_eq!(web.receipts(), 0, "{state}");
        let (_, history) = web.get("/account/history").await;
        assert!(history.contains(label), "{state}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_offline_number_executes_the_stored_transaction() {
    let (backend, m) = mock_txn_backend().await;
    let mut web = Web::start_with(&backend, false, TxnAuth::Required).await;
    web.login().await;
    web.confirm_transfer().await;
    let csrf = web.csrf("/account").await;
    let (status, html, _) = web
        .post(
            "/account/txn/offline",
            &[("csrf", &csrf), ("txn_code", "12345")],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("6桁"));
    assert!(
        m.lock().unwrap().code_calls.is_empty(),
        "a typo is not sent"
    );
    let (status, html, _) = web
        .post(
            "/account/txn/offline",
            &[("csrf", &csrf), ("txn_code", "111111")],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("取引認証番号が正しくありません"));
    assert!(html.contains("連続1回目"));
    assert!(!html.contains("111111"), "the code is never written back");
    let (status, _, loc) = web
        .post(
            "/account/txn/offline",
            &[("csrf", &csrf), ("txn_code", "６５４ ３２１")],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/account/done"));
    {
        let m = m.lock().unwrap();
        assert_eq!(m.code_calls.last().unwrap()["code"], OFFLINE_GOOD);
        assert_eq!(m.state(), "consumed");
        assert_eq!(m.consumed_ok, 1);
    }
    assert_eq!(web.receipts(), 1);
    let (_, history) = web.get("/account/history").await;
    assert!(history.contains("取引認証（取引認証番号で認証・実行）"));
    assert!(history.contains("認証失敗（連続1回目）"));
    assert!(
        !contains(&web.db_bytes(), OFFLINE_GOOD),
        "no code in web.sqlite"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_poller_is_a_same_origin_script_the_policy_allows() {
    let (backend, _) = mock_txn_backend().await;
    let mut web = Web::start_with(&backend, false, TxnAuth::Required).await;
    let resp = web
        .raw(web.http.get(format!("{}/static/txn-auth.js", web.base)))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"));
    assert!(!csp.contains("unsafe-eval") && !csp.contains("'unsafe-inline' ;"));
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
    assert!(resp.text().await.unwrap().contains("txn-check-form"));
    // No transaction in the session: the status says so and the page
    // sends the customer home.
    web.login().await;
    assert_eq!(web.status_json().await["state"], "none");
    let (status, _) = web.get("/account/txn").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

/// `optional`: code only until the customer chooses 取引認証 in 設定 (with
/// the code); the choice is in the history.
#[tokio::test(flavor = "multi_thread")]
async fn optional_is_the_customers_choice() {
    let (backend, _) = mock_backend().await;
    let mut web = Web::start_with(&backend, false, TxnAuth::Optional).await;
    web.login().await;
    let (_, form) = web.get("/account/transfer").await;
    assert!(form.contains(r#"id="f-otp""#), "code only until chosen");
    let (_, settings) = web.get("/account/settings").await;
    assert!(settings.contains(r#"id="txn-auth-on""#));
    assert!(is_checked(&settings, "txn-auth-off"));
    assert!(!is_checked(&settings, "txn-auth-on"));
    let csrf = web.csrf("/account/settings").await;
    let (status, _, _) = web
        .post(
            "/account/settings",
            &[
                ("csrf", &csrf),
                ("otp_login", "off"),
                ("txn_auth", "on"),
                ("otp", "999999"),
            ],
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a wrong code changes nothing"
    );
    let (_, form) = web.get("/account/transfer").await;
    assert!(form.contains(r#"id="f-otp""#));
    let (status, html, _) = web
        .post(
            "/account/settings",
            &[
                ("csrf", &csrf),
                ("otp_login", "off"),
                ("txn_auth", "on"),
                ("otp", GOOD),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(is_checked(&html, "txn-auth-on"));
    let (_, form) = web.get("/account/transfer").await;
    assert!(!form.contains(r#"id="f-otp""#), "取引認証 now");
    let (_, history) = web.get("/account/history").await;
    assert!(history.contains("取引認証を「する」に変更"));
    // Under `required` and `off` there is nothing to choose.
    for mode in [TxnAuth::Required, TxnAuth::Off] {
        let mut web = Web::start_with(&backend, false, mode).await;
        web.login().await;
        let (_, settings) = web.get("/account/settings").await;
        assert!(!settings.contains("txn-auth-on"), "{mode:?}");
    }
}

fn db_rows(dir: &std::path::Path) -> i64 {
    let c = rusqlite::Connection::open(dir.join("web.sqlite")).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables
        .iter()
        .map(|t| {
            c.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
        })
        .sum()
}

/// 5,000 cookieless `GET /login`: each gets a signed anonymous cookie and
/// a login form, and the database gains no row.
#[tokio::test(flavor = "multi_thread")]
async fn cookieless_login_page_writes_no_session_row() {
    let (backend, _) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    let before = db_rows(web.dir.path());
    for _ in 0..5_000 {
        web.cookie = None;
        let (status, html) = web.get("/login").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"name="csrf""#));
    }
    assert!(
        web.cookie.as_deref().unwrap().contains("=a."),
        "signed anonymous cookie"
    );
    assert_eq!(db_rows(web.dir.path()), before, "no new database rows");
    // The signed cookie's form still logs in; the login writes the row.
    web.login().await;
    assert_eq!(
        db_rows(web.dir.path()),
        before + 1,
        "one session row at login"
    );
}

/// An anonymous cookie whose signature was altered opens no session: its
/// CSRF token no longer matches and the login form is refused (403).
#[tokio::test(flavor = "multi_thread")]
async fn forged_anonymous_cookie_is_refused() {
    let (backend, _) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    let csrf = web.csrf("/login").await;
    let cookie = web.cookie.clone().unwrap();
    let (head, mac) = cookie.rsplit_once('.').unwrap();
    let flipped = if mac.starts_with('0') { "1" } else { "0" };
    web.cookie = Some(format!("{head}.{flipped}{}", &mac[1..]));
    let (status, _, _) = web
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("contract_id", "1000001"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A later expiry written into the cookie breaks the signature too.
    let parts: Vec<&str> = cookie.splitn(2, '=').collect();
    let mut fields: Vec<String> = parts[1].split('.').map(String::from).collect();
    fields[2] = (fields[2].parse::<i64>().unwrap() + 3600).to_string();
    web.cookie = Some(format!("{}={}", parts[0], fields.join(".")));
    let (status, _, _) = web
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("contract_id", "1000001"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
