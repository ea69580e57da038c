//! Web banking's session cookie: the `Cookie` header parser never panics;
//! a parsed anonymous cookie opens only under the key that signed it and
//! only with the fields it was signed with; a signed value parses back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_webbank::i18n::Lang;
use softtoken_webbank::session::{self, CookieKey, CookieValue};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let key = CookieKey::from_bytes([0x42; 32]);
    match session::parse_cookie_header(text) {
        Some(CookieValue::Stored(id)) => {
            assert_eq!(id.len(), 64);
            assert_eq!(session::id_from_cookie_header(text), Some(id));
        }
        Some(CookieValue::Anonymous(c)) => {
            assert_eq!(c.mac.len(), 32);
            if let Some((csrf, lang)) = key.open(&c, 0) {
                // Only a value this key signed opens (a forgery would be a bug).
                assert_eq!(key.sign(&csrf, c.expires, lang).rsplit_once('.').map(|x| x.1.len()), Some(64));
                assert_eq!(csrf, c.csrf);
            }
            assert!(key.open(&c, c.expires).is_none(), "expired at its expiry");
        }
        None => assert!(session::id_from_cookie_header(text).is_none()),
    }
    // Round trip of a value built from the input's first bytes.
    let csrf: String = data.iter().take(32).map(|b| format!("{b:02x}")).collect();
    if csrf.len() == 64 {
        let expires = i64::from(u32::from_le_bytes([data[0], data[1], data[2], data[3]])) + 1;
        let v = key.sign(&csrf, expires, Lang::En);
        let Some(CookieValue::Anonymous(c)) = session::parse_cookie_value(&v) else {
            panic!("a signed value must parse");
        };
        assert_eq!(key.open(&c, expires - 1), Some((csrf, Lang::En)));
        assert!(CookieKey::from_bytes([0x43; 32]).open(&c, 0).is_none());
    }
});
