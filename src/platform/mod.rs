//! Platform hardening hooks of the phone builds.
//!
//! The app calls [`on_launch`] first thing in `main`. The other items are
//! helpers the app wires in its UI and start-up code (docs/mobile.md,
//! "What the app wires"):
//! - [`webview`]: content-security policy, navigation policy, devtools switch;
//! - [`deep_link`]: picking `softtoken://pair?…` and `softtoken://txn?…`
//!   out of OS-delivered URLs,
//!   [`take_pending_link`] on Android;
//! - [`link_inbox`]: hands links that arrive while the app runs from the
//!   OS event loop to the UI;
//! - `single_instance` (desktop): a launch with links while the app runs
//!   on the same profile hands them to the running app;
//! - [`clipboard`]: copy a code with automatic clearing where the OS allows;
//! - [`app_data_dir`] / [`prepare_data_dir`]: the app-private directory for
//!   the token metadata, created (and on iOS excluded from backup).
//!
//! Android code talks to Java through wry's `JniHandle`, which runs a
//! closure on the activity's UI thread with a ready `JNIEnv` — no raw
//! pointers, no `unsafe`. iOS-native pieces (app-switcher cover, pasteboard
//! expiry, backup exclusion) need Objective-C calls: `ios_native` is the
//! only module of the binary allowed `unsafe` (the crate denies it), every
//! block with a `SAFETY` note.
// The helpers are called by the app as it integrates them; until each one
// is wired, a binary crate would flag it as dead code.
#![allow(dead_code)]

pub mod clipboard;
pub mod deep_link;
pub mod link_inbox;
/// Desktop: links of a second launch reach the running app.
#[cfg(all(unix, feature = "desktop"))]
pub mod single_instance;
pub mod webview;

#[cfg(all(target_os = "android", feature = "mobile"))]
mod android;
#[cfg(target_os = "ios")]
#[allow(unsafe_code)]
mod ios_native;

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
    /// An iOS (UIKit/Foundation) call failed or was made off the main thread.
    #[error("iOS call failed during {0}")]
    Ios(&'static str),
    /// The app data folder could not be created.
    #[error("cannot create the app data folder: {0}")]
    DataDir(std::io::ErrorKind),
}

/// How the window is protected against screenshots and the app switcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScreenProtection {
    /// Android `FLAG_SECURE` was already set (by MainActivity.kt).
    AlreadySecure,
    /// Android `FLAG_SECURE` was missing and has been set now.
    SecuredNow,
    /// iOS: an opaque cover is put over every window whenever the app
    /// resigns active, so the app-switcher snapshot shows no code.
    CoveredInSwitcher,
    /// Not protected by this build (desktop simulator).
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
/// recording and the app-switcher thumbnail (Android `FLAG_SECURE`), or at
/// least from the app-switcher snapshot (iOS cover; iOS has no way to block
/// screenshots of the active app). On iOS call it once, on the main thread.
pub fn secure_screen() -> Result<ScreenProtection, PlatformError> {
    #[cfg(all(target_os = "android", feature = "mobile"))]
    {
        android::secure_window()
    }
    #[cfg(target_os = "ios")]
    {
        ios_native::install_snapshot_cover().map(|()| ScreenProtection::CoveredInSwitcher)
    }
    #[cfg(not(any(all(target_os = "android", feature = "mobile"), target_os = "ios")))]
    {
        Ok(ScreenProtection::NotProtected)
    }
}

/// Takes the link (pairing or transaction, [`deep_link::parse_link`]) the
/// app was opened with, once.
///
/// Android: reads the activity's current VIEW intent (cold start, or the
/// one `onNewIntent` stored in MainActivity.kt), and marks it consumed so
/// the same link is not offered twice. Call at start-up and whenever the
/// app comes to the foreground. Other platforms: `Ok(None)`; on iOS the
/// link arrives as tao's `Event::Opened` (see [`deep_link`]).
pub fn take_pending_link() -> Result<Option<String>, PlatformError> {
    #[cfg(all(target_os = "android", feature = "mobile"))]
    {
        android::take_view_intent_url().map(|u| u.filter(|u| deep_link::parse_link(u).is_some()))
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
///   forbids writing outside Documents/Library/tmp). [`prepare_data_dir`]
///   marks it excluded from backup; should a copy still be restored (an
///   older backup), it holds metadata without its keychain secret (the
///   secret is this-device-only), which the store must report as a broken
///   token, never as a valid one.
///
/// The folder may not exist yet: pass it to [`prepare_data_dir`] first.
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

/// Creates the app data folder `dir` (and its parents) if missing, and on
/// iOS marks it excluded from iCloud and computer backups. Call before the
/// store uses the folder, on every platform. Idempotent.
///
/// Errors: `DataDir` when the folder cannot be created (the store will then
/// report its own error on screen); `Ios` when the backup exclusion fails
/// (the folder exists and is usable; the restore case is still covered by
/// the this-device-only keychain item).
pub fn prepare_data_dir(dir: &std::path::Path) -> Result<(), PlatformError> {
    std::fs::create_dir_all(dir).map_err(|e| PlatformError::DataDir(e.kind()))?;
    #[cfg(target_os = "ios")]
    {
        ios_native::exclude_from_backup(dir)?;
    }
    Ok(())
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
    fn data_dir_is_created_with_its_parents_and_again_without_error() {
        let base = std::env::temp_dir().join(format!("softtoken-dd-{}", std::process::id()));
        let dir = base
            .join("Library")
            .join("Application Support")
            .join("softtoken");
        assert_eq!(prepare_data_dir(&dir), Ok(()));
        assert!(dir.is_dir());
        std::fs::write(dir.join("keep"), b"x").expect("write into the folder");
        // Idempotent, and existing content is left alone.
        assert_eq!(prepare_data_dir(&dir), Ok(()));
        assert_eq!(std::fs::read(dir.join("keep")).ok(), Some(b"x".to_vec()));
        // A file where the folder should be is a clear error, not a panic.
        let blocked = base.join("file");
        std::fs::write(&blocked, b"").expect("write a file");
        assert!(matches!(
            prepare_data_dir(&blocked.join("softtoken")),
            Err(PlatformError::DataDir(_))
        ));
        let _ = std::fs::remove_dir_all(&base);
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
