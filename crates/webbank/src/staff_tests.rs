//! HTTP-level tests of the staff console against a stateful mock token
//! service (public API and admin listener apart): off without a password,
//! the login (wrong password refused, limits), separation of the staff and
//! customer sessions, CSRF, unlock after a lockout, resync with two
//! consecutive codes, the audit rows with the staff name, and that no
//! code or password reaches a page, the database or the logs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::*;
use crate::db::{StaffAction, TokenChange};
use crate::staff::{StaffConfig, StaffConsole, StaffPassword};

const SERIAL: &str = "K7M3Q9XZ2PD0";
const GOOD: &str = "135791";
const RESYNC1: &str = "314159";
const RESYNC2: &str = "265358";
const PASSWORD: &str = "customer horse battery";
const STAFF_PW: &str = "staff-only pass phrase";
const OPS_KEY: &str = "test-ops-key";
const API_KEY: &str = "test-api-key";
const LOCKOUT: u32 = 10;

// ---- log capture -------------------------------------------------------

/// Everything any test of this binary logged (fields and messages).
fn logs() -> Arc<Mutex<String>> {
    static LOGS: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(String::new()));
        // Another test binary may not share this; within this one it is
        // set once, before any staff test logs.
        let _ = tracing::subscriber::set_global_default(Capture(buf.clone()));
        buf
    })
    .clone()
}

struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={v:?} ", f.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, a: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut s = String::new();
        a.record(&mut Fields(&mut s));
        self.0.lock().unwrap().push_str(&s);
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, r: &tracing::span::Record<'_>) {
        let mut s = String::new();
        r.record(&mut Fields(&mut s));
        self.0.lock().unwrap().push_str(&s);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        let mut s = String::new();
        e.record(&mut Fields(&mut s));
        s.push('\n');
        self.0.lock().unwrap().push_str(&s);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

// ---- mock token service ------------------------------------------------

#[derive(Default)]
struct Token {
    fails: u32,
    locked: bool,
    drift: i64,
    /// (path, Authorization) of every call.
    calls: Vec<(String, Option<String>)>,
    /// X-Test-Time of admin calls.
    admin_times: Vec<Option<String>>,
    /// Start of the last accepted step (Unix seconds).
    last_accepted: Option<u64>,
}

type Shared = Arc<Mutex<Token>>;

fn auth(h: &HeaderMap) -> Option<String> {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

fn refuse(status: StatusCode, code: &str, fails: Option<u32>) -> (StatusCode, Json<Value>) {
    let mut body = json!({"v":1,"error":code,"message":"refused"});
    if let Some(n) = fails {
        body["fail_count"] = json!(n);
    }
    (status, Json(body))
}

async fn verify(
    State(t): State<Shared>,
    h: HeaderMap,
    Json(b): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut t = t.lock().unwrap();
    t.calls.push(("/v1/bank/verify".into(), auth(&h)));
    if t.locked {
        return refuse(StatusCode::FORBIDDEN, "locked", None);
    }
    if b["otp"] == GOOD {
        t.fails = 0;
        return (StatusCode::OK, Json(json!({"v":1,"result":"ok"})));
    }
    t.fails += 1;
    t.locked = t.fails >= LOCKOUT;
    let n = t.fails;
    refuse(StatusCode::UNAUTHORIZED, "invalid_otp", Some(n))
}

async fn status(State(t): State<Shared>, Path(serial): Path<String>) -> Json<Value> {
    t.lock()
        .unwrap()
        .calls
        .push((format!("status {serial}"), None));
    let state = if serial == SERIAL {
        "active"
    } else {
        "expired"
    };
    Json(json!({"v":1,"serial":serial,"state":state}))
}

fn ops_ok(t: &mut Token, path: &str, h: &HeaderMap) -> bool {
    t.calls.push((path.into(), auth(h)));
    t.admin_times.push(
        h.get("x-test-time")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
    );
    auth(h).as_deref() == Some(&format!("Bearer {OPS_KEY}"))
}

async fn unlock(
    State(t): State<Shared>,
    h: HeaderMap,
    Json(b): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut t = t.lock().unwrap();
    if !ops_ok(&mut t, "/v1/admin/unlock", &h) {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", None);
    }
    if b["serial"] != SERIAL {
        return refuse(StatusCode::NOT_FOUND, "not_found", None);
    }
    t.locked = false;
    t.fails = 0;
    (StatusCode::OK, Json(json!({"v":1,"result":"ok"})))
}

async fn resync(
    State(t): State<Shared>,
    h: HeaderMap,
    Json(b): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut t = t.lock().unwrap();
    if !ops_ok(&mut t, "/v1/admin/resync", &h) {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", None);
    }
    if b["serial"] != SERIAL || b["otp1"] != RESYNC1 || b["otp2"] != RESYNC2 {
        return refuse(StatusCode::BAD_REQUEST, "resync_failed", None);
    }
    t.drift = 5;
    t.fails = 0;
    (
        StatusCode::OK,
        Json(json!({"v":1,"result":"ok","drift_steps":5})),
    )
}

/// `GET /v1/admin/tokens/{serial}`: the mock's own record, whatever web
/// banking saw.
async fn inspect(
    State(t): State<Shared>,
    h: HeaderMap,
    Path(serial): Path<String>,
) -> (StatusCode, Json<Value>) {
    let mut t = t.lock().unwrap();
    if !ops_ok(&mut t, &format!("/v1/admin/tokens/{serial}"), &h) {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", None);
    }
    if serial != SERIAL {
        return refuse(StatusCode::NOT_FOUND, "not_found", None);
    }
    let body = json!({"v":1,"serial":SERIAL,"state":"active","fail_count":t.fails,
        "locked":t.locked,"lockout_limit":LOCKOUT,"drift_steps":t.drift,"step_seconds":30,
        "last_accepted_step_at":t.last_accepted,"issued_at":1_799_990_000u64,"bind_by":1_799_999_000u64,
        "bound_at":1_799_991_000u64,"revoked_at":null});
    (StatusCode::OK, Json(body))
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// (public URL, admin URL, state).
async fn mock_token_service() -> (String, String, Shared) {
    let t = Shared::default();
    let public = Router::new()
        .route("/v1/bank/verify", post(verify))
        .route("/v1/tokens/{serial}/status", get(status))
        .with_state(t.clone());
    let admin = Router::new()
        .route("/v1/admin/unlock", post(unlock))
        .route("/v1/admin/resync", post(resync))
        .route("/v1/admin/tokens/{serial}", get(inspect))
        .with_state(t.clone());
    (serve(public).await, serve(admin).await, t)
}

// ---- web banking with the console --------------------------------------

struct Bank {
    base: String,
    http: reqwest::Client,
    /// Cookies by name.
    jar: HashMap<String, String>,
    dir: tempfile::TempDir,
    state: WebState,
    console: Option<Arc<StaffConsole>>,
    token: Shared,
}

fn csrf_of(html: &str) -> String {
    let i = html.find(r#"name="csrf" value=""#).expect("csrf field") + 19;
    html[i..i + 64].to_string()
}

impl Bank {
    async fn start(with_staff: bool) -> Bank {
        let (public, admin, token) = mock_token_service().await;
        let dir = tempfile::tempdir().unwrap();
        let staff = with_staff.then(|| StaffConfig {
            password: Arc::new(StaffPassword::from_text(STAFF_PW).unwrap()),
            admin_url: admin.clone(),
            ops_key: ApiKey::new(OPS_KEY.into()).unwrap(),
        });
        let cfg = WebConfig {
            data_dir: dir.path().to_path_buf(),
            token_service_url: public.clone(),
            api_key: ApiKey::new(API_KEY.into()).unwrap(),
            bank: BankInfo {
                bank_id: "demo-shinkin".into(),
                name: "テスト信用金庫".into(),
                url: public.clone(),
                server_key_id: "k1".into(),
            },
            demo: false,
            test_clock: true,
            txn_auth: TxnAuth::Off,
            trusted_proxies: Vec::new(),
            staff,
        };
        let state = WebState::new(&cfg).unwrap();
        {
            let db = state.db.blocking();
            let hash = credentials::hash_password(PASSWORD).unwrap();
            db.upsert_customer("1000001", "テスト タロウ", &hash, 0)
                .unwrap();
            db.set_token("1000001", TokenChange::Set(SERIAL.into()))
                .unwrap();
        }
        let console = cfg
            .staff
            .as_ref()
            .map(|s| Arc::new(StaffConsole::new(s, &public).unwrap()));
        let app = routes_with_staff(state.clone(), console.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap()
        });
        Bank {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
            jar: HashMap::new(),
            dir,
            state,
            console,
            token,
        }
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.jar.is_empty()).then(|| {
            self.jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn remember(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.jar.insert(k.to_string(), v.to_string());
        }
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String, Option<String>) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = self.cookie_header() {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.unwrap();
        self.remember(&resp);
        let loc = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (resp.status(), resp.text().await.unwrap(), loc)
    }

    async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, Option<String>) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("x-test-time", "1800000000")
            .form(form);
        if let Some(c) = self.cookie_header() {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.unwrap();
        self.remember(&resp);
        let loc = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (resp.status(), resp.text().await.unwrap(), loc)
    }

    async fn staff_login(&mut self, name: &str, pw: &str) -> (StatusCode, String, Option<String>) {
        let (_, html, _) = self.get("/staff/login").await;
        let csrf = csrf_of(&html);
        self.post(
            "/staff/login",
            &[("csrf", &csrf), ("staff_name", name), ("password", pw)],
        )
        .await
    }

    async fn customer_login(&mut self) {
        let (_, html, _) = self.get("/login").await;
        let csrf = csrf_of(&html);
        let (status, _, loc) = self
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("contract_id", "1000001"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(loc.as_deref(), Some("/account"));
    }

    async fn transfer(&mut self, otp: &str) -> (StatusCode, String) {
        let (_, html, _) = self.get("/account/transfer").await;
        let csrf = csrf_of(&html);
        let (s, h, _) = self
            .post(
                "/account/transfer",
                &[
                    ("bank", "かけしん"),
                    ("branch", "本店"),
                    ("account_type", "futsu"),
                    ("account_number", "1234567"),
                    ("payee", "ヤマダ"),
                    ("amount", "1,000"),
                    ("otp", otp),
                    ("csrf", &csrf),
                ],
            )
            .await;
        (s, h)
    }

    fn staff_rows(&self) -> Vec<crate::db::StaffEvent> {
        self.state
            .db
            .blocking()
            .staff_events(Some("1000001"), Some(SERIAL), 100)
            .unwrap()
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

// ---- tests -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn without_a_staff_password_the_console_is_404() {
    let mut bank = Bank::start(false).await;
    for path in ["/staff", "/staff/login", "/staff/unlock"] {
        let (status, _, _) = bank.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _, _) = bank.post("/staff/login", &[("staff_name", "x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The customers' pages are unchanged.
    let (status, _, _) = bank.get("/login").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_login_refuses_a_wrong_password_and_then_waits() {
    let logs = logs();
    let mut bank = Bank::start(true).await;
    let (status, _, loc) = bank.get("/staff").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/staff/login"));
    let (status, html, _) = bank.get("/staff/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("職員ログイン"));
    let csrf = csrf_of(&html);
    for _ in 0..login_limit::FREE_FAILURES {
        let (status, html, _) = bank
            .post(
                "/staff/login",
                &[
                    ("csrf", &csrf),
                    ("staff_name", "山田"),
                    ("password", "guess-pw-xyz"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("職員名またはパスワードが正しくありません"),
            "{html}"
        );
        assert!(html.contains(r#"value="山田""#), "the name is re-filled");
        assert!(!html.contains("guess-pw-xyz"));
    }
    let (status, html, _) = bank.staff_login("山田", STAFF_PW).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "even the right password waits"
    );
    assert!(html.contains("秒後に再度お試しください"), "{html}");
    // Another name is not delayed by 山田's failures.
    let (status, _, loc) = bank.staff_login("佐藤", STAFF_PW).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/staff"));
    let (status, html, _) = bank.get("/staff").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("担当: 佐藤"));

    let refused: i64 = rusqlite::Connection::open(bank.dir.path().join("web.sqlite"))
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM staff_events WHERE action = 'login_refused' AND staff = '山田'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(refused, i64::from(login_limit::FREE_FAILURES));
    assert!(!contains(&bank.db_bytes(), "guess-pw-xyz"));
    assert!(!contains(&bank.db_bytes(), STAFF_PW));
    let logged = logs.lock().unwrap().clone();
    assert!(
        logged.contains("staff console: login refused"),
        "capture works"
    );
    assert!(!logged.contains("guess-pw-xyz") && !logged.contains(STAFF_PW));
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_login_is_limited_over_all_names() {
    let mut bank = Bank::start(true).await;
    let console = bank.console.clone().unwrap();
    let now = std::time::Instant::now();
    for _ in 0..staff::ALL_FAILURES {
        console.limits_for_tests().1.fail("all", now);
    }
    let (status, html, _) = bank.staff_login("鈴木", STAFF_PW).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("しばらくの間ご利用いただけません"), "{html}");
    assert!(
        bank.jar.get(staff::COOKIE).is_none_or(|v| v.len() != 64),
        "no staff session"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_and_staff_sessions_never_open_each_others_pages() {
    let mut bank = Bank::start(true).await;
    bank.customer_login().await;
    let customer = bank.jar.get(session::COOKIE).cloned().unwrap();
    // The customer's cookie on the console: login required.
    let (status, _, loc) = bank.get("/staff").await;
    assert_eq!(
        (status, loc.as_deref()),
        (StatusCode::SEE_OTHER, Some("/staff/login"))
    );
    // Its value under the staff cookie's name: still nothing.
    bank.jar.insert(staff::COOKIE.into(), customer.clone());
    let (status, _, loc) = bank.get("/staff").await;
    assert_eq!(
        (status, loc.as_deref()),
        (StatusCode::SEE_OTHER, Some("/staff/login"))
    );

    // A staff login opens the console but not the customers' pages.
    let mut staff_only = Bank {
        jar: HashMap::new(),
        ..bank
    };
    let (status, _, _) = staff_only.staff_login("山田", STAFF_PW).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let staff_cookie = staff_only.jar.get(staff::COOKIE).cloned().unwrap();
    assert_eq!(staff_cookie.len(), 64, "a stored staff session");
    assert!(
        !staff_only.jar.contains_key(session::COOKIE),
        "no customer cookie was set"
    );
    let (status, _, loc) = staff_only.get("/account").await;
    assert_eq!(
        (status, loc.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login"))
    );
    staff_only.jar.clear();
    staff_only
        .jar
        .insert(session::COOKIE.into(), staff_cookie.clone());
    let (status, _, loc) = staff_only.get("/account").await;
    assert_eq!(
        (status, loc.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login"))
    );
    // The staff cookie is scoped to /staff and HttpOnly, SameSite=Strict.
    let resp = staff_only
        .http
        .get(format!("{}/staff/login", staff_only.base))
        .send()
        .await
        .unwrap();
    let set = resp.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.starts_with("stk_staff_session="), "{set}");
    assert!(
        set.contains("Path=/staff;") && set.contains("HttpOnly") && set.contains("SameSite=Strict")
    );
    // The console's pages carry the security headers.
    assert!(resp.headers().get("content-security-policy").is_some());
    assert_eq!(resp.headers().get("x-frame-options").unwrap(), "DENY");
}

#[tokio::test(flavor = "multi_thread")]
async fn console_forms_need_the_csrf_token() {
    let mut bank = Bank::start(true).await;
    bank.staff_login("山田", STAFF_PW).await;
    let (status, html, _) = bank
        .post("/staff/unlock", &[("serial", SERIAL), ("q", "1000001")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("不正な操作"));
    let zeros = "0".repeat(64);
    let (status, _, _) = bank
        .post(
            "/staff/resync",
            &[
                ("csrf", &zeros),
                ("serial", SERIAL),
                ("otp1", RESYNC1),
                ("otp2", RESYNC2),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = bank.post("/staff/logout", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let calls = bank.token.lock().unwrap().calls.clone();
    assert!(
        !calls.iter().any(|(p, _)| p.starts_with("/v1/admin")),
        "nothing reached the admin listener: {calls:?}"
    );
    // Without a staff login a valid anonymous token does not act either.
    bank.jar.clear();
    let (_, html, _) = bank.get("/staff/login").await;
    let csrf = csrf_of(&html);
    let (status, _, loc) = bank
        .post("/staff/unlock", &[("csrf", &csrf), ("serial", SERIAL)])
        .await;
    assert_eq!(
        (status, loc.as_deref()),
        (StatusCode::SEE_OTHER, Some("/staff/login"))
    );
    assert!(bank
        .token
        .lock()
        .unwrap()
        .calls
        .iter()
        .all(|(p, _)| !p.starts_with("/v1/admin")));
}

#[tokio::test(flavor = "multi_thread")]
async fn unlock_after_a_lockout_and_resync_with_two_consecutive_codes() {
    let logs = logs();
    let mut bank = Bank::start(true).await;
    bank.customer_login().await;
    for n in 1..=LOCKOUT {
        let (status, html) = bank.transfer(&format!("00000{}", n % 10)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains(&format!("連続{n}回目")), "{html}");
    }
    let (_, html) = bank.transfer(GOOD).await;
    assert!(html.contains("ご利用を停止しています"), "locked: {html}");

    // The console in a browser of its own.
    let mut desk = Bank {
        jar: HashMap::new(),
        ..bank
    };
    desk.staff_login("山田 花子", STAFF_PW).await;
    let (status, html, _) = desk.get("/staff?q=1000001").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="customer-id">1000001<"#), "{html}");
    assert!(html.contains(r#"data-state="active""#));
    assert!(html.contains(r#"data-locked="true""#), "the lock is shown");
    assert!(html.contains(r#"id="token-failures">10<"#));
    assert!(html.contains("（10回でロック）"), "the service's limit");
    assert!(html.contains(r#"id="history""#));
    // Looking the serial up finds the same customer.
    let (_, by_serial, _) = desk.get("/staff?q=k7m3%20q9xz%202pd0").await;
    assert!(by_serial.contains(r#"id="customer-id">1000001<"#));
    let csrf = csrf_of(&html);

    let (status, html, _) = desk
        .post(
            "/staff/unlock",
            &[("csrf", &csrf), ("serial", SERIAL), ("q", "1000001")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("ロックを解除しました"));
    assert!(html.contains(r#"data-locked="false""#));
    assert!(html.contains(r#"id="token-failures">0<"#));
    {
        let t = desk.token.lock().unwrap();
        assert!(!t.locked, "the token service unlocked it");
        let admin: Vec<_> = t
            .calls
            .iter()
            .filter(|(p, _)| p.starts_with("/v1/admin"))
            .collect();
        let read = format!("/v1/admin/tokens/{SERIAL}");
        let paths: Vec<&str> = admin.iter().map(|(p, _)| p.as_str()).collect();
        // Two lookups and the page after the unlock read the token afresh.
        assert_eq!(paths, vec![&read, &read, "/v1/admin/unlock", &read]);
        assert!(
            admin
                .iter()
                .all(|(_, a)| a.as_deref() == Some("Bearer test-ops-key")),
            "the ops key"
        );
        // The test clock is forwarded as the request had it (the two
        // lookups sent none, the unlock form did).
        let at = Some("1800000000".to_string());
        assert_eq!(
            t.admin_times,
            vec![None, None, at.clone(), at],
            "test clock forwarded"
        );
        let backend: Vec<_> = t
            .calls
            .iter()
            .filter(|(p, _)| p == "/v1/bank/verify")
            .collect();
        assert!(backend
            .iter()
            .all(|(_, a)| a.as_deref() == Some("Bearer test-api-key")));
    }

    // Wrong codes: refused, nothing re-filled; the right pair sets the drift.
    let (status, html, _) = desk
        .post(
            "/staff/resync",
            &[
                ("csrf", &csrf),
                ("serial", SERIAL),
                ("q", "1000001"),
                ("otp1", RESYNC2),
                ("otp2", RESYNC1),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("連続する2つのワンタイムパスワードが見つかりませんでした"));
    assert!(!html.contains(RESYNC1) && !html.contains(RESYNC2));
    let (status, html, _) = desk
        .post(
            "/staff/resync",
            &[
                ("csrf", &csrf),
                ("serial", SERIAL),
                ("q", "1000001"),
                ("otp1", "12"),
                ("otp2", RESYNC2),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("半角数字6桁"));
    let (status, html, _) = desk
        .post(
            "/staff/resync",
            &[
                ("csrf", &csrf),
                ("serial", SERIAL),
                ("q", "1000001"),
                ("otp1", RESYNC1),
                ("otp2", RESYNC2),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("再同期しました"));
    assert!(
        html.contains(r#"id="token-drift">+5 ステップ (+150 秒)<"#),
        "{html}"
    );
    assert!(!html.contains(RESYNC1) && !html.contains(RESYNC2));
    assert_eq!(desk.token.lock().unwrap().drift, 5);

    // The customer's codes work again.
    let mut customer = Bank {
        jar: HashMap::new(),
        ..desk
    };
    customer.customer_login().await;
    let (status, html) = customer.transfer(GOOD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");

    // Every action is recorded with the staff name, newest first.
    let rows = customer.staff_rows();
    let seen: Vec<(StaffAction, &str, &str)> = rows
        .iter()
        .map(|r| (r.action, r.staff.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (StaffAction::Resync, "山田 花子", "ok"),
            (StaffAction::Resync, "山田 花子", "resync_failed"),
            (StaffAction::Unlock, "山田 花子", "ok"),
            (StaffAction::Lookup, "山田 花子", "ok"),
            (StaffAction::Lookup, "山田 花子", "ok"),
        ]
    );
    assert_eq!(rows[0].detail.as_deref(), Some("5"));
    assert_eq!(rows[2].contract_id.as_deref(), Some("1000001"));
    let db = customer.db_bytes();
    for secret in [RESYNC1, RESYNC2, STAFF_PW, OPS_KEY] {
        assert!(!contains(&db, secret), "{secret} in web.sqlite");
    }
    let logged = logs.lock().unwrap().clone();
    assert!(logged.contains("staff console action"), "capture works");
    assert!(logged.contains("山田 花子"), "the staff name is logged");
    for secret in [RESYNC1, RESYNC2, STAFF_PW, OPS_KEY, GOOD] {
        assert!(!logged.contains(secret), "{secret} in the logs");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lookups_of_unknown_customers_and_serials() {
    let mut bank = Bank::start(true).await;
    bank.staff_login("山田", STAFF_PW).await;
    let (status, html, _) = bank.get("/staff?q=9999999").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="lookup-none""#));
    let (_, html, _) = bank.get("/staff?q=%3Cscript%3E").await;
    assert!(html.contains(r#"id="lookup-none""#));
    assert!(!html.contains("<script>"), "escaped");
    // A serial the token service does not know: its answer, no guessed
    // lock or count; the actions stay (they answer the same).
    let s = softtoken_core::Serial::generate(&mut rand::rngs::OsRng);
    assert_ne!(s.as_str(), SERIAL);
    let (_, html, _) = bank.get(&format!("/staff?q={}", s.as_str())).await;
    assert!(
        html.contains("このシリアル番号のトークンはありません。 (not_found)"),
        "{html}"
    );
    assert!(!html.contains("data-state=") && !html.contains(r#"id="token-lock""#));
    assert!(!html.contains(r#"id="token-failures""#));
    assert!(!html.contains(r#"id="customer""#));
    assert!(html.contains(r#"id="unlock-submit""#));
    let (_, html, _) = bank.get("/staff?q=1000001&lang=en").await;
    assert!(html.contains("Staff console") && html.contains("Unlock"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pairing_button_carries_the_qr_codes_link() {
    let mut bank = Bank::start(false).await;
    let (_, html, _) = bank.get("/start").await;
    let csrf = csrf_of(&html);
    let (status, _, loc) = bank
        .post(
            "/start",
            &[
                ("csrf", &csrf),
                ("contract_id", "1000001"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        (status, loc.as_deref()),
        (StatusCode::SEE_OTHER, Some("/start/register"))
    );
    let (_, html, _) = bank.get("/start/register").await;
    let link = forms::pair_link(&bank.state);
    let escaped = link.replace('&', "&amp;");
    assert!(
        html.contains(&format!(
            r#"<a class="button" id="pair-open" href="{escaped}">アプリで開く</a>"#
        )),
        "{html}"
    );
    assert!(html.contains(&format!(r#"id="pair-link">{escaped}<"#)));
    // The QR code drawn is the rendering of that same link.
    let svg = qrcode::QrCode::new(link.as_bytes())
        .unwrap()
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    assert!(html.contains(&svg), "the QR code encodes the button's link");
    // The policy does not stand in the way of the link: no navigate-to.
    assert!(!security::CSP.contains("navigate-to"));

    // 交換's new-token step shows the same button.
    let mut bank = Bank {
        jar: HashMap::new(),
        ..bank
    };
    let (_, html, _) = bank.get("/exchange").await;
    let csrf = csrf_of(&html);
    let (_, _, loc) = bank
        .post(
            "/exchange",
            &[
                ("csrf", &csrf),
                ("contract_id", "1000001"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(loc.as_deref(), Some("/exchange/old"));
    let (_, html, _) = bank.get("/exchange/old").await;
    let csrf = csrf_of(&html);
    let (_, _, loc) = bank
        .post("/exchange/old", &[("csrf", &csrf), ("otp", GOOD)])
        .await;
    assert_eq!(loc.as_deref(), Some("/exchange/new"));
    let (_, html, _) = bank.get("/exchange/new").await;
    assert!(
        html.contains(&format!(r#"id="pair-open" href="{escaped}">"#)),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_shows_the_token_services_values_not_web_bankings() {
    let mut bank = Bank::start(true).await;
    bank.staff_login("山田", STAFF_PW).await;
    // Web banking saw no wrong code at all; the token service's record
    // (e.g. failures through another channel, a resync elsewhere) wins.
    {
        let mut t = bank.token.lock().unwrap();
        t.fails = 3;
        t.locked = true;
        t.drift = -2;
        t.last_accepted = Some(1_799_999_970);
    }
    let (status, html, _) = bank.get("/staff?q=1000001").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"data-locked="true""#), "{html}");
    assert!(html.contains(r#"id="token-failures">3<"#));
    assert!(html.contains(r#"id="token-drift">-2 ステップ (-60 秒)<"#));
    let last = crate::display_clock::format(1_799_999_970, crate::i18n::Lang::Ja);
    assert!(
        html.contains(&format!(r#"id="token-last-accepted">{last}<"#)),
        "{html}"
    );
    assert!(html.contains(r#"id="token-bound">"#) && !html.contains(r#"id="token-revoked""#));
    {
        let mut t = bank.token.lock().unwrap();
        t.fails = 0;
        t.locked = false;
        t.drift = 0;
        t.last_accepted = None;
    }
    let (_, html, _) = bank.get("/staff?q=1000001&lang=en").await;
    assert!(html.contains(r#"data-locked="false""#), "{html}");
    assert!(html.contains("Not locked") && html.contains(" (locks at 10)"));
    assert!(html.contains(r#"id="token-failures">0<"#));
    assert!(html.contains(r#"id="token-drift">+0 steps (+0 s)<"#));
    assert!(html.contains(r#"id="token-last-accepted">none yet<"#));
}
