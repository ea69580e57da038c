// softtoken's main activity, used by dx 0.7.10 as it is
// (Dioxus.toml [application] android_main_activity). dx's default is
// `class MainActivity : WryActivity()`; this one adds the hardening that
// must happen in Java-land before the first frame:
// - FLAG_SECURE: no screenshots, no screen recording, blank app-switcher
//   thumbnail, no casting of the code to insecure displays;
// - a tapped softtoken://pair link while the app runs (launchMode
//   singleTask) replaces the activity's intent, where Rust reads it
//   (src/platform/android.rs, take_view_intent_url);
// - the web view: no file/content access, no remote debugging in release,
//   no Safe Browsing reporting of the local page, no autofill of the code field.
// src/platform/android.rs checks FLAG_SECURE again from Rust at launch.
package dev.dioxus.main

import android.content.Intent
import android.os.Build
import android.os.Bundle
import android.view.WindowManager
import android.webkit.WebSettings
import android.webkit.WebView

// dx 0.7.10's template line; the application id is Dioxus.toml's
// [bundle] identifier (this file is not templated, keep them equal).
typealias BuildConfig = jp.example.softtoken.BuildConfig

class MainActivity : WryActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        window.setFlags(
            WindowManager.LayoutParams.FLAG_SECURE,
            WindowManager.LayoutParams.FLAG_SECURE,
        )
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
            // Android 13+: no recents thumbnail at all (FLAG_SECURE blanks it).
            setRecentsScreenshotEnabled(false)
        }
        // Remote debugging of the web view only in debug builds (wry may
        // switch it on later only when built with devtools, i.e. debug).
        WebView.setWebContentsDebuggingEnabled(BuildConfig.DEBUG)
        super.onCreate(savedInstanceState)
    }

    override fun onWebViewCreate(webView: WebView) {
        super.onWebViewCreate(webView)
        val s: WebSettings = webView.settings
        s.allowFileAccess = false
        s.allowContentAccess = false
        s.setGeolocationEnabled(false)
        s.mediaPlaybackRequiresUserGesture = true
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O) {
            s.safeBrowsingEnabled = false
            webView.importantForAutofill = android.view.View.IMPORTANT_FOR_AUTOFILL_NO_EXCLUDE_DESCENDANTS
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        setIntent(intent)
    }
}
