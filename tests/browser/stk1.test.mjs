// The JavaScript STK1 client against the spec's test vector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b32decode, b32encode, derive, totp, x25519FromPrivate } from './stk1.mjs';

const range = (from, n) => Buffer.from(Array.from({ length: n }, (_, i) => from + i));

test('spec test vector: keys, transcript, confirmations, first code', () => {
  const e = x25519FromPrivate(range(0x01, 32));
  const s = x25519FromPrivate(range(0x41, 32));
  const b = x25519FromPrivate(range(0x81, 32));
  assert.equal(e.publicRaw.toString('hex'), '07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c');
  assert.equal(s.publicRaw.toString('hex'), '64b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466');
  assert.equal(b.publicRaw.toString('hex'), '883186b800b41d5cf0429695da9b3cc4f328ebcd184a6e482fa578c103f06c77');
  const NC = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  const NS = Buffer.from('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', 'hex');
  const d = derive({ e: e.privateKey, A: e.publicRaw, NC, S: s.publicRaw, B: b.publicRaw, NS, serial: 'K7M3Q9XZ2PD0' });
  assert.equal(d.transcript.toString('hex'), 'f3cb96e267af40e6e6fb62c7e53f3e33e3db59b0bbdd94eb6c430cd10a43bf96');
  assert.equal(d.kToken.toString('hex'), '726c4957f09af0142f7f33b057e6d159b4e632ac');
  assert.equal(d.kConf.toString('hex'), '3730af293f55371027d0137c290b25d5c2046c2b9ed30b8fe28e728b1cb6ccd6');
  assert.equal(d.serverConfirm.toString('hex'), '3ac6bd3e3cd13ab89e0df7537f0b05a4449044a2c4f7b9cfb8e10bd020f8d0eb');
  assert.equal(d.clientConfirm.toString('hex'), 'bfa3eb246655dc410f8bec0d1bd65564015e2592cc1a4f92af64c082854171d3');
  assert.equal(totp(d.kToken, 1700000000), '227560');
  assert.equal(b32encode(e.publicRaw), 'A6RXZPAUECJ4RN2V3QNRB2DMWQTDOSWRNKUFH3IL37ALFODNDR6A');
  assert.equal(b32encode(NC), 'AAAQEAYEAUDAOCAJBIFQYDIOB4');
});

test('RFC 6238 SHA-1 vectors (6-digit tails)', () => {
  const key = Buffer.from('12345678901234567890');
  assert.equal(totp(key, 59), '287082');
  assert.equal(totp(key, 1111111109), '081804');
  assert.equal(totp(key, 1234567890), '005924');
  assert.equal(totp(key, 2000000000), '279037');
});

test('strict base32', () => {
  assert.deepEqual(b32decode('AAAQEAYEAUDAOCAJBIFQYDIOB4', 16), range(0, 16));
  assert.throws(() => b32decode('aaaqeayeaudaocajbifqydiob4'));
  assert.throws(() => b32decode('AAAQEAYEAUDAOCAJBIFQYDIOB4=='));
  assert.throws(() => b32decode('AAAQEAYEAUDAOCAJBIFQYDIOB5'), /tail/);
  assert.throws(() => b32decode('AAAQEAYEAUDAOCAJBIFQYDIOB4', 15), /length/);
});
