//! Start-up of `softtoken-bank serve`: data directory, token-service database,
//! web banking and the `/v1` API on one socket.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::Service;

use crate::conn::{ConnConfig, Connections, LogLimiter, Paced};

use softtoken_token_service::db::pg::{
    connection_config, describe, kek_check, key_checks, PgConfig, PgError,
};
use softtoken_token_service::db::{Database, Db, DbConfig, DbError, Synchronous};
use softtoken_token_service::gc::{self, GcConfig};
use softtoken_token_service::http::{self as api, ApiState};
use softtoken_token_service::kek::{self, KekError, KekLocation};
use softtoken_token_service::keys::{
    DataDir, KeyFileError, StoredProfile, DB_FILE, DEFAULT_BANK_ID, DEFAULT_BANK_NAME,
};
use softtoken_token_service::limits::{self, LimitConfig, Limits};
use softtoken_token_service::seal::Sealer;
use softtoken_webbank::{self as web, BankInfo, WebConfig, WebError};

/// Options of `serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// Address of the admin listener; `None`: [`default_admin_addr`].
    pub admin_listen: Option<String>,
    /// Data directory.
    pub data: PathBuf,
    /// `--kek-file`.
    pub kek_file: Option<PathBuf>,
    /// `--old-kek-file`: a KEK that still opens blobs during a re-keying.
    pub old_kek_file: Option<PathBuf>,
    /// Create demo customers (web banking).
    pub demo: bool,
    /// Honour `X-Test-Time`.
    pub test_clock: bool,
    /// Public token-service URL (default `http://<bound address>`).
    pub url: Option<String>,
    /// Bank id override.
    pub bank_id: Option<String>,
    /// Bank name override.
    pub name: Option<String>,
    /// SQLite synchronous mode.
    pub synchronous: Synchronous,
    /// 取引認証 mode of web banking.
    pub txn_auth: web::TxnAuth,
    /// Lifetime of a new STK1-TXN transaction, seconds (60..=900).
    pub txn_lifetime: u64,
    /// Group commit on/off.
    pub group_commit: bool,
    /// Time a client has to send a complete request head; then the
    /// connection is closed.
    pub header_timeout: Duration,
    /// Where the token service keeps its state (`--database`).
    pub database: Database,
    /// PostgreSQL password file (0600).
    pub database_password_file: Option<PathBuf>,
    /// Most PostgreSQL connections of this instance.
    pub database_pool: usize,
    /// Longest wait for a free PostgreSQL connection (then 503).
    pub database_wait: Duration,
    /// Operations listener (`/healthz`, `/readyz`, `/metrics`); none when
    /// `None`.
    pub metrics_listen: Option<String>,
    /// Per-source limits of `/v1/provision/*`.
    pub limits: LimitConfig,
    /// Connection caps and body pacing (both listeners).
    pub conns: ConnConfig,
    /// Most unfinished pairing sessions in total.
    pub max_pending_sessions: u64,
    /// Most issued-but-unbound tokens in total.
    pub max_unbound_tokens: u64,
    /// Days audit events are kept.
    pub event_retention_days: u32,
    /// `--staff-password-file`: the staff console is on only with it.
    pub staff_password_file: Option<PathBuf>,
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Key files or profile.
    #[error(transparent)]
    Keys(#[from] KeyFileError),
    /// The key-encryption key.
    #[error(transparent)]
    Kek(#[from] KekError),
    /// Token-service database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// PostgreSQL.
    #[error(transparent)]
    Postgres(#[from] PgError),
    /// Web banking.
    #[error(transparent)]
    Web(#[from] WebError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn serve(opts: ServeOptions) -> Result<(), ServeError> {
    // Read (and hash, if it is a password) before anything is bound.
    let staff_password = match &opts.staff_password_file {
        Some(path) => {
            let path = path.clone();
            Some(
                tokio::task::spawn_blocking(move || web::staff::StaffPassword::from_file(&path))
                    .await
                    .map_err(|_| WebError::StartUp)?
                    .map_err(WebError::from)?,
            )
        }
        None => None,
    };
    let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    let kek_at = kek::locate(
        opts.kek_file.as_deref(),
        credentials.as_deref(),
        &opts.data,
        opts.demo,
    )?;
    let dir = DataDir::open_or_create(&opts.data)?;
    let kek = kek::load(&kek_at)?;
    let mut sealer = Sealer::new(&kek);
    let mut old_kek = None;
    if let Some(old) = &opts.old_kek_file {
        let old = kek::load(&KekLocation {
            path: old.clone(),
            create: false,
        })?;
        sealer = sealer.also_opening(&old);
        old_kek = Some(old);
    }
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: opts.listen.clone(),
            source,
        })?;
    let addr: SocketAddr = listener.local_addr()?;
    let local_url = format!("http://{addr}");
    let admin_addr = opts.admin_listen.clone().unwrap_or_else(|| {
        let any_port = opts.listen.rsplit(':').next() == Some("0");
        default_admin_addr(addr, any_port).to_string()
    });
    let admin_listener = tokio::net::TcpListener::bind(&admin_addr)
        .await
        .map_err(|source| ServeError::Listen {
            addr: admin_addr.clone(),
            source,
        })?;
    let admin_url = format!("http://{}", admin_listener.local_addr()?);
    let metrics_listener = match &opts.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Listen {
                    addr: addr.clone(),
                    source,
                })?,
        ),
        None => None,
    };

    let stored = dir.stored_profile()?;
    let profile = StoredProfile {
        bank_id: opts
            .bank_id
            .clone()
            .or_else(|| stored.as_ref().map(|p| p.bank_id.clone()))
            .unwrap_or_else(|| DEFAULT_BANK_ID.into()),
        name: opts
            .name
            .clone()
            .or_else(|| stored.as_ref().map(|p| p.name.clone()))
            .unwrap_or_else(|| DEFAULT_BANK_NAME.into()),
        url: opts.url.clone().unwrap_or_else(|| local_url.clone()),
    };
    dir.save_profile(&profile)?;

    let mut cfg = DbConfig::new(opts.data.join(DB_FILE));
    cfg.synchronous = opts.synchronous;
    cfg.group_commit = opts.group_commit;
    cfg.txn_lifetime = opts.txn_lifetime;
    cfg.max_pending_sessions = opts.max_pending_sessions;
    cfg.max_unbound_tokens = opts.max_unbound_tokens;
    let db = match &opts.database {
        Database::Sqlite => Db::open(cfg, Arc::new(sealer))?,
        Database::Postgres(spec) => {
            let conn = connection_config(spec, opts.database_password_file.as_deref())?;
            tracing::info!("token-service database: PostgreSQL {}", describe(&conn));
            let mut pg = PgConfig::new(conn);
            pg.pool_size = opts.database_pool;
            pg.wait = opts.database_wait;
            pg.max_pending_sessions = opts.max_pending_sessions;
            pg.max_unbound_tokens = opts.max_unbound_tokens;
            pg.txn_lifetime = opts.txn_lifetime;
            let mut checks = key_checks(&kek, dir.api_key.expose().as_bytes(), dir.server_key.id());
            if let Some(old) = &old_kek {
                // During a re-keying the database may still hold the old
                // KEK's check value (`rekey` replaces it when done).
                checks.push(kek_check(old));
            }
            Db::open_postgres(pg, Arc::new(sealer), &checks).await?
        }
    };

    let web_cfg = WebConfig {
        data_dir: opts.data.clone(),
        token_service_url: local_url.clone(),
        api_key: dir.api_key.clone(),
        bank: BankInfo {
            bank_id: profile.bank_id.clone(),
            name: profile.name.clone(),
            url: profile.url.clone(),
            server_key_id: dir.server_key.id().to_string(),
        },
        demo: opts.demo,
        test_clock: opts.test_clock,
        txn_auth: opts.txn_auth,
        trusted_proxies: opts.limits.trusted_proxies.clone(),
        staff: staff_password.map(|p| web::staff::StaffConfig {
            password: Arc::new(p),
            admin_url: admin_url.clone(),
            ops_key: dir.ops_key.clone(),
        }),
    };
    let staff_on = web_cfg.staff.is_some();
    let web_router = web::router(web_cfg).await?;

    let key_id = dir.server_key.id().to_string();
    let DataDir {
        server_key,
        api_key,
        ops_key,
        ..
    } = dir;
    let mut keys = HashMap::new();
    keys.insert(key_id, server_key);
    tokio::spawn(gc::run(
        db.clone(),
        GcConfig {
            event_retention: u64::from(opts.event_retention_days) * 86_400,
            ..GcConfig::default()
        },
    ));
    let state = Arc::new(ApiState {
        db,
        keys,
        api_key,
        ops_key,
        test_clock: opts.test_clock,
    });
    let admin_app = api::admin_router(Arc::clone(&state));
    let ops_app = softtoken_token_service::metrics::ops_router(Arc::clone(&state));
    let provision_limits = Arc::new(Limits::new(opts.limits.clone()));
    let app = api::router(state)
        .layer(axum::middleware::from_fn_with_state(
            provision_limits,
            limits::admit,
        ))
        .merge(web_router);

    {
        let mut out = std::io::stdout().lock();
        // Printed first, and worded so that readers of the
        // `listening on` line do not take it for the public address.
        if let Some(l) = &metrics_listener {
            writeln!(out, "metrics on http://{}", l.local_addr()?)?;
        }
        writeln!(out, "admin api on {admin_url}")?;
        if staff_on {
            writeln!(out, "staff console on {local_url}/staff/login")?;
        }
        writeln!(out, "listening on {local_url}")?;
        out.flush()?;
    }
    tracing::info!(
        "token service at {local_url} (synchronous={:?}, group commit {}, test clock {})",
        opts.synchronous,
        if opts.group_commit { "on" } else { "off" },
        if opts.test_clock { "ON" } else { "off" }
    );
    let (public, admin, ops) = tokio::join!(
        accept_loop(
            listener,
            app,
            opts.header_timeout,
            Connections::new(opts.conns.clone())
        ),
        accept_loop(
            admin_listener,
            admin_app,
            opts.header_timeout,
            Connections::new(opts.conns.clone())
        ),
        ops_loop(
            metrics_listener,
            ops_app,
            opts.header_timeout,
            Connections::new(opts.conns.clone())
        ),
    );
    public.and(admin).and(ops)
}

/// Serves the operations endpoints on their own listener, if any; never
/// returns when there is none (so that it can be joined with the others).
async fn ops_loop(
    listener: Option<tokio::net::TcpListener>,
    app: Router,
    header_timeout: Duration,
    conns: Arc<Connections>,
) -> Result<(), ServeError> {
    match listener {
        Some(l) => accept_loop(l, app, header_timeout, conns).await,
        None => {
            shutdown().await;
            Ok(())
        }
    }
}

/// The admin listener's default: loopback (of the public address's
/// family) on the bound public port + 1, or a free port when the public
/// port was left to the system (`any_port`, `--listen …:0`) or is the last
/// one.
pub fn default_admin_addr(public: SocketAddr, any_port: bool) -> SocketAddr {
    let ip = if public.is_ipv6() {
        std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
    } else {
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
    };
    let port = match public.port() {
        _ if any_port => 0,
        0 | u16::MAX => 0,
        p => p + 1,
    };
    SocketAddr::new(ip, port)
}

/// How long open connections may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves HTTP/1.1 connections until Ctrl-C or SIGTERM, then drains.
///
/// `axum::serve` installs no timer in hyper, so hyper's header-read
/// timeout never fires there and a client dribbling a request head holds
/// its connection forever. This loop is axum's own (one task per
/// connection, the peer address as [`ConnectInfo`]) with a Tokio timer and
/// `header_timeout`, and with the limits of [`crate::conn`]: a connection
/// over the global or the per-source cap is closed at once; every request
/// body is [`Paced`]. An accept error (e.g. out of file descriptors) or a
/// refused connection is logged at most once per 10 s (with the number
/// held back) and accepting goes on after a pause.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
    conns: Arc<Connections>,
) -> Result<(), ServeError> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let stop = shutdown();
    tokio::pin!(stop);
    let mut accept_log = LogLimiter::new(LOG_EVERY);
    let mut refused_log = LogLimiter::new(LOG_EVERY);
    let body_timeout = conns.config().body_timeout;
    let min_rate = conns.config().min_body_rate;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    if let Some(held) = accept_log.allow(Instant::now()) {
                        tracing::warn!("accept failed: {e} ({held} more since the last line)");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let slot = match conns.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(cap) => {
                if let Some(held) = refused_log.allow(Instant::now()) {
                    tracing::warn!(
                        "connection from {} closed: {cap:?} connection cap ({held} more since the last line)",
                        peer.ip()
                    );
                }
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let req = req.map(|b| axum::body::Body::new(Paced::new(b, body_timeout, min_rate)));
            let mut router = router.clone();
            async move { router.call(req).await }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // The slot is freed when the connection ends.
            let _slot = slot;
            // A closed or timed-out connection is not a server error.
            let _ = conn.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}

/// At most one log line per this time for accept errors and refused
/// connections.
const LOG_EVERY: Duration = Duration::from_secs(10);

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
