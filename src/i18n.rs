//! The one message catalogue: Japanese (default on a Japanese system) and
//! English. Screen and button names of web banking are quoted in Japanese
//! in both languages, as in the bank's guide.

/// A display language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// 日本語.
    Ja,
    /// English.
    En,
}

impl Lang {
    /// Japanese when the locale's language is `ja` (`ja`, `ja_JP.UTF-8`,
    /// `ja-JP`, `ja-Jpan-JP`, any case), English otherwise (also for none,
    /// `C` and `POSIX`).
    pub fn from_locale(locale: Option<&str>) -> Lang {
        let language = locale
            .and_then(|l| l.split(['_', '-', '.', '@']).next())
            .unwrap_or("");
        if language.eq_ignore_ascii_case("ja") {
            Lang::Ja
        } else {
            Lang::En
        }
    }

    /// The first non-empty of `LC_ALL`, `LC_MESSAGES`, `LANG` (POSIX
    /// order), read through `var`.
    pub fn locale_from_env(var: impl Fn(&str) -> Option<String>) -> Option<String> {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| var(v))
            .find(|v| !v.is_empty())
    }

    /// The system's language: the locale variables when one is set (on
    /// every platform, so a launcher or a test can choose), else on
    /// Android, Apple platforms and Windows the platform's preferred
    /// language (`sys-locale`); mapped by [`Lang::from_locale`].
    pub fn system() -> Lang {
        let env = Lang::locale_from_env(|v| std::env::var(v).ok());
        #[cfg(any(target_os = "android", target_vendor = "apple", windows))]
        let env = env.or_else(sys_locale::get_locale);
        Lang::from_locale(env.as_deref())
    }

    /// The other language (for the switch button).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }

    /// BCP 47 tag for the `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
}

/// Fixed texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Msg {
    AppTitle,
    SwitchLanguage,
    TokensTitle,
    NoTokens,
    AddToken,
    OpenToken,
    Serial,
    Otp,
    NextOtp,
    TapToCopy,
    Copied,
    CopyFailed,
    Bank,
    PairedOn,
    State,
    StateUnknown,
    StateChecking,
    StateIssued,
    StateIssuedHelp,
    StateActive,
    StateRevoked,
    StateExpired,
    ClockFix,
    Details,
    Back,
    Remove,
    RemoveWarning,
    RemoveConfirm,
    Cancel,
    Removed,
    PairTitle,
    PickBank,
    OrLink,
    LinkPlaceholder,
    UseLink,
    QrImage,
    QrImagePlaceholder,
    ReadQr,
    QrChooseFile,
    QrPasteImage,
    QrDropHint,
    QrReading,
    ScanStart,
    ScanStarting,
    ScanHint,
    ScanStop,
    ScanStopped,
    ScanDenied,
    ScanNoCamera,
    ScanFailed,
    FailQrNotImage,
    FailQrTooLarge,
    FailQrNotLink,
    FailQrNoImage,
    AskPair,
    PairNow,
    Pairing,
    PairDone,
    PairNextFirst,
    PairNextExchange,
    PairNextDeadline,
    ShowToken,
    FailNetwork,
    FailRefused,
    FailNotTheBank,
    FailProtocol,
    FailStore,
    FailLink,
    FailUnknownBank,
    FailKeyNotPinned,
    FailUrlMismatch,
    FailQr,
    FailSessionExpired,
    TryAgain,
    StoreProblemTitle,
    StoreProblemKeystore,
    StoreProblemCorrupted,
    StoreProblemNewer,
    StoreProblemMissing,
    StoreProblemNothingDeleted,
    Retry,
    NoBanks,
    Dismiss,
    Loading,
    OfflineOpen,
    OfflineTitle,
    OfflineHelp,
    OfflineQuestion,
    OfflineShow,
    OfflineInvalid,
    OfflineCode,
    OfflineFailed,
    TxnCheck,
    TxnTitle,
    TxnAmount,
    TxnApprove,
    TxnReject,
    TxnRejectAsk,
    TxnRejectConfirm,
    TxnApproved,
    TxnRejected,
    TxnReturnToWeb,
    TxnSendFailed,
    TxnNone,
    TxnNotSupported,
    TxnPollFailed,
    TxnInvalid,
    TxnExpired,
    TxnLinkUnknown,
}

/// The text of `msg` in `lang`.
pub fn tr(lang: Lang, msg: Msg) -> &'static str {
    use Msg::*;
    let (ja, en) = match msg {
        AppTitle => ("ワンタイムパスワード", "One-time password"),
        SwitchLanguage => ("English", "日本語"),
        TokensTitle => ("トークン一覧", "Your tokens"),
        NoTokens => (
            "まだトークンがありません。「トークンを追加」から銀行を選んでください。",
            "No token yet. Choose \u{201c}Add a token\u{201d} and pick your bank.",
        ),
        AddToken => ("トークンを追加", "Add a token"),
        OpenToken => ("トークンを開く", "Open token"),
        Serial => ("シリアル番号", "Serial number"),
        Otp => ("ワンタイムパスワード", "One-time password"),
        NextOtp => ("次のワンタイムパスワード", "Next one-time password"),
        TapToCopy => ("タップするとコピーします", "Tap to copy"),
        Copied => ("ワンタイムパスワードをコピーしました", "One-time password copied"),
        CopyFailed => ("コピーできませんでした", "Could not copy"),
        Bank => ("金融機関", "Bank"),
        PairedOn => ("登録日", "Paired on"),
        State => ("状態", "State"),
        StateUnknown => (
            "銀行に状態を確認できませんでした（通信できません）",
            "Could not check the state with the bank (no connection)",
        ),
        StateChecking => ("銀行に確認中…", "Checking with the bank…"),
        StateIssued => ("未登録", "Not registered yet"),
        StateIssuedHelp => (
            "Webバンキングのログイン画面で「利用開始」（はじめてお使いの場合）または「交換」（機種変更の場合）を選び、このシリアル番号と表示中のワンタイムパスワードを登録してください。",
            "In web banking, choose 「利用開始」 (start, first token) or 「交換」 (exchange, new phone) on the login screen and register this serial number and the one-time password shown.",
        ),
        StateActive => ("利用中", "In use"),
        StateRevoked => (
            "利用中止または交換済みです。このトークンでは取引できません。",
            "Stopped or replaced: this token can no longer be used.",
        ),
        StateExpired => (
            "期限内に登録されなかったため無効です。もう一度トークンを追加してください。",
            "Not registered in time: this token is void. Please add a token again.",
        ),
        ClockFix => (
            "端末の設定で「日付と時刻を自動設定」をオンにしてください。時刻がずれているとワンタイムパスワードが受け付けられません。",
            "Turn on \u{201c}Set date and time automatically\u{201d} in the device settings. With a wrong clock the bank refuses the one-time password.",
        ),
        Details => ("詳細", "Details"),
        Back => ("戻る", "Back"),
        Remove => ("このトークンを削除", "Remove this token"),
        RemoveWarning => (
            "機種変更の場合、新しいトークンの「交換」による登録が完了するまで、古いトークンを削除しないでください。削除すると、このトークンのワンタイムパスワードは二度と表示できません。",
            "When changing phones, do not remove the old token until the new token has been registered with 「交換」. Once removed, this token can never show a one-time password again.",
        ),
        RemoveConfirm => ("削除する", "Remove"),
        Cancel => ("キャンセル", "Cancel"),
        Removed => ("トークンを削除しました", "Token removed"),
        PairTitle => ("トークンの追加", "Add a token"),
        PickBank => ("お取引の金融機関を選んでください", "Choose your bank"),
        OrLink => (
            "または、銀行の「ワンタイムパスワード利用開始」画面のリンク（softtoken://pair…）を貼り付けてください",
            "Or paste the link (softtoken://pair…) from the bank's 「ワンタイムパスワード利用開始」 page",
        ),
        LinkPlaceholder => ("softtoken://pair?…", "softtoken://pair?…"),
        UseLink => ("リンクを使う", "Use link"),
        QrImage => ("QRコードの画像ファイル", "QR code image file"),
        QrImagePlaceholder => ("/path/to/qr.png", "/path/to/qr.png"),
        ReadQr => ("QRコードを読み取る", "Read QR code"),
        QrChooseFile => ("QRコードの画像を選ぶ", "Choose a QR code image"),
        QrPasteImage => ("コピーした画像を読み取る", "Read a copied image"),
        QrDropHint => (
            "QRコードの画像をこの画面にドラッグ＆ドロップするか、コピーした画像を貼り付ける（Ctrl+V）こともできます。",
            "You can also drag and drop a QR code image onto this screen, or copy it and paste it (Ctrl+V).",
        ),
        QrReading => ("画像を読み取っています…", "Reading the image…"),
        ScanStart => ("カメラでQRコードを読み取る", "Scan the QR code with the camera"),
        ScanStarting => ("カメラを起動しています…", "Starting the camera…"),
        ScanHint => (
            "銀行の「ワンタイムパスワード利用開始」画面のQRコードを枠の中に写してください。",
            "Point the camera at the QR code on the bank's 「ワンタイムパスワード利用開始」 page.",
        ),
        ScanStop => ("カメラを止める", "Stop the camera"),
        ScanStopped => ("カメラを止めました。", "The camera is stopped."),
        ScanDenied => (
            "カメラの使用が許可されていません。端末の「設定」でこのアプリのカメラを許可するか、下の方法（金融機関を選ぶ、リンクを貼り付ける）で登録してください。",
            "The app may not use the camera. Allow the camera for this app in the device's Settings, or pair one of the ways below (choose your bank, or paste the link).",
        ),
        ScanNoCamera => (
            "この端末ではカメラを使えません。下の方法（金融機関を選ぶ、リンクを貼り付ける）で登録してください。",
            "No camera can be used on this device. Pair one of the ways below (choose your bank, or paste the link).",
        ),
        ScanFailed => (
            "カメラを起動できませんでした。もう一度試すか、下の方法（金融機関を選ぶ、リンクを貼り付ける）で登録してください。",
            "The camera could not be started. Try again, or pair one of the ways below (choose your bank, or paste the link).",
        ),
        FailQrNotImage => (
            "PNG または JPEG の画像ではありません。",
            "That is not a PNG or JPEG image.",
        ),
        FailQrTooLarge => (
            "画像が大きすぎます。QRコードの部分を切り取った画像をお使いください。",
            "The image is too large. Please use an image cropped to the QR code.",
        ),
        FailQrNotLink => (
            "このQRコードはトークン登録用ではありません。銀行の「ワンタイムパスワード利用開始」画面のQRコードを読み取ってください。",
            "This QR code is not for pairing a token. Please read the QR code on the bank's 「ワンタイムパスワード利用開始」 page.",
        ),
        FailQrNoImage => (
            "クリップボードに画像がありません。",
            "There is no image on the clipboard.",
        ),
        AskPair => (
            "次の金融機関とトークンを登録します。よろしいですか？",
            "Pair a token with this bank?",
        ),
        PairNow => ("登録する", "Pair"),
        Pairing => ("銀行と通信中…", "Talking to the bank…"),
        PairDone => ("トークンを発行しました", "Your token is ready"),
        PairNextFirst => (
            "はじめてお使いの場合: Webバンキングのログイン画面で「利用開始」を選び、契約者ID（利用者番号）とログインパスワードを入力して「次へ」、このシリアル番号と表示中のワンタイムパスワードを入力して登録してください。",
            "First token: on the web-banking login screen choose 「利用開始」, enter your contract ID 「契約者ID（利用者番号）」 and login password, 「次へ」, then enter this serial number and the one-time password shown.",
        ),
        PairNextExchange => (
            "機種変更の場合: ログイン画面で「交換」を選び、古いトークンのワンタイムパスワードを入力した後、「新ソフトウェアトークンに表示されているシリアル番号」とワンタイムパスワードを入力して「登録」してください。登録が完了するまで古いトークンを削除しないでください。",
            "New phone: choose 「交換」 on the login screen, enter the one-time password of the old token, then the serial number and one-time password of this new token 「新ソフトウェアトークンに表示されているシリアル番号」 and press 「登録」. Keep the old token until this is complete.",
        ),
        PairNextDeadline => ("登録の期限", "Register before"),
        ShowToken => ("トークンを表示", "Show token"),
        FailNetwork => (
            "銀行に接続できません。インターネット接続を確認して、もう一度お試しください。",
            "Cannot reach the bank. Check the internet connection and try again.",
        ),
        FailRefused => (
            "銀行がトークンの発行を受け付けませんでした。しばらくしてからもう一度お試しください。",
            "The bank refused to issue a token. Please try again later.",
        ),
        FailSessionExpired => (
            "時間がかかりすぎたため、手続きが無効になりました。もう一度お試しください。",
            "This took too long and the bank cancelled it. Please try again.",
        ),
        FailNotTheBank => (
            "接続先が本物の銀行であることを確認できませんでした。登録を中止しました。",
            "The server could not prove it is your bank. Pairing was stopped.",
        ),
        FailProtocol => (
            "銀行からの応答を理解できませんでした。アプリを最新版に更新してください。",
            "The bank's answer could not be understood. Please update the app.",
        ),
        FailStore => (
            "トークンを端末に保存できませんでした。何も削除していません。",
            "The token could not be saved on this device. Nothing was deleted.",
        ),
        FailLink => (
            "リンクの形式が正しくありません（softtoken://pair?… で始まるリンクが必要です）。",
            "This is not a valid pairing link (it must start with softtoken://pair?…).",
        ),
        FailUnknownBank => (
            "この金融機関はアプリに登録されていないため、信頼できません。",
            "This bank is not in the app's bank list, so it is not trusted.",
        ),
        FailKeyNotPinned => (
            "リンクの鍵がこの金融機関のものと一致しないため、信頼できません。",
            "The link's key is not one this bank is known to use, so it is not trusted.",
        ),
        FailUrlMismatch => (
            "リンクの接続先がこの金融機関の登録済みアドレスと一致しません。",
            "The link's address is not the bank's known address.",
        ),
        FailQr => (
            "画像からQRコードを読み取れませんでした。",
            "No QR code could be read from that image.",
        ),
        TryAgain => ("もう一度試す", "Try again"),
        StoreProblemTitle => ("トークンを読み込めません", "Cannot load your tokens"),
        StoreProblemKeystore => (
            "端末のキーストア（鍵の保管場所）にアクセスできませんでした。端末のロックを解除してから、もう一度お試しください。",
            "The device keystore could not be reached. Unlock the device and try again.",
        ),
        StoreProblemCorrupted => (
            "トークンの一覧ファイルが壊れています。ファイルは別の場所に保管しました。",
            "The token list file is damaged. It was kept aside.",
        ),
        StoreProblemNewer => (
            "トークンの一覧は新しいバージョンのアプリで作成されています。アプリを更新してください。",
            "The token list was written by a newer app version. Please update the app.",
        ),
        StoreProblemMissing => (
            "このトークンの鍵がキーストアにありません。",
            "This token's key is missing from the keystore.",
        ),
        StoreProblemNothingDeleted => (
            "何も削除していません。解決しない場合はお取引の金融機関にお問い合わせください。",
            "Nothing was deleted. If this persists, please contact your bank.",
        ),
        Retry => ("再読み込み", "Reload"),
        NoBanks => ("登録できる金融機関がありません", "No bank available"),
        Dismiss => ("閉じる", "Dismiss"),
        Loading => ("読み込み中…", "Loading…"),
        OfflineOpen => ("取引認証番号（オフライン）", "Transaction code (offline)"),
        OfflineTitle => ("取引認証番号", "Transaction code"),
        OfflineHelp => (
            "アプリが通信できない場合にお使いください。振込先の口座番号（収納サービスの場合は収納機関番号）を、Webバンキングの画面からではなく、お手元の資料（請求書など）から入力してください。",
            "Use this when the app cannot reach the bank. Enter the payee's account number (for a payment, the biller number) from your own papers, such as the invoice, not from the web banking page.",
        ),
        OfflineQuestion => ("口座番号または収納機関番号", "Account number or biller number"),
        OfflineShow => ("取引認証番号を表示", "Show the transaction code"),
        OfflineInvalid => (
            "番号は1〜8桁の数字で入力してください。",
            "Enter a number of 1 to 8 digits.",
        ),
        OfflineCode => ("取引認証番号", "Transaction code"),
        OfflineFailed => (
            "取引認証番号を表示できませんでした。",
            "The transaction code could not be shown.",
        ),
        TxnCheck => ("取引を確認", "Check transactions"),
        TxnTitle => ("取引認証", "Transaction confirmation"),
        TxnAmount => ("金額", "Amount"),
        TxnApprove => ("承認", "Approve"),
        TxnReject => ("拒否", "Reject"),
        TxnRejectAsk => (
            "この取引を拒否しますか？拒否した取引は実行されません。",
            "Reject this transaction? A rejected transaction is not carried out.",
        ),
        TxnRejectConfirm => ("拒否する", "Reject it"),
        TxnApproved => ("取引を承認しました。", "You approved the transaction."),
        TxnRejected => ("取引を拒否しました。", "You rejected the transaction."),
        TxnReturnToWeb => (
            "Webバンキングの画面に戻ってください",
            "Please return to the web banking page",
        ),
        TxnSendFailed => (
            "結果を送信できませんでした。Webバンキングの画面で状況をご確認ください。",
            "The decision could not be sent. Please check the status on the web banking page.",
        ),
        TxnNone => ("確認待ちの取引はありません", "No transaction is waiting"),
        TxnNotSupported => (
            "この金融機関はアプリでの取引認証に対応していません",
            "This bank does not offer transaction confirmation in the app",
        ),
        TxnPollFailed => (
            "取引を確認できませんでした。通信状況をご確認ください。",
            "Could not check for transactions. Please check the connection.",
        ),
        TxnInvalid => (
            "金融機関から受け取った取引を確認できませんでした。承認しないでください。",
            "The transaction received could not be verified as the bank's. Do not approve it.",
        ),
        TxnExpired => (
            "この取引は有効期限が切れました。",
            "This transaction has expired.",
        ),
        TxnLinkUnknown => (
            "リンクのトークンはこのアプリに登録されていないため、取引を確認できません。登録済みのトークンでお手続きください。",
            "The link names a token that is not registered in this app, so no transaction was checked. Please use a registered token.",
        ),
    };
    match lang {
        Lang::Ja => ja,
        Lang::En => en,
    }
}

/// "あと 12 秒" / "12 s left".
pub fn seconds_left(lang: Lang, secs: u64) -> String {
    match lang {
        Lang::Ja => format!("あと {secs} 秒"),
        Lang::En => format!("{secs} s left"),
    }
}

/// What happened to an interrupted pairing, in plain words.
pub fn recovery(lang: Lang, r: &crate::services::Recovery) -> String {
    use crate::services::Recovery as R;
    match (lang, r) {
        (Lang::Ja, R::Completed { serial, bank_name }) => format!(
            "{bank_name} のトークン（シリアル番号 {}）の登録が完了しました。",
            serial.formatted()
        ),
        (Lang::En, R::Completed { serial, bank_name }) => format!(
            "Pairing of the token {} with {bank_name} is now complete.",
            serial.formatted()
        ),
        (Lang::Ja, R::Abandoned { serial, bank_name }) => format!(
            "{bank_name} とのトークン（シリアル番号 {}）の登録は完了していませんでした。このトークンは使えないため取り消しました。もう一度「トークンを追加」から登録してください。",
            serial.formatted()
        ),
        (Lang::En, R::Abandoned { serial, bank_name }) => format!(
            "Pairing the token {} with {bank_name} did not complete, so it was cancelled. Please pair again with \u{201c}Add a token\u{201d}.",
            serial.formatted()
        ),
        (Lang::Ja, R::NotConfirmed { serial, bank_name, .. }) => format!(
            "{bank_name} とのトークン（シリアル番号 {}）の登録はまだ銀行で確認できていません。通信できるようになったら自動で再試行します。",
            serial.formatted()
        ),
        (Lang::En, R::NotConfirmed { serial, bank_name, .. }) => format!(
            "Pairing of the token {} with {bank_name} is not confirmed yet; the app will retry when the bank can be reached.",
            serial.formatted()
        ),
        (Lang::Ja, R::StoreFailed { serial, bank_name, .. }) => format!(
            "{bank_name} とのトークン（シリアル番号 {}）の登録結果をこの端末に保存できませんでした。何も削除していません。後でもう一度試します。",
            serial.formatted()
        ),
        (Lang::En, R::StoreFailed { serial, bank_name, .. }) => format!(
            "The result of pairing the token {} with {bank_name} could not be saved on this device. Nothing was deleted; the app will try again.",
            serial.formatted()
        ),
    }
}

/// The clock warning with the measured difference.
pub fn clock_off(lang: Lang, diff_secs: i64) -> String {
    let n = diff_secs.unsigned_abs();
    match (lang, diff_secs > 0) {
        (Lang::Ja, true) => format!("この端末の時計が銀行の時刻より {n} 秒進んでいます。"),
        (Lang::Ja, false) => format!("この端末の時計が銀行の時刻より {n} 秒遅れています。"),
        (Lang::En, true) => format!("This device's clock is {n} s ahead of the bank's."),
        (Lang::En, false) => format!("This device's clock is {n} s behind the bank's."),
    }
}

/// `unix` in the zone of `lang`'s dates: JST (UTC+9) for Japanese, UTC
/// otherwise; `None` beyond chrono's range (about ±262,000 years).
fn zoned(lang: Lang, unix: u64) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let zone = match lang {
        Lang::Ja => chrono::FixedOffset::east_opt(9 * 3600)?,
        Lang::En => chrono::FixedOffset::east_opt(0)?,
    };
    let t = chrono::DateTime::from_timestamp(i64::try_from(unix).ok()?, 0)?;
    Some(t.with_timezone(&zone))
}

/// What a date out of chrono's range is shown as.
const NO_DATE: &str = "—";

/// A date (UTC+9 for Japanese, UTC otherwise) as `2026年11月25日` / `2026-11-25`.
pub fn date(lang: Lang, unix: u64) -> String {
    let pattern = match lang {
        Lang::Ja => "%Y年%m月%d日",
        Lang::En => "%Y-%m-%d",
    };
    zoned(lang, unix).map_or_else(|| NO_DATE.to_owned(), |t| t.format(pattern).to_string())
}

/// Date and time as `2026年11月25日 10時35分` / `2026-11-25 01:35 UTC`.
pub fn date_time(lang: Lang, unix: u64) -> String {
    let pattern = match lang {
        Lang::Ja => "%Y年%m月%d日 %H時%M分",
        Lang::En => "%Y-%m-%d %H:%M UTC",
    };
    zoned(lang, unix).map_or_else(|| NO_DATE.to_owned(), |t| t.format(pattern).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_picks_language() {
        for ja in [
            "ja",
            "ja_JP.UTF-8",
            "ja-JP",
            "JA_jp",
            "ja-Jpan-JP",
            "ja@x",
            "ja.eucJP",
        ] {
            assert_eq!(Lang::from_locale(Some(ja)), Lang::Ja, "{ja}");
        }
        for en in [
            "en_US.UTF-8",
            "en",
            "de_DE",
            "C",
            "POSIX",
            "C.UTF-8",
            "",
            "jav",
            "jv_ID",
            "zh-Hans-JP",
        ] {
            assert_eq!(Lang::from_locale(Some(en)), Lang::En, "{en}");
        }
        assert_eq!(Lang::from_locale(None), Lang::En);
    }

    #[test]
    fn locale_variables_in_posix_order() {
        fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
            move |v| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == v)
                    .map(|(_, x)| (*x).to_owned())
            }
        }
        let all = [
            ("LC_ALL", "ja_JP.UTF-8"),
            ("LC_MESSAGES", "en_US"),
            ("LANG", "de_DE"),
        ];
        assert_eq!(
            Lang::locale_from_env(env(&all)).as_deref(),
            Some("ja_JP.UTF-8")
        );
        let msgs = [("LC_ALL", ""), ("LC_MESSAGES", "en_US"), ("LANG", "ja_JP")];
        assert_eq!(Lang::locale_from_env(env(&msgs)).as_deref(), Some("en_US"));
        let lang = [("LANG", "ja_JP.UTF-8")];
        assert_eq!(
            Lang::locale_from_env(env(&lang)).as_deref(),
            Some("ja_JP.UTF-8")
        );
        assert_eq!(Lang::locale_from_env(env(&[])), None);
    }

    #[test]
    fn dates() {
        assert_eq!(date(Lang::En, 1_700_000_000), "2023-11-14");
        assert_eq!(date(Lang::Ja, 1_700_000_000), "2023年11月15日");
        assert_eq!(date_time(Lang::En, 1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(
            date_time(Lang::Ja, 1_700_000_000),
            "2023年11月15日 07時13分"
        );
        // A leap day, the JST date line and the epoch.
        assert_eq!(date(Lang::En, 1_709_164_800), "2024-02-29");
        assert_eq!(date(Lang::Ja, 1_709_164_800 - 9 * 3600), "2024年02月29日");
        assert_eq!(
            date(Lang::Ja, 1_709_164_800 - 9 * 3600 - 1),
            "2024年02月28日"
        );
        assert_eq!(date_time(Lang::En, 0), "1970-01-01 00:00 UTC");
        assert_eq!(date(Lang::En, u64::MAX), NO_DATE);
    }

    #[test]
    fn every_message_has_both_languages() {
        for m in [Msg::StateIssuedHelp, Msg::RemoveWarning, Msg::FailNetwork] {
            assert_ne!(tr(Lang::Ja, m), tr(Lang::En, m));
        }
        assert!(tr(Lang::Ja, Msg::StateIssuedHelp).contains("「利用開始」"));
        assert!(tr(Lang::Ja, Msg::StateIssuedHelp).contains("「交換」"));
    }
}
