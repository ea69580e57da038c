//! Shared helpers of the token-service integration tests: the real
//! `softtoken-bank` binary on 127.0.0.1:0 with a temporary data directory.
//!
//! Backends: SQLite (the file in the data directory) by default. With
//! `SOFTTOKEN_TEST_DATABASE` (a PostgreSQL URL) and
//! `SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE` set (stage 50), every server
//! these helpers start puts its token-service database on PostgreSQL
//! instead, in a schema of its own: `t_<pid>_<hash of the data
//! directory's path>`, created (`CREATE SCHEMA IF NOT EXISTS`) at the first
//! start and selected with `options=-csearch_path=…` in the URL. A restart
//! on the same data directory therefore finds the same database, and two
//! tests (or two data directories of one test) never share one — the
//! isolation a fresh SQLite file gives, at the cost of one `CREATE SCHEMA`
//! per data directory (no database to create or drop; the throw-away
//! cluster goes away at the end of the stage). A test that passes its own
//! `--database` keeps it.
//!
//! After each start on PostgreSQL the helpers check that the server
//! migrated its schema (and wrote no `token-service.sqlite`) and append
//! `ran\t<test binary>\t<test>` to the file `SOFTTOKEN_TEST_PG_RECORD`
//! (when set); a test that does not apply to PostgreSQL calls
//! [`skip_on_postgres`], which appends `skipped\t…\t<reason>`. Stage 50
//! compares these lines with the list of tests, so a test that passed
//! without starting a server on PostgreSQL is caught.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand_core::OsRng;
use serde_json::{json, Value};
use softtoken_core::encoding::decode_array;
use softtoken_core::stk1::client::{ClientHandshake, Paired};
use softtoken_core::stk1::messages::{Device, Platform};
use softtoken_core::{Generator, Params};

pub const BIN: &str = env!("CARGO_BIN_EXE_softtoken-bank");

/// The PostgreSQL cluster of stage 50.
pub struct TestDatabase {
    /// The application role's URL (no password in it).
    pub url: String,
    /// The file holding the role's password.
    pub password_file: String,
}

/// The PostgreSQL test database, when `SOFTTOKEN_TEST_DATABASE` is set.
pub fn test_database() -> Option<TestDatabase> {
    let url = std::env::var("SOFTTOKEN_TEST_DATABASE").ok()?;
    let password_file = std::env::var("SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE")
        .expect("SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE with SOFTTOKEN_TEST_DATABASE");
    Some(TestDatabase { url, password_file })
}

/// Whether the servers of these tests run on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var_os("SOFTTOKEN_TEST_DATABASE").is_some()
}

/// The PostgreSQL schema of the server on data directory `data`.
pub fn schema_of(data: &Path) -> String {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same name for the same path in this
    // process, which is all a restart needs.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    format!("t_{}_{:016x}", std::process::id(), h.finish())
}

/// `url` with the search path set to `schema`.
pub fn url_with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

/// Runs `sql` with psql on the test database (as the application role)
/// and returns its unaligned, tuples-only output.
pub fn psql(db: &TestDatabase, sql: &str) -> String {
    let password = std::fs::read_to_string(&db.password_file).unwrap();
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(&db.url)
        .arg("-c")
        .arg(sql)
        .env("PGPASSWORD", password.trim())
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The server arguments that put the token-service database of data
/// directory `data` on PostgreSQL (its schema created if absent); none on
/// SQLite.
pub fn database_args(data: &Path) -> Vec<String> {
    let Some(db) = test_database() else {
        return Vec::new();
    };
    let schema = schema_of(data);
    psql(&db, &format!("CREATE SCHEMA IF NOT EXISTS {schema}"));
    vec![
        "--database".into(),
        url_with_schema(&db.url, &schema),
        "--database-password-file".into(),
        db.password_file,
        // Tests run in parallel and new connections are slow in a debug
        // build (SCRAM's PBKDF2 unoptimised): wait for a free connection
        // rather than answer 503.
        "--database-wait-ms".into(),
        "10000".into(),
    ]
}

/// The rows of `sql` on the token-service database of data directory
/// `data`, whichever backend: the SQLite file (read it once the server is
/// stopped or between requests) or the server's PostgreSQL schema. Each
/// row maps column names to JSON values; blobs are `"\\x<hex>"` on both.
pub fn db_rows(data: &Path, sql: &str) -> Vec<serde_json::Map<String, Value>> {
    if let Some(db) = test_database() {
        let db = TestDatabase {
            url: url_with_schema(&db.url, &schema_of(data)),
            password_file: db.password_file,
        };
        let out = psql(
            &db,
            &format!("SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) q"),
        );
        let rows: Vec<Value> = serde_json::from_str(out.trim()).unwrap();
        return rows
            .into_iter()
            .map(|r| match r {
                Value::Object(m) => m,
                other => panic!("not a row: {other}"),
            })
            .collect();
    }
    let c = rusqlite::Connection::open(data.join("token-service.sqlite")).unwrap();
    let mut q = c.prepare(sql).unwrap();
    let names: Vec<String> = q.column_names().iter().map(|n| n.to_string()).collect();
    let mut rows = q.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        let mut m = serde_json::Map::new();
        for (i, n) in names.iter().enumerate() {
            use rusqlite::types::ValueRef;
            let v = match r.get_ref(i).unwrap() {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(x) => json!(x),
                ValueRef::Real(x) => json!(x),
                ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                ValueRef::Blob(b) => {
                    json!(format!(
                        "\\x{}",
                        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                    ))
                }
            };
            m.insert(n.clone(), v);
        }
        out.push(m);
    }
    out
}

/// The name of the running test (libtest names its threads after them).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed>")
        .to_string()
}

/// The test binary's name without cargo's hash (`token_service`).
fn binary_name() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, _)) => name.to_string(),
        None => stem,
    }
}

/// Appends one line to `SOFTTOKEN_TEST_PG_RECORD` (when set) and prints it.
fn record(line: &str) {
    let line = format!("{line}\n");
    print!("{line}");
    if let Some(path) = std::env::var_os("SOFTTOKEN_TEST_PG_RECORD") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        // One write per line: lines of parallel tests do not interleave.
        f.write_all(line.as_bytes()).unwrap();
    }
}

/// On PostgreSQL: records that the running test does not apply there,
/// with `reason`, and returns true (the test then returns at once). On
/// SQLite: false.
pub fn skip_on_postgres(reason: &str) -> bool {
    if !on_postgres() {
        return false;
    }
    record(&format!(
        "skipped\t{}\t{}\t{reason}",
        binary_name(),
        test_name()
    ));
    true
}

/// A running server process.
pub struct Server {
    child: Child,
    pub url: String,
    /// The admin listener (`/v1/admin/*`).
    pub admin_url: String,
    pub data: PathBuf,
    /// The KEK file (outside the data directory).
    pub kek_file: PathBuf,
    pub api_key: String,
    /// The operations key (`ops-key`).
    pub ops_key: String,
    pub kid: String,
    pub server_pub: [u8; 32],
    pub http: reqwest::Client,
}

pub fn device() -> Device {
    Device {
        platform: Platform::Test,
        app_version: "it".into(),
    }
}

pub fn real_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Server {
    /// Starts the binary with `--test-clock` on a fresh port.
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &["--test-clock"])
    }

    /// Starts the binary with `extra` and limits on pairing from one
    /// address that the tests (all from 127.0.0.1) never reach.
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let mut args = vec![
            "--provision-rate",
            "100000",
            "--provision-burst",
            "100000",
            "--pending-per-source",
            "100000",
            "--unbound-per-source",
            "100000",
        ];
        args.extend_from_slice(extra);
        Server::spawn(data, &kek_file_for(data), &args)
    }

    /// Starts the binary with the KEK file `kek` and exactly `extra`
    /// (the server's default limits).
    pub fn start_with_kek(data: &Path, kek: &Path, extra: &[&str]) -> Server {
        Server::spawn(data, kek, extra)
    }

    fn spawn(data: &Path, kek: &Path, extra: &[&str]) -> Server {
        // A test that chose its database keeps it.
        let own_database = extra.contains(&"--database");
        let db_args = if own_database {
            Vec::new()
        } else {
            database_args(data)
        };
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--kek-file")
            .arg(kek)
            .args(extra)
            .args(&db_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn softtoken-bank");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut admin = None;
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("admin api on ") {
                    admin = Some(url.trim().to_string());
                }
                if !sent {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        let _ = tx.send((url.trim().to_string(), admin.clone()));
                        sent = true;
                    }
                }
            }
        });
        let (url, admin_url) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((u, Some(a))) => (u, a),
            _ => {
                let _ = child.kill();
                panic!("server did not print its addresses");
            }
        };
        let read_key = |name: &str| {
            std::fs::read_to_string(data.join(name))
                .unwrap()
                .trim()
                .to_string()
        };
        let api_key = read_key("api-key");
        let ops_key = read_key("ops-key");
        let out = Command::new(BIN)
            .args(["profile", "--data"])
            .arg(data)
            .output()
            .unwrap();
        assert!(out.status.success());
        let profile: Value = serde_json::from_slice(&out.stdout).unwrap();
        let kid = profile["server_key_id"].as_str().unwrap().to_string();
        let server_pub =
            decode_array::<32>(profile["server_public_key"].as_str().unwrap()).unwrap();
        if !db_args.is_empty() {
            assert_on_postgres(data);
            record(&format!(
                "ran\t{}\t{}\t{}",
                binary_name(),
                test_name(),
                schema_of(data)
            ));
        }
        Server {
            child,
            url,
            admin_url,
            data: data.to_path_buf(),
            kek_file: kek.to_path_buf(),
            api_key,
            ops_key,
            kid,
            server_pub,
            http: reqwest::Client::new(),
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills and starts again on the same data directory.
    pub fn restart(self) -> Server {
        let data = self.data.clone();
        self.kill();
        Server::start(&data)
    }

    /// Raw POST with optional bearer key and test time.
    pub async fn post_raw(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
        auth: Option<&str>,
        time: Option<u64>,
    ) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.url)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = auth {
            req = req.header("authorization", format!("Bearer {a}"));
        }
        if let Some(t) = time {
            req = req.header("x-test-time", t.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, v)
    }

    /// Token-service POST (no key) at test time `t`.
    pub async fn post(&self, path: &str, body: &Value, t: u64) -> (u16, Value) {
        self.post_raw(
            path,
            serde_json::to_vec(body).unwrap(),
            Some("application/json"),
            None,
            Some(t),
        )
        .await
    }

    /// Back-end POST with the API key at test time `t`.
    pub async fn bank(&self, path: &str, body: Value, t: u64) -> (u16, Value) {
        let key = self.api_key.clone();
        self.post_raw(
            path,
            serde_json::to_vec(&body).unwrap(),
            Some("application/json"),
            Some(&key),
            Some(t),
        )
        .await
    }

    /// POST to the admin listener with `key` (if any) at test time `t`.
    pub async fn admin_with(
        &self,
        path: &str,
        body: &Value,
        key: Option<&str>,
        t: u64,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.admin_url))
            .header("x-test-time", t.to_string())
            .json(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// POST to the admin listener with the operations key at test time `t`.
    pub async fn admin(&self, path: &str, body: Value, t: u64) -> (u16, Value) {
        self.admin_with(path, &body, Some(&self.ops_key), t).await
    }

    pub async fn status(&self, serial: &str, t: u64) -> String {
        let resp = self
            .http
            .get(format!("{}/v1/tokens/{serial}/status", self.url))
            .header("x-test-time", t.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let v: Value = resp.json().await.unwrap();
        v["state"].as_str().unwrap().to_string()
    }

    /// init at time `t` with the core handshake; returns the paired token
    /// (not finished) and the raw init response.
    pub async fn init(&self, t: u64) -> (Paired, Value) {
        let (hs, req) = ClientHandshake::start(&mut OsRng, &self.kid, &self.server_pub, device());
        let (st, body) = self
            .post(
                "/v1/provision/init",
                &serde_json::to_value(&req).unwrap(),
                t,
            )
            .await;
        assert_eq!(st, 200, "{body}");
        let resp = serde_json::from_value(body.clone()).unwrap();
        (hs.finish(&resp).unwrap(), body)
    }

    /// init + finish at time `t`.
    pub async fn pair(&self, t: u64) -> Token {
        let (paired, _) = self.init(t).await;
        let (st, body) = self
            .post(
                "/v1/provision/finish",
                &serde_json::to_value(&paired.finish_request).unwrap(),
                t,
            )
            .await;
        assert_eq!(st, 200, "{body}");
        assert_eq!(body["state"], "issued");
        Token::from(paired)
    }

    /// pair + bind to `customer` at time `t`.
    pub async fn bound(&self, customer: &str, t: u64) -> Token {
        let tok = self.pair(t).await;
        let (st, body) = self
            .bank(
                "/v1/bank/bind",
                json!({"v":1,"customer_id":customer,"serial":tok.serial,"otp":tok.code(t)}),
                t,
            )
            .await;
        assert_eq!(st, 200, "{body}");
        tok
    }

    /// Verify over a new HTTP client (a new connection, as another session).
    pub async fn verify_new_connection(&self, customer: &str, otp: &str, t: u64) -> (u16, Value) {
        let resp = reqwest::Client::new()
            .post(format!("{}/v1/bank/verify", self.url))
            .bearer_auth(&self.api_key)
            .header("x-test-time", t.to_string())
            .json(&json!({"v":1,"customer_id":customer,"otp":otp,"purpose":"transfer"}))
            .send()
            .await
            .unwrap();
        let st = resp.status().as_u16();
        (st, resp.json().await.unwrap())
    }

    pub async fn verify(&self, customer: &str, otp: &str, t: u64) -> (u16, Value) {
        self.bank(
            "/v1/bank/verify",
            json!({"v":1,"customer_id":customer,"otp":otp,"purpose":"login"}),
            t,
        )
        .await
    }
}

/// Panics unless the server on `data` keeps its token-service database
/// in its PostgreSQL schema: the schema holds the migrated tables and the
/// data directory no `token-service.sqlite`.
fn assert_on_postgres(data: &Path) {
    let db = test_database().unwrap();
    let schema = schema_of(data);
    let tables = psql(
        &db,
        &format!(
            "SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename = 'tokens'"
        ),
    );
    assert_eq!(tables.trim(), "1", "no tokens table in schema {schema}");
    assert!(
        !data.join("token-service.sqlite").exists(),
        "a token-service.sqlite in {} although the server is on PostgreSQL",
        data.display()
    );
}

/// The data directory of a test in its temporary directory `dir`
/// (`dir/data`; the KEK goes beside it, `dir/data.kek`).
pub fn data_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data")
}

/// The KEK file of a test's data directory: beside it (`<data>.kek`),
/// never inside, so restarts on the same data find the same KEK.
pub fn kek_file_for(data: &Path) -> PathBuf {
    let mut name = data.file_name().unwrap_or_default().to_os_string();
    name.push(".kek");
    data.with_file_name(name)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The app's side of a paired token.
pub struct Token {
    pub serial: String,
    pub paired: Paired,
    pub gen: Generator,
}

impl From<Paired> for Token {
    fn from(paired: Paired) -> Token {
        let gen = Generator::new(&paired.secret, Params::STK1).unwrap();
        Token {
            serial: paired.serial.as_str().to_string(),
            paired,
            gen,
        }
    }
}

impl Token {
    pub fn code(&self, t: u64) -> String {
        self.gen.totp(t).unwrap().as_str().to_string()
    }
    pub fn code_at_step(&self, step: u64) -> String {
        self.gen.at_step(step).as_str().to_string()
    }
    /// A 6-digit code that is not valid at any step near `t`.
    pub fn wrong(&self, t: u64) -> String {
        let step = t / 30;
        let near: Vec<String> = (step.saturating_sub(30)..step + 30)
            .map(|s| self.code_at_step(s))
            .collect();
        (0..1_000_000u32)
            .map(|n| format!("{:06}", (n * 7919 + 13) % 1_000_000))
            .find(|c| !near.contains(c))
            .unwrap()
    }
}

/// A time at the start of a step, near the real clock (so that the
/// real-clock `bind_by` of tokens paired without a test time still holds).
pub fn base_time() -> u64 {
    (real_now() / 30) * 30 + 30 * 4
}
