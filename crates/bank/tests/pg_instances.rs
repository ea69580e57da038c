//! Two `softtoken-bank` processes on one PostgreSQL database: one code
//! raced over both instances is accepted once; one lockout counter across
//! them; an instance killed with SIGKILL under load loses nothing it
//! acknowledged while the other keeps serving; PostgreSQL stopped and
//! started under load gives clean `503 unavailable` answers, then service
//! resumes without restarting an instance.
//!
//! Needs the throw-away cluster of `scripts/test.d/50-postgres.sh`
//! (`SOFTTOKEN_TEST_DATABASE`, `SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE`,
//! `SOFTTOKEN_TEST_PG_CTL`); without `SOFTTOKEN_TEST_DATABASE` every test
//! returns at once (stage 50 checks that they ran). Every loop is bounded
//! in count and in time; traffic is on 127.0.0.1 and the Unix socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{base_time, data_in, kek_file_for, Server, Token};
use serde_json::{json, Value};

const CUSTOMERS: usize = 8;

/// The cluster's URL and password file, when stage 50 runs the tests.
fn test_database() -> Option<(String, String)> {
    let url = std::env::var("SOFTTOKEN_TEST_DATABASE").ok()?;
    let pw = std::env::var("SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE")
        .expect("SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE with SOFTTOKEN_TEST_DATABASE");
    Some((url, pw))
}

/// One test's pair of instances and its PostgreSQL schema.
struct Pair {
    a: Server,
    b: Server,
    url: String,
    password_file: String,
    _dir: tempfile::TempDir,
}

/// A schema name unique to this test run and `name`.
fn schema_for(name: &str) -> String {
    format!("t_{}_{}_{}", name, std::process::id(), base_time())
}

fn schema_url(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

fn run_psql(url: &str, password_file: &str, sql: &str) -> String {
    let password = std::fs::read_to_string(password_file).unwrap();
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
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

fn db_args(url: &str, password_file: &str) -> Vec<String> {
    vec![
        "--test-clock".into(),
        "--provision-rate".into(),
        "100000".into(),
        "--provision-burst".into(),
        "100000".into(),
        "--pending-per-source".into(),
        "100000".into(),
        "--unbound-per-source".into(),
        "100000".into(),
        "--database".into(),
        url.into(),
        "--database-password-file".into(),
        password_file.into(),
        // 50 requests at once on two instances, and new connections are
        // slow in a debug build (SCRAM's PBKDF2 unoptimised): a pool that
        // holds them and a generous wait for a free connection.
        "--database-pool".into(),
        "32".into(),
        "--database-wait-ms".into(),
        "10000".into(),
    ]
}

/// Starts instance `a` on a fresh schema, then instance `b` with its own
/// data directory holding copies of `a`'s key files and the same KEK.
/// `None` when no test database is configured.
fn start_pair(name: &str) -> Option<Pair> {
    let (base, password_file) = test_database()?;
    let schema = schema_for(name);
    run_psql(&base, &password_file, &format!("CREATE SCHEMA {schema}"));
    let url = schema_url(&base, &schema);
    let dir = tempfile::tempdir().unwrap();
    let args = db_args(&url, &password_file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let d1 = data_in(&dir);
    let kek = kek_file_for(&d1);
    let a = Server::start_with_kek(&d1, &kek, &args);
    assert!(
        !d1.join("token-service.sqlite").exists(),
        "instance a is not on PostgreSQL"
    );
    let d2: PathBuf = dir.path().join("peer");
    std::fs::create_dir(&d2).unwrap();
    std::fs::set_permissions(&d2, std::fs::Permissions::from_mode(0o700)).unwrap();
    for f in ["server-key", "api-key", "ops-key"] {
        let to = d2.join(f);
        std::fs::copy(d1.join(f), &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let b = Server::start_with_kek(&d2, &kek, &args);
    assert!(!d2.join("token-service.sqlite").exists());
    assert_eq!(a.kid, b.kid);
    Some(Pair {
        a,
        b,
        url,
        password_file,
        _dir: dir,
    })
}

impl Pair {
    fn psql(&self, sql: &str) -> String {
        run_psql(&self.url, &self.password_file, sql)
    }
}

fn skip(name: &str) {
    eprintln!("{name}: SOFTTOKEN_TEST_DATABASE not set, skipped");
}

/// The line stage 50 counts (with `--show-output`) to know the test ran.
fn ran(name: &str) {
    println!("ran on PostgreSQL: {name}");
}

/// One verify over `http` to `url`; `None` when no answer came (refused
/// connection, killed server, timeout).
async fn verify(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    customer: &str,
    otp: &str,
    t: u64,
) -> Option<(u16, Value)> {
    let resp = http
        .post(format!("{url}/v1/bank/verify"))
        .bearer_auth(key)
        .header("x-test-time", t.to_string())
        .json(&json!({"v":1,"customer_id":customer,"otp":otp,"purpose":"transfer"}))
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .ok()?;
    let st = resp.status().as_u16();
    Some((st, resp.json().await.unwrap_or(Value::Null)))
}

fn customer(i: usize) -> String {
    format!("3{i:06}")
}

async fn bound_tokens(s: &Server, t: u64) -> Vec<Token> {
    let mut out = Vec::new();
    for i in 0..CUSTOMERS {
        out.push(s.bound(&customer(i), t).await);
    }
    out
}

fn instance(p: &Pair, n: usize) -> &Server {
    if n.is_multiple_of(2) {
        &p.a
    } else {
        &p.b
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_one_code_raced_over_two_instances_is_accepted_once() {
    let Some(p) = start_pair("race") else {
        return skip("race");
    };
    let p = Arc::new(p);
    let t0 = base_time();
    let tok = p.a.bound("4000001", t0).await;
    for round in 1..=3u64 {
        let t = t0 + 30 * round;
        let code = tok.code(t);
        let mut tasks = Vec::new();
        for i in 0..50usize {
            let p = p.clone();
            let code = code.clone();
            tasks.push(tokio::spawn(async move {
                instance(&p, i).verify("4000001", &code, t).await
            }));
        }
        let (mut ok, mut replay) = (0, 0);
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
    let n: u32 = p
        .psql(&format!(
            "SELECT count(*) FROM events WHERE kind = 'verified' AND serial = '{}'",
            tok.serial
        ))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(n, 3, "one verified event per round");
    ran("race");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_one_lockout_counter_across_instances_and_a_success_resets_it() {
    let Some(p) = start_pair("lock") else {
        return skip("lock");
    };
    let t = base_time();
    // Customer 1: 4 wrong on a, 5 wrong on b, then the right code on b
    // resets the counter; then 9 more wrong codes are still below the limit.
    let tok = p.a.bound("4000002", t).await;
    let t1 = t + 30;
    for i in 1..=9usize {
        let (st, body) = instance(&p, usize::from(i > 4))
            .verify("4000002", &tok.wrong(t1), t1)
            .await;
        assert_eq!(
            (st, body["error"].as_str()),
            (422, Some("invalid_otp")),
            "{i}: {body}"
        );
        assert_eq!(body["fail_count"], i, "{body}");
    }
    let (st, body) = p.b.verify("4000002", &tok.code(t1), t1).await;
    assert_eq!(st, 200, "{body}");
    let t2 = t + 60;
    for i in 1..=9usize {
        let (st, body) = instance(&p, i).verify("4000002", &tok.wrong(t2), t2).await;
        assert_eq!(
            (st, body["error"].as_str()),
            (422, Some("invalid_otp")),
            "{i}: {body}"
        );
        assert_eq!(body["fail_count"], i, "after the reset: {body}");
    }
    let (st, body) = p.a.verify("4000002", &tok.code(t2), t2).await;
    assert_eq!(st, 200, "a success on the other instance resets: {body}");

    // Customer 2: 5 wrong on a, 5 wrong on b → locked on both, even for
    // the right code.
    let tok = p.a.bound("4000003", t).await;
    for i in 1..=10usize {
        let s = if i <= 5 { &p.a } else { &p.b };
        let (st, body) = s.verify("4000003", &tok.wrong(t1), t1).await;
        if i < 10 {
            assert_eq!(
                (st, body["error"].as_str()),
                (422, Some("invalid_otp")),
                "{i}: {body}"
            );
            assert_eq!(body["fail_count"], i, "{body}");
        } else {
            assert_eq!(
                (st, body["error"].as_str()),
                (423, Some("locked")),
                "{body}"
            );
        }
    }
    for s in [&p.a, &p.b] {
        let (st, body) = s.verify("4000003", &tok.code(t2), t2).await;
        assert_eq!(
            (st, body["error"].as_str()),
            (423, Some("locked")),
            "{body}"
        );
    }
    ran("lock");
}

/// `serial → number of verified events` in the schema at `url`.
fn verified_events(url: &str, password_file: &str) -> HashMap<String, u64> {
    run_psql(
        url,
        password_file,
        "SELECT serial, count(*) FROM events WHERE kind = 'verified' GROUP BY serial",
    )
    .lines()
    .filter_map(|l| {
        let (serial, n) = l.split_once('|')?;
        Some((serial.to_string(), n.parse().ok()?))
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_sigkill_of_one_instance_under_load_loses_nothing_acknowledged() {
    let Some(p) = start_pair("kill") else {
        return skip("kill");
    };
    let t0 = base_time();
    let tokens = Arc::new(bound_tokens(&p.a, t0).await);
    let key = p.a.api_key.clone();
    let urls = [p.a.url.clone(), p.b.url.clone()];
    // One worker per customer, alternating instances, each code at a new
    // step; at most 2000 requests each and 8 s in all; instance a is
    // killed after 1.5 s.
    let killed = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut tasks = Vec::new();
    for w in 0..CUSTOMERS {
        let tokens = tokens.clone();
        let key = key.clone();
        let urls = urls.clone();
        let killed = killed.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (mut acked, mut acked_b_late) = (0u64, 0u64);
            for n in 1..=2000u64 {
                if Instant::now() > deadline {
                    break;
                }
                let t = t0 + 30 * n;
                let on_b = (n + w as u64) % 2 == 1;
                let url = &urls[usize::from(on_b)];
                match verify(&http, url, &key, &customer(w), &tokens[w].code(t), t).await {
                    Some((200, _)) => {
                        acked += 1;
                        if on_b && killed.load(Ordering::SeqCst) {
                            acked_b_late += 1;
                        }
                    }
                    Some((st, body)) => panic!("unexpected {st} {body}"),
                    None => {} // the killed instance
                }
            }
            (w, acked, acked_b_late)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let Pair {
        a,
        b,
        url,
        password_file,
        _dir,
    } = p;
    a.kill(); // SIGKILL while requests are in flight
    killed.store(true, Ordering::SeqCst);
    let mut acked = [0u64; CUSTOMERS];
    let mut b_after_kill = 0;
    for task in tasks {
        let (w, n, late) = task.await.unwrap();
        acked[w] = n;
        b_after_kill += late;
    }
    assert!(b_after_kill > 0, "the other instance kept serving");
    // A step after every one the load run used.
    let t_after = t0 + 30 * 2001;
    let (st, body) = b
        .verify(&customer(0), &tokens[0].code(t_after), t_after)
        .await;
    assert_eq!(
        st, 200,
        "the other instance serves after the load run: {body}"
    );
    let events = verified_events(&url, &password_file);
    for (w, tok) in tokens.iter().enumerate() {
        let stored = events.get(&tok.serial).copied().unwrap_or(0);
        assert!(
            stored >= acked[w],
            "{}: {} acknowledged, {stored} in the database",
            tok.serial,
            acked[w]
        );
        assert!(acked[w] > 0, "{}: nothing acknowledged", tok.serial);
    }
    ran("kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_database_stopped_and_started_under_load_gives_503_then_resumes() {
    let Some(p) = start_pair("restart") else {
        return skip("restart");
    };
    let ctl = std::env::var("SOFTTOKEN_TEST_PG_CTL").expect("SOFTTOKEN_TEST_PG_CTL");
    let t0 = base_time();
    let tokens = bound_tokens(&p.a, t0).await;
    let wrong_customer = customer(0);
    let http = reqwest::Client::new();
    let (mut seen_503, mut ok_after, mut invalid_answers) = (0, 0, 0u32);
    let (mut stopped, mut restarted) = (false, false);
    let started = Instant::now();
    // At most 400 requests and 90 s.
    for n in 1..=400u64 {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no recovery in 90 s"
        );
        if n == 20 {
            let st = Command::new(&ctl).arg("stop").status().unwrap();
            assert!(st.success(), "pg_ctl stop");
            stopped = true;
        }
        if n == 60 {
            let st = Command::new(&ctl).arg("start").status().unwrap();
            assert!(st.success(), "pg_ctl start");
            restarted = true;
        }
        let t = t0 + 30 * n;
        let s = instance(&p, n as usize);
        let w = 1 + (n as usize % (CUSTOMERS - 1));
        // Every fifth request before the restart a wrong code for
        // customer 0 (at most 8 in all, below the lockout limit).
        let (cust, otp) = if n % 5 == 0 && n <= 40 {
            (wrong_customer.clone(), tokens[0].wrong(t))
        } else {
            (customer(w), tokens[w].code(t))
        };
        let started_req = Instant::now();
        let (st, body) = verify(&http, &s.url, &s.api_key, &cust, &otp, t)
            .await
            .expect("the instance answers even without its database");
        assert!(
            started_req.elapsed() < Duration::from_secs(12),
            "answer took too long"
        );
        match st {
            200 if cust != wrong_customer => {
                if restarted {
                    ok_after += 1;
                }
            }
            422 if cust == wrong_customer => {
                assert_eq!(body["error"], "invalid_otp");
                invalid_answers += 1;
            }
            503 => {
                assert!(stopped, "503 before the database stopped: {body}");
                assert_eq!(body["v"], 1, "{body}");
                assert_eq!(body["error"], "unavailable", "{body}");
                seen_503 += 1;
            }
            _ => panic!("unexpected {st} {body} (request {n})"),
        }
        if restarted && ok_after >= 20 {
            break;
        }
    }
    assert!(seen_503 > 0, "the outage was seen as 503");
    assert!(ok_after >= 20, "service resumed on both instances");
    // A wrong code answered 503 was never counted; every answered one is.
    let fails: u32 = p
        .psql(&format!(
            "SELECT fail_count FROM tokens WHERE serial = '{}'",
            tokens[0].serial
        ))
        .trim()
        .parse()
        .unwrap();
    assert!(
        fails >= invalid_answers && fails <= 8,
        "{fails} vs {invalid_answers}"
    );
    ran("restart");
}
