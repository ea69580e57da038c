//! The page shell and the pieces every screen shares: header with the
//! bank's name and the language toggle, breadcrumb, message boxes, form
//! fields and the hidden CSRF field. maud escapes every interpolated value.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::csrf;
use crate::i18n::Lang;

/// The page style (also the staff console's).
pub(crate) const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font-family:"Noto Sans CJK JP","Noto Sans JP","Hiragino Sans",sans-serif;color:#222;background:#f4f6f4;font-size:15px;line-height:1.6}
header{background:#00693e;color:#fff;padding:10px 24px;display:flex;justify-content:space-between;align-items:center}
header .bank{font-size:18px;font-weight:bold}
header a{color:#fff}
main{max-width:760px;margin:20px auto;background:#fff;padding:20px 28px 28px;border:1px solid #cfd8cf;border-radius:4px}
h1{font-size:20px;border-left:6px solid #00693e;padding-left:10px;margin:4px 0 14px}
h2{font-size:16px;margin:18px 0 8px;color:#00693e}
ol.crumbs{list-style:none;display:flex;gap:0;padding:0;margin:0 0 16px;flex-wrap:wrap}
ol.crumbs li{padding:4px 12px;background:#e6ede6;color:#555;font-size:13px}
ol.crumbs li+li::before{content:"›";margin-right:10px;color:#999}
ol.crumbs li.current{background:#00693e;color:#fff;font-weight:bold}
.error{border:2px solid #c62828;background:#fdecea;color:#8e0000;padding:10px 14px;margin:0 0 14px;border-radius:3px}
.notice{border:1px solid #00693e;background:#eef7f0;padding:10px 14px;margin:0 0 14px;border-radius:3px}
.warning{border:1px solid #e0a000;background:#fff8e1;padding:10px 14px;margin:10px 0;border-radius:3px}
form .field{display:flex;align-items:center;margin:10px 0;gap:12px}
form .field label{width:260px;font-weight:bold}
form .field input[type=text],form .field input[type=password],form .field select{flex:1;padding:7px 9px;font-size:16px;border:1px solid #999;border-radius:3px}
.buttons{display:flex;gap:12px;margin-top:18px;flex-wrap:wrap}
button,a.button{display:inline-block;padding:9px 22px;font-size:15px;border-radius:3px;border:1px solid #00693e;background:#00693e;color:#fff;text-decoration:none;cursor:pointer}
a.button.secondary,button.secondary{background:#fff;color:#00693e}
table.data{border-collapse:collapse;margin:8px 0;min-width:60%}
table.data th,table.data td{border:1px solid #b9c6b9;padding:6px 12px;text-align:left}
table.data th{background:#e6ede6;font-weight:bold}
.qr{display:flex;gap:20px;align-items:flex-start;flex-wrap:wrap}
.qr svg{width:200px;height:200px;border:1px solid #ccc}
code.link{word-break:break-all;font-size:12px;background:#f0f0f0;padding:4px;display:block}
.muted{color:#666;font-size:13px}
td.nowrap{white-space:nowrap}
nav.account{display:flex;gap:14px;flex-wrap:wrap;margin-bottom:14px}
.login-proc{margin-top:24px;border-top:1px dashed #b9c6b9;padding-top:14px}
"#;

/// A whole page.
pub fn page(l: Lang, bank_name: &str, title: &str, path: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " | " (bank_name) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    span.bank { (bank_name) " " (l.t("WEBバンキング", "Web Banking")) }
                    a #lang-toggle href={ (path) "?lang=" (l.other().code()) } {
                        (l.t("English", "日本語"))
                    }
                }
                main {
                    h1 #page-title { (title) }
                    (body)
                }
            }
        }
    }
}

/// The breadcrumb; `current` is the 0-based index of the current step.
pub fn crumbs(items: &[&str], current: usize) -> Markup {
    html! {
        ol.crumbs #crumbs aria-label="breadcrumb" {
            @for (i, item) in items.iter().enumerate() {
                li.current[i == current] aria-current=[(i == current).then_some("step")] { (item) }
            }
        }
    }
}

/// The error box (if any).
pub fn error(msg: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = msg {
            div.error #page-error role="alert" { (m) }
        }
    }
}

/// The hidden CSRF field.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(csrf::FIELD) value=(token); }
}

/// A labelled text field, re-filled with `value`.
pub fn text_field(label: &str, name: &str, value: &str, extra: FieldKind) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            @match extra {
                FieldKind::Text => input #(id) type="text" name=(name) value=(value) autocomplete="off";,
                FieldKind::Digits(n) => input #(id) type="text" name=(name) value=(value) inputmode="numeric" maxlength=(n) autocomplete="off";,
                FieldKind::Password => input #(id) type="password" name=(name) autocomplete="current-password";,
                FieldKind::Code => input #(id) type="text" name=(name) inputmode="numeric" maxlength="7" autocomplete="one-time-code";,
            }
        }
    }
}

/// Kinds of text fields. Passwords and codes are never re-filled.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    /// Free text, re-filled.
    Text,
    /// Digits with a maximum length, re-filled.
    Digits(u32),
    /// Password: never re-filled.
    Password,
    /// One-time code: never re-filled.
    Code,
}

/// A form's submit button with its stable `id`.
pub fn submit(id: &str, label: &str) -> Markup {
    html! { button #(id) type="submit" { (label) } }
}

/// 「戻る」: back to the login screen (every procedure step has it).
pub fn back(l: Lang) -> Markup {
    html! { a.button.secondary #back href="/login" { (l.t("戻る", "Back")) } }
}

/// 「ログイン画面」: the link at the end of a procedure.
pub fn to_login(l: Lang) -> Markup {
    html! { div.buttons { a.button #to-login href="/login" { (l.t("ログイン画面", "Login screen")) } } }
}

/// The receipt table: 受付番号 and 受付時刻.
pub fn receipt_table(l: Lang, number: &str, time: &str) -> Markup {
    html! {
        h2 { (l.t("受付内容", "Receipt")) }
        table.data #receipt {
            tr { th { (l.t("受付番号", "Reception number")) } td #receipt-number { (number) } }
            tr { th { (l.t("受付時刻", "Reception time")) } td #receipt-time { (time) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_secrets_not_refilled() {
        let m = text_field("x", "contract_id", "<script>", FieldKind::Text).into_string();
        assert!(m.contains("&lt;script&gt;"));
        let p = text_field("x", "password", "hunter2", FieldKind::Password).into_string();
        assert!(!p.contains("hunter2"));
        let c = text_field("x", "otp", "123456", FieldKind::Code).into_string();
        assert!(!c.contains("123456"));
        let b = crumbs(&["a", "b", "c"], 1).into_string();
        assert!(b.contains(r#"id="crumbs""#));
        assert!(b.contains(r#"<li class="current" aria-current="step">b</li>"#));
    }
}
