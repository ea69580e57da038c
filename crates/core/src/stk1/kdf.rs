//! STK1 key derivation: transcript, X25519 + HKDF-SHA256, confirmations.
//!
//! ```text
//! transcript = SHA-256("STK1" ‖ lp(A) ‖ lp(N_C) ‖ lp(S) ‖ lp(B) ‖ lp(N_S) ‖ lp(serial) ‖ lp(params))
//! okm        = HKDF-SHA256(salt = N_C ‖ N_S, ikm = DH1 ‖ DH2,
//!                          info = "STK1 key derivation" ‖ transcript, L = 52)
//! K_TOKEN    = okm[0..20], K_CONF = okm[20..52]
//! ```

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::Stk1Error;
use crate::secret::Secret;

/// Length of `K_TOKEN` (the TOTP secret).
pub const TOKEN_KEY_LEN: usize = 20;
/// Length of the client and server nonces.
pub const NONCE_LEN: usize = 16;

/// The public values hashed into the transcript.
#[derive(Debug, Clone, Copy)]
pub struct TranscriptInput<'a> {
    /// App ephemeral public key `A`.
    pub client_eph_pub: &'a [u8; 32],
    /// Client nonce `N_C`.
    pub client_nonce: &'a [u8; NONCE_LEN],
    /// Server static public key `S`.
    pub server_static_pub: &'a [u8; 32],
    /// Server ephemeral public key `B`.
    pub server_eph_pub: &'a [u8; 32],
    /// Server nonce `N_S`.
    pub server_nonce: &'a [u8; NONCE_LEN],
    /// Serial, compact form.
    pub serial: &'a str,
    /// Canonical parameter string.
    pub params: &'a str,
}

fn lp(h: &mut Sha256, x: &[u8]) {
    // Every field here is far below 64 KiB; longer input would be a bug.
    let len = u16::try_from(x.len()).unwrap_or(u16::MAX);
    h.update(len.to_be_bytes());
    h.update(x);
}

impl TranscriptInput<'_> {
    /// `SHA-256("STK1" ‖ lp(A) ‖ lp(N_C) ‖ lp(S) ‖ lp(B) ‖ lp(N_S) ‖ lp(serial) ‖ lp(params))`.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"STK1");
        lp(&mut h, self.client_eph_pub);
        lp(&mut h, self.client_nonce);
        lp(&mut h, self.server_static_pub);
        lp(&mut h, self.server_eph_pub);
        lp(&mut h, self.server_nonce);
        lp(&mut h, self.serial.as_bytes());
        lp(&mut h, self.params.as_bytes());
        h.finalize().into()
    }
}

/// The keys of one pairing. `K_CONF` is zeroised when this is dropped;
/// `K_TOKEN` is handed out as a [`Secret`].
pub struct SessionKeys {
    token: Secret,
    conf: Zeroizing<[u8; 32]>,
    transcript: [u8; 32],
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKeys([redacted])")
    }
}

/// Checks an X25519 result and returns its bytes.
pub(crate) fn contributory(
    shared: x25519_dalek::SharedSecret,
) -> Result<Zeroizing<[u8; 32]>, Stk1Error> {
    if !shared.was_contributory() {
        return Err(Stk1Error::NonContributory);
    }
    Ok(Zeroizing::new(*shared.as_bytes()))
}

impl SessionKeys {
    /// HKDF-SHA256 over `DH1 ‖ DH2` (both already checked as contributory).
    pub fn derive(
        dh1: &[u8; 32],
        dh2: &[u8; 32],
        client_nonce: &[u8; NONCE_LEN],
        server_nonce: &[u8; NONCE_LEN],
        transcript: [u8; 32],
    ) -> SessionKeys {
        let mut ikm = Zeroizing::new([0u8; 64]);
        ikm[..32].copy_from_slice(dh1);
        ikm[32..].copy_from_slice(dh2);
        let mut salt = [0u8; 2 * NONCE_LEN];
        salt[..NONCE_LEN].copy_from_slice(client_nonce);
        salt[NONCE_LEN..].copy_from_slice(server_nonce);
        let mut info = Vec::with_capacity(19 + 32);
        info.extend_from_slice(b"STK1 key derivation");
        info.extend_from_slice(&transcript);
        let hk = hkdf::Hkdf::<Sha256>::new(Some(&salt), &ikm[..]);
        let mut okm = Zeroizing::new([0u8; 52]);
        // 52 bytes is far below HKDF-SHA256's 8160-byte limit.
        if hk.expand(&info, &mut okm[..]).is_err() {
            okm.zeroize();
        }
        let token = Secret::from_slice(&okm[..TOKEN_KEY_LEN]);
        let mut conf = Zeroizing::new([0u8; 32]);
        conf.copy_from_slice(&okm[TOKEN_KEY_LEN..]);
        SessionKeys {
            token,
            conf,
            transcript,
        }
    }

    fn confirm(&self, label: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length; 32 bytes cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.conf[..])
            .unwrap_or_else(|_| unreachable!());
        mac.update(label);
        mac.update(&self.transcript);
        mac.finalize().into_bytes().into()
    }

    /// `HMAC-SHA256(K_CONF, "STK1 server confirm" ‖ transcript)`.
    pub fn server_confirm(&self) -> [u8; 32] {
        self.confirm(b"STK1 server confirm")
    }

    /// `HMAC-SHA256(K_CONF, "STK1 client confirm" ‖ transcript)`.
    pub fn client_confirm(&self) -> [u8; 32] {
        self.confirm(b"STK1 client confirm")
    }

    /// Constant-time check of a received server confirmation.
    pub fn check_server_confirm(&self, got: &[u8]) -> Result<(), Stk1Error> {
        ct_check(&self.server_confirm(), got)
    }

    /// Constant-time check of a received client confirmation.
    pub fn check_client_confirm(&self, got: &[u8]) -> Result<(), Stk1Error> {
        ct_check(&self.client_confirm(), got)
    }

    /// The transcript hash these keys are bound to.
    pub fn transcript(&self) -> &[u8; 32] {
        &self.transcript
    }

    /// `K_TOKEN`, the TOTP secret; consumes the keys so `K_CONF` is wiped.
    pub fn into_token_key(self) -> Secret {
        self.token.clone()
    }
}

pub(crate) fn ct_check(expected: &[u8; 32], got: &[u8]) -> Result<(), Stk1Error> {
    if bool::from(expected[..].ct_eq(got)) {
        Ok(())
    } else {
        Err(Stk1Error::ConfirmFailed)
    }
}
