//! The app's side of an STK1 pairing.
//!
//! ```text
//! let (hs, init) = ClientHandshake::start(&mut OsRng, kid, &server_pub, device);
//! // POST init → InitResponse
//! let paired = hs.finish(&response)?;   // checks params and server_confirm
//! // store paired.secret in the keystore, then POST paired.finish_request
//! ```

use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey, StaticSecret};

use super::kdf::{contributory, SessionKeys, TranscriptInput, NONCE_LEN};
use super::messages::{Device, FinishRequest, InitRequest, InitResponse};
use super::{Stk1Error, VERSION};
use crate::encoding::{decode_array, encode};
use crate::otp::{Algorithm, Params};
use crate::secret::Secret;
use crate::serial::Serial;

/// A pairing in progress on the app. Holds the ephemeral secret `e`
/// (zeroised on drop by x25519-dalek).
pub struct ClientHandshake {
    eph: StaticSecret,
    eph_pub: PublicKey,
    nonce: [u8; NONCE_LEN],
    server_static: PublicKey,
}

impl core::fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ClientHandshake([redacted])")
    }
}

/// The result of a successful client handshake.
pub struct Paired {
    /// The new token's serial.
    pub serial: Serial,
    /// `K_TOKEN`, to be stored in the platform keystore only.
    pub secret: Secret,
    /// Token parameters (always [`Params::STK1`] in version 1).
    pub params: Params,
    /// The server's clock at init, for the clock-difference warning.
    pub server_time: u64,
    /// The body to POST to `/v1/provision/finish` once the secret is stored.
    pub finish_request: FinishRequest,
}

impl core::fmt::Debug for Paired {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Paired")
            .field("serial", &self.serial)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl ClientHandshake {
    /// Draws `e` and `N_C` and builds the init request for a pinned key.
    pub fn start(
        rng: &mut impl CryptoRngCore,
        server_key_id: &str,
        server_static_pub: &[u8; 32],
        device: Device,
    ) -> (ClientHandshake, InitRequest) {
        let eph = StaticSecret::random_from_rng(&mut *rng);
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        ClientHandshake::from_parts(eph, nonce, server_key_id, server_static_pub, device)
    }

    /// Builds a handshake from given values (test vectors only).
    pub(crate) fn from_parts(
        eph: StaticSecret,
        nonce: [u8; NONCE_LEN],
        server_key_id: &str,
        server_static_pub: &[u8; 32],
        device: Device,
    ) -> (ClientHandshake, InitRequest) {
        let eph_pub = PublicKey::from(&eph);
        let req = InitRequest {
            v: VERSION,
            server_key_id: server_key_id.to_string(),
            client_eph_pub: encode(eph_pub.as_bytes()),
            client_nonce: encode(&nonce),
            device,
        };
        (
            ClientHandshake {
                eph,
                eph_pub,
                nonce,
                server_static: PublicKey::from(*server_static_pub),
            },
            req,
        )
    }

    /// Checks the init response (version, parameters, encodings, the
    /// server's confirmation) and derives the token key. Nothing in the
    /// response is trusted before `server_confirm` has been checked.
    pub fn finish(self, resp: &InitResponse) -> Result<Paired, Stk1Error> {
        if resp.v != VERSION {
            return Err(Stk1Error::UnsupportedVersion);
        }
        let alg = match resp.params.alg.as_str() {
            "SHA1" => Algorithm::Sha1,
            _ => return Err(Stk1Error::UnsupportedParams),
        };
        let params = Params::new(alg, resp.params.digits, resp.params.period, resp.params.t0)
            .map_err(|_| Stk1Error::UnsupportedParams)?;
        if params != Params::STK1 {
            return Err(Stk1Error::UnsupportedParams);
        }
        let session_id: [u8; 16] = decode_array(&resp.session_id)?;
        let server_eph: [u8; 32] = decode_array(&resp.server_eph_pub)?;
        let server_nonce: [u8; NONCE_LEN] = decode_array(&resp.server_nonce)?;
        let server_confirm: [u8; 32] = decode_array(&resp.server_confirm)?;
        let server_eph = PublicKey::from(server_eph);

        let dh1 = contributory(self.eph.diffie_hellman(&self.server_static))?;
        let dh2 = contributory(self.eph.diffie_hellman(&server_eph))?;
        let transcript = TranscriptInput {
            client_eph_pub: self.eph_pub.as_bytes(),
            client_nonce: &self.nonce,
            server_static_pub: self.server_static.as_bytes(),
            server_eph_pub: server_eph.as_bytes(),
            server_nonce: &server_nonce,
            serial: resp.serial.as_str(),
            params: &params.canonical_string(),
        }
        .hash();
        let keys = SessionKeys::derive(&dh1, &dh2, &self.nonce, &server_nonce, transcript);
        keys.check_server_confirm(&server_confirm)?;
        let finish_request = FinishRequest {
            v: VERSION,
            session_id: encode(&session_id),
            serial: resp.serial.clone(),
            client_confirm: encode(&keys.client_confirm()),
        };
        Ok(Paired {
            serial: resp.serial.clone(),
            secret: keys.into_token_key(),
            params,
            server_time: resp.server_time,
            finish_request,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stk1::messages::Platform;
    use crate::stk1::server::{respond, ServerEphemeral, ServerKey};

    #[test]
    fn init_response_with_period_zero_is_refused_not_panicking() {
        let mut rng = rand_core::OsRng;
        let server = ServerKey::generate("k1", &mut rng);
        let device = Device {
            platform: Platform::Test,
            app_version: "test".into(),
        };
        let (client, init) = ClientHandshake::start(&mut rng, "k1", &server.public_bytes(), device);
        let serial = Serial::generate(&mut rng);
        let eph = ServerEphemeral::generate(&mut rng);
        let (mut resp, _) = respond(&server, &init, eph, serial, 1, 300).unwrap();
        resp.params.period = 0;
        assert_eq!(
            client.finish(&resp).unwrap_err(),
            Stk1Error::UnsupportedParams
        );
    }
}
