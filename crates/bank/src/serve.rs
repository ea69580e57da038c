//! Start-up of `softtoken-bank serve`: data directory, token-service database,
//! web banking and the `/v1` API on one socket.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::Service;

use softtoken_token_service::db::{Db, DbConfig, DbError, Synchronous};
use softtoken_token_service::http::{self as api, ApiState};
use softtoken_token_service::keys::{
    DataDir, KeyFileError, StoredProfile, DB_FILE, DEFAULT_BANK_ID, DEFAULT_BANK_NAME,
};
use softtoken_token_service::seal::Sealer;
use softtoken_webbank::{self as web, BankInfo, WebConfig, WebError};

/// Options of `serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// Data directory.
    pub data: PathBuf,
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
    /// Group commit on/off.
    pub group_commit: bool,
    /// Time a client has to send a complete request head; then the
    /// connection is closed.
    pub header_timeout: Duration,
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Key files or profile.
    #[error(transparent)]
    Keys(#[from] KeyFileError),
    /// Token-service database.
    #[error(transparent)]
    Db(#[from] DbError),
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
    let dir = DataDir::open_or_create(&opts.data)?;
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: opts.listen.clone(),
            source,
        })?;
    let addr: SocketAddr = listener.local_addr()?;
    let local_url = format!("http://{addr}");

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
    let sealer = Arc::new(Sealer::new(&dir.kek));
    let db = Db::open(cfg, sealer)?;

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
    };
    let web_router = web::router(web_cfg).await?;

    let key_id = dir.server_key.id().to_string();
    let DataDir {
        server_key,
        api_key,
        ..
    } = dir;
    let mut keys = HashMap::new();
    keys.insert(key_id, server_key);
    let state = Arc::new(ApiState {
        db,
        keys,
        api_key,
        test_clock: opts.test_clock,
    });
    let app = api::router(state).merge(web_router);

    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {local_url}")?;
        out.flush()?;
    }
    tracing::info!(
        "token service at {local_url} (synchronous={:?}, group commit {}, test clock {})",
        opts.synchronous,
        if opts.group_commit { "on" } else { "off" },
        if opts.test_clock { "ON" } else { "off" }
    );
    accept_loop(listener, app, opts.header_timeout).await
}

/// How long open connections may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves HTTP/1.1 connections until Ctrl-C or SIGTERM, then drains.
///
/// `axum::serve` installs no timer in hyper, so hyper's header-read
/// timeout never fires there and a client dribbling a request head holds
/// its connection forever. This loop is axum's own (one task per
/// connection, the peer address as [`ConnectInfo`]) with a Tokio timer and
/// `header_timeout`; an accept error (e.g. out of file descriptors) is
/// logged and retried after a pause instead of ending the server.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
) -> Result<(), ServeError> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let stop = shutdown();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let router = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move { router.call(req).await }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
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
