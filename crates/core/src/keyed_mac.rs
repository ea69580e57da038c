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

/// Defines one HMAC type over a RustCrypto compression function:
/// `$block` bytes per block, `$word` state words of which `$n` make the
/// digest, `$len` bytes of length field.
macro_rules! keyed_hmac {
    ($(#[$doc:meta])* $name:ident, $word:ty, $n:literal, $block:literal, $len:literal,
     $iv:expr, $hash:ty, $compress:path) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub(crate) struct $name {
            inner: [$word; $n],
            outer: [$word; $n],
        }

        impl $name {
            pub(crate) fn new(key: &[u8]) -> Self {
                let (mut ipad, mut opad) = pads::<$block>(key, |k| <$hash>::digest(k).to_vec());
                let (mut inner, mut outer) = ($iv, $iv);
                $compress(&mut inner, &[GenericArray::from(ipad)]);
                $compress(&mut outer, &[GenericArray::from(opad)]);
                ipad.zeroize();
                opad.zeroize();
                $name { inner, outer }
            }

            /// HMAC of an 8-byte message (the HOTP counter): two compressions.
            /// Each padded block is built once, in place, in the array the
            /// compression function reads (no intermediate digest copy).
            pub(crate) fn mac8(&self, msg: &[u8; 8]) -> [u8; $n * size_of::<$word>()] {
                const W: usize = size_of::<$word>();
                const D: usize = $n * W;
                let mut block = GenericArray::from(final_block::<$block, $len>(msg));
                let mut state = self.inner;
                $compress(&mut state, core::slice::from_ref(&block));
                // The outer block: inner digest, 0x80, zeros, bit length of
                // pad block + digest. Its first D bytes cover the message.
                block.fill(0);
                for (d, w) in block[..D].chunks_exact_mut(W).zip(state) {
                    d.copy_from_slice(&w.to_be_bytes());
                }
                block[D] = 0x80;
                let bits = (($block + D) as u128) * 8;
                block[$block - $len..].copy_from_slice(&bits.to_be_bytes()[16 - $len..]);
                let mut state = self.outer;
                $compress(&mut state, core::slice::from_ref(&block));
                let mut digest = [0u8; D];
                for (d, w) in digest.chunks_exact_mut(W).zip(state) {
                    d.copy_from_slice(&w.to_be_bytes());
                }
                digest
            }
        }
    };
}

keyed_hmac!(
    /// HMAC-SHA-1 with precomputed states.
    HmacSha1, u32, 5, 64, 8, SHA1_IV, sha1::Sha1, sha1::compress
);
keyed_hmac!(
    /// HMAC-SHA-256 with precomputed states.
    HmacSha256, u32, 8, 64, 8, SHA256_IV, sha2::Sha256, sha2::compress256
);
keyed_hmac!(
    /// HMAC-SHA-512 with precomputed states.
    HmacSha512, u64, 8, 128, 16, SHA512_IV, sha2::Sha512, sha2::compress512
);

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
