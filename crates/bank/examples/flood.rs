//! Pairing under a flood (a measurement, not a test): while `--flooders`
//! tasks bound to `--flood-from` (default 127.0.0.2) send
//! `POST /v1/provision/init` as fast as the server answers, customers pair
//! tokens one after the other (init + finish with the app's handshake),
//! each from its own loopback address 127.0.1.N (N = 1…250, in turn), as
//! distinct customers would. Runs `--seconds`
//! (at most 60), then prints the flood's answers by status and the
//! pairings' success rate and latency percentiles.
//!
//! ```text
//! flood --url http://127.0.0.1:8700 --data DIR [--seconds 20] [--flooders 32]
//!       [--flood-from 127.0.0.2]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand_core::OsRng;
use serde_json::Value;
use softtoken_core::stk1::client::ClientHandshake;
use softtoken_core::stk1::messages::{Device, InitResponse, Platform};
use softtoken_token_service::keys::DataDir;

fn device() -> Device {
    Device {
        platform: Platform::Test,
        app_version: "flood".into(),
    }
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main]
async fn main() {
    let url = arg("--url", "");
    let data = arg("--data", "");
    assert!(
        !url.is_empty() && !data.is_empty(),
        "--url and --data are required"
    );
    let seconds: u64 = arg("--seconds", "20").parse::<u64>().unwrap().min(60);
    let flooders: usize = arg("--flooders", "32").parse().unwrap();
    let flood_from: IpAddr = arg("--flood-from", "127.0.0.2").parse().unwrap();
    let dir = DataDir::open_existing(std::path::Path::new(&data)).unwrap();
    let kid = dir.server_key.id().to_string();
    let server_pub = dir.server_key.public_bytes();
    let end = Instant::now() + Duration::from_secs(seconds);

    let flood_client = reqwest::Client::builder()
        .local_address(flood_from)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..flooders {
        let (c, url, kid) = (flood_client.clone(), url.clone(), kid.clone());
        flood.spawn(async move {
            let mut seen: BTreeMap<u16, u64> = BTreeMap::new();
            while Instant::now() < end {
                let (_, req) = ClientHandshake::start(&mut OsRng, &kid, &server_pub, device());
                let status = match c
                    .post(format!("{url}/v1/provision/init"))
                    .json(&req)
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                *seen.entry(status).or_default() += 1;
            }
            seen
        });
    }

    let (mut ok, mut failed) = (0u64, 0u64);
    let mut latencies = Vec::new();
    let mut customer = 0u8;
    while Instant::now() < end {
        customer = customer % 250 + 1;
        let pair_client = reqwest::Client::builder()
            .local_address(IpAddr::from([127, 0, 1, customer]))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let started = Instant::now();
        let (hs, req) = ClientHandshake::start(&mut OsRng, &kid, &server_pub, device());
        let paired = async {
            let r = pair_client
                .post(format!("{url}/v1/provision/init"))
                .json(&req)
                .send()
                .await
                .ok()?;
            if !r.status().is_success() {
                return None;
            }
            let resp: InitResponse = r.json().await.ok()?;
            let p = hs.finish(&resp).ok()?;
            let r = pair_client
                .post(format!("{url}/v1/provision/finish"))
                .json(&p.finish_request)
                .send()
                .await
                .ok()?;
            let v: Value = r.json().await.ok()?;
            (v["state"] == "issued").then_some(())
        }
        .await;
        latencies.push(started.elapsed());
        match paired {
            Some(()) => ok += 1,
            None => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut flood_seen: BTreeMap<u16, u64> = BTreeMap::new();
    while let Some(r) = flood.join_next().await {
        for (k, v) in r.unwrap() {
            *flood_seen.entry(k).or_default() += v;
        }
    }
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    let total: u64 = flood_seen.values().sum();
    println!("flood from {flood_from}: {total} init requests in {seconds} s ({:.0}/s), answers {flood_seen:?}", total as f64 / seconds as f64);
    println!(
        "pairings from 127.0.1.1-250: {ok} ok, {failed} failed ({:.1} % ok); latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        100.0 * ok as f64 / (ok + failed).max(1) as f64,
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}
