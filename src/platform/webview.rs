//! Web-view policy: what the page the UI runs in may load, run and reach.
//!
//! Pure values and functions; the app applies them when it builds its
//! `dioxus::desktop::Config` / `dioxus::mobile::Config` (see
//! docs/mobile.md "Web view hardening"):
//!
//! ```ignore
//! Config::new()
//!     .with_custom_head(platform::webview::head_html())
//!     .with_navigation_handler(platform::webview::allow_navigation)
//!     .with_disable_context_menu(platform::webview::CONTEXT_MENU_DISABLED)
//! ```
//!
//! What Dioxus 0.7.10 needs from the page, and therefore what the policy
//! has to allow (read from dioxus-desktop 0.7.10 `protocol.rs`, `query.rs`,
//! `edits.rs` and the interpreter's `native.js`):
//! - two inline `<script type="module">` loaders (per-window random keys, so
//!   no hash can be pinned): `'unsafe-inline'` scripts;
//! - `document::eval` runs its code through `new AsyncFunction(…)`:
//!   `'unsafe-eval'` (the app's clipboard copy and head elements use it);
//! - DOM edits over a WebSocket to `ws://127.0.0.1:<port>`;
//! - assets and file-dialog requests on the app's own origin, which is
//!   `dioxus://index.html` (Linux, macOS, iOS), `https://dioxus.index.html`
//!   (Android) or `http://dioxus.index.html` (Windows);
//! - inline `style` attributes written by the renderer.
//!
//! Everything else is refused: no remote origin in any directive, no
//! frames, plugins, workers, forms posting anywhere, `<base>` rewriting,
//! or media. All app data reaches the bank through the Rust client
//! (crates/client), never through the web view.

/// The app's own origins on the platforms Dioxus 0.7.10 supports.
const APP_ORIGINS: &str = "dioxus: https://dioxus.index.html http://dioxus.index.html";

/// Directives of the content-security policy, in the order they are emitted.
const DIRECTIVES: &[(&str, &str)] = &[
    ("default-src", "'none'"),
    ("script-src", "'self' 'unsafe-inline' 'unsafe-eval' APP"),
    ("style-src", "'self' 'unsafe-inline' APP"),
    ("img-src", "'self' data: blob: APP"),
    ("font-src", "'self' data: APP"),
    ("connect-src", "'self' ws://127.0.0.1:* APP"),
    ("media-src", "'none'"),
    ("object-src", "'none'"),
    ("frame-src", "'none'"),
    ("worker-src", "'none'"),
    ("manifest-src", "'none'"),
    ("base-uri", "'none'"),
    ("form-action", "'none'"),
];

/// Whether the web view's context menu (and with it wry's devtools) is
/// disabled: always in release builds, never in debug builds. Dioxus
/// 0.7.10 turns devtools on exactly when the context menu is enabled, so
/// this one switch also keeps the web inspector out of release builds.
pub const CONTEXT_MENU_DISABLED: bool = !cfg!(debug_assertions);

/// Whether web-view devtools may be opened in this build (debug only).
pub const fn devtools_allowed() -> bool {
    !CONTEXT_MENU_DISABLED
}

/// The content-security policy of the app's page, as one header value.
///
/// Contract: starts with `default-src 'none'`, names no origin other than
/// the app's own (`dioxus:` and `http(s)://dioxus.index.html`) and the
/// loopback edits socket, and contains no double quote (it is embedded in
/// a double-quoted HTML attribute by [`head_html`]).
pub fn content_security_policy() -> String {
    DIRECTIVES
        .iter()
        .map(|(name, value)| format!("{name} {}", value.replace("APP", APP_ORIGINS)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `<head>` elements the app passes to `Config::with_custom_head`: the
/// content-security policy, no referrer, and no automatic phone-number /
/// date detection (iOS would otherwise turn a six-digit code into a link).
pub fn head_html() -> String {
    format!(
        concat!(
            r#"<meta http-equiv="Content-Security-Policy" content="{}">"#,
            r#"<meta name="referrer" content="no-referrer">"#,
            r#"<meta name="format-detection" content="telephone=no, date=no, email=no, address=no">"#,
            r#"<meta name="color-scheme" content="light dark">"#,
        ),
        content_security_policy()
    )
}

/// The page the app passes to `Config::with_custom_index`: Dioxus's own
/// index without its `maximum-scale=1.0, user-scalable=no` viewport, so the
/// person may pinch-zoom; the viewport still follows the device width.
/// Dioxus inserts [`head_html`] before `</head>` and its loader before
/// `</body>`, which this page therefore has.
pub fn index_html() -> String {
    concat!(
        "<!DOCTYPE html><html><head><title>softtoken</title>",
        r#"<meta name="viewport" content="width=device-width, initial-scale=1.0">"#,
        r#"</head><body><div id="main"></div></body></html>"#,
    )
    .to_owned()
}

/// Navigation handler for `Config::with_navigation_handler`.
///
/// Dioxus 0.7.10 consults it only for URLs that are neither the app's own
/// page (`dioxus://…`, `http(s)://dioxus.…`: loaded once, then refused)
/// nor `http(s)`/`mailto` links (opened in the system browser, never inside
/// the web view). Everything that reaches this handler — `data:`, `blob:`,
/// `file:`, `javascript:`, `intent:`, `about:`, `softtoken:` … — is
/// refused, so the web view never shows anything but the app's own page.
pub fn allow_navigation(url: &str) -> bool {
    let _ = url;
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directive(name: &str) -> String {
        let csp = content_security_policy();
        csp.split("; ")
            .find_map(|d| d.strip_prefix(&format!("{name} ")).map(str::to_owned))
            .unwrap_or_else(|| panic!("directive {name} missing from {csp}"))
    }

    #[test]
    fn index_allows_zoom_and_has_the_parts_dioxus_fills_in() {
        let index = index_html();
        assert!(!index.contains("user-scalable"), "{index}");
        assert!(!index.contains("maximum-scale"), "{index}");
        assert!(index.contains(r#"content="width=device-width, initial-scale=1.0""#));
        assert!(index.contains(r#"<div id="main">"#));
        assert!(index.find("</head>") < index.find("</body>"));
        assert_eq!(index.matches("name=\"viewport\"").count(), 1);
    }

    #[test]
    fn policy_denies_by_default_and_locks_down_dangerous_directives() {
        assert!(content_security_policy().starts_with("default-src 'none'; "));
        for name in [
            "object-src",
            "frame-src",
            "base-uri",
            "form-action",
            "worker-src",
        ] {
            assert_eq!(directive(name), "'none'", "{name}");
        }
    }

    #[test]
    fn policy_names_no_remote_origin() {
        let csp = content_security_policy();
        for source in csp.split([';', ' ']).filter(|s| !s.is_empty()) {
            let remote = source.contains("://")
                && !source.starts_with("https://dioxus.index.html")
                && !source.starts_with("http://dioxus.index.html")
                && source != "ws://127.0.0.1:*";
            assert!(!remote, "remote source {source:?} in {csp}");
            assert_ne!(source, "*", "wildcard source in {csp}");
            assert_ne!(source, "https:", "scheme-wide https: in {csp}");
            assert_ne!(source, "http:", "scheme-wide http: in {csp}");
            assert_ne!(source, "ws:", "scheme-wide ws: in {csp}");
        }
    }

    #[test]
    fn policy_allows_what_dioxus_needs() {
        let script = directive("script-src");
        assert!(script.contains("'unsafe-inline'") && script.contains("'unsafe-eval'"));
        assert!(directive("connect-src").contains("ws://127.0.0.1:*"));
        for name in ["script-src", "style-src", "img-src", "connect-src"] {
            let d = directive(name);
            for origin in APP_ORIGINS.split(' ') {
                assert!(d.contains(origin), "{name} lacks {origin}: {d}");
            }
        }
    }

    #[test]
    fn head_embeds_policy_in_one_well_formed_attribute() {
        let csp = content_security_policy();
        assert!(!csp.contains('"') && !csp.contains('<') && !csp.contains('>'));
        let head = head_html();
        assert!(head.contains(&format!(r#"content="{csp}""#)));
        assert!(head.contains(r#"<meta name="referrer" content="no-referrer">"#));
        assert!(head.contains("telephone=no"));
        assert_eq!(head.matches('<').count(), head.matches('>').count());
        assert_eq!(head.matches('"').count() % 2, 0);
    }

    #[test]
    fn every_navigation_that_reaches_the_handler_is_refused() {
        for url in [
            "https://evil.example/",
            "http://192.168.1.10:8080/",
            "data:text/html,<script>alert(1)</script>",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "blob:dioxus://index.html/1",
            "intent://scan/#Intent;scheme=zxing;end",
            "softtoken://pair?v=1&bank=x&url=https://x&kid=k",
            "about:blank",
            "",
        ] {
            assert!(!allow_navigation(url), "{url}");
        }
    }

    #[test]
    fn devtools_follow_the_build_profile() {
        assert_eq!(devtools_allowed(), cfg!(debug_assertions));
        assert_eq!(CONTEXT_MENU_DISABLED, !cfg!(debug_assertions));
    }
}
