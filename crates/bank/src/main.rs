//! `softtoken-bank`: the bank reference server (see docs/server.md).
//!
//! A thin binary: it parses the command line, opens the data directory and
//! serves the token service's `/v1` router and web banking's pages on one
//! socket ([`serve`]).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use softtoken_token_service::db::pg::{connection_config, PgError};
use softtoken_token_service::db::{Database, Synchronous};
use softtoken_token_service::kek::{self, KekError, KekLocation};
use softtoken_token_service::keys::{DataDir, KeyFileError, DB_FILE};
use softtoken_token_service::rekey::{self, RekeyError};
use softtoken_token_service::seal::Sealer;

mod conn;
mod serve;

use conn::ConnConfig;
use serve::{ServeError, ServeOptions};
use softtoken_token_service::limits::LimitConfig;

#[derive(Parser)]
#[command(
    name = "softtoken-bank",
    version,
    about = "Bank reference server for softtoken"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// SQLite `synchronous` mode of the token-service database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SyncArg {
    /// WAL synced at every commit: durable.
    Full,
    /// WAL synced at checkpoints only: not durable on power loss.
    Normal,
}

impl From<SyncArg> for Synchronous {
    fn from(a: SyncArg) -> Synchronous {
        match a {
            SyncArg::Full => Synchronous::Full,
            SyncArg::Normal => Synchronous::Normal,
        }
    }
}

/// `on` / `off` switch.
/// Format of the log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (tracing-subscriber's JSON formatter).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// 取引認証 of web banking's transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TxnAuthArg {
    /// Every 振込 / 収納サービスへの支払 is approved in the app.
    Required,
    /// Each customer chooses in 設定 (default: code only).
    Optional,
    /// Code only (no 取引認証).
    Off,
}

impl From<TxnAuthArg> for softtoken_webbank::TxnAuth {
    fn from(a: TxnAuthArg) -> Self {
        match a {
            TxnAuthArg::Required => softtoken_webbank::TxnAuth::Required,
            TxnAuthArg::Optional => softtoken_webbank::TxnAuth::Optional,
            TxnAuthArg::Off => softtoken_webbank::TxnAuth::Off,
        }
    }
}

// `Serve` carries every flag; the value is parsed once and moved, so its
// size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Run the token service, back-end API and web banking.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8700")]
        listen: String,
        /// Address of the admin listener (/v1/admin/*, operations key);
        /// default loopback on the public port + 1 (a free port if the
        /// public port is 0).
        #[arg(long)]
        admin_listen: Option<String>,
        /// Data directory (keys, databases).
        #[arg(long)]
        data: PathBuf,
        /// Key-encryption key file, outside the data directory (created
        /// 0600 if absent). Default: $CREDENTIALS_DIRECTORY/kek if the
        /// service manager passes it; only with --demo DATA/kek.
        #[arg(long)]
        kek_file: Option<PathBuf>,
        /// A previous KEK that still opens sealed values while
        /// `rekey` runs (never used to seal).
        #[arg(long)]
        old_kek_file: Option<PathBuf>,
        /// Create demo customers if absent and print their credentials.
        #[arg(long)]
        demo: bool,
        /// Honour the X-Test-Time request header (tests only).
        #[arg(long)]
        test_clock: bool,
        /// Public token-service URL for the profile and pairing link
        /// (default http://<listen address>).
        #[arg(long)]
        url: Option<String>,
        /// Bank id (stored in the profile).
        #[arg(long)]
        bank_id: Option<String>,
        /// Bank display name (stored in the profile).
        #[arg(long)]
        name: Option<String>,
        /// SQLite synchronous mode (full is the durable default).
        #[arg(long, value_enum, ignore_case = true, default_value_t = SyncArg::Full)]
        synchronous: SyncArg,
        /// Group commit (off: one transaction per request).
        #[arg(long, value_enum, default_value_t = Switch::On)]
        group_commit: Switch,
        /// Seconds a client has to send a complete request head before the
        /// connection is closed (slow-header / slowloris defence).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
        header_timeout: u64,
        /// Token-service database: `sqlite:` (the file in the data
        /// directory) or a PostgreSQL connection string (`postgres://…` or
        /// `key=value …`; docs/deploy.md). Its password is never printed;
        /// prefer --database-password-file or PGPASSFILE.
        #[arg(long, default_value = "sqlite:")]
        database: String,
        /// File holding the PostgreSQL password (one line, mode 0600).
        #[arg(long)]
        database_password_file: Option<PathBuf>,
        /// Most PostgreSQL connections of this instance.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1000))]
        database_pool: u16,
        /// Longest wait for a free PostgreSQL connection, in milliseconds;
        /// then the request is answered `503 unavailable`.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60000))]
        database_wait_ms: u64,
        /// Address of the operations listener (`/healthz`, `/readyz`,
        /// `/metrics`), separate from --listen and --admin-listen; none
        /// when absent. Its bound address is printed as `metrics on
        /// http://ADDR` on stdout.
        #[arg(long)]
        metrics_listen: Option<String>,
        /// Format of the log lines on stderr.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
        /// 取引認証 of web banking's 振込 and 収納サービスへの支払.
        #[arg(long, value_enum, default_value_t = TxnAuthArg::Required)]
        txn_auth: TxnAuthArg,
        /// Seconds a new 取引認証 transaction stays pending (STK1-TXN
        /// allows 60 to 900).
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(60..=900))]
        txn_lifetime: u64,
        /// Seconds a request body may take once its head has arrived.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
        body_timeout: u64,
        /// Least average request-body rate in bytes per second (after the
        /// first second); a slower body is cut off.
        #[arg(long, default_value_t = 256)]
        min_body_rate: u64,
        /// Most open connections per listener.
        #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
        max_connections: u32,
        /// Most open connections per source (IPv4 address or IPv6 /64).
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
        max_connections_per_source: u32,
        /// A reverse proxy (address or CIDR) whose X-Forwarded-For names
        /// the client; repeatable. Without it the TCP peer is the client.
        #[arg(long, value_parser = parse_cidr)]
        trusted_proxy: Vec<ipnet::IpNet>,
        /// Pairing requests (init, finish) per second per source.
        #[arg(long, default_value_t = 2.0, value_parser = parse_rate)]
        provision_rate: f64,
        /// Pairing requests a source may send at once (bucket size).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        provision_burst: u32,
        /// `init`s per source per session lifetime (300 s): its share of
        /// the pending sessions.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
        pending_per_source: u32,
        /// `finish`es per source per 24 h: its share of the unbound tokens.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        unbound_per_source: u32,
        /// Most unfinished pairing sessions in total.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
        max_pending_sessions: u64,
        /// Most issued-but-unbound tokens in total.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
        max_unbound_tokens: u64,
        /// Days audit events are kept.
        #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        event_retention_days: u32,
        /// File with the staff console's password (first line: an Argon2
        /// PHC hash, or a password hashed at start; mode 0600). Without it
        /// the staff console (/staff) is off. Never pass the password
        /// itself on the command line.
        #[arg(long, env = "SOFTTOKEN_STAFF_PASSWORD_FILE")]
        staff_password_file: Option<PathBuf>,
    },
    /// Print the bank profile JSON.
    Profile {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// Re-seal every secret of the token-service database under a new
    /// key-encryption key (resumable: run it again after an interruption).
    Rekey {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// The KEK the secrets are sealed under now.
        #[arg(long)]
        old_kek_file: PathBuf,
        /// The new KEK (created 0600 if absent; outside the data directory).
        #[arg(long)]
        new_kek_file: PathBuf,
        /// Rows per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch: u32,
        /// The token-service database, as for `serve`: `sqlite:` (the
        /// file in the data directory) or a PostgreSQL connection string.
        #[arg(long, default_value = "sqlite:")]
        database: String,
        /// File holding the PostgreSQL password (mode 0600).
        #[arg(long)]
        database_password_file: Option<PathBuf>,
    },
}

/// Why the binary stops with a failure status.
#[derive(Debug, thiserror::Error)]
enum RunError {
    /// `--database` is not understood.
    #[error(transparent)]
    Database(#[from] softtoken_token_service::db::BadDatabase),
    /// Key files or profile.
    #[error(transparent)]
    Keys(#[from] KeyFileError),
    /// `profile` before the first `serve`.
    #[error("no profile yet in {0}: run `serve` once")]
    NoProfile(String),
    /// The profile could not be printed.
    #[error("cannot print the profile: {0}")]
    Print(#[from] serde_json::Error),
    /// The async runtime could not be started.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// Serving failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// A key-encryption key could not be loaded.
    #[error(transparent)]
    Kek(#[from] KekError),
    /// Re-keying stopped (committed batches stay done).
    #[error("rekey stopped: {0}; the batches reported so far are done, run it again")]
    Rekey(#[from] RekeyError),
    /// The PostgreSQL connection settings are not usable.
    #[error(transparent)]
    Postgres(#[from] PgError),
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("softtoken-bank: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), RunError> {
    match cli.cmd {
        Cmd::Profile { data } => {
            let dir = DataDir::open_existing(&data)?;
            let stored = dir
                .stored_profile()?
                .ok_or_else(|| RunError::NoProfile(data.display().to_string()))?;
            println!("{}", serde_json::to_string(&dir.profile(&stored))?);
            Ok(())
        }
        Cmd::Rekey {
            data,
            old_kek_file,
            new_kek_file,
            batch,
            database,
            database_password_file,
        } => {
            let db = database.parse()?;
            let target = RekeyTarget {
                database: &db,
                password_file: database_password_file.as_deref(),
            };
            run_rekey(&data, &old_kek_file, &new_kek_file, batch, target)
        }
        Cmd::Serve {
            listen,
            admin_listen,
            data,
            kek_file,
            old_kek_file,
            demo,
            test_clock,
            url,
            bank_id,
            name,
            synchronous,
            group_commit,
            header_timeout,
            database,
            database_password_file,
            database_pool,
            database_wait_ms,
            metrics_listen,
            log_format,
            txn_auth,
            txn_lifetime,
            body_timeout,
            min_body_rate,
            max_connections,
            max_connections_per_source,
            trusted_proxy,
            provision_rate,
            provision_burst,
            pending_per_source,
            unbound_per_source,
            max_pending_sessions,
            max_unbound_tokens,
            event_retention_days,
            staff_password_file,
        } => {
            let logs = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr);
            match log_format {
                LogFormat::Text => logs.init(),
                LogFormat::Json => logs.json().init(),
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(RunError::Runtime)?;
            let opts = ServeOptions {
                listen,
                admin_listen,
                data,
                kek_file,
                old_kek_file,
                demo,
                test_clock,
                url,
                bank_id,
                name,
                synchronous: synchronous.into(),
                group_commit: group_commit == Switch::On,
                header_timeout: Duration::from_secs(header_timeout),
                database: database.parse()?,
                database_password_file,
                database_pool: usize::from(database_pool),
                database_wait: Duration::from_millis(database_wait_ms),
                metrics_listen,
                txn_auth: txn_auth.into(),
                txn_lifetime,
                limits: LimitConfig {
                    rate_per_second: provision_rate,
                    burst: provision_burst,
                    pending_per_source,
                    unbound_per_source,
                    trusted_proxies: trusted_proxy.clone(),
                    ..LimitConfig::default()
                },
                conns: ConnConfig {
                    max_total: max_connections as usize,
                    max_per_source: max_connections_per_source as usize,
                    exempt: trusted_proxy,
                    body_timeout: Duration::from_secs(body_timeout),
                    min_body_rate,
                },
                max_pending_sessions,
                max_unbound_tokens,
                event_retention_days,
                staff_password_file,
            };
            Ok(runtime.block_on(serve::serve(opts))?)
        }
    }
}

/// A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address.
fn parse_cidr(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("not an address or CIDR: {s}"))
}

/// A positive finite rate.
fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("not a positive number: {s}")),
    }
}

/// The database `rekey` works on.
struct RekeyTarget<'a> {
    database: &'a Database,
    password_file: Option<&'a Path>,
}

/// `rekey`: the new KEK must lie outside the data directory; the old one
/// may be the demo's `DATA/kek` (moving out of it is what this is for).
/// On PostgreSQL the instances may keep serving meanwhile (each with
/// `--kek-file NEW --old-kek-file OLD`).
fn run_rekey(
    data: &Path,
    old: &Path,
    new: &Path,
    batch: u32,
    target: RekeyTarget<'_>,
) -> Result<(), RunError> {
    let new_at = kek::locate(Some(new), None, data, false)?;
    let old = kek::load(&KekLocation {
        path: old.to_path_buf(),
        create: false,
    })?;
    let new = kek::load(&new_at)?;
    let sealer = Sealer::new(&new).also_opening(&old);
    let announce = |before: u64| {
        println!(
            "{before} sealed values to re-seal under key {}",
            sealer.key_id()
        );
    };
    let progress = |r: rekey::RekeyReport| {
        println!("batch {}: {} re-sealed so far", r.batches, r.resealed);
    };
    let report = match target.database {
        Database::Sqlite => {
            let mut conn = rekey::open(&data.join(DB_FILE))?;
            announce(rekey::remaining(&conn, &sealer)?);
            rekey::rekey(&mut conn, &sealer, batch as usize, progress)?
        }
        Database::Postgres(spec) => {
            let cfg = connection_config(spec, target.password_file)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(RunError::Runtime)?;
            runtime.block_on(async {
                let mut client = rekey::pg_open(&cfg).await?;
                announce(rekey::pg_remaining(&client, &sealer).await?);
                let report =
                    rekey::pg_rekey(&mut client, &sealer, batch as usize, progress).await?;
                // Instances now need the new KEK to start; not recorded
                // while blobs under another key remain (written meanwhile
                // by an instance without the new KEK).
                if !rekey::pg_finish(&client, &sealer, &new).await? {
                    return Err(RekeyError::Unfinished {
                        batches: report.batches,
                    });
                }
                Ok::<_, RekeyError>(report)
            })?
        }
    };
    println!(
        "done: {} sealed values re-sealed in {} batches; the old KEK is no longer needed",
        report.resealed, report.batches
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<(SyncArg, Switch, u64), clap::Error> {
        let mut argv = vec!["softtoken-bank", "serve", "--data", "/tmp/x"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv)?.cmd {
            Cmd::Serve {
                synchronous,
                group_commit,
                header_timeout,
                ..
            } => Ok((synchronous, group_commit, header_timeout)),
            _ => unreachable!("parsed serve"),
        }
    }

    #[test]
    fn txn_lifetime_is_300_by_default_and_60_to_900() {
        let lifetime = |args: &[&str]| {
            let mut argv = vec!["softtoken-bank", "serve", "--data", "/tmp/x"];
            argv.extend_from_slice(args);
            match Cli::try_parse_from(argv)?.cmd {
                Cmd::Serve { txn_lifetime, .. } => Ok(txn_lifetime),
                _ => unreachable!("parsed serve"),
            }
        };
        assert_eq!(lifetime(&[]).unwrap(), 300);
        assert_eq!(lifetime(&["--txn-lifetime", "60"]).unwrap(), 60);
        assert_eq!(lifetime(&["--txn-lifetime", "900"]).unwrap(), 900);
        for bad in ["59", "901", "0", "x"] {
            let r: Result<u64, clap::Error> = lifetime(&["--txn-lifetime", bad]);
            assert!(r.is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_are_the_durable_setting() {
        assert_eq!(serve(&[]).unwrap(), (SyncArg::Full, Switch::On, 10));
        assert_eq!(Synchronous::from(SyncArg::Full), Synchronous::Full);
        assert_eq!(Synchronous::from(SyncArg::Normal), Synchronous::Normal);
    }

    #[test]
    fn value_enums_accept_their_values_and_refuse_others() {
        let got = serve(&["--synchronous", "normal", "--group-commit", "off"]).unwrap();
        assert_eq!(got, (SyncArg::Normal, Switch::Off, 10));
        assert_eq!(
            serve(&["--synchronous", "FULL"]).unwrap().0,
            SyncArg::Full,
            "synchronous is case-insensitive"
        );
        for bad in [
            &["--synchronous", "extra"][..],
            &["--group-commit", "yes"],
            &["--header-timeout", "0"],
            &["--header-timeout", "301"],
        ] {
            let err = serve(bad).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    clap::error::ErrorKind::InvalidValue | clap::error::ErrorKind::ValueValidation
                ),
                "{bad:?}: {:?}",
                err.kind()
            );
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn abuse_limits_default_and_refuse_nonsense() {
        let cmd = |args: &[&str]| {
            let mut argv = vec!["softtoken-bank", "serve", "--data", "/tmp/x"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv).map(|c| c.cmd)
        };
        match cmd(&["--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1"]).unwrap() {
            Cmd::Serve {
                trusted_proxy,
                provision_rate,
                provision_burst,
                pending_per_source,
                unbound_per_source,
                max_pending_sessions,
                max_unbound_tokens,
                event_retention_days,
                body_timeout,
                min_body_rate,
                max_connections,
                max_connections_per_source,
                admin_listen,
                kek_file,
                staff_password_file,
                ..
            } => {
                assert_eq!(
                    trusted_proxy,
                    vec![
                        "10.0.0.0/8".parse::<ipnet::IpNet>().unwrap(),
                        "::1/128".parse().unwrap()
                    ]
                );
                assert_eq!(provision_rate, 2.0);
                assert_eq!(
                    (provision_burst, pending_per_source, unbound_per_source),
                    (20, 20, 50)
                );
                assert_eq!(
                    (max_pending_sessions, max_unbound_tokens),
                    (10_000, 100_000)
                );
                assert_eq!(event_retention_days, 400);
                assert_eq!((body_timeout, min_body_rate), (10, 256));
                assert_eq!((max_connections, max_connections_per_source), (1024, 64));
                assert_eq!((admin_listen, kek_file), (None, None));
                if std::env::var_os("SOFTTOKEN_STAFF_PASSWORD_FILE").is_none() {
                    assert_eq!(staff_password_file, None, "the console is off by default");
                }
            }
            _ => unreachable!("parsed serve"),
        }
        for bad in [
            &["--trusted-proxy", "10.0.0.0/33"][..],
            &["--trusted-proxy", "proxy.example"],
            &["--provision-rate", "0"],
            &["--provision-rate", "NaN"],
            &["--max-connections", "0"],
            &["--event-retention-days", "0"],
            &["--body-timeout", "0"],
        ] {
            let err = cmd(bad).map(|_| ()).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn admin_listener_default() {
        let public: std::net::SocketAddr = "0.0.0.0:8700".parse().unwrap();
        assert_eq!(
            serve::default_admin_addr(public, false).to_string(),
            "127.0.0.1:8701"
        );
        assert_eq!(
            serve::default_admin_addr(public, true).to_string(),
            "127.0.0.1:0"
        );
        let v6: std::net::SocketAddr = "[::]:65535".parse().unwrap();
        assert_eq!(serve::default_admin_addr(v6, false).to_string(), "[::1]:0");
    }

    #[test]
    fn txn_auth_defaults_to_required_and_takes_its_three_values() {
        let txn_auth = |args: &[&str]| {
            let mut argv = vec!["softtoken-bank", "serve", "--data", "/tmp/x"];
            argv.extend_from_slice(args);
            match Cli::try_parse_from(argv).map(|c| c.cmd) {
                Ok(Cmd::Serve { txn_auth, .. }) => Ok(softtoken_webbank::TxnAuth::from(txn_auth)),
                Ok(_) => unreachable!("parsed serve"),
                Err(e) => Err(e),
            }
        };
        use softtoken_webbank::TxnAuth;
        assert_eq!(txn_auth(&[]).unwrap(), TxnAuth::Required);
        for (v, want) in [
            ("required", TxnAuth::Required),
            ("optional", TxnAuth::Optional),
            ("off", TxnAuth::Off),
        ] {
            assert_eq!(txn_auth(&["--txn-auth", v]).unwrap(), want);
        }
        let err = txn_auth(&["--txn-auth", "maybe"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
    }
}
