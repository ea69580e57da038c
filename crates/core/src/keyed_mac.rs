//! HMAC (RFC 2104) with precomputed pad states, specialised to the short
//! messages of HOTP.
//!
//! Keying runs the hash's compression function once over `K ⊕ ipad` and
//! once over `K ⊕ opad` and keeps the two chaining states. Each 8-byte
//! counter then costs exactly two compressions: one for the inner block
//! (counter + padding) and one for the outer block (inner digest +
//! padding). The compression functions are RustCrypto's (`sha1::compress`,
//! `sha2::compress256`, `sha2::compress512`), with their SHA-NI/AVX
//! back-ends; only the padding of two fixed-length messages is done here.
//! Correctness is pinned by the RFC tables, the oathtool differential test
//! and a property test against the `hmac` crate.

use sha1::digest::generic_array::GenericArray;
use sha2::Digest;
use zeroize::{Zeroize, ZeroizeOnDrop};

const SHA1_IV: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
const SHA512_IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// Builds the ipad/opad blocks of RFC 2104 for a block size `B`.
fn pads<const B: usize>(key: &[u8], hash_long: impl Fn(&[u8]) -> Vec<u8>) -> ([u8; B], [u8; B]) {
    let mut k = [0u8; B];
    if key.len() > B {
        let mut h = hash_long(key);
        k[..h.len()].copy_from_slice(&h);
        h.zeroize();
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; B];
    let mut opad = [0x5cu8; B];
    for i in 0..B {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    k.zeroize();
    (ipad, opad)
}

/// One padded final block holding `msg` after a full block of pad.
fn final_block<const B: usize, const L: usize>(msg: &[u8]) -> [u8; B] {
    let mut block = [0u8; B];
    block[..msg.len()].copy_from_slice(msg);
    block[msg.len()] = 0x80;
    let bits = ((B + msg.len()) as u128) * 8;
    block[B - L..].copy_from_slice(&bits.to_be_bytes()[16 - L..]);
    block
}

/// HMAC-SHA-1 with precomputed states.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct HmacSha1 {
    inner: [u32; 5],
    outer: [u32; 5],
}

impl HmacSha1 {
    pub(crate) fn new(key: &[u8]) -> Self {
        let (mut ipad, mut opad) = pads::<64>(key, |k| sha1::Sha1::digest(k).to_vec());
        let (mut inner, mut outer) = (SHA1_IV, SHA1_IV);
        sha1::compress(&mut inner, &[GenericArray::from(ipad)]);
        sha1::compress(&mut outer, &[GenericArray::from(opad)]);
        ipad.zeroize();
        opad.zeroize();
        HmacSha1 { inner, outer }
    }

    pub(crate) fn mac8(&self, msg: &[u8; 8]) -> [u8; 20] {
        let mut state = self.inner;
        sha1::compress(&mut state, &[GenericArray::from(final_block::<64, 8>(msg))]);
        let mut digest = [0u8; 20];
        for (d, w) in digest.chunks_exact_mut(4).zip(state) {
            d.copy_from_slice(&w.to_be_bytes());
        }
        let mut state = self.outer;
        sha1::compress(
            &mut state,
            &[GenericArray::from(final_block::<64, 8>(&digest))],
        );
        for (d, w) in digest.chunks_exact_mut(4).zip(state) {
            d.copy_from_slice(&w.to_be_bytes());
        }
        digest
    }
}

/// HMAC-SHA-256 with precomputed states.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct HmacSha256 {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl HmacSha256 {
    pub(crate) fn new(key: &[u8]) -> Self {
        let (mut ipad, mut opad) = pads::<64>(key, |k| sha2::Sha256::digest(k).to_vec());
        let (mut inner, mut outer) = (SHA256_IV, SHA256_IV);
        sha2::compress256(&mut inner, &[GenericArray::from(ipad)]);
        sha2::compress256(&mut outer, &[GenericArray::from(opad)]);
        ipad.zeroize();
        opad.zeroize();
        HmacSha256 { inner, outer }
    }

    pub(crate) fn mac8(&self, msg: &[u8; 8]) -> [u8; 32] {
        let mut state = self.inner;
        sha2::compress256(&mut state, &[GenericArray::from(final_block::<64, 8>(msg))]);
        let mut digest = [0u8; 32];
        for (d, w) in digest.chunks_exact_mut(4).zip(state) {
            d.copy_from_slice(&w.to_be_bytes());
        }
        let mut state = self.outer;
        sha2::compress256(
            &mut state,
            &[GenericArray::from(final_block::<64, 8>(&digest))],
        );
        for (d, w) in digest.chunks_exact_mut(4).zip(state) {
            d.copy_from_slice(&w.to_be_bytes());
        }
        digest
    }
}

/// HMAC-SHA-512 with precomputed states.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct HmacSha512 {
    inner: [u64; 8],
    outer: [u64; 8],
}

impl HmacSha512 {
    pub(crate) fn new(key: &[u8]) -> Self {
        let (mut ipad, mut opad) = pads::<128>(key, |k| sha2::Sha512::digest(k).to_vec());
        let (mut inner, mut outer) = (SHA512_IV, SHA512_IV);
        sha2::compress512(&mut inner, &[GenericArray::from(ipad)]);
        sha2::compress512(&mut outer, &[GenericArray::from(opad)]);
        ipad.zeroize();
        opad.zeroize();
        HmacSha512 { inner, outer }
    }

    pub(crate) fn mac8(&self, msg: &[u8; 8]) -> [u8; 64] {
        let mut state = self.inner;
        sha2::compress512(
            &mut state,
            &[GenericArray::from(final_block::<128, 16>(msg))],
        );
        let mut digest = [0u8; 64];
        for (d, w) in digest.chunks_exact_mut(8).zip(state) {
            d.copy_from_slice(&w.to_be_bytes());
        }
        let mut state = self.outer;
        sha2::compress512(
            &mut state,
            &[GenericArray::from(final_block::<128, 16>(&digest))],
        );
        for (d, w) in digest.chunks_exact_mut(8).zip(state) {
            d.copy_from_slice(&w.to_be_bytes());
        }
        digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use proptest::prelude::*;

    fn reference<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().to_vec()
    }

    proptest! {
        /// Same result as the `hmac` crate for any key length (including
        /// keys longer than the block, which are hashed first).
        #[test]
        fn matches_hmac_crate(key in proptest::collection::vec(any::<u8>(), 0..300), msg in any::<[u8; 8]>()) {
            prop_assert_eq!(HmacSha1::new(&key).mac8(&msg).to_vec(), reference::<Hmac<sha1::Sha1>>(&key, &msg));
            prop_assert_eq!(HmacSha256::new(&key).mac8(&msg).to_vec(), reference::<Hmac<sha2::Sha256>>(&key, &msg));
            prop_assert_eq!(HmacSha512::new(&key).mac8(&msg).to_vec(), reference::<Hmac<sha2::Sha512>>(&key, &msg));
        }
    }
}
