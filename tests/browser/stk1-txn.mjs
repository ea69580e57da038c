// An independent STK1-TXN client (「取引認証」, /work/shared/spec/stk1-txn.md),
// written from the spec with Node's built-in crypto only: the key
// derivation, txn_digest, the bank/approval/rejection/poll MACs, the two
// app endpoints, and RFC 6287 OCRA for the offline 取引認証番号 (suite
// OCRA-1:HOTP-SHA256-6:QN08-T30S). It shares nothing with the Rust core.
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { b32decode, b32encode } from './stk1.mjs';

function lp(buf) {
  const len = Buffer.alloc(2); len.writeUInt16BE(buf.length);
  return Buffer.concat([len, buf]);
}
const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const ascii = (s) => Buffer.from(s, 'ascii');
const utf8 = (s) => Buffer.from(s, 'utf8');

/** K_TXN and K_OCRA of a token (spec "Keys"): HKDF-SHA256, no salt. */
export function txnKeys(kToken, serial) {
  const okm = Buffer.from(hkdfSync('sha256', kToken, Buffer.alloc(32),
    Buffer.concat([ascii('STK1 transaction keys'), lp(ascii(serial))]), 64));
  return { kTxn: okm.subarray(0, 32), kOcra: okm.subarray(32, 64) };
}

/** txn_digest of a wire transaction ({txn_id, kind, created_at, expires_at, fields}). */
export function txnDigest(tx, serial) {
  const parts = [ascii('STK1 txn'), lp(b32decode(tx.txn_id, 16)), lp(ascii(serial)), lp(ascii(tx.kind)),
    u64(tx.created_at), u64(tx.expires_at), u16(tx.fields.length)];
  for (const [k, v] of tx.fields) parts.push(lp(utf8(k)), lp(utf8(v)));
  return createHash('sha256').update(Buffer.concat(parts)).digest();
}

const mac = (key, label, data) => createHmac('sha256', key).update(Buffer.concat([ascii(label), data])).digest();
export const bankMac = (kTxn, digest) => mac(kTxn, 'STK1 txn bank', digest);
export const approvalMac = (kTxn, digest) => mac(kTxn, 'STK1 txn approve', digest);
export const rejectionMac = (kTxn, digest) => mac(kTxn, 'STK1 txn reject', digest);
export function pollMac(kTxn, serial, t, nonce) {
  return mac(kTxn, 'STK1 txn poll', Buffer.concat([lp(ascii(serial)), u64(t), lp(nonce)]));
}

/** RFC 6287 OCRA, numeric question, optional time step, HMAC-SHA1/256/512, 4–10 digits. */
export function ocra(suite, key, question, timestep) {
  const m = /^OCRA-1:HOTP-SHA(1|256|512)-(\d+):(C-)?QN(\d\d)(-T\d+[SMH])?$/.exec(suite);
  if (!m) throw new Error(`suite not supported here: ${suite}`);
  const [, sha, digits, counter, qlen, time] = m;
  if (counter) throw new Error('counter suites not needed');
  if (!/^\d+$/.test(question) || question.length > Number(qlen)) throw new Error('bad question');
  // Q: the number in hex, left-justified, zero-padded on the right to 128 bytes.
  let hex = BigInt(question).toString(16).toUpperCase();
  hex = hex.padEnd(256, '0');
  const parts = [ascii(suite), Buffer.from([0]), Buffer.from(hex, 'hex')];
  if (time) parts.push(u64(timestep));
  const h = createHmac(`sha${sha}`, key).update(Buffer.concat(parts)).digest();
  const off = h[h.length - 1] & 0x0f;
  const bin = ((h[off] & 0x7f) << 24) | (h[off + 1] << 16) | (h[off + 2] << 8) | h[off + 3];
  return String(bin % 10 ** Number(digits)).padStart(Number(digits), '0');
}

export const OFFLINE_SUITE = 'OCRA-1:HOTP-SHA256-6:QN08-T30S';
/** The offline 取引認証番号 for `question` (account or biller number) at unix time `t`. */
export const offlineCode = (kOcra, question, t) => ocra(OFFLINE_SUITE, kOcra, question, Math.floor(t / 30));

async function post(url, body, testTime) {
  const headers = { 'content-type': 'application/json' };
  if (testTime !== undefined) headers['X-Test-Time'] = String(testTime);
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  return { status: res.status, json };
}

/**
 * The app's side: polls the pending transactions of a token and checks each
 * one as the spec requires (bank_mac in constant time, keys of the kind in
 * order, not expired by the bank's clock). Returns the verified ones.
 */
export async function pending(baseUrl, serial, kTxn, t) {
  const nonce = randomBytes(16);
  const { status, json } = await post(`${baseUrl}/v1/tokens/${serial}/transactions/pending`, {
    v: 1, t, nonce: b32encode(nonce), mac: b32encode(pollMac(kTxn, serial, t, nonce)),
  }, t);
  if (status !== 200) throw new Error(`pending: HTTP ${status} ${json.error}`);
  const KEYS = {
    transfer: ['payee_bank', 'payee_branch', 'account_type', 'account_number', 'payee_name', 'amount'],
    payment: ['biller_number', 'customer_number', 'confirmation_number', 'amount'],
  };
  return json.transactions.map((tx) => {
    const keys = KEYS[tx.kind];
    if (!keys || tx.fields.length !== keys.length || tx.fields.some(([k], i) => k !== keys[i])) {
      throw new Error('unexpected keys');
    }
    if (!timingSafeEqual(bankMac(kTxn, txnDigest(tx, serial)), b32decode(tx.bank_mac, 32))) {
      throw new Error('bank_mac does not check');
    }
    if (tx.expires_at <= json.server_time) throw new Error('expired');
    return tx;
  });
}

/** Approves or rejects a verified transaction; returns {status, json}. */
export async function decide(baseUrl, serial, kTxn, tx, decision, t) {
  const d = txnDigest(tx, serial);
  const m = decision === 'approve' ? approvalMac(kTxn, d) : rejectionMac(kTxn, d);
  return post(`${baseUrl}/v1/tokens/${serial}/transactions/${tx.txn_id}/decision`,
    { v: 1, decision, mac: b32encode(m) }, t);
}
