//! Web banking's form decoders (login, 振込, 利用開始): never panic; a body
//! without the right anti-forgery token is refused before its fields are
//! decoded; accepted fields go through the same checks the pages apply.
#![no_main]
use libfuzzer_sys::fuzz_target;
use softtoken_webbank::credentials::normalise_contract_id;
use softtoken_webbank::forms::{self, AuthForm, SerialForm};
use softtoken_webbank::i18n::Lang;
use softtoken_webbank::pages::transaction::{Payment, Transaction, Transfer};
use softtoken_webbank::request::{decode_csrf_form, FormRefusal};

const CSRF: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fuzz_target!(|data: &[u8]| {
    // The input as a body, and the same body with the right token in front.
    let mut with_token = format!("csrf={CSRF}&").into_bytes();
    with_token.extend_from_slice(data);
    for body in [data, &with_token[..]] {
        let has_token = body.windows(CSRF.len()).any(|w| w == CSRF.as_bytes());
        match decode_csrf_form::<AuthForm>(CSRF, body) {
            Ok(f) => {
                assert!(has_token, "accepted without the token");
                if let Some(id) = normalise_contract_id(&f.contract_id) {
                    assert!(!id.is_empty() && id.len() <= 16 && id.bytes().all(|b| b.is_ascii_digit()));
                }
            }
            Err(_) => {}
        }
        if let Ok(f) = decode_csrf_form::<Transfer>(CSRF, body) {
            assert!(has_token);
            let _ = f.validate(Lang::Ja);
            let _ = f.validate(Lang::En);
        }
        if let Ok(f) = decode_csrf_form::<Payment>(CSRF, body) {
            let _ = f.validate(Lang::Ja);
        }
        if let Ok(f) = decode_csrf_form::<SerialForm>(CSRF, body) {
            assert!(has_token);
            let _ = forms::parse_serial(&f.serial, Lang::Ja);
            let _ = forms::parse_code(&f.otp, Lang::Ja);
        }
    }
    assert_eq!(
        decode_csrf_form::<AuthForm>("", data).err(),
        Some(FormRefusal::Forgery),
        "an empty expected token never matches"
    );
});
