//! Restarts (SIGKILL) between any two steps lose nothing; the database
//! holds no secret in clear; key files are kept and never overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

#[tokio::test]
async fn killed_and_restarted_between_every_step_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(&data_in(&dir));
    let kid = s.kid.clone();
    let t = base_time();

    // init | restart | finish
    let (paired, _) = s.init(t).await;
    s = s.restart();
    assert_eq!(s.kid, kid, "the server key is reused");
    let fin = serde_json::to_value(&paired.finish_request).unwrap();
    let (st, b) = s.post("/v1/provision/finish", &fin, t + 1).await;
    assert_eq!(st, 200, "{b}");
    let tok = Token::from(paired);
    // finish | restart | finish again (idempotent) and status
    s = s.restart();
    let (st, b2) = s.post("/v1/provision/finish", &fin, t + 2).await;
    assert_eq!((st, &b2), (200, &b));
    assert_eq!(s.status(&tok.serial, t + 2).await, "issued");

    // bind | restart | status active, bind again refused
    let (st, _) = s
        .bank(
            "/v1/bank/bind",
            json!({"v":1,"customer_id":"1","serial":tok.serial,"otp":tok.code(t)}),
            t + 3,
        )
        .await;
    assert_eq!(st, 200);
    s = s.restart();
    assert_eq!(s.status(&tok.serial, t + 3).await, "active");
    let (st, b) = s
        .bank(
            "/v1/bank/bind",
            json!({"v":1,"customer_id":"1","serial":tok.serial,"otp":tok.code(t + 30)}),
            t + 30,
        )
        .await;
    assert_eq!((st, b["error"].as_str()), (409, Some("customer_has_token")));

    // verify | restart | the same code is a replay
    let t1 = t + 60;
    let (st, _) = s.verify("1", &tok.code(t1), t1).await;
    assert_eq!(st, 200);
    s = s.restart();
    let (st, b) = s.verify("1", &tok.code(t1), t1).await;
    assert_eq!((st, b["error"].as_str()), (409, Some("replay")));

    // failures | restart | the count goes on
    let wrong = tok.wrong(t1);
    for i in 1..=3u32 {
        let (_, b) = s.verify("1", &wrong, t1).await;
        assert_eq!(b["fail_count"], i);
    }
    s = s.restart();
    let (_, b) = s.verify("1", &wrong, t1).await;
    assert_eq!(b["fail_count"], 4);

    // change | restart | new token active, old revoked
    let new = s.pair(t1).await;
    let t2 = t1 + 30;
    let (st, b) = s
        .bank(
            "/v1/bank/change",
            json!({"v":1,"customer_id":"1","old_otp":tok.code(t2),"new_serial":new.serial,"new_otp":new.code(t2)}),
            t2,
        )
        .await;
    assert_eq!(st, 200, "{b}");
    s = s.restart();
    assert_eq!(s.status(&tok.serial, t2).await, "revoked");
    assert_eq!(s.status(&new.serial, t2).await, "active");
    let (st, _) = s.verify("1", &new.code(t2), t2).await;
    assert_eq!(st, 409, "the code used for the change is spent");

    // deactivate | restart | revoked
    let t3 = t2 + 30;
    let (st, _) = s
        .bank(
            "/v1/bank/deactivate",
            json!({"v":1,"customer_id":"1","otp":new.code(t3)}),
            t3,
        )
        .await;
    assert_eq!(st, 200);
    s = s.restart();
    assert_eq!(s.status(&new.serial, t3).await, "revoked");
    let (st, _) = s.verify("1", &new.code(t3 + 30), t3 + 30).await;
    assert_eq!(st, 404);
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test]
async fn database_files_hold_no_secret_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    let t = base_time();
    let bound = s.bound("42", t).await;
    let issued = s.pair(t).await;
    let (pending, _) = s.init(t).await; // session only, not finished
    let mut secrets: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, p) in [
        ("bound", &bound.paired),
        ("issued", &issued.paired),
        ("pending", &pending),
    ] {
        let raw = p.secret.expose().to_vec();
        secrets.push((format!("{name} raw"), raw.clone()));
        secrets.push((
            format!("{name} base32"),
            p.secret.to_base32().as_bytes().to_vec(),
        ));
        secrets.push((format!("{name} hex"), hex(&raw).into_bytes()));
        secrets.push((
            format!("{name} confirm"),
            p.finish_request.client_confirm.as_bytes().to_vec(),
        ));
    }
    if on_postgres() {
        // The token-service database is the server's schema: every row of
        // every table, as text (blobs as hex), holds none of the secrets.
        let tables = db_rows(
            &s.data,
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
        );
        assert!(tables.len() >= 4, "{tables:?}");
        let mut rows = 0;
        for t in &tables {
            let table = t["tablename"].as_str().unwrap();
            for row in db_rows(&s.data, &format!("SELECT * FROM {table}")) {
                rows += 1;
                let text = serde_json::Value::Object(row).to_string();
                for (what, secret) in &secrets {
                    assert!(
                        !contains(text.as_bytes(), secret),
                        "{what} found in table {table}"
                    );
                }
            }
        }
        assert!(rows >= 3, "the tokens and the session are in the database");
    }
    // Check the files while the server runs (WAL not yet checkpointed) and
    // after it was killed (on PostgreSQL: web banking's web.sqlite).
    for phase in ["running", "killed"] {
        let mut checked = 0;
        for entry in std::fs::read_dir(&s.data).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !name.contains("sqlite") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            checked += bytes.len();
            for (what, secret) in &secrets {
                assert!(!contains(&bytes, secret), "{phase}: {what} found in {name}");
            }
        }
        assert!(checked > 0);
        if phase == "running" {
            // SIGKILL via a clone of the data dir's server handle.
            break;
        }
    }
    let data = s.data.clone();
    s.kill();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains("sqlite") {
            let bytes = std::fs::read(&path).unwrap();
            for (what, secret) in &secrets {
                assert!(
                    !contains(&bytes, secret),
                    "after kill: {what} found in {name}"
                );
            }
            // Token database and web banking's (password hashes, sessions).
            if name.starts_with("token-service.sqlite") || name.starts_with("web.sqlite") {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode & 0o077, 0, "{name} mode {mode:o}");
            }
        }
    }
}

#[test]
fn corrupted_key_file_stops_the_server_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&data_in(&dir));
    s.kill();
    let data = data_in(&dir);
    let kek = kek_file_for(&data);
    for path in [
        data.join("server-key"),
        data.join("api-key"),
        data.join("ops-key"),
        kek.clone(),
    ] {
        let f = path.file_name().unwrap().to_string_lossy().to_string();
        let good = std::fs::read(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600,
            "{f}"
        );
        std::fs::write(&path, b"not a key\n").unwrap();
        let out = std::process::Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .arg("--kek-file")
            .arg(&kek)
            .args(database_args(&data))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{f}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("corrupted") && err.contains(f.as_str()),
            "{f}: {err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"not a key\n");
        std::fs::write(&path, good).unwrap();
    }
    // Restored: it starts again with the same identity.
    let s = Server::start(&data_in(&dir));
    s.kill();
}
