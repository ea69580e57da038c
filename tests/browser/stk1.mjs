// An independent STK1 client (wire spec ../../docs or /work/shared/spec/stk1.md),
// written from the spec with Node's built-in crypto only. It pairs with a
// token service over /v1/provision/init + finish, checks server_confirm
// before trusting anything, and computes RFC 6238 codes.
import {
  createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman,
  hkdfSync, randomBytes, timingSafeEqual,
} from 'node:crypto';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const PARAMS = { alg: 'SHA1', digits: 6, period: 30, t0: 0 };
export const PARAMS_STRING = 'alg=SHA1;digits=6;period=30;t0=0';

/** RFC 4648 base32, upper case, no padding. */
export function b32encode(buf) {
  let bits = 0, value = 0, out = '';
  for (const byte of buf) {
    value = (value << 8) | byte; bits += 8;
    while (bits >= 5) { out += B32[(value >>> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** Strict decoder: upper-case alphabet only, no padding, canonical tail bits. */
export function b32decode(text, expectedLen) {
  if (typeof text !== 'string' || !/^[A-Z2-7]*$/.test(text)) throw new Error('invalid base32');
  let bits = 0, value = 0; const out = [];
  for (const ch of text) {
    value = ((value << 5) | B32.indexOf(ch)) & 0xffff; bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) throw new Error('invalid base32 tail');
  const buf = Buffer.from(out);
  if (expectedLen !== undefined && buf.length !== expectedLen) throw new Error('wrong length');
  return buf;
}

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

/** X25519 key objects from a 32-byte private scalar. */
export function x25519FromPrivate(raw) {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicRaw: Buffer.from(spki.subarray(spki.length - 32)) };
}

export function x25519Public(raw) {
  if (raw.length !== 32) throw new Error('X25519 public key must be 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: 'der', type: 'spki' });
}

function x25519(privateKey, publicRaw) {
  const shared = diffieHellman({ privateKey, publicKey: x25519Public(publicRaw) });
  if (shared.every((b) => b === 0)) throw new Error('non-contributory X25519 result');
  return shared;
}

function lp(buf) {
  const len = Buffer.alloc(2); len.writeUInt16BE(buf.length);
  return Buffer.concat([len, buf]);
}

/** The client side of the derivation (spec "Keys and derivation"). */
export function derive({ e, A, NC, S, B, NS, serial }) {
  const transcript = createHash('sha256').update(Buffer.concat([
    Buffer.from('STK1'), lp(A), lp(NC), lp(S), lp(B), lp(NS),
    lp(Buffer.from(serial, 'ascii')), lp(Buffer.from(PARAMS_STRING, 'ascii')),
  ])).digest();
  const ikm = Buffer.concat([x25519(e, S), x25519(e, B)]);
  const okm = Buffer.from(hkdfSync('sha256', ikm, Buffer.concat([NC, NS]),
    Buffer.concat([Buffer.from('STK1 key derivation'), transcript]), 52));
  const kToken = okm.subarray(0, 20);
  const kConf = okm.subarray(20, 52);
  const mac = (label) => createHmac('sha256', kConf).update(Buffer.concat([Buffer.from(label), transcript])).digest();
  return {
    transcript, kToken: Buffer.from(kToken), kConf: Buffer.from(kConf),
    serverConfirm: mac('STK1 server confirm'), clientConfirm: mac('STK1 client confirm'),
  };
}

/** RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30 s, T0 = 0). */
export function totp(key, unixSeconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const h = createHmac('sha1', key).update(counter).digest();
  const off = h[h.length - 1] & 0x0f;
  const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

async function post(url, body, testTime) {
  const headers = { 'content-type': 'application/json' };
  if (testTime !== undefined) headers['X-Test-Time'] = String(testTime);
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${json.error}`);
  return json;
}

/**
 * Pairs a new token. `profile` = {server_key_id, server_public_key} pinned
 * from `softtoken-bank profile`; `baseUrl` = the link's `url`.
 * Returns {serial, key}.
 */
export async function pair(baseUrl, profile, testTime) {
  const e = x25519FromPrivate(randomBytes(32));
  const NC = randomBytes(16);
  const S = b32decode(profile.server_public_key, 32);
  const init = await post(`${baseUrl}/v1/provision/init`, {
    v: 1, server_key_id: profile.server_key_id, client_eph_pub: b32encode(e.publicRaw),
    client_nonce: b32encode(NC), device: { platform: 'test', app_version: 'browser-test/1' },
  }, testTime);
  if (init.v !== 1) throw new Error('unsupported version');
  const p = init.params;
  if (p.alg !== PARAMS.alg || p.digits !== PARAMS.digits || p.period !== PARAMS.period || p.t0 !== PARAMS.t0) {
    throw new Error('refused token parameters');
  }
  if (!/^[0-9A-HJKMNP-TV-Z]{12}$/.test(init.serial)) throw new Error('malformed serial');
  const d = derive({
    e: e.privateKey, A: e.publicRaw, NC, S, B: b32decode(init.server_eph_pub, 32),
    NS: b32decode(init.server_nonce, 16), serial: init.serial,
  });
  if (!timingSafeEqual(d.serverConfirm, b32decode(init.server_confirm, 32))) {
    throw new Error('server_confirm mismatch: not the pinned bank');
  }
  const fin = await post(`${baseUrl}/v1/provision/finish`, {
    v: 1, session_id: init.session_id, serial: init.serial, client_confirm: b32encode(d.clientConfirm),
  }, testTime);
  if (fin.serial !== init.serial || fin.state !== 'issued') throw new Error('unexpected finish answer');
  return { serial: init.serial, key: d.kToken };
}

/** `K7M3Q9XZ2PD0` → `K7M3 Q9XZ 2PD0`. */
export function formatSerial(s) {
  return `${s.slice(0, 4)} ${s.slice(4, 8)} ${s.slice(8, 12)}`;
}
