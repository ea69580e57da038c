#!/usr/bin/env node
// A throw-away soft token for walking web banking by hand without the app:
// pairs with the bank through STK1 (the same independent client the browser
// tests use), prints the serial, then prints the current one-time password
// every 30 seconds until Ctrl-C. The secret lives in memory only; nothing is
// written to disk. Testing aid, not the product.
//
//   node tests/browser/demo-token.mjs --data DIR [--bin path/to/softtoken-bank]
//   node tests/browser/demo-token.mjs --profile '{"server_key_id":…,"server_public_key":…,"url":…}'
import { execFileSync } from 'node:child_process';
import { formatSerial, pair, totp } from './stk1.mjs';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
let profile;
if (opt('--profile')) {
  profile = JSON.parse(opt('--profile'));
} else if (opt('--data')) {
  const bin = opt('--bin') || `${process.env.CARGO_TARGET_DIR || 'target'}/debug/softtoken-bank`;
  profile = JSON.parse(execFileSync(bin, ['profile', '--data', opt('--data')], { encoding: 'utf8' }));
} else {
  console.error('usage: demo-token.mjs --data DIR [--bin softtoken-bank] | --profile JSON');
  process.exit(2);
}
const token = await pair(profile.url, profile);
console.log(`serial: ${formatSerial(token.serial)}  (bank ${profile.bank_id ?? ''} ${profile.url})`);
const show = () => {
  const now = Math.floor(Date.now() / 1000);
  const code = totp(token.key, now);
  console.log(`${new Date(now * 1000).toISOString()}  code ${code.slice(0, 3)} ${code.slice(3)}  (${30 - (now % 30)} s left)`);
};
show();
setTimeout(() => { show(); setInterval(show, 30_000); }, (30 - (Math.floor(Date.now() / 1000) % 30)) * 1000 + 50);
