//! Yen amounts for display: `12,000円` (Japanese) and `¥12,000` (English).

/// Groups the decimal digits of `n` by thousands: `12000` → `12,000`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12,000円`.
pub fn yen_ja(n: u64) -> String {
    format!("{}円", group_thousands(n))
}

/// `¥12,000`.
pub fn yen_en(n: u64) -> String {
    format!("¥{}", group_thousands(n))
}

/// Formats an `amount` field value (plain decimal) in Japanese; `None` if
/// it is not a valid amount (1..=10,000,000, no separators).
pub fn format_ja(value: &str) -> Option<String> {
    super::fields::parse_amount(value).ok().map(yen_ja)
}

/// Formats an `amount` field value in English; `None` if it is not valid.
pub fn format_en(value: &str) -> Option<String> {
    super::fields::parse_amount(value).ok().map(yen_en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping() {
        for (n, want) in [
            (0, "0"),
            (1, "1"),
            (999, "999"),
            (1_000, "1,000"),
            (12_000, "12,000"),
            (123_456, "123,456"),
            (1_234_567, "1,234,567"),
            (10_000_000, "10,000,000"),
        ] {
            assert_eq!(group_thousands(n), want);
        }
        assert_eq!(yen_ja(12_000), "12,000円");
        assert_eq!(yen_en(12_000), "¥12,000");
        assert_eq!(format_ja("12000").as_deref(), Some("12,000円"));
        assert_eq!(format_en("10000000").as_deref(), Some("¥10,000,000"));
        assert_eq!(format_ja("012"), None);
        assert_eq!(format_en("1,000"), None);
    }
}
