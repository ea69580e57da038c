//! Copying a one-time code to the system clipboard so that it does not
//! linger there.
//!
//! - Android: copied through `ClipboardManager` with the label
//!   [`CLIP_LABEL`], flagged sensitive on Android 13+ (no preview in the
//!   system clipboard UI, no keyboard suggestion), and cleared after
//!   [`CLEAR_AFTER`] if the clipboard still holds that very copy (checked
//!   by label and by a per-copy generation, so a newer copy — ours or the
//!   customer's — is never wiped). When Android hides the clipboard from
//!   a background app (Android 10+), the clear is skipped rather than
//!   guessed; Android 13+ clears the clipboard itself after an hour.
//! - iOS: the general `UIPasteboard`, with an expiration date of
//!   [`CLEAR_AFTER`] (iOS removes the item itself, even while the app is
//!   suspended) and local-only (no Universal Clipboard to the customer's
//!   other devices); `ios_native.rs`.
//! - Desktop simulator: [`copy_code`] answers `Unsupported` and the app
//!   keeps its web-view copy (no clearing).
//!
//! When the native call fails, the app falls back to the web-view copy
//! (no expiry) and logs the failure without the code.
use super::PlatformError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a copied code stays on the clipboard (one TOTP step).
pub const CLEAR_AFTER: Duration = Duration::from_secs(30);

/// Label of the clip on Android (also how a later clear recognises it).
pub const CLIP_LABEL: &str = "softtoken one-time password";

/// Longest text accepted as a code ("123 456" grouped is 7; 10 digits max).
const MAX_CODE_LEN: usize = 16;

/// Generation of the latest copy; a scheduled clear only acts on its own.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Whether `text` has the shape of a one-time code: 6–10 ASCII digits,
/// optionally grouped with single spaces. Keeps this helper from ever being
/// used to put a secret or other text on the clipboard.
pub fn is_code(text: &str) -> bool {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    text.len() <= MAX_CODE_LEN
        && (6..=10).contains(&digits)
        && text.bytes().all(|b| b.is_ascii_digit() || b == b' ')
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && !text.contains("  ")
}

/// Decision of a scheduled clear: clear only when no other copy was made
/// through this module since (`scheduled == latest`) and the clipboard
/// still carries our label. `label_now` is `None` when the OS does not let
/// the app see the clipboard (then nothing is cleared).
pub fn should_clear(scheduled: u64, latest: u64, label_now: Option<&str>) -> bool {
    scheduled == latest && label_now == Some(CLIP_LABEL)
}

/// Starts a new copy generation and returns it.
fn next_generation() -> u64 {
    GENERATION.fetch_add(1, Ordering::SeqCst) + 1
}

/// The generation of the latest copy.
fn latest_generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// Copies `code` (see [`is_code`]) to the system clipboard and arranges for
/// it to disappear after the returned duration. The code is never logged.
///
/// Errors: `NotACode` for any other text (nothing is copied);
/// `Unsupported` where there is no native clipboard (desktop) — use the
/// web-view copy; `Jni`/`Timeout` on Android and `Ios` on iOS when the OS
/// call fails (nothing was copied or scheduled).
pub fn copy_code(code: &str) -> Result<Duration, PlatformError> {
    if !is_code(code) {
        return Err(PlatformError::NotACode);
    }
    #[cfg(all(target_os = "android", feature = "mobile"))]
    {
        let generation = next_generation();
        super::android::copy_to_clipboard(code, CLIP_LABEL)?;
        let spawned = std::thread::Builder::new()
            .name("softtoken-clipboard-clear".into())
            .spawn(move || {
                std::thread::sleep(CLEAR_AFTER);
                let latest = latest_generation();
                let cleared = super::android::clear_clipboard_if(move |label| {
                    should_clear(generation, latest, label)
                });
                if let Err(e) = cleared {
                    eprintln!("softtoken: clearing the copied code: {e}");
                }
            });
        spawned.map_err(|_| PlatformError::Unsupported("a clipboard-clearing thread"))?;
        Ok(CLEAR_AFTER)
    }
    #[cfg(target_os = "ios")]
    {
        super::ios_native::copy_expiring(code, CLEAR_AFTER)?;
        Ok(CLEAR_AFTER)
    }
    #[cfg(not(any(all(target_os = "android", feature = "mobile"), target_os = "ios")))]
    {
        Err(PlatformError::Unsupported("a native clipboard with expiry"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_code_shaped_text_is_accepted() {
        for ok in ["123456", "123 456", "12345678", "1234 5678", "0000000000"] {
            assert!(is_code(ok), "{ok:?}");
        }
        for bad in [
            "",
            "12345",
            "12345678901",
            "12a456",
            " 123456",
            "123456 ",
            "123  456",
            "123\t456",
            "１２３４５６",
            "JBSWY3DPEHPK3PXP",
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
        ] {
            assert!(!is_code(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_scheduled_clear_only_removes_its_own_copy() {
        assert!(should_clear(3, 3, Some(CLIP_LABEL)));
        // A newer copy of ours was made meanwhile.
        assert!(!should_clear(3, 4, Some(CLIP_LABEL)));
        // The customer copied something else meanwhile.
        assert!(!should_clear(3, 3, Some("")));
        assert!(!should_clear(3, 3, Some("notes")));
        // The OS hides the clipboard from us: do not guess.
        assert!(!should_clear(3, 3, None));
    }

    #[test]
    fn generations_increase() {
        let a = next_generation();
        let b = next_generation();
        assert!(b > a);
        assert!(latest_generation() >= b);
    }

    #[test]
    fn non_code_text_is_refused_before_any_platform_call() {
        assert_eq!(copy_code("JBSWY3DPEHPK3PXP"), Err(PlatformError::NotACode));
    }

    #[test]
    fn desktop_has_no_native_expiring_clipboard() {
        if cfg!(any(target_os = "android", target_os = "ios")) {
            return;
        }
        assert!(matches!(
            copy_code("123456"),
            Err(PlatformError::Unsupported(_))
        ));
    }
}
