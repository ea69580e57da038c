//! `softtoken-bank`: the bank reference server (see docs/server.md).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use softtoken_bank::keys::DataDir;
use softtoken_bank::server::{serve, ServeOptions};
use softtoken_bank::store::Synchronous;

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
        /// SQLite synchronous mode: full (durable, default) or normal.
        #[arg(long, default_value = "full")]
        synchronous: String,
        /// Group commit: on (default) or off (one transaction per request).
        #[arg(long, default_value = "on")]
        group_commit: String,
        /// Seconds a client has to send a complete request head before the
        /// connection is closed (slow-header / slowloris defence).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
        header_timeout: u64,
    },
    /// Print the bank profile JSON.
    Profile {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Profile { data } => {
            let dir = match DataDir::open_existing(&data) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("softtoken-bank: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let stored = match dir.stored_profile() {
                Ok(Some(p)) => p,
                Ok(None) => {
                    eprintln!(
                        "softtoken-bank: no profile yet in {}: run `serve` once",
                        data.display()
                    );
                    return ExitCode::FAILURE;
                }
                Err(e) => {
                    eprintln!("softtoken-bank: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match serde_json::to_string(&dir.profile(&stored)) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("softtoken-bank: {e}");
                    ExitCode::FAILURE
                }
            }
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
        } => {
            let Some(synchronous) = Synchronous::parse(&synchronous) else {
                eprintln!("softtoken-bank: --synchronous must be full or normal");
                return ExitCode::FAILURE;
            };
            let group_commit = match group_commit.as_str() {
                "on" => true,
                "off" => false,
                _ => {
                    eprintln!("softtoken-bank: --group-commit must be on or off");
                    return ExitCode::FAILURE;
                }
            };
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .init();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("softtoken-bank: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let opts = ServeOptions {
                listen,
                data,
                demo,
                test_clock,
                url,
                bank_id,
                name,
                synchronous,
                group_commit,
                header_timeout: std::time::Duration::from_secs(header_timeout),
            };
            match runtime.block_on(serve(opts)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("softtoken-bank: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
