//! The stylesheet follows the system text size and has a light and a dark
//! theme whose every text/background pair reaches WCAG 2.x contrast 4.5:1.
use softtoken::ui::app::CSS;
use softtoken::ui::widgets::COUNTDOWN_CSS;
use std::collections::HashMap;

/// Text colour on background colour, as custom properties: every pair the
/// stylesheet puts text on (the bar and primary buttons, cards, the code,
/// states, warnings, errors with their detail line, inputs and dialogs).
const PAIRS: &[(&str, &str)] = &[
    ("fg", "bg"),
    ("fg", "card"),
    ("fg", "state-bg"),
    ("fg", "errbg"),
    ("muted", "bg"),
    ("muted", "card"),
    ("muted", "errbg"),
    ("muted", "state-bg"),
    ("accent", "card"),
    ("accent", "bg"),
    ("on-accent", "accent"),
    ("code-fg", "code-bg"),
    ("ok", "card"),
    ("warn", "warnbg"),
    ("err", "errbg"),
    ("err", "card"),
];

/// The custom properties of the first `:root { … }` block of `css`.
fn properties(css: &str) -> HashMap<String, String> {
    let start = css.find(":root").expect(":root") + ":root".len();
    let body = &css[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
    body.split(';')
        .filter_map(|d| d.trim().strip_prefix("--")?.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn light() -> HashMap<String, String> {
    properties(CSS)
}

fn dark() -> HashMap<String, String> {
    let at = CSS
        .find("@media (prefers-color-scheme: dark)")
        .expect("a dark theme");
    properties(&CSS[at..])
}

/// `#rrggbb` → sRGB channels in 0..=1.
fn rgb(hex: &str) -> [f64; 3] {
    let h = hex.strip_prefix('#').expect("a #rrggbb colour");
    assert_eq!(h.len(), 6, "{hex}");
    let c = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).unwrap() as f64 / 255.0;
    [c(0), c(2), c(4)]
}

/// WCAG 2.x relative luminance.
fn luminance(hex: &str) -> f64 {
    let lin = |c: f64| {
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let [r, g, b] = rgb(hex).map(lin);
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

/// WCAG 2.x contrast ratio (1..=21).
fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn the_contrast_formula_matches_known_values() {
    assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
    assert!((contrast("#777777", "#777777") - 1.0).abs() < 1e-9);
    // #767676 on white is the classic 4.54:1; #777777 just fails.
    assert!(contrast("#767676", "#ffffff") >= 4.5);
    assert!(contrast("#777777", "#ffffff") < 4.5);
}

#[test]
fn every_text_colour_has_contrast_4_5_in_both_themes() {
    for (theme, vars) in [("light", light()), ("dark", dark())] {
        for (fg, bg) in PAIRS {
            let (f, b) = (&vars[*fg], &vars[*bg]);
            let c = contrast(f, b);
            assert!(c >= 4.5, "{theme}: --{fg} {f} on --{bg} {b} is {c:.2}:1");
        }
    }
}

#[test]
fn the_dark_theme_sets_every_colour_of_the_light_one() {
    let (l, d) = (light(), dark());
    let mut missing: Vec<_> = l.keys().filter(|k| !d.contains_key(*k)).collect();
    missing.sort();
    assert!(missing.is_empty(), "not set in the dark theme: {missing:?}");
    assert!(d.iter().any(|(k, v)| l[k] != *v), "dark equals light");
}

#[test]
fn text_and_background_colours_come_from_the_checked_properties() {
    // A literal colour in a rule would escape the contrast check: outside
    // the property blocks, `color` and `background` only use `var(--…)`
    // of a checked pair (or `transparent`/`none`).
    let checked: Vec<&str> = PAIRS.iter().flat_map(|(f, b)| [*f, *b]).collect();
    let rules = CSS.split("}").filter(|r| !r.contains(":root"));
    for rule in rules {
        for decl in rule.split(['{', ';']) {
            let Some((prop, value)) = decl.split_once(':') else {
                continue;
            };
            let prop = prop.trim();
            if prop != "color" && prop != "background" && prop != "background-color" {
                continue;
            }
            let value = value.trim();
            if value == "transparent" || value == "none" {
                continue;
            }
            let var = value
                .strip_prefix("var(--")
                .and_then(|v| v.strip_suffix(')'))
                .unwrap_or_else(|| panic!("literal colour {prop}:{value} in {rule}"));
            // The dialog's shade is behind cards, never behind text.
            if var != "shade" {
                assert!(checked.contains(&var), "{prop}:{value} not checked");
            }
        }
    }
}

#[test]
fn font_sizes_follow_the_system_text_size() {
    for css in [CSS, COUNTDOWN_CSS] {
        for (at, _) in css.match_indices("font-size:") {
            let value: String = css[at + "font-size:".len()..]
                .chars()
                .take_while(|c| *c != ';' && *c != '}')
                .collect();
            let value = value.trim();
            assert!(
                value.ends_with("rem") || value.ends_with("em") || value.ends_with('%'),
                "font-size {value} is not relative"
            );
        }
        assert!(!css.contains("height: 48px") && !css.contains("height:48px"));
    }
    // The page may be zoomed and follows the system's text scale.
    assert!(CSS.contains("text-size-adjust: 100%"));
}
