//! Command-line options of the app (the desktop simulator's QA flags).
use crate::i18n::Lang;
use std::path::PathBuf;
use thiserror::Error;

/// Options given on the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `--profile DIR`: isolated metadata directory and keystore namespace.
    pub profile: Option<PathBuf>,
    /// `--clock-offset SECONDS`: shift the app's clock (clock-drift drills).
    pub clock_offset: i64,
    /// `--bank-profile FILE` (repeatable): trust a bank profile printed by
    /// `softtoken-bank profile`. Simulator only.
    pub bank_profiles: Vec<PathBuf>,
    /// `--pair-link URL`: open the pairing screen with this link.
    pub pair_link: Option<String>,
    /// `--lang ja|en`: override the system language.
    pub lang: Option<Lang>,
    /// `--qa`: show the QA panel (clock shift, profiles, raw bank status,
    /// an action log). Desktop simulator only; a mobile build refuses it.
    pub qa: bool,
    /// `--help`.
    pub help: bool,
}

/// Why the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CliError {
    /// A flag needs a value.
    #[error("{0} needs a value")]
    MissingValue(String),
    /// A value is malformed.
    #[error("bad value for {flag}: {value}")]
    BadValue {
        /// The flag.
        flag: String,
        /// The value given.
        value: String,
    },
    /// An unknown argument.
    #[error("unknown argument: {0}")]
    Unknown(String),
}

/// Usage text.
pub const USAGE: &str = "softtoken [--profile DIR] [--clock-offset SECONDS] \
[--bank-profile FILE]... [--pair-link URL] [--lang ja|en] [--qa]";

/// Parses the arguments after the program name. Accepts `--flag value`
/// and `--flag=value`.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, CliError> {
    let mut o = Options::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |flag: &str| -> Result<String, CliError> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .ok_or_else(|| CliError::MissingValue(flag.to_owned())),
            }
        };
        match flag.as_str() {
            "--profile" => o.profile = Some(PathBuf::from(value(&flag)?)),
            "--clock-offset" => {
                let v = value(&flag)?;
                o.clock_offset = v.trim().parse().map_err(|_| CliError::BadValue {
                    flag: flag.clone(),
                    value: v.clone(),
                })?;
            }
            "--bank-profile" => o.bank_profiles.push(PathBuf::from(value(&flag)?)),
            "--pair-link" => o.pair_link = Some(value(&flag)?),
            "--lang" => {
                let v = value(&flag)?;
                o.lang = Some(match v.as_str() {
                    "ja" => Lang::Ja,
                    "en" => Lang::En,
                    _ => {
                        return Err(CliError::BadValue {
                            flag: flag.clone(),
                            value: v,
                        })
                    }
                });
            }
            "--qa" if inline.is_none() => o.qa = true,
            "-h" | "--help" => o.help = true,
            _ => return Err(CliError::Unknown(arg)),
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Options, CliError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn all_flags() {
        let o = p(&[
            "--profile",
            "/tmp/a",
            "--clock-offset=-40",
            "--bank-profile",
            "b.json",
            "--pair-link",
            "softtoken://pair?v=1",
            "--lang",
            "en",
            "--qa",
        ])
        .unwrap();
        assert!(o.qa);
        assert_eq!(o.profile, Some(PathBuf::from("/tmp/a")));
        assert_eq!(o.clock_offset, -40);
        assert_eq!(o.bank_profiles, vec![PathBuf::from("b.json")]);
        assert_eq!(o.pair_link.as_deref(), Some("softtoken://pair?v=1"));
        assert_eq!(o.lang, Some(Lang::En));
    }

    #[test]
    fn errors() {
        assert_eq!(
            p(&["--profile"]),
            Err(CliError::MissingValue("--profile".into()))
        );
        assert!(matches!(
            p(&["--clock-offset", "x"]),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(
            p(&["--lang", "fr"]),
            Err(CliError::BadValue { .. })
        ));
        assert!(matches!(p(&["--bogus"]), Err(CliError::Unknown(_))));
        // A switch takes no value.
        assert!(matches!(p(&["--qa=1"]), Err(CliError::Unknown(_))));
    }

    #[test]
    fn qa_is_off_unless_asked_for() {
        assert!(!p(&[]).unwrap().qa);
        assert!(!p(&["--profile", "/tmp/a"]).unwrap().qa);
    }
}
