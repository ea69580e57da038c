// The independent STK1-TXN client (stk1-txn.mjs) against the spec's test
// vector and RFC 6287 Appendix C, before it is trusted by txn.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  approvalMac, bankMac, ocra, offlineCode, pollMac, rejectionMac, txnDigest, txnKeys,
} from './stk1-txn.mjs';
import { b32decode } from './stk1.mjs';

const SERIAL = 'K7M3Q9XZ2PD0';
const K_TOKEN = Buffer.from('726c4957f09af0142f7f33b057e6d159b4e632ac', 'hex');
const TX = {
  txn_id: 'AAAQEAYEAUDAOCAJBIFQYDIOB4', kind: 'transfer', created_at: 1700000000, expires_at: 1700000300,
  fields: [['payee_bank', 'かけしん信用金庫'], ['payee_branch', '本店営業部'], ['account_type', '普通'],
    ['account_number', '1234567'], ['payee_name', 'ヤマダ タロウ'], ['amount', '12000']],
};
const hex = (b) => Buffer.from(b).toString('hex');

test('STK1-TXN spec vector: keys, digest, MACs, poll, offline codes', () => {
  assert.equal(hex(b32decode(TX.txn_id, 16)), '000102030405060708090a0b0c0d0e0f');
  const { kTxn, kOcra } = txnKeys(K_TOKEN, SERIAL);
  assert.equal(hex(kTxn), '79cfdcee7fabd6c260b4621ba1ed6d2805791dd1104afdec76c89304ece4524c');
  assert.equal(hex(kOcra), '9a8c5f62e020a65ad35f0fe7b99d9e18b78cb459a51da084832b94346ae6c083');
  const d = txnDigest(TX, SERIAL);
  assert.equal(hex(d), '9b1ab3512cca4dfdfbfe854360f0949d73e3e410d49d149cde6b29902d1df597');
  assert.equal(hex(bankMac(kTxn, d)), 'c89867969364248e2ff659e4de86d385ccdc039fcf0cf24b0317d729100b718d');
  assert.equal(hex(approvalMac(kTxn, d)), '4e606ac1b353774f0c8a15e63281daaaace79050f1e8a133f58d2b1a9b6d038b');
  assert.equal(hex(rejectionMac(kTxn, d)), 'ae07584edea5433ac0874731203e8b10a98cef62c75ec2af8aeb59dca9511c5d');
  const nonce = b32decode('UCQ2FI5EUWTKPKFJVKV2ZLNOV4', 16);
  assert.equal(hex(nonce), 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
  assert.equal(hex(pollMac(kTxn, SERIAL, 1700000010, nonce)),
    'ddad4914a67184b14f4c1da7ef4ceb88ccaf08b5ccba736916de75eded948129');
  assert.equal(offlineCode(kOcra, '1234567', 1700000000), '414993');
  assert.equal(offlineCode(kOcra, '1234567', 1700000030), '073759');
  assert.equal(offlineCode(kOcra, '12345', 1700000000), '985725');
  // A changed payee changes the digest (and so every MAC).
  const tampered = { ...TX, fields: TX.fields.map(([k, v]) => [k, k === 'account_number' ? '7654321' : v]) };
  assert.notEqual(hex(txnDigest(tampered, SERIAL)), hex(d));
});

test('RFC 6287 Appendix C: OCRA-1:HOTP-SHA1-6:QN08 one-way challenge-response', () => {
  const key = Buffer.from('3132333435363738393031323334353637383930', 'hex');
  const want = ['237653', '243178', '653583', '740991', '608993', '388898', '816933', '224598', '750600', '294470'];
  for (let i = 0; i < 10; i++) {
    assert.equal(ocra('OCRA-1:HOTP-SHA1-6:QN08', key, String(i).repeat(8)), want[i], `Q=${String(i).repeat(8)}`);
  }
});

test('RFC 6287 Appendix C: OCRA-1:HOTP-SHA512-8:QN08-T1M (time-based)', () => {
  const key = Buffer.from('31323334353637383930'.repeat(6) + '31323334', 'hex');
  const t = 0x132d0b6;
  const want = ['95209754', '55907591', '22048402', '24218844', '36209546'];
  for (let i = 0; i < 5; i++) {
    assert.equal(ocra('OCRA-1:HOTP-SHA512-8:QN08-T1M', key, String(i).repeat(8), t), want[i], `Q=${String(i).repeat(8)}`);
  }
});
