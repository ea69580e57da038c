//! Deep links: the `softtoken://` URLs the operating system hands to the
//! app — `softtoken://pair?…` when the customer taps the bank's pairing
//! link or QR code, `softtoken://txn?bank=…&serial=…` when web banking's
//! 取引認証 page opens the app to check a token's pending transactions
//! ([`Link`], [`parse_link`]).
//!
//! The OS delivers it differently per platform:
//! - Android: the VIEW intent of the activity (cold start: `getIntent()`;
//!   running app: `onNewIntent`, which platforms/android/MainActivity.kt
//!   stores with `setIntent`). Read it with
//!   [`crate::platform::take_pending_link`] at start-up and whenever the
//!   app is resumed.
//! - iOS: tao turns `application:openURL:options:` into
//!   `tao::event::Event::Opened { urls }`; the app receives it through
//!   `Config::with_custom_event_handler` (which sees events before any
//!   component exists, so a cold-start link is not lost).
//!
//! - Desktop: a `softtoken:` URL as a command-line argument (what a
//!   desktop URL handler passes, e.g. `Exec=softtoken %u`), see
//!   [`split_link_args`]; macOS also gets `Event::Opened`.
//!
//! Either way the URL is untrusted outside input: this module only picks
//! out pairing and transaction links; `softtoken_core::stk1::link::PairLink::parse` then
//! checks a pairing link fully, and the app pins `bank`/`kid` against its directory
//! and asks the person before pairing (spec/stk1.md "Pairing link"). A
//! transaction link only names a token to poll; the app acts on it only
//! for a token it holds for that bank.
use softtoken::services::txn_link::{parse_txn_link, TxnLink};

/// Longest URL accepted (the same bound as `PairLink::parse`).
pub const MAX_LINK_LEN: usize = 2048;

/// The URL scheme registered in Dioxus.toml, the Android manifest and the
/// iOS Info.plist.
pub const SCHEME: &str = "softtoken";

/// Returns the link in the canonical form `softtoken://pair?<query>` when
/// `url` is a pairing link (scheme and host case-insensitive, surrounding
/// white space and a `/` before the query tolerated), else `None`. Does not
/// validate the query; that is `PairLink::parse`'s job.
pub fn pairing_link(url: &str) -> Option<String> {
    let url = url.trim();
    if url.len() > MAX_LINK_LEN || url.chars().any(char::is_control) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(host_end);
    if !host.eq_ignore_ascii_case("pair") {
        return None;
    }
    let query = tail.strip_prefix('/').unwrap_or(tail).strip_prefix('?')?;
    Some(format!("{SCHEME}://pair?{query}"))
}

/// The first pairing link among `urls` (e.g. tao's `Event::Opened`).
pub fn first_pairing_link<'a, I>(urls: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    urls.into_iter().find_map(pairing_link)
}

/// A link the app acts on.
#[derive(Clone, PartialEq, Eq)]
pub enum Link {
    /// A pairing link in the canonical form of [`pairing_link`].
    Pair(String),
    /// A transaction link: poll that token's pending transactions.
    Txn(TxnLink),
}

impl std::fmt::Debug for Link {
    /// The kind only: a link is outside input and is never logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Link::Pair(_) => "Link::Pair",
            Link::Txn(_) => "Link::Txn",
        })
    }
}

/// `url` as a pairing or transaction link, else `None` (see
/// [`pairing_link`] and `parse_txn_link`).
pub fn parse_link(url: &str) -> Option<Link> {
    pairing_link(url)
        .map(Link::Pair)
        .or_else(|| parse_txn_link(url).map(Link::Txn))
}

/// The first link among `urls` the app acts on (e.g. tao's `Event::Opened`).
pub fn first_link<'a, I>(urls: I) -> Option<Link>
where
    I: IntoIterator<Item = &'a str>,
{
    urls.into_iter().find_map(parse_link)
}

/// Splits the command line into URL arguments and the rest: an argument
/// whose scheme is `softtoken:` (any case) is a URL handed over by the
/// desktop (`softtoken %u`), unless it is the value of `--pair-link`. The
/// URLs are returned unchecked, in order; the rest goes to `cli::parse`.
pub fn split_link_args<I: IntoIterator<Item = String>>(args: I) -> (Vec<String>, Vec<String>) {
    let (mut urls, mut rest) = (Vec::new(), Vec::<String>::new());
    for arg in args {
        let scheme = arg
            .get(..SCHEME.len() + 1)
            .is_some_and(|s| s.eq_ignore_ascii_case(&format!("{SCHEME}:")));
        let is_value = rest.last().is_some_and(|prev| prev == "--pair-link");
        if scheme && !is_value {
            urls.push(arg);
        } else {
            rest.push(arg);
        }
    }
    (urls, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use softtoken_core::stk1::link::PairLink;
    use softtoken_core::Serial;

    const TXN: &str = "softtoken://txn?bank=shinkin-demo&serial=K7M3Q9XZ2PD0";

    #[test]
    fn parses_both_kinds_and_nothing_else() {
        assert_eq!(parse_link(LINK), Some(Link::Pair(LINK.to_owned())));
        let want = TxnLink {
            bank: "shinkin-demo".into(),
            serial: Serial::parse_strict("K7M3Q9XZ2PD0").unwrap(),
        };
        assert_eq!(parse_link(TXN), Some(Link::Txn(want.clone())));
        assert_eq!(
            parse_link(&TXN.replacen("softtoken://txn", "SOFTTOKEN://Txn/", 1)),
            Some(Link::Txn(want))
        );
        for bad in [
            "softtoken://txn?bank=shinkin-demo",
            "softtoken://other?bank=x&serial=K7M3Q9XZ2PD0",
            "https://txn?bank=x&serial=K7M3Q9XZ2PD0",
            "",
        ] {
            assert_eq!(parse_link(bad), None, "{bad:?}");
        }
        // First acceptable one wins, whatever its kind.
        assert_eq!(
            first_link(["https://x/", TXN, LINK]).map(|l| matches!(l, Link::Txn(_))),
            Some(true)
        );
        assert_eq!(first_link(["softtoken://x?y"]), None);
    }

    #[test]
    fn debug_shows_the_kind_only() {
        let l = parse_link(TXN).unwrap();
        assert_eq!(format!("{l:?}"), "Link::Txn");
        assert_eq!(format!("{:?}", parse_link(LINK).unwrap()), "Link::Pair");
    }

    #[test]
    fn url_arguments_are_split_from_the_flags() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (urls, rest) = split_link_args(args(&["--profile", "/tmp/p", TXN, "--lang", "ja"]));
        assert_eq!(urls, args(&[TXN]));
        assert_eq!(rest, args(&["--profile", "/tmp/p", "--lang", "ja"]));
        // The value of --pair-link stays with its flag.
        let (urls, rest) = split_link_args(args(&["--pair-link", LINK, "SoftToken:x"]));
        assert_eq!(urls, args(&["SoftToken:x"]));
        assert_eq!(rest, args(&["--pair-link", LINK]));
        let (urls, rest) = split_link_args(args(&["--pair-link=x", "softtokens://a", "soft"]));
        assert!(urls.is_empty());
        assert_eq!(rest.len(), 3);
    }

    const LINK: &str =
        "softtoken://pair?v=1&bank=shinkin-demo&url=https%3A%2F%2Ftoken.example.jp&kid=k1";

    #[test]
    fn accepts_pair_links_in_the_forms_the_os_delivers() {
        let canonical = Some(LINK.to_owned());
        assert_eq!(pairing_link(LINK), canonical);
        assert_eq!(pairing_link(&format!("  {LINK}\n")), canonical);
        let upper = LINK.replacen("softtoken://pair", "SoftToken://PAIR", 1);
        assert_eq!(pairing_link(&upper), canonical);
        // A slash before the query (as some URL writers add) is dropped.
        let slash = LINK.replacen("pair?", "pair/?", 1);
        assert_eq!(pairing_link(&slash), canonical);
        // The canonical form is what the core parser accepts.
        for url in [LINK.to_owned(), upper, slash] {
            let link = pairing_link(&url).expect("pairing link");
            assert!(PairLink::parse(&link).is_ok(), "{link}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for url in [
            "",
            "softtoken://",
            "softtoken://pair",
            "softtoken://pair/",
            "softtoken://pairing?v=1",
            "softtoken://evil/pair?v=1",
            "softtoken:pair?v=1",
            "https://pair?v=1",
            "softtokenx://pair?v=1",
            "javascript://pair?v=1",
            "softtoken://pair?v=1\u{0}",
            "softtoken://pair?v=1\nx",
            "softtoken://pair#?v=1",
        ] {
            assert_eq!(pairing_link(url), None, "{url:?}");
        }
        let long = format!("{LINK}&pad={}", "a".repeat(MAX_LINK_LEN));
        assert_eq!(pairing_link(&long), None);
    }

    #[test]
    fn picks_the_first_pairing_link() {
        let urls = ["https://bank.example/", LINK, "softtoken://pair?v=2"];
        assert_eq!(first_pairing_link(urls), Some(LINK.to_owned()));
        assert_eq!(first_pairing_link(["softtoken://x?y"]), None);
    }

    #[test]
    fn scheme_matches_the_core_link_format() {
        // What the bank generates must pass this filter.
        let generated = PairLink::parse(LINK).expect("valid test link").to_uri();
        assert!(generated.starts_with(&format!("{SCHEME}://pair?")));
        assert_eq!(pairing_link(&generated), Some(generated.clone()));
    }
}
