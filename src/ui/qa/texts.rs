//! The QA panel's texts (a tool for testers, kept apart from the app's
//! catalogue in `crate::i18n`).
use crate::i18n::Lang;

/// A text of the QA panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum QaMsg {
    Title,
    Clock,
    Offset,
    Reset,
    JumpLabel,
    Jump,
    Malformed,
    TooFar,
    Profiles,
    Current,
    NewProfile,
    Create,
    BadName,
    Exists,
    CreateFailed,
    BankStatus,
    CheckAgain,
    Checking,
    NoTokens,
    StoreFailed,
    BankTime,
    DeviceMinusBank,
    Log,
    LogFailed,
}

/// `msg` in `lang`.
pub fn qt(lang: Lang, msg: QaMsg) -> &'static str {
    use QaMsg::*;
    let (ja, en) = match msg {
        Title => ("QA パネル", "QA panel"),
        Clock => ("アプリの時計", "App clock"),
        Offset => ("端末の時計とのずれ", "Offset from the device clock"),
        Reset => ("0 に戻す", "Reset to 0"),
        JumpLabel => (
            "ずれを入力（秒 または 分:秒）",
            "Set offset (seconds or min:sec)",
        ),
        Jump => ("設定", "Set"),
        Malformed => ("例: +90、-45、-4:30", "e.g. +90, -45, -4:30"),
        TooFar => ("±86400 秒までです", "at most ±86400 s"),
        Profiles => ("プロファイル", "Profiles"),
        Current => ("使用中", "current"),
        NewProfile => ("新しいプロファイル名", "New profile name"),
        Create => ("作成して切り替え", "Create and switch"),
        BadName => (
            "英数字・-・_ で 32 文字まで",
            "up to 32 letters, digits, - or _",
        ),
        Exists => ("その名前はすでにあります", "that name exists"),
        CreateFailed => ("作成できません", "could not be created"),
        BankStatus => ("銀行の状態（そのまま）", "Bank status (raw)"),
        CheckAgain => ("再取得", "Check again"),
        Checking => ("取得中…", "checking…"),
        NoTokens => ("トークンはありません", "no tokens"),
        StoreFailed => ("トークンを読めません", "tokens unreadable"),
        BankTime => ("銀行の時刻", "bank time"),
        DeviceMinusBank => ("端末 − 銀行", "device − bank"),
        Log => ("操作の記録", "Action log"),
        LogFailed => ("記録を書けません", "log not written"),
    };
    match lang {
        Lang::Ja => ja,
        Lang::En => en,
    }
}
