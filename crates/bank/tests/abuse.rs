//! Abuse resistance of the real binary on loopback: scoped keys and the
//! admin listener, the KEK outside the data directory and re-keying,
//! per-source pairing limits, slow request bodies. Every loop is bounded
//! in count and time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use softtoken_token_service::seal::Sealer;

const OTHER_SOURCE: &str = "127.0.0.2";

#[tokio::test]
async fn admin_calls_need_the_operations_key_on_the_admin_listener() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let t = base_time();
    let tok = s.bound("7000001", t).await;
    assert_ne!(s.admin_url, s.url);
    assert_ne!(s.ops_key, s.api_key);
    for path in ["/v1/admin/unlock", "/v1/admin/resync"] {
        let body = json!({"v":1,"serial":tok.serial,"otp1":"123456","otp2":"123457"});
        // Not on the public listener, whatever the key.
        for key in [&s.api_key, &s.ops_key] {
            let (st, b) = s
                .post_raw(
                    path,
                    serde_json::to_vec(&body).unwrap(),
                    Some("application/json"),
                    Some(key),
                    Some(t),
                )
                .await;
            assert_eq!(
                (st, b["error"].as_str()),
                (404, Some("not_found")),
                "{path}"
            );
        }
        // The back-end key alone is refused on the admin listener.
        let (st, b) = s.admin_with(path, &body, Some(&s.api_key.clone()), t).await;
        assert_eq!(
            (st, b["error"].as_str()),
            (401, Some("unauthorized")),
            "{path}"
        );
        let (st, _) = s.admin_with(path, &body, None, t).await;
        assert_eq!(st, 401, "{path}");
    }
    // The operations key does not grant back-end calls.
    let (st, b) = s
        .post_raw(
            "/v1/bank/verify",
            serde_json::to_vec(
                &json!({"v":1,"customer_id":"7000001","otp":tok.code(t + 30),"purpose":"login"}),
            )
            .unwrap(),
            Some("application/json"),
            Some(&s.ops_key.clone()),
            Some(t + 30),
        )
        .await;
    assert_eq!((st, b["error"].as_str()), (401, Some("unauthorized")));
    // With the operations key on the admin listener: answered, and the
    // caller's scope is in the audit log.
    let (st, b) = s
        .admin("/v1/admin/unlock", json!({"v":1,"serial":tok.serial}), t)
        .await;
    assert_eq!(st, 200, "{b}");
    let data = s.data.clone();
    s.kill();
    let scopes: Vec<(String, Option<String>)> =
        db_rows(&data, "SELECT kind, scope FROM events ORDER BY id")
            .into_iter()
            .map(|r| {
                (
                    r["kind"].as_str().unwrap().to_string(),
                    r["scope"].as_str().map(str::to_string),
                )
            })
            .collect();
    let scope_of = |kind: &str| {
        scopes
            .iter()
            .find(|(k, _)| k == kind)
            .and_then(|(_, s)| s.clone())
    };
    assert_eq!(
        scope_of("unlocked").as_deref(),
        Some("operations"),
        "{scopes:?}"
    );
    assert_eq!(scope_of("bound").as_deref(), Some("backend"), "{scopes:?}");
    assert_eq!(scope_of("issued"), None, "{scopes:?}");
}

/// Every 32-byte key that can be read out of a copy of the data
/// directory: each whitespace-separated word of each file that decodes as
/// 32 bytes of base32.
fn keys_in(dir: &std::path::Path) -> Vec<[u8; 32]> {
    let mut keys = Vec::new();
    for entry in walk(dir) {
        let Ok(bytes) = std::fs::read(&entry) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
            if let Ok(k) = softtoken_core::encoding::decode_array::<32>(word) {
                keys.push(k);
            }
        }
    }
    keys
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The sealed secrets of the token-service database of data directory
/// `data` (its SQLite file, or its PostgreSQL schema).
fn sealed_secrets(data: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    db_rows(
        data,
        "SELECT serial, sealed_secret FROM tokens WHERE sealed_secret IS NOT NULL",
    )
    .into_iter()
    .map(|r| {
        let hex = r["sealed_secret"].as_str().unwrap();
        let hex = hex.strip_prefix("\\x").unwrap();
        let blob = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        (r["serial"].as_str().unwrap().to_string(), blob)
    })
    .collect()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

#[tokio::test]
async fn a_copy_of_the_data_directory_alone_opens_no_token_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = Server::start(&data);
    let t = base_time();
    s.bound("8000001", t).await;
    s.pair(t).await;
    let kek_file = s.kek_file.clone();
    s.kill();
    // The KEK is not in the data directory.
    assert!(!kek_file.starts_with(&data));
    let copy = tmp.path().join("copy");
    copy_dir(&data, &copy);
    // On PostgreSQL the sealed secrets are in the database, not the copy.
    let secrets = if on_postgres() {
        sealed_secrets(&data)
    } else {
        sealed_secrets(&copy)
    };
    assert_eq!(secrets.len(), 2);
    let real = softtoken_core::encoding::decode_array::<32>(
        std::fs::read_to_string(&kek_file).unwrap().trim(),
    )
    .unwrap();
    // The real KEK opens them (so the check below can fail) …
    for (serial, blob) in &secrets {
        assert!(Sealer::new(&real)
            .open(blob, format!("token:{serial}").as_bytes())
            .is_ok());
    }
    // … no key found in the copy does.
    let found = keys_in(&copy);
    assert!(
        found.len() >= 2,
        "the copy has its other keys: {}",
        found.len()
    );
    for k in &found {
        for (serial, blob) in &secrets {
            assert!(Sealer::new(k)
                .open(blob, format!("token:{serial}").as_bytes())
                .is_err());
        }
    }
    // The server refuses to start on the copy without a KEK, and a KEK
    // inside the data directory, unless it is a demo.
    for extra in [
        vec![],
        vec![
            "--kek-file".to_string(),
            copy.join("kek").display().to_string(),
        ],
    ] {
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&copy)
            .args(&extra)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{extra:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("key-encryption key"), "{err}");
    }
}

#[tokio::test]
async fn rekey_reseals_every_row_and_the_old_kek_is_not_needed_afterwards() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = Server::start(&data);
    let t = base_time();
    let tok = s.bound("8100001", t).await;
    for _ in 0..4 {
        s.pair(t).await;
    }
    let old = s.kek_file.clone();
    s.kill();
    let new = tmp.path().join("new-kek");
    let out = Command::new(BIN)
        .args(["rekey", "--data"])
        .arg(&data)
        .arg("--old-kek-file")
        .arg(&old)
        .arg("--new-kek-file")
        .arg(&new)
        .args(["--batch", "2"])
        // On PostgreSQL: the server's schema (`--database`,
        // `--database-password-file`; rekey takes no pool options).
        .args(database_args(&data).iter().take(4))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("done: "), "{text}");
    assert!(text.contains("batch 3:"), "several batches of 2: {text}");
    // Only the new KEK now: the token still verifies.
    std::fs::remove_file(&old).unwrap();
    let s = Server::start_with_kek(&data, &new, &["--test-clock"]);
    let (st, b) = s.verify("8100001", &tok.code(t + 30), t + 30).await;
    assert_eq!(st, 200, "{b}");
}

/// An init request body for the server.
fn init_body(s: &Server) -> serde_json::Value {
    let (_, req) = softtoken_core::stk1::client::ClientHandshake::start(
        &mut rand_core::OsRng,
        &s.kid,
        &s.server_pub,
        device(),
    );
    serde_json::to_value(&req).unwrap()
}

/// `n` init requests at once from `client`; their statuses, checking the
/// body and `Retry-After` of every `rate_limited` answer.
async fn init_burst(s: &Server, client: &reqwest::Client, n: usize, t: u64) -> Vec<u16> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let req = client
            .post(format!("{}/v1/provision/init", s.url))
            .header("x-test-time", t.to_string())
            .json(&init_body(s));
        set.spawn(async move {
            let r = tokio::time::timeout(Duration::from_secs(30), req.send())
                .await
                .expect("bounded")
                .unwrap();
            let status = r.status().as_u16();
            if status == 429 {
                let after: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=300).contains(&after), "{after}");
                let b: serde_json::Value = r.json().await.unwrap();
                assert_eq!(b["error"], "rate_limited");
                assert_eq!(b["v"], 1);
            }
            status
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

/// One source flooding `init` cannot fill the global pending cap: with a
/// cap of 40 sessions and a share of 10 per source, 400 inits from
/// 127.0.0.2 get 10 sessions, and pairings from 127.0.0.1 succeed
/// meanwhile. Without the per-source share the flood would take all 40
/// places and the pairings below would be refused.
#[tokio::test]
async fn a_flood_from_one_source_leaves_pairing_open_for_others() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = Server::start_with_kek(
        &data,
        &kek_file_for(&data),
        &[
            "--test-clock",
            "--max-pending-sessions",
            "40",
            "--pending-per-source",
            "10",
            "--provision-rate",
            "1000",
            "--provision-burst",
            "1000",
        ],
    );
    let flood = reqwest::Client::builder()
        .local_address(OTHER_SOURCE.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let t = base_time();
    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.extend(init_burst(&s, &flood, 20, t).await);
        assert!(started.elapsed() < Duration::from_secs(120), "bounded");
    }
    let ok = statuses.iter().filter(|&&c| c == 200).count();
    let limited = statuses.iter().filter(|&&c| c == 429).count();
    assert_eq!((ok, limited), (10, 390), "{statuses:?}");
    // The flood's sessions are still open; another source pairs.
    for _ in 0..5 {
        s.pair(t).await;
    }
}

/// The token bucket: a burst beyond its size from one source is refused
/// at once (cheaply, `Retry-After` set), another source is not affected.
#[tokio::test]
async fn the_bucket_refuses_a_burst_and_spares_other_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = Server::start_with_kek(
        &data,
        &kek_file_for(&data),
        &[
            "--test-clock",
            "--provision-rate",
            "0.5",
            "--provision-burst",
            "5",
        ],
    );
    let flood = reqwest::Client::builder()
        .local_address(OTHER_SOURCE.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let t = base_time();
    let statuses = init_burst(&s, &flood, 30, t).await;
    assert_eq!(
        statuses.iter().filter(|&&c| c == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|&&c| c == 429).count(), 25);
    // 127.0.0.1 still has its whole bucket: init + finish twice.
    s.pair(t).await;
    s.pair(t).await;
}

/// 300 slow bodies from one source do not block another source's request,
/// and are cut off within the body deadline.
#[tokio::test]
async fn slow_bodies_are_cut_off_and_do_not_block_others() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = Server::start_with_kek(
        &data,
        &kek_file_for(&data),
        &["--test-clock", "--body-timeout", "2"],
    );
    let addr: std::net::SocketAddr = s.url.trim_start_matches("http://").parse().unwrap();
    let mut slow = Vec::new();
    // 300 slow connections from one source, as in the security review;
    // the per-source cap (64 by default) admits some, the rest are closed.
    for _ in 0..300 {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(format!("{OTHER_SOURCE}:0").parse().unwrap())
            .unwrap();
        if let Ok(Ok(mut c)) =
            tokio::time::timeout(Duration::from_secs(5), sock.connect(addr)).await
        {
            // A complete head announcing a body that never comes fully.
            let _ = c
                .write_all(b"POST /v1/provision/finish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{")
                .await;
            slow.push(c);
        }
    }
    assert!(slow.len() >= 64, "only {} connections opened", slow.len());
    // Another source is answered promptly meanwhile.
    let t0 = Instant::now();
    assert_eq!(s.status("K7M3Q9XZ2PD0", base_time()).await, "expired");
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    // Every slow connection is closed: the admitted ones after the
    // body deadline (2 s, well within the bound below), the others at once.
    let started = Instant::now();
    for mut c in slow {
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(15), c.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "a slow connection stayed open");
        let text = String::from_utf8_lossy(&buf);
        assert!(!text.contains("200 OK"), "{text}");
    }
    assert!(started.elapsed() < Duration::from_secs(15));
}
