//! iOS-native hardening: app-switcher cover, expiring local-only pasteboard,
//! backup exclusion of the metadata folder.
//!
//! Compiled for `target_os = "ios"` only (dependencies: the
//! `[target.'cfg(target_os = "ios")'.dependencies]` block of the root
//! `Cargo.toml`). This is the one module of the binary that may use
//! `unsafe` (`#[allow(unsafe_code)]` on its declaration in `mod.rs`, the
//! crate is `deny(unsafe_code)`); every block carries a `SAFETY` note.
//! Entry points, all reached through `platform`:
//! - [`install_snapshot_cover`] from `platform::secure_screen` (`on_launch`);
//! - [`copy_expiring`] from `platform::clipboard::copy_code`;
//! - [`exclude_from_backup`] from `platform::prepare_data_dir`.
//!
//! Threading: UIKit objects are main-thread-only. `on_launch` runs on the
//! main thread on iOS (tao keeps the event loop there), the notifications
//! are delivered there, and Dioxus event handlers run there; still, the
//! two UIKit entry points (cover, pasteboard) obtain a `MainThreadMarker`
//! and refuse otherwise. The backup exclusion (`NSURL` resource value) is
//! Foundation only and safe on any thread.

use super::PlatformError;
use objc2::rc::{autoreleasepool, Retained};
use objc2::runtime::{AnyObject, NSObject};
use objc2::{define_class, msg_send, sel, AllocAnyThread, MainThreadMarker, MainThreadOnly};
use objc2_foundation::{
    NSArray, NSDate, NSDictionary, NSNotification, NSNotificationCenter, NSNumber, NSString,
    NSURLIsExcludedFromBackupKey, NSURL,
};
use objc2_ui_kit::{
    UIApplication, UIApplicationDidBecomeActiveNotification,
    UIApplicationWillResignActiveNotification, UIColor, UIPasteboard,
    UIPasteboardOptionExpirationDate, UIPasteboardOptionLocalOnly, UIView, UIViewAutoresizing,
};
use std::path::Path;
use std::time::Duration;

/// `tag` of the cover view, to find and remove it again ("STK").
const COVER_TAG: isize = 0x0053_544B;
/// Uniform type of plain UTF-8 text on the pasteboard.
const UTF8_PLAIN_TEXT: &str = "public.utf8-plain-text";

define_class!(
    // SAFETY: NSObject has no subclassing requirements; the class has no
    // ivars and does not implement Drop.
    #[unsafe(super(NSObject))]
    #[name = "STKSnapshotCover"]
    struct SnapshotCover;

    impl SnapshotCover {
        /// `UIApplicationWillResignActiveNotification`: the app is about to
        /// leave the foreground (app switcher, home, control centre); iOS
        /// takes the switcher snapshot right after. Cover every window.
        #[unsafe(method(willResignActive:))]
        fn will_resign_active(&self, _note: &NSNotification) {
            if let Some(mtm) = MainThreadMarker::new() {
                cover_windows(mtm);
            }
        }

        /// `UIApplicationDidBecomeActiveNotification`: uncover.
        #[unsafe(method(didBecomeActive:))]
        fn did_become_active(&self, _note: &NSNotification) {
            if let Some(mtm) = MainThreadMarker::new() {
                uncover_windows(mtm);
            }
        }
    }
);

impl SnapshotCover {
    fn new() -> Retained<Self> {
        let this = Self::alloc().set_ivars(());
        // SAFETY: NSObject's designated initialiser on a fresh allocation.
        unsafe { msg_send![super(this), init] }
    }
}

/// Adds an opaque cover (system background colour) over each window.
fn cover_windows(mtm: MainThreadMarker) {
    let app = UIApplication::sharedApplication(mtm);
    // tao 0.34 creates its UIWindow without a scene manifest, so the
    // application's window list is the right one.
    #[allow(deprecated)]
    let windows = app.windows();
    for window in windows.iter() {
        if window.viewWithTag(COVER_TAG).is_some() {
            continue;
        }
        let cover = UIView::initWithFrame(UIView::alloc(mtm), window.bounds());
        cover.setTag(COVER_TAG);
        cover.setBackgroundColor(Some(&UIColor::systemBackgroundColor()));
        cover.setAutoresizingMask(
            UIViewAutoresizing::FlexibleWidth | UIViewAutoresizing::FlexibleHeight,
        );
        window.addSubview(&cover);
    }
}

/// Removes the covers added by [`cover_windows`].
fn uncover_windows(mtm: MainThreadMarker) {
    let app = UIApplication::sharedApplication(mtm);
    #[allow(deprecated)]
    let windows = app.windows();
    for window in windows.iter() {
        while let Some(cover) = window.viewWithTag(COVER_TAG) {
            cover.removeFromSuperview();
        }
    }
}

/// Registers the app-switcher cover. Call once from `on_launch` (main
/// thread). The observer lives for the rest of the process.
///
/// Runs before tao starts `UIApplicationMain`, so before UIKit's own
/// autorelease pool exists: the body runs in a pool of its own.
pub(super) fn install_snapshot_cover() -> Result<(), PlatformError> {
    MainThreadMarker::new().ok_or(PlatformError::Ios("install the app-switcher cover"))?;
    autoreleasepool(|_| register_snapshot_cover());
    Ok(())
}

fn register_snapshot_cover() {
    let observer = SnapshotCover::new();
    let center = NSNotificationCenter::defaultCenter();
    // SAFETY: the selectors exist on `observer` with the signature
    // `-(void)name:(NSNotification *)note`; the names are UIKit's constants;
    // the observer is never deallocated (forgotten below), as the
    // selector-based API does not retain it.
    unsafe {
        center.addObserver_selector_name_object(
            &observer,
            sel!(willResignActive:),
            Some(UIApplicationWillResignActiveNotification),
            None,
        );
        center.addObserver_selector_name_object(
            &observer,
            sel!(didBecomeActive:),
            Some(UIApplicationDidBecomeActiveNotification),
            None,
        );
    }
    std::mem::forget(observer);
}

/// Puts `code` on the general pasteboard, local-only (no Universal
/// Clipboard / Handoff to the customer's other devices) and expiring after
/// `ttl` (iOS removes it itself, even if the app is suspended by then).
pub(super) fn copy_expiring(code: &str, ttl: Duration) -> Result<(), PlatformError> {
    MainThreadMarker::new().ok_or(PlatformError::Ios("copy to the pasteboard"))?;
    let value = NSString::from_str(code);
    let kind = NSString::from_str(UTF8_PLAIN_TEXT);
    let item: Retained<NSDictionary<NSString, AnyObject>> =
        NSDictionary::from_slices(&[&*kind], &[value.as_ref()]);
    let items = NSArray::from_retained_slice(&[item]);
    let expiry = NSDate::dateWithTimeIntervalSinceNow(ttl.as_secs_f64());
    let local_only = NSNumber::new_bool(true);
    // SAFETY: reading UIKit's immutable option-name constants.
    let keys = unsafe {
        [
            UIPasteboardOptionExpirationDate,
            UIPasteboardOptionLocalOnly,
        ]
    };
    let options: Retained<NSDictionary<NSString, AnyObject>> =
        NSDictionary::from_slices(&keys, &[expiry.as_ref(), local_only.as_ref()]);
    // SAFETY: items are NSDictionary<NSString, id> of a UTI to an NSString;
    // options map UIKit's option keys to an NSDate and an NSNumber(BOOL),
    // the types UIPasteboard documents for them.
    unsafe { UIPasteboard::generalPasteboard().setItems_options(&items, &options) };
    Ok(())
}

/// Marks `dir` (created beforehand) as excluded from iCloud and computer
/// backups, so a restored phone does not get token metadata without its
/// this-device-only keychain secret. Called at start-up, before UIKit's
/// autorelease pool exists: runs in a pool of its own.
pub(super) fn exclude_from_backup(dir: &Path) -> Result<(), PlatformError> {
    autoreleasepool(|_| exclude_in_pool(dir))
}

fn exclude_in_pool(dir: &Path) -> Result<(), PlatformError> {
    let path = dir.to_str().ok_or(PlatformError::Ios(
        "exclude a non-UTF-8 data path from backup",
    ))?;
    let url = NSURL::fileURLWithPath_isDirectory(&NSString::from_str(path), true);
    let yes = NSNumber::new_bool(true);
    // SAFETY: NSURLIsExcludedFromBackupKey takes an NSNumber(BOOL).
    unsafe { url.setResourceValue_forKey_error(Some(&yes), NSURLIsExcludedFromBackupKey) }
        .map_err(|_| PlatformError::Ios("exclude the data folder from backup"))
}
