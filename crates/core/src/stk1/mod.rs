//! STK1, the pairing protocol between the app and the bank's token service
//! (`shared/spec/stk1.md`; design notes in `docs/protocol.md`).
//!
//! * [`messages`] — the JSON bodies (serde) and the version check;
//! * [`kdf`] — transcript, X25519 + HKDF-SHA256 derivation, confirmations;
//! * [`client`] — the app's side of a pairing;
//! * [`server`] — the token service's side of a pairing;
//! * [`link`] — the `softtoken://pair` link shown as a QR code.

pub mod api_key;
pub mod client;
pub mod kdf;
pub mod link;
pub mod messages;
pub mod server;

use thiserror::Error;

pub use messages::ErrorCode;

/// Protocol version carried as `"v"` in every body.
pub const VERSION: u32 = 1;

/// Errors of an STK1 exchange. Each maps to a wire [`ErrorCode`]; none
/// carries key material, a confirmation value or a code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Stk1Error {
    /// Malformed JSON, a missing field or a badly encoded value.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// `"v"` is not 1.
    #[error("unsupported protocol version")]
    UnsupportedVersion,
    /// The server key id is not one we know.
    #[error("unknown server key id")]
    UnknownKeyId,
    /// Token parameters other than the version-1 ones.
    #[error("unsupported token parameters")]
    UnsupportedParams,
    /// An X25519 result was all zeros (a low-order public key).
    #[error("key agreement was not contributory")]
    NonContributory,
    /// A confirmation value did not match: wrong server key, tampering, or
    /// a different transcript on each side.
    #[error("key confirmation failed")]
    ConfirmFailed,
}

impl Stk1Error {
    /// The wire error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Stk1Error::InvalidRequest(_)
            | Stk1Error::UnsupportedParams
            | Stk1Error::NonContributory => ErrorCode::InvalidRequest,
            Stk1Error::UnsupportedVersion => ErrorCode::UnsupportedVersion,
            Stk1Error::UnknownKeyId => ErrorCode::UnknownKeyId,
            Stk1Error::ConfirmFailed => ErrorCode::ConfirmFailed,
        }
    }
}

impl From<crate::encoding::DecodeError> for Stk1Error {
    fn from(e: crate::encoding::DecodeError) -> Self {
        Stk1Error::InvalidRequest(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::client::ClientHandshake;
    use super::kdf::{SessionKeys, TranscriptInput};
    use super::messages::{Device, Platform};
    use super::server::{respond, ServerEphemeral, ServerKey};
    use super::Stk1Error;
    use crate::encoding::encode;
    use crate::otp::{Generator, Params};
    use crate::serial::Serial;
    use x25519_dalek::{PublicKey, StaticSecret};

    fn seq(start: u8) -> [u8; 32] {
        core::array::from_fn(|i| start + i as u8)
    }
    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The test vector of `shared/spec/stk1.md` ("Test vector").
    struct Stk1Vector {
        a: &'static str,
        s: &'static str,
        b: &'static str,
        transcript: &'static str,
        k_token: &'static str,
        k_conf: &'static str,
        server_confirm: &'static str,
        client_confirm: &'static str,
        totp_at_1700000000: &'static str,
        a_base32: &'static str,
        n_c_base32: &'static str,
    }

    const VECTOR: Stk1Vector = Stk1Vector {
        a: "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c",
        s: "64b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466",
        b: "883186b800b41d5cf0429695da9b3cc4f328ebcd184a6e482fa578c103f06c77",
        transcript: "f3cb96e267af40e6e6fb62c7e53f3e33e3db59b0bbdd94eb6c430cd10a43bf96",
        k_token: "726c4957f09af0142f7f33b057e6d159b4e632ac",
        k_conf: "3730af293f55371027d0137c290b25d5c2046c2b9ed30b8fe28e728b1cb6ccd6",
        server_confirm: "3ac6bd3e3cd13ab89e0df7537f0b05a4449044a2c4f7b9cfb8e10bd020f8d0eb",
        client_confirm: "bfa3eb246655dc410f8bec0d1bd65564015e2592cc1a4f92af64c082854171d3",
        totp_at_1700000000: "227560",
        a_base32: "A6RXZPAUECJ4RN2V3QNRB2DMWQTDOSWRNKUFH3IL37ALFODNDR6A",
        n_c_base32: "AAAQEAYEAUDAOCAJBIFQYDIOB4",
    };
    const N_C: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    const N_S: [u8; 16] = [
        0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
        0xff,
    ];

    fn device() -> Device {
        Device {
            platform: Platform::Test,
            app_version: "test".into(),
        }
    }

    #[test]
    fn stk1_spec_vector_derivation() {
        let e = StaticSecret::from(seq(0x01));
        let s = StaticSecret::from(seq(0x41));
        let b = StaticSecret::from(seq(0x81));
        let (a_pub, s_pub, b_pub) = (
            PublicKey::from(&e),
            PublicKey::from(&s),
            PublicKey::from(&b),
        );
        assert_eq!(a_pub.as_bytes().to_vec(), unhex(VECTOR.a));
        assert_eq!(s_pub.as_bytes().to_vec(), unhex(VECTOR.s));
        assert_eq!(b_pub.as_bytes().to_vec(), unhex(VECTOR.b));
        assert_eq!(encode(a_pub.as_bytes()), VECTOR.a_base32);
        assert_eq!(encode(&N_C), VECTOR.n_c_base32);
        let transcript = TranscriptInput {
            client_eph_pub: a_pub.as_bytes(),
            client_nonce: &N_C,
            server_static_pub: s_pub.as_bytes(),
            server_eph_pub: b_pub.as_bytes(),
            server_nonce: &N_S,
            serial: "K7M3Q9XZ2PD0",
            params: &Params::STK1.canonical_string(),
        }
        .hash();
        assert_eq!(transcript.to_vec(), unhex(VECTOR.transcript));
        let dh1 = e.diffie_hellman(&s_pub);
        let dh2 = e.diffie_hellman(&b_pub);
        let keys = SessionKeys::derive(dh1.as_bytes(), dh2.as_bytes(), &N_C, &N_S, transcript);
        assert_eq!(keys.server_confirm().to_vec(), unhex(VECTOR.server_confirm));
        assert_eq!(keys.client_confirm().to_vec(), unhex(VECTOR.client_confirm));
        let k_conf_check = {
            use hmac::{Hmac, Mac};
            let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&unhex(VECTOR.k_conf)).unwrap();
            m.update(b"STK1 server confirm");
            m.update(&transcript);
            m.finalize().into_bytes().to_vec()
        };
        assert_eq!(
            k_conf_check,
            unhex(VECTOR.server_confirm),
            "K_CONF of the vector"
        );
        let token = keys.into_token_key();
        assert_eq!(token.expose().to_vec(), unhex(VECTOR.k_token));
        let g = Generator::new(&token, Params::STK1).unwrap();
        assert_eq!(
            g.totp(1_700_000_000).unwrap().as_str(),
            VECTOR.totp_at_1700000000
        );
    }

    #[test]
    fn stk1_spec_vector_through_both_handshakes() {
        let server = ServerKey::from_secret_bytes("k1", seq(0x41));
        let (client, init) = ClientHandshake::from_parts(
            StaticSecret::from(seq(0x01)),
            N_C,
            "k1",
            &server.public_bytes(),
            device(),
        );
        assert_eq!(init.client_eph_pub, VECTOR.a_base32);
        let serial = Serial::parse_strict("K7M3Q9XZ2PD0").unwrap();
        let eph = ServerEphemeral::from_parts(seq(0x81), N_S, [7; 16]);
        let (resp, pending) = respond(&server, &init, eph, serial, 1_700_000_000, 300).unwrap();
        assert_eq!(resp.server_confirm, encode(&unhex(VECTOR.server_confirm)));
        let paired = client.finish(&resp).unwrap();
        assert_eq!(paired.secret, pending.token_key);
        assert_eq!(paired.secret.expose().to_vec(), unhex(VECTOR.k_token));
        assert_eq!(
            paired.finish_request.client_confirm,
            encode(&unhex(VECTOR.client_confirm))
        );
        pending.check_finish(&paired.finish_request).unwrap();
    }

    #[test]
    fn random_pairing_agrees_and_tampering_fails() {
        let mut rng = rand_core::OsRng;
        let server = ServerKey::generate("k1", &mut rng);
        let serial = Serial::generate(&mut rng);
        let (client, init) =
            ClientHandshake::start(&mut rng, "k1", &server.public_bytes(), device());
        let (resp, pending) = respond(
            &server,
            &init,
            ServerEphemeral::generate(&mut rng),
            serial,
            1,
            300,
        )
        .unwrap();

        // A tampered serial changes the transcript: the client refuses.
        let mut bad = resp.clone();
        bad.serial = Serial::generate(&mut rng);
        let (c2, _) = ClientHandshake::from_parts(
            StaticSecret::from([9; 32]),
            N_C,
            "k1",
            &server.public_bytes(),
            device(),
        );
        assert_eq!(c2.finish(&bad).unwrap_err(), Stk1Error::ConfirmFailed);

        let paired = client.finish(&resp).unwrap();
        assert_eq!(paired.secret, pending.token_key);
        let mut finish = paired.finish_request.clone();
        pending.check_finish(&finish).unwrap();
        finish.client_confirm = encode(&[0u8; 32]);
        assert_eq!(
            pending.check_finish(&finish).unwrap_err(),
            Stk1Error::ConfirmFailed
        );
    }

    #[test]
    fn wrong_server_key_is_detected_by_client() {
        let mut rng = rand_core::OsRng;
        let real = ServerKey::generate("k1", &mut rng);
        let fake = ServerKey::generate("k1", &mut rng);
        let (client, init) = ClientHandshake::start(&mut rng, "k1", &real.public_bytes(), device());
        let (resp, _) = respond(
            &fake,
            &init,
            ServerEphemeral::generate(&mut rng),
            Serial::generate(&mut rng),
            1,
            300,
        )
        .unwrap();
        assert_eq!(client.finish(&resp).unwrap_err(), Stk1Error::ConfirmFailed);
    }

    #[test]
    fn low_order_and_bad_encodings_are_refused() {
        let mut rng = rand_core::OsRng;
        let server = ServerKey::generate("k1", &mut rng);
        let (_, mut init) =
            ClientHandshake::start(&mut rng, "k1", &server.public_bytes(), device());
        let ok = init.clone();
        init.client_eph_pub = encode(&[0u8; 32]);
        let r = respond(
            &server,
            &init,
            ServerEphemeral::generate(&mut rng),
            Serial::generate(&mut rng),
            1,
            300,
        );
        assert_eq!(r.unwrap_err(), Stk1Error::NonContributory);
        let mut init = ok.clone();
        init.client_eph_pub = init.client_eph_pub.to_lowercase();
        let r = respond(
            &server,
            &init,
            ServerEphemeral::generate(&mut rng),
            Serial::generate(&mut rng),
            1,
            300,
        );
        assert!(matches!(r.unwrap_err(), Stk1Error::InvalidRequest(_)));
        let mut init = ok;
        init.server_key_id = "k2".into();
        let r = respond(
            &server,
            &init,
            ServerEphemeral::generate(&mut rng),
            Serial::generate(&mut rng),
            1,
            300,
        );
        assert_eq!(r.unwrap_err(), Stk1Error::UnknownKeyId);
    }

    #[test]
    fn client_refuses_other_params() {
        let mut rng = rand_core::OsRng;
        let server = ServerKey::generate("k1", &mut rng);
        let (client, init) =
            ClientHandshake::start(&mut rng, "k1", &server.public_bytes(), device());
        let (mut resp, _) = respond(
            &server,
            &init,
            ServerEphemeral::generate(&mut rng),
            Serial::generate(&mut rng),
            1,
            300,
        )
        .unwrap();
        resp.params.digits = 8;
        assert_eq!(
            client.finish(&resp).unwrap_err(),
            Stk1Error::UnsupportedParams
        );
    }
}
