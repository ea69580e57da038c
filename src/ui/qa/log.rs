//! The QA action log: one line per action of the QA panel, appended to
//! `qa-log.txt` in the current profile's directory and echoed on stderr
//! (prefix `softtoken::qa:`), for the tester's report.
//!
//! Contract: a line is made only from a [`QaAction`], whose fields are
//! offsets, validated profile names, serials, token states, bank times and
//! error kinds — never a code, a secret, a URL or a text from outside.
use crate::services::ClientError;
use softtoken_core::stk1::messages::TokenState;
use softtoken_core::Serial;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use thiserror::Error;

/// The log file's name inside a profile directory.
pub const LOG_FILE: &str = "qa-log.txt";

/// What the bank said to a status request, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The bank answered.
    Answered {
        /// The token's state.
        state: TokenState,
        /// The bank's time from the answer (`Date`), Unix seconds.
        bank_time: Option<u64>,
        /// Device − bank in seconds, when the bank told its time.
        device_minus_bank: Option<i64>,
    },
    /// The request failed; only the kind is kept.
    Failed(&'static str),
}

/// The kind of a status failure, as logged and shown (no detail text: it
/// may carry an address or a server's words).
pub fn error_kind(e: &ClientError) -> &'static str {
    match e {
        ClientError::Network(_) => "network",
        ClientError::Refused { code } => code.as_str(),
        ClientError::NotTheBank => "not-the-bank",
        ClientError::Protocol(_) => "protocol",
        ClientError::TxnNotSupported => "txn-not-supported",
    }
}

/// One action of the QA panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QaAction {
    /// The panel opened on a profile with a clock offset.
    Start {
        /// Profile name.
        profile: String,
        /// Clock offset, seconds.
        offset: i64,
    },
    /// The clock was shifted by `by` seconds.
    Shift {
        /// Shift, seconds.
        by: i64,
        /// Offset after it, seconds.
        offset: i64,
    },
    /// The clock offset was set to a typed value (or reset to 0).
    Jump {
        /// Offset before, seconds.
        from: i64,
        /// Offset after, seconds.
        offset: i64,
    },
    /// A profile was created.
    ProfileCreated {
        /// Its name.
        name: String,
    },
    /// The app switched to another profile.
    ProfileSwitched {
        /// The profile left.
        from: String,
        /// The profile now open.
        to: String,
    },
    /// The bank's status of a token was fetched.
    BankStatus {
        /// The token.
        serial: Serial,
        /// The answer.
        outcome: StatusOutcome,
    },
}

/// `+30 s`, `-5 s`, `0 s`.
pub fn signed_secs(s: i64) -> String {
    if s > 0 {
        format!("+{s} s")
    } else {
        format!("{s} s")
    }
}

/// `2026-12-01T17:00:00Z`, or `-` beyond chrono's range.
pub fn utc(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

impl fmt::Display for QaAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QaAction::Start { profile, offset } => {
                write!(f, "start profile={profile} offset={}", signed_secs(*offset))
            }
            QaAction::Shift { by, offset } => write!(
                f,
                "clock shift {} offset={}",
                signed_secs(*by),
                signed_secs(*offset)
            ),
            QaAction::Jump { from, offset } => write!(
                f,
                "clock jump from={} offset={}",
                signed_secs(*from),
                signed_secs(*offset)
            ),
            QaAction::ProfileCreated { name } => write!(f, "profile create {name}"),
            QaAction::ProfileSwitched { from, to } => {
                write!(f, "profile switch from={from} to={to}")
            }
            QaAction::BankStatus { serial, outcome } => {
                write!(f, "bank status serial={}", serial.as_str())?;
                match outcome {
                    StatusOutcome::Answered {
                        state,
                        bank_time,
                        device_minus_bank,
                    } => {
                        write!(f, " state={}", state.as_str())?;
                        match bank_time {
                            Some(t) => write!(f, " bank_time={}", utc(*t))?,
                            None => write!(f, " bank_time=none")?,
                        }
                        match device_minus_bank {
                            Some(d) => write!(f, " device_minus_bank={}", signed_secs(*d)),
                            None => Ok(()),
                        }
                    }
                    StatusOutcome::Failed(kind) => write!(f, " failed={kind}"),
                }
            }
        }
    }
}

/// Why a log line was not written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LogError {
    /// The file could not be opened or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The log file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The log of the current profile (its directory changes with a profile
/// switch).
#[derive(Debug)]
pub struct QaLog {
    dir: Mutex<PathBuf>,
    echo: bool,
}

impl QaLog {
    /// A log in `dir`/[`LOG_FILE`]; `echo` also prints each line on stderr.
    pub fn new(dir: PathBuf, echo: bool) -> QaLog {
        QaLog {
            dir: Mutex::new(dir),
            echo,
        }
    }

    /// The file lines go to now.
    pub fn path(&self) -> PathBuf {
        self.dir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join(LOG_FILE)
    }

    /// Lines go to `dir` from now on (a profile switch).
    pub fn move_to(&self, dir: &Path) {
        *self.dir.lock().unwrap_or_else(|p| p.into_inner()) = dir.to_path_buf();
    }

    /// The line for `action`: the real time, the app clock's time, then
    /// the action (`real_unix`, `app_unix` in Unix seconds).
    pub fn line(real_unix: u64, app_unix: u64, action: &QaAction) -> String {
        format!("{} app={} {action}", utc(real_unix), utc(app_unix))
    }

    /// Appends the line for `action` (creating the file and its directory).
    pub fn record(&self, real_unix: u64, app_unix: u64, action: &QaAction) -> Result<(), LogError> {
        let line = QaLog::line(real_unix, app_unix, action);
        if self.echo {
            eprintln!("softtoken::qa: {line}");
        }
        let path = self.path();
        let io = |source| LogError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        file.write_all(format!("{line}\n").as_bytes()).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_the_action_and_both_times() {
        let serial = Serial::parse_strict("K7M3Q9XZ2PD0").unwrap();
        let line = QaLog::line(
            1_700_000_000,
            1_700_000_030,
            &QaAction::BankStatus {
                serial,
                outcome: StatusOutcome::Answered {
                    state: TokenState::Active,
                    bank_time: Some(1_699_999_990),
                    device_minus_bank: Some(40),
                },
            },
        );
        assert_eq!(
            line,
            "2023-11-14T22:13:20Z app=2023-11-14T22:13:50Z bank status serial=K7M3Q9XZ2PD0 \
             state=active bank_time=2023-11-14T22:13:10Z device_minus_bank=+40 s"
        );
        let shift = QaAction::Shift { by: -30, offset: 0 }.to_string();
        assert_eq!(shift, "clock shift -30 s offset=0 s");
        let failed = QaAction::BankStatus {
            serial: Serial::parse_strict("K7M3Q9XZ2PD0").unwrap(),
            outcome: StatusOutcome::Failed(error_kind(&ClientError::Network(
                "http://10.0.0.1 refused".into(),
            ))),
        };
        assert!(failed.to_string().ends_with("failed=network"));
        assert!(!failed.to_string().contains("10.0.0.1"));
    }

    #[test]
    fn record_appends_one_line_per_action_in_the_current_dir() {
        let tmp = std::env::temp_dir().join(format!("softtoken-qa-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let log = QaLog::new(tmp.join("a"), false);
        log.record(10, 40, &QaAction::Shift { by: 30, offset: 30 })
            .unwrap();
        log.record(
            11,
            11,
            &QaAction::Jump {
                from: 30,
                offset: 0,
            },
        )
        .unwrap();
        log.move_to(&tmp.join("b"));
        log.record(12, 12, &QaAction::ProfileCreated { name: "b".into() })
            .unwrap();
        let a = std::fs::read_to_string(tmp.join("a").join(LOG_FILE)).unwrap();
        assert_eq!(a.lines().count(), 2, "{a}");
        assert!(a
            .lines()
            .next()
            .unwrap()
            .ends_with("clock shift +30 s offset=+30 s"));
        let b = std::fs::read_to_string(tmp.join("b").join(LOG_FILE)).unwrap();
        assert_eq!(
            b.lines().collect::<Vec<_>>(),
            ["1970-01-01T00:00:12Z app=1970-01-01T00:00:12Z profile create b"]
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
