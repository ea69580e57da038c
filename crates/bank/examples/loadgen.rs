//! Load generator for `POST /v1/bank/verify` (a benchmark, not a test;
//! driven by `bench/bank/run.sh`).
//!
//! It pairs and binds `--tokens` tokens through the real API, then, for
//! each concurrency in `--concurrency`, runs that many workers for
//! `--seconds`. Each worker owns its tokens and its own keep-alive HTTP/1.1
//! connection (a minimal hand-written client, so that the generator costs
//! as little CPU as possible on the shared cores) and sends only *valid,
//! fresh* codes: with the server's `--test-clock`, every request carries
//! `X-Test-Time` 30 s after the previous one of that token, so every
//! verification is an accepted code and a durable write (last_step,
//! compare-and-set, audit event). Any answer other than 200 is counted as
//! an error and reported.
//!
//! `--mode txn` measures STK1-TXN 取引認証 instead: each worker runs
//! complete confirmations on its tokens, one after the other — `POST
//! /v1/bank/transactions` (create), the app's poll with its MAC and a fresh
//! nonce, the app's approval (MAC over the transaction as received, after
//! checking its `bank_mac`) and `POST /v1/bank/transactions/consume`; a
//! confirmation counts only if all four answered 200 and the poll showed the
//! transaction. Latencies are per request. `X-Test-Time` is the real clock.
//!
//! `--url` takes one URL or several, comma-separated: instances of one
//! token service on one database. Tokens are paired and bound through the
//! first; worker `w` keeps its connection to URL `w mod n` (a round robin
//! over the instances, as a load balancer with keep-alive would).
//!
//! `--server-pids P1,P2` and `--postmaster PID` (verify mode): CPU time
//! (user + system, from `/proc/<pid>/stat`) of the server processes, and
//! of the PostgreSQL postmaster with all its children, is sampled before
//! and after each concurrency level and reported per verification.
//!
//! Output: one Markdown table row per concurrency.
//!
//! ```text
//! loadgen --url http://127.0.0.1:8700[,http://…] --data DIR [--tokens 256]
//!         [--concurrency 1,16,64,128] [--seconds 5] [--label TEXT]
//!         [--mode verify|txn] [--server-pids P1,P2] [--postmaster PID]
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use softtoken_core::stk1::client::ClientHandshake;
use softtoken_core::stk1::messages::{Device, InitResponse, Platform};
use softtoken_core::txn::wire::{DecisionRequest, PollRequest, PollResponse};
use softtoken_core::txn::{derive_txn_keys, Decision, TxnKey};
use softtoken_core::{Generator, Params, Serial};
use softtoken_token_service::keys::DataDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Args {
    /// Instances of the service (the first pairs and binds).
    urls: Vec<String>,
    /// Server processes whose CPU time is reported.
    server_pids: Vec<u32>,
    /// PostgreSQL postmaster whose CPU time (with its children) is reported.
    postmaster: Option<u32>,
    data: std::path::PathBuf,
    tokens: usize,
    concurrency: Vec<usize>,
    seconds: u64,
    label: String,
    txn: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        urls: Vec::new(),
        server_pids: Vec::new(),
        postmaster: None,
        data: Default::default(),
        tokens: 256,
        concurrency: vec![1, 16, 64, 128],
        seconds: 5,
        label: String::new(),
        txn: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => {
                a.urls = val()?
                    .split(',')
                    .map(|u| u.trim().trim_end_matches('/').to_string())
                    .filter(|u| !u.is_empty())
                    .collect()
            }
            "--server-pids" => {
                a.server_pids = val()?
                    .split(',')
                    .map(|s| s.trim().parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| "--server-pids")?
            }
            "--postmaster" => a.postmaster = Some(val()?.parse().map_err(|_| "--postmaster")?),
            "--data" => a.data = val()?.into(),
            "--tokens" => a.tokens = val()?.parse().map_err(|_| "--tokens")?,
            "--seconds" => a.seconds = val()?.parse().map_err(|_| "--seconds")?,
            "--label" => a.label = val()?,
            "--mode" => {
                a.txn = match val()?.as_str() {
                    "verify" => false,
                    "txn" => true,
                    _ => return Err("--mode is verify or txn".into()),
                }
            }
            "--concurrency" => {
                a.concurrency = val()?
                    .split(',')
                    .map(|s| s.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| "--concurrency")?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.urls.is_empty() || a.data.as_os_str().is_empty() {
        return Err("--url and --data are required".into());
    }
    Ok(a)
}

struct Tok {
    customer: String,
    gen: Generator,
    serial: Serial,
    k_txn: TxnKey,
    /// Next Unix time to use (advances 30 s per verification).
    next_time: u64,
}

async fn setup(a: &Args, http: &reqwest::Client, base: u64) -> Result<Vec<Tok>, String> {
    let dir = DataDir::open_existing(&a.data).map_err(|e| e.to_string())?;
    let kid = dir.server_key.id().to_string();
    let server_pub = dir.server_key.public_bytes();
    let api_key = dir.api_key.clone();
    let mut out = Vec::with_capacity(a.tokens);
    for i in 0..a.tokens {
        let device = Device {
            platform: Platform::Test,
            app_version: "loadgen".into(),
        };
        let (hs, init) = ClientHandshake::start(&mut OsRng, &kid, &server_pub, device);
        let post = |path: &str, body: Value, auth: bool| {
            let mut r = http
                .post(format!("{}{path}", a.urls[0]))
                .header("x-test-time", base.to_string())
                .json(&body);
            if auth {
                r = r.bearer_auth(api_key.expose());
            }
            r.send()
        };
        let resp = post("/v1/provision/init", json!(init), false)
            .await
            .map_err(|e| e.to_string())?;
        let resp: InitResponse = resp.json().await.map_err(|e| e.to_string())?;
        let paired = hs.finish(&resp).map_err(|e| e.to_string())?;
        let r = post("/v1/provision/finish", json!(paired.finish_request), false)
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("finish: {}", r.status()));
        }
        let gen = Generator::new(&paired.secret, Params::STK1).map_err(|e| e.to_string())?;
        let customer = format!("bench-{i}-{}", resp.session_id);
        let code = gen.totp(base).map_err(|e| e.to_string())?;
        let r = post(
            "/v1/bank/bind",
            json!({"v":1,"customer_id":customer,"serial":paired.serial.as_str(),"otp":code.as_str()}),
            true,
        )
        .await
        .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("bind: {}", r.status()));
        }
        let (k_txn, _) = derive_txn_keys(&paired.secret, &paired.serial);
        out.push(Tok {
            customer,
            gen,
            serial: paired.serial.clone(),
            k_txn,
            next_time: base + 30,
        });
    }
    Ok(out)
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
    auth: String,
    buf: Vec<u8>,
    line: String,
}

impl Conn {
    async fn open(addr: &str, api_key: &str) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(s),
            host: addr.to_string(),
            auth: format!("Bearer {api_key}"),
            buf: Vec::with_capacity(512),
            line: String::new(),
        })
    }

    /// Sends a verify and returns the HTTP status.
    async fn verify(&mut self, customer: &str, otp: &str, time: u64) -> std::io::Result<u16> {
        let body =
            format!(r#"{{"v":1,"customer_id":"{customer}","otp":"{otp}","purpose":"transfer"}}"#);
        let (status, _) = self.post("/v1/bank/verify", &body, true, time).await?;
        Ok(status)
    }

    /// Sends a POST (with the API key if `auth`) and returns the HTTP
    /// status and the body.
    async fn post(
        &mut self,
        path: &str,
        body: &str,
        auth: bool,
        time: u64,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        self.buf.clear();
        use std::io::Write;
        write!(self.buf, "POST {path} HTTP/1.1\r\nHost: {}\r\n", self.host)?;
        if auth {
            write!(self.buf, "Authorization: {}\r\n", self.auth)?;
        }
        write!(
            self.buf,
            "Content-Type: application/json\r\nX-Test-Time: {time}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        self.reader.get_mut().write_all(&self.buf).await?;
        // Status line, headers, body.
        self.line.clear();
        self.reader.read_line(&mut self.line).await?;
        let status: u16 = self
            .line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("bad status line"))?;
        let mut len = 0usize;
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line).await? == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            let l = self.line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; len];
        self.reader.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

/// The fields of every benchmark transfer.
const FIELDS: &str = r#"[["payee_bank","かけしん信用金庫"],["payee_branch","本店営業部"],["account_type","普通"],["account_number","1234567"],["payee_name","ヤマダ タロウ"],["amount","12000"]]"#;

/// Why a confirmation did not complete.
#[derive(Debug)]
enum Step {
    /// The connection failed: the worker stops.
    Io(std::io::Error),
    /// An answer other than the expected one.
    Refused(&'static str),
}

impl From<std::io::Error> for Step {
    fn from(e: std::io::Error) -> Step {
        Step::Io(e)
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One complete confirmation (create, poll, approve, consume); pushes the
/// latency of each request.
async fn confirmation(conn: &mut Conn, tok: &Tok, lat: &mut Vec<u32>) -> Result<(), Step> {
    let mut timed = |start: Instant| {
        lat.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
    };
    let now = unix_now();
    let body = format!(
        r#"{{"v":1,"customer_id":"{}","kind":"transfer","fields":{FIELDS}}}"#,
        tok.customer
    );
    let start = Instant::now();
    let (st, resp) = conn.post("/v1/bank/transactions", &body, true, now).await?;
    timed(start);
    if st != 200 {
        return Err(Step::Refused("create"));
    }
    let created: Value = serde_json::from_slice(&resp).map_err(|_| Step::Refused("create body"))?;
    let txn_id = created["txn_id"].as_str().unwrap_or_default().to_string();

    let mut nonce = [0u8; 16];
    OsRng.fill_bytes(&mut nonce);
    let poll = PollRequest::new(&tok.k_txn, &tok.serial, now, nonce);
    let body = serde_json::to_string(&poll).map_err(|_| Step::Refused("poll body"))?;
    let path = format!("/v1/tokens/{}/transactions/pending", tok.serial.as_str());
    let start = Instant::now();
    let (st, resp) = conn.post(&path, &body, false, now).await?;
    timed(start);
    if st != 200 {
        return Err(Step::Refused("poll"));
    }
    let polled = PollResponse::decode(&resp).map_err(|_| Step::Refused("poll answer"))?;
    let shown = polled
        .transactions
        .iter()
        .find(|w| w.txn_id.to_base32() == txn_id)
        .ok_or(Step::Refused("not shown"))?;
    let tx = shown
        .verify(&tok.k_txn, &tok.serial, polled.server_time)
        .map_err(|_| Step::Refused("bank_mac"))?;

    let decision = DecisionRequest::new(&tok.k_txn, &tx, Decision::Approve);
    let body = serde_json::to_string(&decision).map_err(|_| Step::Refused("decision body"))?;
    let path = format!(
        "/v1/tokens/{}/transactions/{txn_id}/decision",
        tok.serial.as_str()
    );
    let start = Instant::now();
    let (st, _) = conn.post(&path, &body, false, now).await?;
    timed(start);
    if st != 200 {
        return Err(Step::Refused("decision"));
    }

    let body = format!(
        r#"{{"v":1,"customer_id":"{}","txn_id":"{txn_id}"}}"#,
        tok.customer
    );
    let start = Instant::now();
    let (st, _) = conn
        .post("/v1/bank/transactions/consume", &body, true, now)
        .await?;
    timed(start);
    if st != 200 {
        return Err(Step::Refused("consume"));
    }
    Ok(())
}

/// `(ppid, utime + stime in clock ticks)` of process `pid`.
fn proc_stat(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ppid = f.get(1)?.parse().ok()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// CPU ticks of `pids`.
fn ticks_of(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|&p| proc_stat(p))
        .map(|(_, t)| t)
        .sum()
}

/// CPU ticks of `postmaster` and its children (the backends, which live
/// as long as the instances' pooled connections, and the WAL writer,
/// checkpointer and the other helpers).
fn ticks_of_cluster(postmaster: u32) -> u64 {
    let mut total = proc_stat(postmaster).map(|(_, t)| t).unwrap_or(0);
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if let Some((ppid, t)) = proc_stat(pid) {
                if ppid == postmaster {
                    total += t;
                }
            }
        }
    }
    total
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 if that fails).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Microseconds of CPU per verification, or `-` without a sample.
fn cpu_cell(ticks: Option<u64>, hz: f64, n: usize) -> String {
    match ticks {
        Some(t) if n > 0 => format!("{:.0}", t as f64 / hz * 1e6 / n as f64),
        _ => "-".to_string(),
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx]) / 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let max_c = a.concurrency.iter().copied().max().unwrap_or(1);
    if a.tokens < max_c {
        eprintln!("loadgen: --tokens must be at least the largest concurrency");
        std::process::exit(2);
    }
    let http = reqwest::Client::new();
    let base = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        / 30)
        * 30;
    let setup_start = Instant::now();
    let tokens = match setup(&a, &http, base).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("loadgen: setup failed: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "loadgen: {} tokens paired and bound in {:.1} s",
        tokens.len(),
        setup_start.elapsed().as_secs_f64()
    );
    let api_key = match DataDir::open_existing(&a.data) {
        Ok(d) => d.api_key,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    };
    let addrs: Vec<String> = a
        .urls
        .iter()
        .map(|u| u.trim_start_matches("http://").to_string())
        .collect();
    let hz = clock_ticks();
    // Tokens shared out to workers; each worker owns tokens i, i+c, i+2c…
    let mut tokens: Vec<Option<Tok>> = tokens.into_iter().map(Some).collect();
    if a.txn {
        println!("| label | concurrency | confirmations | errors | confirmations/s | requests/s | request p50 ms | p99 ms | p99.9 ms |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    } else {
        println!("| label | concurrency | verifications | errors | verifications/s | p50 ms | p99 ms | p99.9 ms | server CPU µs/verification | database CPU µs/verification |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    }
    for &c in &a.concurrency {
        let deadline = Instant::now() + Duration::from_secs(a.seconds);
        let errors = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicU64::new(0));
        let mut handles = Vec::new();
        let cpu_before = (ticks_of(&a.server_pids), a.postmaster.map(ticks_of_cluster));
        for w in 0..c {
            let mine: Vec<(usize, Tok)> = (w..tokens.len())
                .step_by(c)
                .filter_map(|i| tokens[i].take().map(|t| (i, t)))
                .collect();
            let addr = addrs[w % addrs.len()].clone();
            let key = api_key.clone();
            let errors = errors.clone();
            let done = done.clone();
            let txn = a.txn;
            handles.push(tokio::spawn(async move {
                let mut lat: Vec<u32> = Vec::with_capacity(100_000);
                let mut mine = mine;
                let mut conn = match Conn::open(&addr, key.expose()).await {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("loadgen: connect: {e}");
                        errors.fetch_add(1, Ordering::Relaxed);
                        return (mine, lat);
                    }
                };
                let mut k = 0usize;
                while txn && Instant::now() < deadline {
                    let (_, tok) = &mine[k % mine.len()];
                    k += 1;
                    match confirmation(&mut conn, tok, &mut lat).await {
                        Ok(()) => {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(Step::Refused(what)) => {
                            if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                                eprintln!("loadgen: {what} refused");
                            }
                        }
                        Err(Step::Io(e)) => {
                            eprintln!("loadgen: {e}");
                            errors.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                while !txn && Instant::now() < deadline {
                    let n = mine.len();
                    let (_, tok) = &mut mine[k % n];
                    k += 1;
                    let t = tok.next_time;
                    tok.next_time += 30;
                    let code = tok.gen.at_step(t / 30);
                    let start = Instant::now();
                    match conn.verify(&tok.customer, code.as_str(), t).await {
                        Ok(200) => {
                            lat.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32)
                        }
                        Ok(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            eprintln!("loadgen: {e}");
                            errors.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                (mine, lat)
            }));
        }
        let started = Instant::now();
        let mut all: Vec<u32> = Vec::new();
        for h in handles {
            if let Ok((mine, lat)) = h.await {
                for (i, t) in mine {
                    tokens[i] = Some(t);
                }
                all.extend(lat);
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let server_ticks = (!a.server_pids.is_empty())
            .then(|| ticks_of(&a.server_pids).saturating_sub(cpu_before.0));
        let db_ticks = a
            .postmaster
            .map(|p| ticks_of_cluster(p).saturating_sub(cpu_before.1.unwrap_or(0)));
        all.sort_unstable();
        if a.txn {
            let n = done.load(Ordering::Relaxed);
            println!(
                "| {} | {c} | {n} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} |",
                a.label,
                errors.load(Ordering::Relaxed),
                n as f64 / secs,
                all.len() as f64 / secs,
                percentile(&all, 0.50),
                percentile(&all, 0.99),
                percentile(&all, 0.999),
            );
            continue;
        }
        println!(
            "| {} | {c} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |",
            a.label,
            all.len(),
            errors.load(Ordering::Relaxed),
            all.len() as f64 / secs,
            percentile(&all, 0.50),
            percentile(&all, 0.99),
            percentile(&all, 0.999),
            cpu_cell(server_ticks, hz, all.len()),
            cpu_cell(db_ticks, hz, all.len()),
        );
    }
}
