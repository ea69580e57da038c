//! Copying a code to the system clipboard.

/// Puts text on the clipboard. Contract: the text is never logged.
pub trait Clipboard: Send + Sync {
    /// Copies `text`; `false` when the platform refused.
    fn copy(&self, text: &str) -> bool;
}

/// Copies through the web view (`navigator.clipboard`, with a selection
/// fallback for WebKitGTK); works on desktop and mobile alike.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebviewClipboard;

impl Clipboard for WebviewClipboard {
    fn copy(&self, text: &str) -> bool {
        // `text` is six digits; JSON-encode it anyway so nothing can escape the string.
        let Ok(quoted) = serde_json::to_string(text) else {
            return false;
        };
        let js = format!(
            "(function(t){{try{{var a=document.createElement('textarea');a.value=t;\
             a.setAttribute('readonly','');a.style.position='fixed';a.style.opacity='0';\
             document.body.appendChild(a);a.select();document.execCommand('copy');\
             document.body.removeChild(a);}}catch(e){{}}\
             try{{if(navigator.clipboard){{navigator.clipboard.writeText(t).catch(function(){{}});}}}}\
             catch(e){{}}}})({quoted});"
        );
        let _ = dioxus::document::eval(&js);
        true
    }
}
