// 取引認証 in web banking, walked in Debian's headless Chromium against the
// real `softtoken-bank serve --demo --test-clock --txn-auth required`. The
// token is the independent JavaScript STK1 client (stk1.mjs), which knows
// its K_TOKEN because it pairs itself; the app's side of STK1-TXN (poll,
// bank_mac check, approval/rejection MAC, offline OCRA code) is
// stk1-txn.mjs. The test clock (X-Test-Time, also on the page's own status
// requests) drives expiry. Controls and results are found by their `id`.
// Screenshots: target/screenshots/bank-txn-*.png (docs/screenshots/ with
// SOFTTOKEN_UPDATE_DOCS=1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { pair, totp } from './stk1.mjs';
import { decide, offlineCode, pending, txnKeys } from './stk1-txn.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(repo, 'target');
const bin = process.env.BANK_BIN || path.join(targetDir, 'debug', 'softtoken-bank');
const shots = process.env.SOFTTOKEN_UPDATE_DOCS === '1'
  ? path.join(repo, 'docs', 'screenshots')
  : path.join(repo, 'target', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// More `serve` arguments, a JSON array (stage 50 puts the token service on
// PostgreSQL with `--database …`).
const extraServeArgs = JSON.parse(process.env.SOFTTOKEN_BANK_SERVE_ARGS || '[]');

let server; let dataDir; let base; let customers = []; let profile;
let browser; let context; let page;
let now = Math.floor(Date.now() / 1000 / 30) * 30 + 7;
let token; let keys;

async function setTime(t) {
  now = t;
  await context.setExtraHTTPHeaders({ 'X-Test-Time': String(now) });
}
const tick = (s = 30) => setTime(now + s);

const shot = (name) => page.screenshot({ path: path.join(shots, `bank-txn-${name}.png`), fullPage: true });
const byId = (id) => page.locator(`#${id}`);
const text = (id) => byId(id).innerText();
const click = (id) => byId(id).click();

const PAYEE = {
  bank: 'かけしん信用金庫', branch: '本店営業部', account_number: '1234567', payee: 'ヤマダ タロウ',
};

async function startServer() {
  dataDir = mkdtempSync(path.join(tmpdir(), 'stk-bank-txn-'));
  server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, '--demo', '--test-clock',
    '--txn-auth', 'required', ...extraServeArgs], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  server.stderr.on('data', (d) => process.stderr.write(`[server] ${d}`));
  const lines = createInterface({ input: server.stdout });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not print its listening line in 120 s')), 120_000);
    server.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
    lines.on('line', (line) => {
      const demo = /^demo customer: contract_id=(\d+) password=(\S+)$/.exec(line);
      if (demo) customers.push({ id: demo[1], password: demo[2] });
      const listening = /^listening on (http:\/\/\S+)$/.exec(line);
      if (listening) { base = listening[1]; clearTimeout(timer); resolve(); }
    });
  });
  profile = JSON.parse(execFileSync(bin, ['profile', '--data', dataDir], { encoding: 'utf8' }));
}

async function newContext(javaScriptEnabled) {
  context = await browser.newContext({ viewport: { width: 1000, height: 900 }, locale: 'ja-JP', javaScriptEnabled });
  context.setDefaultTimeout(30_000);
  page = await context.newPage();
  await setTime(now);
}

before(async () => {
  if (!process.env.SKIP_CARGO_BUILD) {
    const b = spawnSync('cargo', ['build', '-p', 'softtoken-bank'], { cwd: repo, stdio: 'inherit' });
    assert.equal(b.status, 0, 'cargo build -p softtoken-bank failed');
  }
  mkdirSync(shots, { recursive: true });
  await startServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await newContext(true);
});

after(async () => {
  await browser?.close().catch(() => {});
  if (server && server.exitCode === null) server.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function login(customer) {
  await page.goto(`${base}/login`);
  await page.fill('#f-contract_id', customer.id);
  await page.fill('#f-password', customer.password);
  await click('login-submit');
  await page.waitForURL(/\/account$/);
}

/** 入力 → 確認 → 取引認証 of a 振込 to `account`; returns the page's texts. */
async function transferToTxnPage(account, amount) {
  await click('nav-transfer');
  assert.equal(await byId('f-otp').count(), 0, 'no code field under 取引認証');
  await page.fill('#f-bank', PAYEE.bank);
  await page.fill('#f-branch', PAYEE.branch);
  await page.fill('#f-account_number', account);
  await page.fill('#f-payee', PAYEE.payee);
  await page.fill('#f-amount', amount);
  await click('transfer-submit');
  await page.waitForURL(/\/account\/transfer\/confirm$/);
  assert.deepEqual(await page.locator('#crumbs li').allInnerTexts(), ['入力', '確認', '取引認証', '完了']);
  assert.equal(await text('txn-account_number'), account);
  await click('confirm-submit');
  await page.waitForURL(/\/account\/txn$/);
  assert.equal(await page.locator('#crumbs li.current').innerText(), '取引認証');
  assert.match(await text('txn-instruction'), /アプリ/);
  assert.equal(await text('txn-check-submit'), '確認状況を更新');
  assert.equal(await text('txn-offline-open'), 'アプリが通信できない場合');
}

/** The app's view: the one pending transaction, verified (bank_mac, keys, expiry). */
async function appSees() {
  const txs = await pending(profile.url, token.serial, keys.kTxn, now);
  assert.equal(txs.length, 1, 'one pending transaction');
  return txs[0];
}

const field = (tx, key) => tx.fields.find(([k]) => k === key)[1];

async function historyCount(label) {
  await click('nav-history');
  const rows = await page.locator('#history tr').allInnerTexts();
  return rows.filter((r) => r.includes(label)).length;
}

test('取引認証: approve → executed once; reject, expiry → nothing; offline 取引認証番号; no-JS button', { timeout: 600_000 }, async (t) => {
  const alice = customers[0];

  await t.test('利用開始 with the STK1 test token', async () => {
    await page.goto(`${base}/login`);
    await click('btn-start');
    await page.fill('#f-contract_id', alice.id);
    await page.fill('#f-password', alice.password);
    await click('auth-submit');
    await page.waitForURL(/\/start\/register$/);
    const u = new URL((await text('pair-link')).trim());
    token = await pair(u.searchParams.get('url'), profile, now);
    keys = txnKeys(token.key, token.serial);
    await page.fill('#f-serial', token.serial);
    await page.fill('#f-otp', totp(token.key, now));
    await click('register-submit');
    await page.waitForURL(/\/start\/result$/);
  });

  await t.test('approved in the app: the page moves on by itself, the stored transfer runs once', async () => {
    await login(alice);
    await tick();
    await transferToTxnPage(PAYEE.account_number, '12,000');
    await shot('auth');
    const tx = await appSees();
    assert.equal(tx.kind, 'transfer');
    assert.deepEqual(tx.fields, [['payee_bank', PAYEE.bank], ['payee_branch', PAYEE.branch], ['account_type', '普通'],
      ['account_number', PAYEE.account_number], ['payee_name', PAYEE.payee], ['amount', '12000']]);
    const r = await decide(profile.url, token.serial, keys.kTxn, tx, 'approve', now);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.state, 'approved');
    // The poller (same-origin script) sees the decision and submits the form.
    await page.waitForURL(/\/account\/done$/, { timeout: 20_000 });
    assert.match(await text('result-message'), /お振込みを受け付けました/);
    assert.match(await text('receipt-number'), /^\d{7}$/);
    assert.match(await text('transaction'), new RegExp(PAYEE.account_number));
    assert.match(await text('transaction'), new RegExp(PAYEE.payee));
    assert.equal(await text('amount'), '12,000円');
    await shot('done');
    const receipt = await text('receipt-number');
    // Reload, the button again: the same receipt, nothing runs twice.
    await page.goto(`${base}/account/txn`);
    await page.waitForURL(/\/account\/done$/);
    assert.equal(await text('receipt-number'), receipt);
    assert.equal(await historyCount('取引認証（アプリで承認・実行）'), 1);
    assert.equal((await pending(profile.url, token.serial, keys.kTxn, now)).length, 0, 'nothing left pending');
  });

  await t.test('rejected in the app: a clear result, nothing executed', async () => {
    await tick();
    await transferToTxnPage('7654321', '500');
    const tx = await appSees();
    assert.equal(field(tx, 'account_number'), '7654321');
    const r = await decide(profile.url, token.serial, keys.kTxn, tx, 'reject', now);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await page.waitForSelector('#txn-result[data-result="rejected"]', { timeout: 20_000 });
    assert.match(await text('txn-result'), /拒否.*実行されませんでした/);
    await shot('rejected');
    // A late approval is refused by the token service; nothing runs.
    const late = await decide(profile.url, token.serial, keys.kTxn, tx, 'approve', now);
    assert.notEqual(late.status, 200);
    assert.equal(await historyCount('取引認証（アプリで拒否・未実行）'), 1);
    assert.equal(await historyCount('取引認証（アプリで承認・実行）'), 1, 'still only the first transfer ran');
  });

  await t.test('expired (test clock): nothing executed', async () => {
    await tick();
    await transferToTxnPage(PAYEE.account_number, '800');
    const tx = await appSees();
    await setTime(tx.expires_at + 1);
    await click('txn-check-submit');
    await page.waitForSelector('#txn-result[data-result="expired"]', { timeout: 20_000 });
    assert.match(await text('txn-result'), /有効期限が切れた/);
    await shot('expired');
    const late = await decide(profile.url, token.serial, keys.kTxn, tx, 'approve', now);
    assert.notEqual(late.status, 200, 'an expired transaction cannot be approved');
    assert.equal(await historyCount('取引認証（有効期限切れ・未実行）'), 1);
    assert.equal(await historyCount('取引認証（アプリで承認・実行）'), 1);
  });

  await t.test('offline 取引認証番号: a wrong number is refused, the right one runs the stored transfer', async () => {
    await tick(60);
    await transferToTxnPage(PAYEE.account_number, '3,000');
    await click('txn-offline-open');
    const right = offlineCode(keys.kOcra, PAYEE.account_number, now);
    const wrongNumber = offlineCode(keys.kOcra, '7654321', now);
    await page.fill('#f-txn_code', wrongNumber === right ? '000000' : wrongNumber);
    await click('txn-offline-submit');
    assert.match(await text('page-error'), /取引認証番号が正しくありません/);
    assert.equal(await page.inputValue('#f-txn_code'), '', 'the code is never written back');
    await shot('offline');
    await tick();
    await click('txn-offline-open');
    await page.fill('#f-txn_code', offlineCode(keys.kOcra, PAYEE.account_number, now));
    await click('txn-offline-submit');
    await page.waitForURL(/\/account\/done$/);
    assert.equal(await text('amount'), '3,000円');
    assert.match(await text('transaction'), new RegExp(PAYEE.account_number));
    assert.equal(await historyCount('取引認証（取引認証番号で認証・実行）'), 1);
  });

  await t.test('収納サービスへの支払 approved in the app: the stored payment runs', async () => {
    await tick();
    await click('nav-payment');
    assert.equal(await byId('f-otp').count(), 0);
    await page.fill('#f-biller', '12345');
    await page.fill('#f-customer_number', 'ABC123');
    await page.fill('#f-confirm_number', '9876');
    await page.fill('#f-amount', '5400');
    await click('payment-submit');
    await page.waitForURL(/\/account\/payment\/confirm$/);
    assert.equal(await text('txn-biller_number'), '12345');
    await click('confirm-submit');
    await page.waitForURL(/\/account\/txn$/);
    const tx = await appSees();
    assert.equal(tx.kind, 'payment');
    assert.deepEqual(tx.fields, [['biller_number', '12345'], ['customer_number', 'ABC123'],
      ['confirmation_number', '9876'], ['amount', '5400']]);
    assert.equal((await decide(profile.url, token.serial, keys.kTxn, tx, 'approve', now)).status, 200);
    await page.waitForURL(/\/account\/done$/, { timeout: 20_000 });
    assert.match(await text('result-message'), /お支払いを受け付けました/);
    assert.match(await text('transaction'), /12345[\s\S]*ABC123[\s\S]*9876/);
    assert.equal(await text('amount'), '5,400円');
  });

  await t.test('without JavaScript: 「確認状況を更新」 runs the approved transfer', async () => {
    await context.close();
    await newContext(false);
    await tick();
    await login(alice);
    await transferToTxnPage(PAYEE.account_number, '700');
    await click('txn-check-submit');
    assert.match(await text('txn-notice'), /まだアプリで承認されていません/);
    const tx = await appSees();
    assert.equal((await decide(profile.url, token.serial, keys.kTxn, tx, 'approve', now)).status, 200);
    await click('txn-check-submit');
    await page.waitForURL(/\/account\/done$/);
    assert.equal(await text('amount'), '700円');
    assert.equal(await historyCount('取引認証（アプリで承認・実行）'), 3);
  });
});
