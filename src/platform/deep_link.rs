//! Deep link: the `softtoken://pair?…` URL the operating system hands to
//! the app when the customer taps the bank's pairing link or QR code.
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
//! Either way the URL is untrusted outside input: this module only picks
//! out pairing links; `softtoken_core::stk1::link::PairLink::parse` then
//! checks it fully, and the app pins `bank`/`kid` against its directory
//! and asks the person before pairing (spec/stk1.md "Pairing link").

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

#[cfg(test)]
mod tests {
    use super::*;
    use softtoken_core::stk1::link::PairLink;

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
