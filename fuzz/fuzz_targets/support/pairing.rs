//! A fixed, deterministic pairing shared by the handshake targets: the
//! server key, the app's ephemeral values and the server's ephemeral
//! values are constants, so every run sees the same genuine messages.
#![allow(dead_code)]

use rand_core::{CryptoRng, RngCore};
use softtoken_core::serial::Serial;
use softtoken_core::stk1::client::ClientHandshake;
use softtoken_core::stk1::messages::{Device, InitRequest, InitResponse, Platform};
use softtoken_core::stk1::server::{respond, PendingSession, ServerEphemeral, ServerKey};

/// Hands out one fixed byte pattern: a stand-in CSPRNG so that the app's
/// ephemeral key and nonce are the same in every run.
pub struct FixedRng(pub u8);

impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        u32::from_le_bytes([self.0; 4])
    }
    fn next_u64(&mut self) -> u64 {
        u64::from_le_bytes([self.0; 8])
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(self.0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        dest.fill(self.0);
        Ok(())
    }
}

impl CryptoRng for FixedRng {}

pub const KID: &str = "k1";
pub const NOW: u64 = 1_700_000_000;

pub fn server_key() -> ServerKey {
    ServerKey::from_secret_bytes(KID, [0x41; 32])
}

pub fn device() -> Device {
    Device {
        platform: Platform::Test,
        app_version: "fuzz".into(),
    }
}

pub fn client() -> (ClientHandshake, InitRequest) {
    ClientHandshake::start(
        &mut FixedRng(0x01),
        KID,
        &server_key().public_bytes(),
        device(),
    )
}

pub fn server_ephemeral() -> ServerEphemeral {
    ServerEphemeral::from_parts([0x81; 32], [0xf0; 16], [0x07; 16])
}

pub fn serial() -> Serial {
    // The STK1 spec's example serial (valid check character).
    Serial::parse_strict("K7M3Q9XZ2PD0").expect("valid serial")
}

/// The genuine answer to the genuine init request, and the server's state.
pub fn genuine() -> (InitRequest, InitResponse, PendingSession) {
    let (_, init) = client();
    let (resp, pending) =
        respond(&server_key(), &init, server_ephemeral(), serial(), NOW, 300).expect("genuine");
    (init, resp, pending)
}
