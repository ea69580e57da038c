//! The token service's side of an STK1 pairing.
//!
//! [`respond`] answers an init request: it checks the request, draws `b`
//! and `N_S`, derives the keys and returns the response together with a
//! [`PendingSession`] that the server stores (the token key sealed) until
//! `finish` arrives. [`PendingSession::check_finish`] verifies the client's
//! confirmation in constant time.

use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey, StaticSecret};

use super::kdf::{contributory, ct_check, SessionKeys, TranscriptInput, NONCE_LEN};
use super::messages::{FinishRequest, InitRequest, InitResponse, WireParams};
use super::{Stk1Error, VERSION};
use crate::encoding::{decode_array, encode};
use crate::otp::Params;
use crate::secret::Secret;
use crate::serial::Serial;

/// The server's static X25519 key pair, named by its key id.
pub struct ServerKey {
    id: String,
    secret: StaticSecret,
    public: PublicKey,
}

impl core::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerKey")
            .field("id", &self.id)
            .field("public", &encode(self.public.as_bytes()))
            .finish()
    }
}

impl ServerKey {
    /// A key pair from its 32 secret bytes (read from the server's key file).
    pub fn from_secret_bytes(id: impl Into<String>, bytes: [u8; 32]) -> ServerKey {
        let secret = StaticSecret::from(bytes);
        let public = PublicKey::from(&secret);
        ServerKey {
            id: id.into(),
            secret,
            public,
        }
    }

    /// A fresh key pair.
    pub fn generate(id: impl Into<String>, rng: &mut impl CryptoRngCore) -> ServerKey {
        let secret = StaticSecret::random_from_rng(&mut *rng);
        let public = PublicKey::from(&secret);
        ServerKey {
            id: id.into(),
            secret,
            public,
        }
    }

    /// The secret bytes, for writing the key file (mode 0600) only.
    pub fn secret_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.secret.to_bytes())
    }

    /// Key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Public key `S`.
    pub fn public_bytes(&self) -> [u8; 32] {
        *self.public.as_bytes()
    }
}

/// What the server keeps between init and finish.
pub struct PendingSession {
    /// Session id (16 bytes).
    pub session_id: [u8; 16],
    /// Serial of the token being issued.
    pub serial: Serial,
    /// `K_TOKEN` (store sealed).
    pub token_key: Secret,
    /// The expected `client_confirm` (not secret once the pairing is done,
    /// but store it sealed too).
    pub client_confirm: [u8; 32],
}

impl core::fmt::Debug for PendingSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PendingSession")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

impl PendingSession {
    /// Checks a finish request against this session: same serial, and the
    /// client's confirmation equal in constant time.
    pub fn check_finish(&self, req: &FinishRequest) -> Result<(), Stk1Error> {
        if req.v != VERSION {
            return Err(Stk1Error::UnsupportedVersion);
        }
        let got: [u8; 32] = decode_array(&req.client_confirm)?;
        if req.serial != self.serial {
            return Err(Stk1Error::ConfirmFailed);
        }
        ct_check(&self.client_confirm, &got)
    }
}

/// Fresh per-session values drawn by the server.
pub struct ServerEphemeral {
    secret: StaticSecret,
    nonce: [u8; NONCE_LEN],
    session_id: [u8; 16],
}

impl ServerEphemeral {
    /// Draws `b`, `N_S` and a session id from `rng`.
    pub fn generate(rng: &mut impl CryptoRngCore) -> ServerEphemeral {
        let secret = StaticSecret::random_from_rng(&mut *rng);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let mut session_id = [0u8; 16];
        rng.fill_bytes(&mut session_id);
        ServerEphemeral {
            secret,
            nonce,
            session_id,
        }
    }

    /// Fixed values (test vectors only).
    pub fn from_parts(
        secret: [u8; 32],
        nonce: [u8; NONCE_LEN],
        session_id: [u8; 16],
    ) -> ServerEphemeral {
        ServerEphemeral {
            secret: StaticSecret::from(secret),
            nonce,
            session_id,
        }
    }
}

/// Answers an init request. `key` must be the key named by
/// `req.server_key_id` (the caller looks it up and answers
/// `unknown_key_id` otherwise); `serial` is a fresh serial unique at this
/// server; `now` is the server's clock; `expires_in` the session lifetime.
pub fn respond(
    key: &ServerKey,
    req: &InitRequest,
    eph: ServerEphemeral,
    serial: Serial,
    now: u64,
    expires_in: u64,
) -> Result<(InitResponse, PendingSession), Stk1Error> {
    if req.v != VERSION {
        return Err(Stk1Error::UnsupportedVersion);
    }
    if req.server_key_id != key.id {
        return Err(Stk1Error::UnknownKeyId);
    }
    let client_pub = PublicKey::from(decode_array::<32>(&req.client_eph_pub)?);
    let client_nonce: [u8; NONCE_LEN] = decode_array(&req.client_nonce)?;
    let server_eph_pub = PublicKey::from(&eph.secret);
    let params = Params::STK1;

    let dh1 = contributory(key.secret.diffie_hellman(&client_pub))?;
    let dh2 = contributory(eph.secret.diffie_hellman(&client_pub))?;
    let transcript = TranscriptInput {
        client_eph_pub: client_pub.as_bytes(),
        client_nonce: &client_nonce,
        server_static_pub: key.public.as_bytes(),
        server_eph_pub: server_eph_pub.as_bytes(),
        server_nonce: &eph.nonce,
        serial: serial.as_str(),
        params: &params.canonical_string(),
    }
    .hash();
    let keys = SessionKeys::derive(&dh1, &dh2, &client_nonce, &eph.nonce, transcript);
    let response = InitResponse {
        v: VERSION,
        session_id: encode(&eph.session_id),
        serial: serial.clone(),
        server_eph_pub: encode(server_eph_pub.as_bytes()),
        server_nonce: encode(&eph.nonce),
        params: WireParams::from(params),
        server_time: now,
        expires_in,
        server_confirm: encode(&keys.server_confirm()),
    };
    let pending = PendingSession {
        session_id: eph.session_id,
        serial,
        client_confirm: keys.client_confirm(),
        token_key: keys.into_token_key(),
    };
    Ok((response, pending))
}
