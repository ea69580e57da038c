//! iOS-native hardening: app-switcher cover, expiring local-only pasteboard,
//! backup exclusion of the metadata folder.
//!
//! NOT COMPILED YET. Objective-C calls need `unsafe` and three crates the
//! root package does not declare. To switch it on (type-checked for
//! `aarch64-apple-ios` on the Linux CI machine, see docs/mobile.md):
//! 1. root `Cargo.toml`:
//!    ```toml
//!    [target.'cfg(target_os = "ios")'.dependencies]
//!    objc2 = "0.6"
//!    objc2-foundation = { version = "0.3", default-features = false, features = ["std", "NSArray", "NSDate", "NSDictionary", "NSEnumerator", "NSError", "NSNotification", "NSString", "NSURL", "NSValue"] }
//!    objc2-ui-kit = { version = "0.3", default-features = false, features = ["std", "objc2-core-foundation", "UIApplication", "UIColor", "UIInterface", "UIPasteboard", "UIResponder", "UIView", "UIWindow"] }
//!    ```
//!    (the three are already in Cargo.lock through wry/tao: no new crate);
//! 2. `src/main.rs`: `#![forbid(unsafe_code)]` → `#![deny(unsafe_code)]`
//!    (this file alone opts out, with the SAFETY notes below);
//! 3. `src/platform/mod.rs`: `#[cfg(target_os = "ios")] mod ios_native;`,
//!    call `ios_native::install_snapshot_cover()` from `on_launch`, route
//!    `clipboard::copy_code` to `ios_native::copy_expiring`, and call
//!    `ios_native::exclude_from_backup` on `app_data_dir()` once created.
//!
//! Threading: UIKit objects are main-thread-only. `on_launch` runs on the
//! main thread on iOS (tao keeps the event loop there), the notifications
//! are delivered there, and Dioxus event handlers run there, so every entry
//! point takes or obtains a `MainThreadMarker` and refuses otherwise.
#![allow(unsafe_code)]

use super::PlatformError;
use objc2::rc::Retained;
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
pub(super) fn install_snapshot_cover() -> Result<(), PlatformError> {
    MainThreadMarker::new().ok_or(PlatformError::Unsupported("UIKit off the main thread"))?;
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
    Ok(())
}

/// Puts `code` on the general pasteboard, local-only (no Universal
/// Clipboard / Handoff to the customer's other devices) and expiring after
/// `ttl` (iOS removes it itself, even if the app is suspended by then).
pub(super) fn copy_expiring(code: &str, ttl: Duration) -> Result<(), PlatformError> {
    MainThreadMarker::new().ok_or(PlatformError::Unsupported("UIKit off the main thread"))?;
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
/// this-device-only keychain secret.
pub(super) fn exclude_from_backup(dir: &Path) -> Result<(), PlatformError> {
    let path = dir
        .to_str()
        .ok_or(PlatformError::Unsupported("a non-UTF-8 data path"))?;
    let url = NSURL::fileURLWithPath_isDirectory(&NSString::from_str(path), true);
    let yes = NSNumber::new_bool(true);
    // SAFETY: NSURLIsExcludedFromBackupKey takes an NSNumber(BOOL).
    unsafe { url.setResourceValue_forKey_error(Some(&yes), NSURLIsExcludedFromBackupKey) }
        .map_err(|_| PlatformError::Unsupported("excluding the data folder from backup"))
}
