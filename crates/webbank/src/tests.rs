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
}

impl Web {
    async fn start(backend: &str, test_clock: bool) -> Web {
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
        };
        let state = WebState::new(&cfg).unwrap();
        let hash = credentials::hash_password(PASSWORD).unwrap();
        {
            let db = state.db.blocking();
            db.upsert_customer("1000001", "テスト", &hash, 0).unwrap();
            db.set_token("1000001", TokenChange::Set("K7M3Q9XZ2PD0".into()))
                .unwrap();
        }
        let app = routes(state);
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
    };
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
async fn wrong_passwords_are_rate_limited_and_keep_the_contract_id() {
    let (backend, _) = mock_backend().await;
    let mut web = Web::start(&backend, false).await;
    let csrf = web.csrf("/login").await;
    for _ in 0..login_limit::PER_ACCOUNT {
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
    assert!(html.contains("しばらくの間ご利用いただけません"));
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
    let csrf = web.csrf("/login").await;
    for path in ["/account/transfer", "/account/payment", "/account/settings"] {
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
