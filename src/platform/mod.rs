//! Platform hardening hooks of the phone builds (owner: mobile; issue 5).
//!
//! The app calls [`on_launch`] first thing in `main`. The other items are
//! helpers the app wires in its UI and start-up code (docs/mobile.md,
//! "What the app wires"):
//! - [`webview`]: content-security policy, navigation policy, devtools switch;
//! - [`deep_link`]: picking `softtoken://pair?…` out of OS-delivered URLs,
//!   [`take_pending_link`] on Android;
//! - [`clipboard`]: copy a code with automatic clearing where the OS allows;
//! - [`app_data_dir`]: the app-private directory for the token metadata.
//!
//! Android code talks to Java through wry's `JniHandle`, which runs a
//! closure on the activity's UI thread with a ready `JNIEnv` — no raw
//! pointers, so the crate's `forbid(unsafe_code)` holds. iOS-native pieces
//! (app-switcher cover, pasteboard expiry, backup exclusion) need
//! Objective-C calls and are in `ios_native.rs`, not compiled until the
//! dependencies listed there are added (see that file and docs/mobile.md).
// The helpers are called by the app as it integrates them; until each one
// is wired, a binary crate would flag it as dead code.
#![allow(dead_code)]

pub mod clipboard;
pub mod deep_link;
pub mod webview;

#[cfg(all(target_os = "android", feature = "mobile"))]
mod android;

use std::path::PathBuf;
use thiserror::Error;

/// Why a platform call failed. Carries no secret and no code: texts name
/// the operation and the OS condition only.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PlatformError {
    /// The feature does not exist on this platform or build.
    #[error("{0} is not available on this platform")]
    Unsupported(&'static str),
    /// A Java call failed (class/method missing, exception thrown).
    #[error("Android call failed during {op}: {reason}")]
    Jni {
        /// What was being done, e.g. "set FLAG_SECURE".
        op: &'static str,
        /// The JNI error, without arguments or return values.
        reason: String,
    },
    /// The text given to the clipboard helper is not a one-time code.
    #[error("only a one-time code can be copied this way")]
    NotACode,
    /// The UI thread did not answer in time.
    #[error("the UI thread did not answer during {0}")]
    Timeout(&'static str),
}

/// How the window is protected against screenshots and the app switcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScreenProtection {
    /// Android `FLAG_SECURE` was already set (by MainActivity.kt).
    AlreadySecure,
    /// Android `FLAG_SECURE` was missing and has been set now.
    SecuredNow,
    /// Not protected by this build (desktop simulator, or iOS before the
    /// `ios_native` cover is wired).
    NotProtected,
}

/// Applies the platform protections at launch. Call once, first thing in
/// `main`, before `dioxus::launch`. Never panics; a failure is reported on
/// stderr (logcat on Android) without any secret, and the app continues:
/// on Android, MainActivity.kt has already set `FLAG_SECURE` before Rust
/// runs, so this is the second line of defence.
pub fn on_launch() {
    match secure_screen() {
        Ok(ScreenProtection::SecuredNow) => {
            eprintln!("softtoken: FLAG_SECURE was missing (MainActivity.kt not used?); set now")
        }
        Ok(_) => {}
        Err(e) => eprintln!("softtoken: screen protection: {e}"),
    }
}

/// Makes sure the window hides its content from screenshots, screen
/// recording and the app-switcher thumbnail (Android `FLAG_SECURE`).
pub fn secure_screen() -> Result<ScreenProtection, PlatformError> {
    #[cfg(all(target_os = "android", feature = "mobile"))]
    {
        android::secure_window()
    }
    #[cfg(not(all(target_os = "android", feature = "mobile")))]
    {
        Ok(ScreenProtection::NotProtected)
    }
}

/// Takes the pairing link the app was opened with, once.
///
/// Android: reads the activity's current VIEW intent (cold start, or the
/// one `onNewIntent` stored in MainActivity.kt), and marks it consumed so
/// the same link is not offered twice. Call at start-up and whenever the
/// app comes to the foreground. Other platforms: `Ok(None)`; on iOS the
/// link arrives as tao's `Event::Opened` (see [`deep_link`]).
pub fn take_pending_link() -> Result<Option<String>, PlatformError> {
    #[cfg(all(target_os = "android", feature = "mobile"))]
    {
        android::take_view_intent_url().map(|u| u.as_deref().and_then(deep_link::pairing_link))
    }
    #[cfg(not(all(target_os = "android", feature = "mobile")))]
    {
        Ok(None)
    }
}

/// The app-private directory for the token metadata on phones, or `None`
/// on desktop (where the app keeps its XDG logic).
///
/// - Android: `Context.getFilesDir()` (internal storage, excluded from
///   backup and device transfer by platforms/android/res/xml rules).
/// - iOS: `$HOME/Library/Application Support/softtoken` (the sandbox
///   forbids writing outside Documents/Library/tmp). iOS backs this folder
///   up; a restored copy holds metadata without its keychain secret (the
///   secret is this-device-only), which the store must report as a broken
///   token, never as a valid one. `ios_native.rs` additionally marks the
///   folder excluded from backup once wired.
pub fn app_data_dir() -> Result<Option<PathBuf>, PlatformError> {
    #[cfg(all(target_os = "android", feature = "mobile"))]
    {
        android::files_dir().map(|d| Some(d.join("softtoken")))
    }
    #[cfg(target_os = "ios")]
    {
        Ok(ios_data_dir(std::env::var_os("HOME")))
    }
    #[cfg(not(any(all(target_os = "android", feature = "mobile"), target_os = "ios")))]
    {
        Ok(None)
    }
}

/// `$HOME/Library/Application Support/softtoken` for an iOS sandbox home.
fn ios_data_dir(home: Option<std::ffi::OsString>) -> Option<PathBuf> {
    let home = PathBuf::from(home.filter(|h| !h.is_empty())?);
    home.is_absolute().then(|| {
        home.join("Library")
            .join("Application Support")
            .join("softtoken")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ios_data_dir_is_inside_library_of_an_absolute_home() {
        let home = "/var/mobile/Containers/Data/Application/0A1B";
        assert_eq!(
            ios_data_dir(Some(home.into())),
            Some(PathBuf::from(format!(
                "{home}/Library/Application Support/softtoken"
            )))
        );
        assert_eq!(ios_data_dir(None), None);
        assert_eq!(ios_data_dir(Some("".into())), None);
        assert_eq!(ios_data_dir(Some("relative/home".into())), None);
    }

    #[test]
    fn desktop_build_reports_no_phone_protections() {
        if cfg!(any(target_os = "android", target_os = "ios")) {
            return;
        }
        assert_eq!(secure_screen(), Ok(ScreenProtection::NotProtected));
        assert_eq!(take_pending_link(), Ok(None));
        assert_eq!(app_data_dir(), Ok(None));
    }

    #[test]
    fn errors_name_the_operation_only() {
        let e = PlatformError::Jni {
            op: "copy to clipboard",
            reason: "Java exception was thrown".into(),
        };
        assert_eq!(
            e.to_string(),
            "Android call failed during copy to clipboard: Java exception was thrown"
        );
        assert_eq!(
            PlatformError::Timeout("set FLAG_SECURE").to_string(),
            "the UI thread did not answer during set FLAG_SECURE"
        );
    }
}
