//! Time as web banking shows it: 受付時刻 in Japan time, e.g.
//! `2026年11月25日 10時35分25秒`. With the test clock the request's
//! `X-Test-Time` is "now" for displayed times and for the token service.

use chrono::{DateTime, FixedOffset};

use super::i18n::Lang;

/// Real Unix time in seconds.
pub fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Parses an `X-Test-Time` header value (Unix seconds).
pub fn parse_test_time(text: &str) -> Option<i64> {
    let t: i64 = text.trim().parse().ok()?;
    (0..=253_402_300_799).contains(&t).then_some(t)
}

/// 受付時刻 text (JST, UTC+9).
pub fn format(unix: i64, l: Lang) -> String {
    let t: DateTime<FixedOffset> = match (
        FixedOffset::east_opt(9 * 3600),
        DateTime::from_timestamp(unix, 0),
    ) {
        (Some(jst), Some(t)) => t.with_timezone(&jst),
        _ => return unix.to_string(),
    };
    match l {
        Lang::Ja => t.format("%Y年%m月%d日 %H時%M分%S秒").to_string(),
        Lang::En => t.format("%Y-%m-%d %H:%M:%S JST").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_guide() {
        // 2026-11-25 01:35:25 UTC = 10:35:25 JST.
        let t = 1_795_570_525;
        assert_eq!(format(t, Lang::Ja), "2026年11月25日 10時35分25秒");
        assert_eq!(format(t, Lang::En), "2026-11-25 10:35:25 JST");
        assert_eq!(parse_test_time(" 1700000000 "), Some(1_700_000_000));
        assert_eq!(parse_test_time("-5"), None);
        assert_eq!(parse_test_time("abc"), None);
    }
}
