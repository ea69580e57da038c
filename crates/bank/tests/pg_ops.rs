//! The operations endpoints of `softtoken-bank serve` (`--metrics-listen`:
//! `/healthz`, `/readyz`, `/metrics` on a listener of their own, never on
//! the public one), `--log-format json`, and `softtoken-bank rekey
//! --database` on the server's database. On SQLite always; on PostgreSQL
//! too when `SOFTTOKEN_TEST_DATABASE` is set (stage 50).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{base_time, data_in, kek_file_for, Server, BIN};
use serde_json::Value;

/// A port that was free a moment ago (the server binds it again).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get(url: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let st = resp.status().as_u16();
    (st, resp.text().await.unwrap())
}

/// `--database …` for PostgreSQL in a fresh schema, when configured.
fn database_args(name: &str) -> Vec<String> {
    let Ok(url) = std::env::var("SOFTTOKEN_TEST_DATABASE") else {
        return Vec::new();
    };
    let pw = std::env::var("SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE").unwrap();
    let schema = format!("t_{name}_{}_{}", std::process::id(), base_time());
    let password = std::fs::read_to_string(&pw).unwrap();
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &url, "-c"])
        .arg(format!("CREATE SCHEMA {schema}"))
        .env("PGPASSWORD", password.trim())
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sep = if url.contains('?') { '&' } else { '?' };
    vec![
        "--database".into(),
        format!("{url}{sep}options=-csearch_path%3D{schema}"),
        "--database-password-file".into(),
        pw,
    ]
}

#[tokio::test]
async fn metrics_listener_is_separate_from_the_public_one() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "--test-clock".to_string(),
        "--metrics-listen".into(),
        listen,
    ];
    args.extend(database_args("ops"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::start_with(&data_in(&dir), &args);
    let ops = format!("http://127.0.0.1:{port}");
    let kind = if std::env::var("SOFTTOKEN_TEST_DATABASE").is_ok() {
        "postgres"
    } else {
        "sqlite"
    };

    // Not on the public listener, nor on the admin one.
    for base in [&s.url, &s.admin_url] {
        for path in ["/metrics", "/healthz", "/readyz"] {
            let (st, body) = get(&format!("{base}{path}")).await;
            assert_eq!(st, 404, "{base}{path}: {body}");
        }
    }

    let (st, body) = get(&format!("{ops}/healthz")).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "alive"
    );
    let (st, body) = get(&format!("{ops}/readyz")).await;
    assert_eq!(st, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (ready["status"].as_str(), ready["database"].as_str()),
        (Some("ready"), Some(kind))
    );

    // One good and one wrong code show up by purpose and result.
    let t = base_time();
    let tok = s.bound("5000001", t).await;
    let (st, _) = s.verify("5000001", &tok.code(t + 30), t + 30).await;
    assert_eq!(st, 200);
    let (st, _) = s.verify("5000001", &tok.wrong(t + 60), t + 60).await;
    assert_eq!(st, 422);
    let (st, text) = get(&format!("{ops}/metrics")).await;
    assert_eq!(st, 200);
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_string()
    };
    let ok = line("softtoken_verifications_total{");
    assert!(text.contains("result=\"ok\""), "{text}");
    assert!(ok.contains("purpose="), "{ok}");
    assert!(
        text.contains("softtoken_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("softtoken_pairings_total{"), "{text}");
    // No secret material in the exposition.
    assert!(!text.contains(&s.api_key) && !text.contains(&s.ops_key));
    assert!(!text.contains(&tok.code(t + 30)));
    if kind == "postgres" {
        line("softtoken_db_pool_connections{");
    }
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = data_in(&dir);
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .arg("--data")
        .arg(&data)
        .arg("--kek-file")
        .arg(kek_file_for(&data))
        .args(["--log-format", "json"])
        .args(database_args("log"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Every line up to the one announcing the service (at most 60 s).
    let until = std::time::Instant::now() + Duration::from_secs(60);
    let mut lines: Vec<String> = Vec::new();
    while !lines.iter().any(|l| l.contains("token service at")) {
        let left = until.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => lines.push(l),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines.iter().any(|l| l.contains("token service at")),
        "log lines: {lines:?}"
    );
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{l}"
        );
        assert!(v["timestamp"].is_string(), "{l}");
    }
}

/// `rekey --database …` re-seals the database the server uses, on SQLite
/// and on PostgreSQL alike; afterwards only the new KEK is needed.
#[tokio::test]
async fn rekey_works_on_the_servers_database() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_in(&tmp);
    let db = database_args("rekey");
    let mut args = vec!["--test-clock".to_string()];
    args.extend(db.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::start_with(&data, &args);
    let t = base_time();
    let tok = s.bound("8200001", t).await;
    for _ in 0..3 {
        s.pair(t).await;
    }
    let old = s.kek_file.clone();
    s.kill();
    let new = tmp.path().join("new-kek");
    let rekey = |batch: &str| {
        Command::new(BIN)
            .args(["rekey", "--data"])
            .arg(&data)
            .arg("--old-kek-file")
            .arg(&old)
            .arg("--new-kek-file")
            .arg(&new)
            .args(["--batch", batch])
            .args(&db)
            .output()
            .unwrap()
    };
    let out = rekey("2");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // 4 token secrets and 4 session confirmations, 2 per batch.
    assert!(text.starts_with("8 sealed values"), "{text}");
    assert!(
        text.contains("batch 4:") && text.contains("done: 8 "),
        "{text}"
    );
    // Running it again finds nothing left.
    let again = String::from_utf8_lossy(&rekey("2").stdout).to_string();
    assert!(again.starts_with("0 sealed values"), "{again}");
    std::fs::remove_file(&old).unwrap();
    let mut args = vec!["--test-clock".to_string()];
    args.extend(db.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::start_with_kek(&data, &new, &args);
    let (st, b) = s.verify("8200001", &tok.code(t + 30), t + 30).await;
    assert_eq!(st, 200, "{b}");
    if !db.is_empty() {
        println!("ran on PostgreSQL: rekey --database");
    }
}
