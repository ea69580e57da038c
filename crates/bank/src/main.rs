//! `softtoken-bank`: the bank reference server (see docs/server.md).
//!
//! A thin binary: it parses the command line, opens the data directory and
//! serves the token service's `/v1` router and web banking's pages on one
//! socket ([`serve`]).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use softtoken_token_service::db::Synchronous;
use softtoken_token_service::keys::{DataDir, KeyFileError};

mod serve;

use serve::{ServeError, ServeOptions};

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

#[derive(Subcommand)]
enum Cmd {
    /// Run the token service, back-end API and web banking.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8700")]
        listen: String,
        /// Data directory (keys, databases).
        #[arg(long)]
        data: PathBuf,
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
        /// 取引認証 of web banking's 振込 and 収納サービスへの支払.
        #[arg(long, value_enum, default_value_t = TxnAuthArg::Required)]
        txn_auth: TxnAuthArg,
    },
    /// Print the bank profile JSON.
    Profile {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
}

/// Why the binary stops with a failure status.
#[derive(Debug, thiserror::Error)]
enum RunError {
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
        Cmd::Serve {
            listen,
            data,
            demo,
            test_clock,
            url,
            bank_id,
            name,
            synchronous,
            group_commit,
            header_timeout,
            txn_auth,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .init();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(RunError::Runtime)?;
            let opts = ServeOptions {
                listen,
                data,
                demo,
                test_clock,
                url,
                bank_id,
                name,
                synchronous: synchronous.into(),
                group_commit: group_commit == Switch::On,
                header_timeout: Duration::from_secs(header_timeout),
                txn_auth: txn_auth.into(),
            };
            Ok(runtime.block_on(serve::serve(opts))?)
        }
    }
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
            Cmd::Profile { .. } => unreachable!("parsed serve"),
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
    fn txn_auth_defaults_to_required_and_takes_its_three_values() {
        let txn_auth = |args: &[&str]| {
            let mut argv = vec!["softtoken-bank", "serve", "--data", "/tmp/x"];
            argv.extend_from_slice(args);
            match Cli::try_parse_from(argv).map(|c| c.cmd) {
                Ok(Cmd::Serve { txn_auth, .. }) => Ok(softtoken_webbank::TxnAuth::from(txn_auth)),
                Ok(Cmd::Profile { .. }) => unreachable!("parsed serve"),
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
