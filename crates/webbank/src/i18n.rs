//! The page language: Japanese (the guide's labels) by default, English on request.

use serde::{Deserialize, Serialize};

/// A page language. Every label is written in both languages at its use
/// site with [`Lang::t`], so the Japanese text stays next to the guide's
/// wording and no key table can drift from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    /// Japanese, the guide's original labels (default).
    #[default]
    Ja,
    /// English.
    En,
}

impl Lang {
    /// Parses a `?lang=` value: `ja` or `en` (case-insensitive); anything
    /// else is `None` (ignored, the current language stays).
    pub fn parse(text: &str) -> Option<Lang> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ja" | "jp" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Chooses the text for this language.
    pub fn t<'a>(self, ja: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }

    /// The `lang` attribute of the page.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The other language (for the toggle link).
    pub fn other(self) -> Lang {
        match self {
            Lang::Ja => Lang::En,
            Lang::En => Lang::Ja,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_choose() {
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse(" ja "), Some(Lang::Ja));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::default(), Lang::Ja);
        assert_eq!(Lang::Ja.t("交換", "Exchange"), "交換");
        assert_eq!(Lang::En.t("交換", "Exchange"), "Exchange");
        assert_eq!(Lang::En.other(), Lang::Ja);
    }
}
