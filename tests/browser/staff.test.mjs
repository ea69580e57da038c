// The staff console walked in Debian's headless Chromium against the real
// `softtoken-bank serve --demo --test-clock --txn-auth off
// --staff-password-file FILE`, with real codes from the independent
// JavaScript STK1 client (stk1.mjs): 利用開始 (its 「アプリで開く」 link
// carries the QR code's link), ten wrong codes lock the token, the console
// shows the lock, unlocks it, resynchronises a token whose clock is five
// steps ahead with two consecutive codes, and the customer's codes work
// again. The server's output is checked for the staff password and the
// codes. Screenshot: bank-staff-console.png in target/screenshots/, or in
// docs/screenshots/ when SOFTTOKEN_UPDATE_DOCS=1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { formatSerial, pair, totp } from './stk1.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(repo, 'target');
const bin = process.env.BANK_BIN || path.join(targetDir, 'debug', 'softtoken-bank');
const shots = process.env.SOFTTOKEN_UPDATE_DOCS === '1'
  ? path.join(repo, 'docs', 'screenshots')
  : path.join(repo, 'target', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STAFF_NAME = '窓口 山田';
const STAFF_PASSWORD = `staff-${randomBytes(12).toString('hex')}`;
const LOCKOUT = 10; // the reference policy's lockout limit
const DRIFT = 5; // steps the second token's clock runs ahead
// Extra `serve` arguments as a JSON array, e.g. the token service on
// PostgreSQL (`["--database", URL, "--database-password-file", FILE]`).
const extraServeArgs = JSON.parse(process.env.SOFTTOKEN_BANK_SERVE_ARGS || '[]');

let server; let dataDir; let secretsDir; let userDataDir; let base; let profile;
let customers = [];
let output = '';
let context; let page;
let now = Math.floor(Date.now() / 1000 / 30) * 30 + 7;

async function tick() {
  now += 30;
  await context.setExtraHTTPHeaders({ 'X-Test-Time': String(now) });
  return now;
}

const wrong = (code) => String((Number(code) + 500_000) % 1_000_000).padStart(6, '0');
const shot = (name) => page.screenshot({ path: path.join(shots, `bank-${name}.png`), fullPage: true });
const byId = (id) => page.locator(`#${id}`);
const text = (id) => byId(id).innerText();
const click = (id) => byId(id).click();

before(async () => {
  if (!process.env.SKIP_CARGO_BUILD) {
    const b = spawnSync('cargo', ['build', '-p', 'softtoken-bank'], { cwd: repo, stdio: 'inherit' });
    assert.equal(b.status, 0, 'cargo build -p softtoken-bank failed');
  }
  mkdirSync(shots, { recursive: true });
  dataDir = mkdtempSync(path.join(tmpdir(), 'stk-bank-staff-'));
  secretsDir = mkdtempSync(path.join(tmpdir(), 'stk-staff-secret-'));
  const pwFile = path.join(secretsDir, 'staff-password');
  writeFileSync(pwFile, `${STAFF_PASSWORD}\n`, { mode: 0o600 });
  server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, '--demo', '--test-clock',
    '--txn-auth', 'off', '--staff-password-file', pwFile, ...extraServeArgs], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'info' },
  });
  server.stderr.on('data', (d) => { output += d; });
  const lines = createInterface({ input: server.stdout });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not print its listening line in 120 s')), 120_000);
    server.once('exit', (code) => reject(new Error(`server exited early with ${code}: ${output}`)));
    lines.on('line', (line) => {
      output += `${line}\n`;
      const demo = /^demo customer: contract_id=(\d+) password=(\S+)$/.exec(line);
      if (demo) customers.push({ id: demo[1], password: demo[2] });
      const listening = /^listening on (http:\/\/\S+)$/.exec(line);
      if (listening) { base = listening[1]; clearTimeout(timer); resolve(); }
    });
  });
  assert.match(output, /^staff console on http:\/\/\S+\/staff\/login$/m, 'the console is announced');
  profile = JSON.parse(execFileSync(bin, ['profile', '--data', dataDir], { encoding: 'utf8' }));
  userDataDir = mkdtempSync(path.join(tmpdir(), 'stk-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 800 },
    locale: 'ja-JP',
  });
  context.setDefaultTimeout(30_000);
  page = context.pages()[0] || await context.newPage();
  await context.setExtraHTTPHeaders({ 'X-Test-Time': String(now) });
});

after(async () => {
  await context?.close().catch(() => {});
  if (server && server.exitCode === null) server.kill('SIGTERM');
  for (const d of [dataDir, secretsDir, userDataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

async function register(customer) {
  await page.goto(`${base}/start`);
  await page.fill('#f-contract_id', customer.id);
  await page.fill('#f-password', customer.password);
  await click('auth-submit');
  await page.waitForURL(/\/start\/register$/);
  const link = (await text('pair-link')).trim();
  const token = await pair(new URL(link).searchParams.get('url'), profile, now);
  await tick();
  await page.fill('#f-serial', token.serial);
  await page.fill('#f-otp', totp(token.key, now));
  await click('register-submit');
  await page.waitForURL(/\/start\/result$/);
  return token;
}

async function transfer(code) {
  await page.goto(`${base}/account/transfer`);
  await page.fill('#f-bank', 'かけしん信用金庫');
  await page.fill('#f-branch', '本店営業部');
  await page.fill('#f-account_number', '1234567');
  await page.fill('#f-payee', 'ヤマダ タロウ');
  await page.fill('#f-amount', '1,000');
  await page.fill('#f-otp', code);
  await click('transfer-submit');
}

test('staff console: lookup, lock shown, unlock, resync; 「アプリで開く」', { timeout: 600_000 }, async (t) => {
  const alice = customers[0];
  const bob = customers[1];
  let token; const codes = [];

  await t.test('利用開始: the 「アプリで開く」 link is the QR code\'s pairing link', async () => {
    await page.goto(`${base}/start`);
    await page.fill('#f-contract_id', alice.id);
    await page.fill('#f-password', alice.password);
    await click('auth-submit');
    await page.waitForURL(/\/start\/register$/);
    const open = byId('pair-open');
    assert.equal((await open.innerText()).trim(), 'アプリで開く');
    const href = await open.getAttribute('href');
    assert.equal(href, (await text('pair-link')).trim(), 'the button and the text carry one link');
    assert.ok(href.startsWith('softtoken://pair?v=1&'), href);
    assert.equal(new URL(href).searchParams.get('kid'), profile.server_key_id);
    assert.equal(await page.locator('#pair-qr svg').count(), 1, 'the QR code is still drawn');
    // Laid out as a button, next to the QR code.
    const box = await open.boundingBox();
    assert.ok(box && box.width > 40 && box.height > 20, 'a tappable button');
    token = await pair(new URL(href).searchParams.get('url'), profile, now);
    await tick();
    await page.fill('#f-serial', token.serial);
    await page.fill('#f-otp', totp(token.key, now));
    await click('register-submit');
    await page.waitForURL(/\/start\/result$/);
  });

  await t.test('ten wrong codes lock the token', async () => {
    await page.goto(`${base}/login`);
    await page.fill('#f-contract_id', alice.id);
    await page.fill('#f-password', alice.password);
    await click('login-submit');
    await page.waitForURL(/\/account$/);
    for (let n = 1; n <= LOCKOUT; n += 1) {
      await tick();
      const bad = wrong(totp(token.key, now));
      codes.push(bad);
      await transfer(bad);
      // The wrong code that reaches the limit is answered `locked` itself.
      const expected = n < LOCKOUT ? new RegExp(`連続${n}回目`) : /ご利用を停止しています/;
      assert.match(await text('page-error'), expected);
    }
    await tick();
    const good = totp(token.key, now);
    await transfer(good);
    assert.match(await text('page-error'), /ご利用を停止しています/);
  });

  await t.test('the console: login, lookup shows the lock, unlock', async () => {
    await page.goto(`${base}/staff`);
    await page.waitForURL(/\/staff\/login$/);
    assert.equal(await text('page-title'), '職員ログイン');
    await page.fill('#f-staff_name', STAFF_NAME);
    await page.fill('#f-password', 'not-the-staff-password');
    await click('staff-login-submit');
    assert.match(await text('page-error'), /職員名またはパスワードが正しくありません/);
    assert.equal(await page.inputValue('#f-password'), '');
    await page.fill('#f-password', STAFF_PASSWORD);
    await click('staff-login-submit');
    await page.waitForURL(/\/staff$/);
    assert.match(await text('staff-who'), new RegExp(STAFF_NAME));
    const cookies = await context.cookies(`${base}/staff`);
    const staffCookie = cookies.find((c) => c.name === 'stk_staff_session');
    assert.ok(staffCookie && staffCookie.httpOnly && staffCookie.sameSite === 'Strict'
      && staffCookie.path === '/staff', 'HttpOnly SameSite=Strict cookie scoped to /staff');

    await page.fill('#f-q', alice.id);
    await click('lookup-submit');
    await page.waitForURL(/\/staff\?q=/);
    assert.equal(await text('customer-id'), alice.id);
    assert.equal(await text('token-serial'), formatSerial(token.serial));
    assert.equal(await text('token-state'), '利用中');
    assert.equal(await byId('token-lock').getAttribute('data-locked'), 'true');
    // Read from the token service (GET /v1/admin/tokens/{serial}), not
    // guessed from web banking's history: its lockout limit is shown too.
    assert.equal(await text('token-lock'), 'ロック中（解除の操作まで）');
    assert.equal(await text('token-failures'), String(LOCKOUT));
    assert.ok((await text('token')).includes(`（${LOCKOUT}回でロック）`), await text('token'));
    assert.equal(await text('token-drift'), '+0 ステップ (+0 秒)');
    assert.match(await text('token-last-accepted'), /^\d{4}年\d{1,2}月\d{1,2}日/, 'registration accepted a code');
    const history = await text('history');
    assert.ok(history.includes(`認証失敗（連続${LOCKOUT - 1}回目）`), history);
    assert.ok(history.includes('ロック中'), history);
    await shot('staff-console');

    await click('unlock-submit');
    assert.match(await text('page-notice'), /ロックを解除しました/);
    assert.equal(await byId('token-lock').getAttribute('data-locked'), 'false');
    assert.equal(await text('token-lock'), 'ロックなし');
    assert.equal(await text('token-failures'), '0');
    const actions = await text('staff-events');
    assert.ok(actions.includes(STAFF_NAME) && actions.includes('ロック解除'), actions);
  });

  await t.test('the customer\'s codes work again after the unlock', async () => {
    await tick();
    await transfer(totp(token.key, now));
    await page.waitForURL(/\/account\/done$/, { timeout: 10_000 })
      .catch(async () => assert.fail(`no transfer: ${await text('page-error')}`));
  });

  await t.test('resync: a token five steps ahead, two consecutive codes', async () => {
    const ahead = await register(bob);
    // The token's clock runs DRIFT steps ahead of the bank's from now on.
    await tick();
    const at = (k) => totp(ahead.key, now + (DRIFT + k) * 30);
    await page.goto(`${base}/staff?q=${ahead.serial}`);
    assert.equal(await text('customer-id'), bob.id, 'a serial finds its customer');
    await page.fill('#f-otp1', at(0));
    await page.fill('#f-otp2', at(-1));
    await click('resync-submit');
    assert.match(await text('page-error'), /連続する2つのワンタイムパスワードが見つかりませんでした/);
    assert.equal(await page.inputValue('#f-otp1'), '', 'codes are never re-filled');
    codes.push(at(-1), at(0));
    // What the token showed just before and what it shows now.
    await page.fill('#f-otp1', at(-1));
    await page.fill('#f-otp2', at(0));
    await click('resync-submit');
    assert.match(await text('page-notice'), /再同期しました/);
    assert.equal(await text('token-drift'), `+${DRIFT} ステップ (+${DRIFT * 30} 秒)`);
    assert.equal(await byId('token-lock').getAttribute('data-locked'), 'false');
    assert.equal(await text('token-failures'), '0');
    assert.ok(!(await page.content()).includes(at(0)), 'the codes are not on the page');
  });

  await t.test('English, and nothing secret in the server\'s output', async () => {
    await page.goto(`${base}/staff?lang=en`);
    assert.equal(await text('page-title'), 'Staff console');
    assert.ok(output.includes(STAFF_NAME), 'the staff name is logged with its actions');
    assert.ok(!output.includes(STAFF_PASSWORD), 'the staff password is never logged');
    for (const c of codes) assert.doesNotMatch(output, new RegExp(`(?<!\\d)${c}(?!\\d)`), `code ${c} is never logged`);
    await click('staff-logout');
    await page.waitForURL(/\/staff\/login$/);
    await page.goto(`${base}/staff`);
    await page.waitForURL(/\/staff\/login$/);
  });
});
