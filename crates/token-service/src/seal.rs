//! Sealing of secrets at rest with the key-encryption key (KEK).
//!
//! ChaCha20-Poly1305 with a random 96-bit nonce per sealing. A blob is
//! `"S2" ‖ key id (8 bytes) ‖ nonce ‖ ciphertext ‖ tag`; the key id is the
//! first 8 bytes of SHA-256(`"softtoken kek id\0"` ‖ KEK), so a blob names
//! the KEK that opens it without revealing anything about it. The
//! associated data is `"S2" ‖ key id ‖ row`, where the row is
//! `"token:" ‖ serial` or `"session:" ‖ session id`: a blob copied to
//! another row, or with its key id changed, does not open.
//!
//! Blobs of the first format, `"S1" ‖ nonce ‖ ciphertext ‖ tag` (no key id,
//! associated data = the row), still open with any KEK the [`Sealer`]
//! holds; `softtoken-bank rekey` re-seals them. Opened plaintext is
//! returned in a zeroising buffer.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const MAGIC_V1: &[u8; 2] = b"S1";
const MAGIC_V2: &[u8; 2] = b"S2";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Length of a key id.
pub const KEY_ID_LEN: usize = 8;

/// A blob could not be opened: wrong KEK, wrong row, or corruption.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealed secret could not be opened (wrong key-encryption key or corrupted row)")]
pub struct SealError;

/// The public id of a KEK (not secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl KeyId {
    /// The id of `kek`.
    pub fn of(kek: &[u8; 32]) -> KeyId {
        let mut h = Sha256::new();
        h.update(b"softtoken kek id\0");
        h.update(kek);
        let d = h.finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&d[..KEY_ID_LEN]);
        KeyId(id)
    }

    /// The first bytes of every blob sealed under this key (`"S2" ‖ id`).
    pub fn blob_prefix(&self) -> Vec<u8> {
        let mut p = MAGIC_V2.to_vec();
        p.extend_from_slice(&self.0);
        p
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

struct Kek {
    id: KeyId,
    aead: ChaCha20Poly1305,
}

impl Kek {
    fn new(kek: &[u8; 32]) -> Kek {
        Kek {
            id: KeyId::of(kek),
            aead: ChaCha20Poly1305::new(Key::from_slice(kek)),
        }
    }
}

/// The current KEK (used to seal) and older ones (only to open).
pub struct Sealer {
    current: Kek,
    older: Vec<Kek>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

fn aad_v2(id: &KeyId, row: &[u8]) -> Vec<u8> {
    let mut a = id.blob_prefix();
    a.extend_from_slice(row);
    a
}

impl Sealer {
    /// From the 32-byte KEK.
    pub fn new(kek: &[u8; 32]) -> Sealer {
        Sealer {
            current: Kek::new(kek),
            older: Vec::new(),
        }
    }

    /// Also opens blobs sealed under `old` (during a rotation).
    pub fn also_opening(mut self, old: &[u8; 32]) -> Sealer {
        let k = Kek::new(old);
        if k.id != self.current.id && !self.older.iter().any(|o| o.id == k.id) {
            self.older.push(k);
        }
        self
    }

    /// The id of the KEK new blobs are sealed under.
    pub fn key_id(&self) -> KeyId {
        self.current.id
    }

    /// Whether `blob` is sealed under the current KEK (new format).
    pub fn is_current(&self, blob: &[u8]) -> bool {
        blob.starts_with(&self.current.id.blob_prefix())
    }

    /// Seals `plain` for the row named by `aad`, under the current KEK.
    pub fn seal(&self, plain: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let id = self.current.id;
        let full_aad = aad_v2(&id, aad);
        // Encryption with a valid key and in-memory buffers cannot fail.
        let ct = self
            .current
            .aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &full_aad,
                },
            )
            .unwrap_or_default();
        let mut out = Vec::with_capacity(2 + KEY_ID_LEN + NONCE_LEN + ct.len());
        out.extend_from_slice(MAGIC_V2);
        out.extend_from_slice(&id.0);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens a blob sealed for `aad` (either format).
    pub fn open(&self, blob: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let keys = || std::iter::once(&self.current).chain(self.older.iter());
        if blob.starts_with(MAGIC_V2) {
            if blob.len() < 2 + KEY_ID_LEN + NONCE_LEN + TAG_LEN {
                return Err(SealError);
            }
            let (id, rest) = blob[2..].split_at(KEY_ID_LEN);
            let (nonce, ct) = rest.split_at(NONCE_LEN);
            let kek = keys().find(|k| k.id.0 == id).ok_or(SealError)?;
            let full_aad = aad_v2(&kek.id, aad);
            return kek
                .aead
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: ct,
                        aad: &full_aad,
                    },
                )
                .map(Zeroizing::new)
                .map_err(|_| SealError);
        }
        if blob.starts_with(MAGIC_V1) && blob.len() >= 2 + NONCE_LEN + TAG_LEN {
            let (nonce, ct) = blob[2..].split_at(NONCE_LEN);
            for k in keys() {
                if let Ok(p) = k
                    .aead
                    .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
                {
                    return Ok(Zeroizing::new(p));
                }
            }
        }
        Err(SealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"12345678901234567890";

    /// A blob of the first format (no key id), as earlier servers wrote it.
    fn seal_v1(kek: &[u8; 32], plain: &[u8], aad: &[u8]) -> Vec<u8> {
        let aead = ChaCha20Poly1305::new(Key::from_slice(kek));
        let nonce = [3u8; NONCE_LEN];
        let ct = aead
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .unwrap();
        [MAGIC_V1.as_slice(), &nonce, &ct].concat()
    }

    #[test]
    fn round_trip_and_binding() {
        let s = Sealer::new(&[7; 32]);
        let blob = s.seal(SECRET, b"token:A");
        assert!(!blob.windows(20).any(|w| w == SECRET));
        assert!(blob.starts_with(&KeyId::of(&[7; 32]).blob_prefix()));
        assert!(s.is_current(&blob));
        assert_eq!(s.open(&blob, b"token:A").unwrap().as_slice(), SECRET);
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
        assert_eq!(s.open(b"S2", b"token:A"), Err(SealError));
        assert_ne!(blob, s.seal(SECRET, b"token:A"));
    }

    #[test]
    fn key_ids_rotation_and_old_blobs() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_ne!(KeyId::of(&a), KeyId::of(&b));
        assert_eq!(KeyId::of(&a).to_string().len(), 16);
        let under_a = Sealer::new(&a).seal(SECRET, b"token:X");
        // The new KEK alone does not open it; with the old one kept it does.
        assert_eq!(Sealer::new(&b).open(&under_a, b"token:X"), Err(SealError));
        let both = Sealer::new(&b).also_opening(&a);
        assert_eq!(both.open(&under_a, b"token:X").unwrap().as_slice(), SECRET);
        assert!(!both.is_current(&under_a));
        assert!(both.is_current(&both.seal(SECRET, b"token:X")));
        // A key id swapped for another held key does not open.
        let mut swapped = under_a.clone();
        swapped[2..2 + KEY_ID_LEN].copy_from_slice(&KeyId::of(&b).0);
        assert_eq!(both.open(&swapped, b"token:X"), Err(SealError));
        // First-format blobs open with any held key, bound to their row.
        let v1 = seal_v1(&a, SECRET, b"token:X");
        assert_eq!(
            Sealer::new(&a).open(&v1, b"token:X").unwrap().as_slice(),
            SECRET
        );
        assert_eq!(both.open(&v1, b"token:X").unwrap().as_slice(), SECRET);
        assert_eq!(both.open(&v1, b"token:Y"), Err(SealError));
        assert_eq!(Sealer::new(&b).open(&v1, b"token:X"), Err(SealError));
        assert!(!both.is_current(&v1));
    }
}
