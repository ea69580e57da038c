//! Sealing of secrets at rest with the key-encryption key (KEK).
//!
//! ChaCha20-Poly1305 with a random 96-bit nonce per sealing; the stored
//! blob is `"S1" ‖ nonce ‖ ciphertext ‖ tag`. The associated data binds a
//! blob to its row (`"token:" ‖ serial`, `"session:" ‖ session id`), so a
//! blob copied to another row does not open. Opened plaintext is returned
//! in a zeroising buffer.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

const MAGIC: &[u8; 2] = b"S1";
const NONCE_LEN: usize = 12;

/// A blob could not be opened: wrong KEK, wrong row, or corruption.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealed secret could not be opened (wrong key-encryption key or corrupted row)")]
pub struct SealError;

/// The KEK as an AEAD instance.
pub struct Sealer {
    aead: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// From the 32-byte KEK.
    pub fn new(kek: &[u8; 32]) -> Sealer {
        Sealer {
            aead: ChaCha20Poly1305::new(Key::from_slice(kek)),
        }
    }

    /// Seals `plain` for the row named by `aad`.
    pub fn seal(&self, plain: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and in-memory buffers cannot fail.
        let ct = self
            .aead
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .unwrap_or_default();
        let mut out = Vec::with_capacity(2 + NONCE_LEN + ct.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens a blob sealed for `aad`.
    pub fn open(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if blob.len() < 2 + NONCE_LEN + 16 || &blob[..2] != MAGIC {
            return Err(SealError);
        }
        let (nonce, ct) = blob[2..].split_at(NONCE_LEN);
        self.aead
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| SealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let s = Sealer::new(&[7; 32]);
        let blob = s.seal(b"12345678901234567890", b"token:A");
        assert!(!blob
            .windows(20)
            .any(|w| w == b"12345678901234567890".as_slice()));
        assert_eq!(
            s.open(&blob, b"token:A").unwrap().as_slice(),
            b"12345678901234567890"
        );
        assert_eq!(s.open(&blob, b"token:B"), Err(SealError));
        assert_eq!(
            Sealer::new(&[8; 32]).open(&blob, b"token:A"),
            Err(SealError)
        );
        let mut bad = blob.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(s.open(&bad, b"token:A"), Err(SealError));
        assert_eq!(s.open(b"S1", b"token:A"), Err(SealError));
        assert_ne!(blob, s.seal(b"12345678901234567890", b"token:A"));
    }
}
