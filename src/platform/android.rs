//! Android: window protection, clipboard, launch intent and files directory
//! through JNI.
//!
//! Every call runs on the activity's UI thread through wry's `JniHandle`
//! (the same channel wry uses for its own web-view calls), inside a JNI
//! local frame so no local reference outlives the call, and with any Java
//! exception cleared before returning to the looper. The caller waits for
//! the answer for at most [`ANSWER_TIMEOUT`]; the app's Rust code runs on
//! tao's event-loop thread, never on the UI thread, so this cannot wait on
//! itself. `ndk-context` is initialised by tao before `main` runs; the
//! android-native-keyring-store (crates/store) relies on the same context.
use super::{PlatformError, ScreenProtection};
use dioxus::mobile::wry::JniHandle;
use jni::errors::{Error as JniError, Result as JniResult};
use jni::objects::{JObject, JString, JValue};
use jni::JNIEnv;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

/// `WindowManager.LayoutParams.FLAG_SECURE`.
const FLAG_SECURE: i32 = 0x0000_2000;
/// `Build.VERSION_CODES.TIRAMISU` (Android 13): sensitive clip extras.
const API_TIRAMISU: i32 = 33;
/// `ClipDescription.EXTRA_IS_SENSITIVE`.
const EXTRA_IS_SENSITIVE: &str = "android.content.extra.IS_SENSITIVE";
const ACTION_VIEW: &str = "android.intent.action.VIEW";
const ACTION_MAIN: &str = "android.intent.action.MAIN";
/// How long a caller waits for the UI thread.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// Local references one call may create.
const LOCAL_FRAME: i32 = 32;

/// Runs `f` on the UI thread with the activity and waits for its result.
fn on_ui_thread<T, F>(op: &'static str, f: F) -> Result<T, PlatformError>
where
    T: Send + 'static,
    F: FnOnce(&mut JNIEnv, &JObject) -> JniResult<T> + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    JniHandle.exec(move |env, activity, _webview| {
        let result = env.with_local_frame(LOCAL_FRAME, |env| f(env, activity));
        if env.exception_check().unwrap_or(true) {
            let _ = env.exception_clear();
        }
        // Only the error text crosses threads; it holds no argument values.
        let _ = tx.send(result.map_err(|e| e.to_string()));
    });
    match rx.recv_timeout(ANSWER_TIMEOUT) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(reason)) => Err(PlatformError::Jni { op, reason }),
        Err(_) => Err(PlatformError::Timeout(op)),
    }
}

/// Fails with `NullPtr(what)` when `obj` is Java `null`.
fn non_null<'a>(obj: JObject<'a>, what: &'static str) -> JniResult<JObject<'a>> {
    if obj.is_null() {
        Err(JniError::NullPtr(what))
    } else {
        Ok(obj)
    }
}

/// A Java `String` (non-null) as a Rust `String`.
fn rust_string(env: &mut JNIEnv, obj: JObject) -> JniResult<String> {
    let s = JString::from(non_null(obj, "string")?);
    let text: String = env.get_string(&s)?.into();
    Ok(text)
}

/// Sets `FLAG_SECURE` on the activity's window unless already set.
pub(super) fn secure_window() -> Result<ScreenProtection, PlatformError> {
    on_ui_thread("set FLAG_SECURE", |env, activity| {
        let window = env
            .call_method(activity, "getWindow", "()Landroid/view/Window;", &[])?
            .l()?;
        let window = non_null(window, "Activity.getWindow")?;
        let attrs = env
            .call_method(
                &window,
                "getAttributes",
                "()Landroid/view/WindowManager$LayoutParams;",
                &[],
            )?
            .l()?;
        let attrs = non_null(attrs, "Window.getAttributes")?;
        let flags = env.get_field(&attrs, "flags", "I")?.i()?;
        if flags & FLAG_SECURE != 0 {
            return Ok(ScreenProtection::AlreadySecure);
        }
        env.call_method(&window, "addFlags", "(I)V", &[JValue::Int(FLAG_SECURE)])?;
        Ok(ScreenProtection::SecuredNow)
    })
}

/// The data URL of the activity's intent if it is an unconsumed VIEW
/// intent; marks it consumed (action MAIN, no data) so it is read once.
pub(super) fn take_view_intent_url() -> Result<Option<String>, PlatformError> {
    on_ui_thread("read the launch intent", |env, activity| {
        let intent = env
            .call_method(activity, "getIntent", "()Landroid/content/Intent;", &[])?
            .l()?;
        if intent.is_null() {
            return Ok(None);
        }
        let action = env
            .call_method(&intent, "getAction", "()Ljava/lang/String;", &[])?
            .l()?;
        if action.is_null() || rust_string(env, action)? != ACTION_VIEW {
            return Ok(None);
        }
        let data = env
            .call_method(&intent, "getDataString", "()Ljava/lang/String;", &[])?
            .l()?;
        let main = env.new_string(ACTION_MAIN)?;
        env.call_method(
            &intent,
            "setAction",
            "(Ljava/lang/String;)Landroid/content/Intent;",
            &[JValue::Object(&main)],
        )?;
        env.call_method(
            &intent,
            "setData",
            "(Landroid/net/Uri;)Landroid/content/Intent;",
            &[JValue::Object(&JObject::null())],
        )?;
        if data.is_null() {
            return Ok(None);
        }
        Ok(Some(rust_string(env, data)?))
    })
}

/// `Context.getFilesDir()` of the activity.
pub(super) fn files_dir() -> Result<PathBuf, PlatformError> {
    on_ui_thread("find the app's files directory", |env, activity| {
        let dir = env
            .call_method(activity, "getFilesDir", "()Ljava/io/File;", &[])?
            .l()?;
        let dir = non_null(dir, "Context.getFilesDir")?;
        let path = env
            .call_method(&dir, "getAbsolutePath", "()Ljava/lang/String;", &[])?
            .l()?;
        Ok(PathBuf::from(rust_string(env, path)?))
    })
}

/// The `ClipboardManager` of the activity.
fn clipboard_manager<'a>(env: &mut JNIEnv<'a>, activity: &JObject) -> JniResult<JObject<'a>> {
    let name = env.new_string("clipboard")?;
    let cm = env
        .call_method(
            activity,
            "getSystemService",
            "(Ljava/lang/String;)Ljava/lang/Object;",
            &[JValue::Object(&name)],
        )?
        .l()?;
    non_null(cm, "ClipboardManager")
}

/// Puts `text` on the clipboard as a plain-text clip labelled `label`,
/// flagged sensitive on Android 13+.
pub(super) fn copy_to_clipboard(text: &str, label: &'static str) -> Result<(), PlatformError> {
    let text = text.to_owned();
    on_ui_thread("copy to the clipboard", move |env, activity| {
        let cm = clipboard_manager(env, activity)?;
        let jlabel = env.new_string(label)?;
        let jtext = env.new_string(&text)?;
        let clip = env
            .call_static_method(
                "android/content/ClipData",
                "newPlainText",
                "(Ljava/lang/CharSequence;Ljava/lang/CharSequence;)Landroid/content/ClipData;",
                &[JValue::Object(&jlabel), JValue::Object(&jtext)],
            )?
            .l()?;
        let clip = non_null(clip, "ClipData.newPlainText")?;
        let sdk = env
            .get_static_field("android/os/Build$VERSION", "SDK_INT", "I")?
            .i()?;
        if sdk >= API_TIRAMISU {
            let extras = env.new_object("android/os/PersistableBundle", "()V", &[])?;
            let key = env.new_string(EXTRA_IS_SENSITIVE)?;
            env.call_method(
                &extras,
                "putBoolean",
                "(Ljava/lang/String;Z)V",
                &[JValue::Object(&key), JValue::Bool(1)],
            )?;
            let desc = env
                .call_method(
                    &clip,
                    "getDescription",
                    "()Landroid/content/ClipDescription;",
                    &[],
                )?
                .l()?;
            let desc = non_null(desc, "ClipData.getDescription")?;
            env.call_method(
                &desc,
                "setExtras",
                "(Landroid/os/PersistableBundle;)V",
                &[JValue::Object(&extras)],
            )?;
        }
        env.call_method(
            &cm,
            "setPrimaryClip",
            "(Landroid/content/ClipData;)V",
            &[JValue::Object(&clip)],
        )?;
        Ok(())
    })
}

/// Clears the clipboard when `decide(label of the current clip)` says so;
/// the label is `None` when Android hides the clipboard from the app.
/// Returns whether it cleared.
pub(super) fn clear_clipboard_if<D>(decide: D) -> Result<bool, PlatformError>
where
    D: FnOnce(Option<&str>) -> bool + Send + 'static,
{
    on_ui_thread("clear the clipboard", move |env, activity| {
        let cm = clipboard_manager(env, activity)?;
        let desc = env
            .call_method(
                &cm,
                "getPrimaryClipDescription",
                "()Landroid/content/ClipDescription;",
                &[],
            )?
            .l()?;
        let label = if desc.is_null() {
            None
        } else {
            let label = env
                .call_method(&desc, "getLabel", "()Ljava/lang/CharSequence;", &[])?
                .l()?;
            if label.is_null() {
                Some(String::new())
            } else {
                let text = env
                    .call_method(&label, "toString", "()Ljava/lang/String;", &[])?
                    .l()?;
                Some(rust_string(env, text)?)
            }
        };
        if !decide(label.as_deref()) {
            return Ok(false);
        }
        env.call_method(&cm, "clearPrimaryClip", "()V", &[])?;
        Ok(true)
    })
}
