// Web banking walked in Debian's headless Chromium against the real
// `softtoken-bank serve --demo --test-clock`, with real codes from the
// independent JavaScript STK1 client (stk1.mjs). The test clock advances
// 30 s per code through the X-Test-Time header, so no step reuses a code
// and nothing sleeps. Screenshots go to docs/screenshots/bank-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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
const shots = path.join(repo, 'docs', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let server; let dataDir; let userDataDir; let base; let customers = []; let profile;
let context; let page;
let now = Math.floor(Date.now() / 1000 / 30) * 30 + 7; // a little past a step boundary

async function tick() {
  now += 30;
  await context.setExtraHTTPHeaders({ 'X-Test-Time': String(now) });
  return now;
}

function jst(unix) {
  const d = new Date((unix + 9 * 3600) * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}年${p(d.getUTCMonth() + 1)}月${p(d.getUTCDate())}日 `
    + `${p(d.getUTCHours())}時${p(d.getUTCMinutes())}分${p(d.getUTCSeconds())}秒`;
}

const wrong = (code) => String((Number(code) + 500_000) % 1_000_000).padStart(6, '0');
const shot = (name) => page.screenshot({ path: path.join(shots, `bank-${name}.png`), fullPage: true });
const errorText = () => page.locator('.error').innerText();
const button = (name) => page.getByRole('button', { name, exact: true });
const link = (name) => page.getByRole('link', { name, exact: true });

async function startServer(listen = '127.0.0.1:0') {
  dataDir ??= mkdtempSync(path.join(tmpdir(), 'stk-bank-web-'));
  customers = [];
  server = spawn(bin, ['serve', '--listen', listen, '--data', dataDir, '--demo', '--test-clock'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' },
  });
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

/** Kills the server and starts it again on the same address and data. */
async function restartServer() {
  const { host } = new URL(base);
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGKILL');
  await exited;
  const before = customers;
  await startServer(host);
  assert.equal(base, `http://${host}`);
  assert.deepEqual(customers, before, 'a restart prints the same demo credentials');
}

before(async () => {
  if (!process.env.SKIP_CARGO_BUILD) {
    const b = spawnSync('cargo', ['build', '-p', 'softtoken-bank'], { cwd: repo, stdio: 'inherit' });
    assert.equal(b.status, 0, 'cargo build -p softtoken-bank failed');
  }
  mkdirSync(shots, { recursive: true });
  await startServer();
  assert.ok(customers.length >= 2, 'the server printed at least two demo customers');
  userDataDir = mkdtempSync(path.join(tmpdir(), 'stk-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1000, height: 760 },
    locale: 'ja-JP',
  });
  context.setDefaultTimeout(30_000);
  page = context.pages()[0] || await context.newPage();
  await context.setExtraHTTPHeaders({ 'X-Test-Time': String(now) });
});

after(async () => {
  await context?.close().catch(() => {});
  if (server && server.exitCode === null) server.kill('SIGTERM');
  for (const d of [dataDir, userDataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

async function authenticate(customer) {
  await page.fill('#f-contract_id', customer.id);
  await page.fill('#f-password', customer.password);
  await button('次へ').click();
}

async function login(customer) {
  await page.goto(`${base}/login`);
  await page.fill('#f-contract_id', customer.id);
  await page.fill('#f-password', customer.password);
  await button('ログイン').click();
}

test('web banking: 利用開始 → 振込 → login OTP する → 交換 → 利用中止', { timeout: 600_000 }, async (t) => {
  const alice = customers[0];
  let tokenA; let tokenB;

  await t.test('login screen has the guide labels; a wrong password keeps the contract ID', async () => {
    await page.goto(`${base}/login`);
    await page.waitForSelector('text=契約者ID（利用者番号）');
    await page.waitForSelector('text=ログインパスワード');
    for (const name of ['利用開始', '交換', '利用中止']) assert.equal(await link(name).count(), 1, name);
    await shot('login');
    await page.fill('#f-contract_id', alice.id);
    await page.fill('#f-password', 'not-the-password');
    await button('ログイン').click();
    assert.match(await errorText(), /契約者ID（利用者番号）またはログインパスワードが正しくありません/);
    assert.equal(await page.inputValue('#f-contract_id'), alice.id);
    assert.equal(await page.inputValue('#f-password'), '');
    assert.ok(!(await page.content()).includes('not-the-password'), 'the password is never echoed');
    const cookies = await context.cookies(base);
    const session = cookies.find((c) => c.name === 'stk_bank_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Strict', 'HttpOnly SameSite=Strict session cookie');
  });

  await t.test('利用開始: authenticate, pair from the QR link, a wrong code keeps the serial, then register', async () => {
    await page.goto(`${base}/login`);
    await link('利用開始').click();
    assert.equal(await page.locator('h1').innerText(), 'ワンタイムパスワード利用開始');
    const crumbs = await page.locator('ol.crumbs li').allInnerTexts();
    assert.deepEqual(crumbs, ['利用者認証', 'ワンタイムパスワード登録', '処理結果']);
    assert.equal(await link('戻る').count(), 1);
    await authenticate(alice);
    await page.waitForURL(/\/start\/register$/);
    assert.equal(await page.locator('ol.crumbs li.current').innerText(), 'ワンタイムパスワード登録');
    const linkText = (await page.locator('#pair-link').innerText()).trim();
    const u = new URL(linkText);
    assert.equal(u.protocol, 'softtoken:');
    assert.ok(linkText.startsWith('softtoken://pair?v=1&'), linkText);
    assert.equal(u.searchParams.get('bank'), profile.bank_id);
    assert.equal(u.searchParams.get('kid'), profile.server_key_id);
    assert.equal(u.searchParams.get('url'), profile.url);
    assert.equal(await page.locator('#pair-qr svg').count(), 1, 'QR code drawn as inline SVG');
    await page.waitForSelector('text=しんきん（個人）ワンタイムパスワード');
    tokenA = await pair(u.searchParams.get('url'), profile, now);
    await shot('start-register');

    const typed = formatSerial(tokenA.serial).toLowerCase();
    const bad = wrong(totp(tokenA.key, now));
    await page.fill('#f-serial', typed);
    await page.fill('#f-otp', bad);
    await button('登録').click();
    assert.match(await errorText(), /シリアル番号またはワンタイムパスワードが正しくありません/);
    assert.equal(await page.inputValue('#f-serial'), typed, 'the typed serial is kept');
    assert.equal(await page.inputValue('#f-otp'), '');
    assert.ok(!(await page.content()).includes(bad), 'the code is never echoed');
    await shot('start-error');

    await tick();
    await page.fill('#f-otp', totp(tokenA.key, now));
    await button('登録').click();
    await page.waitForURL(/\/start\/result$/);
    assert.equal(await page.locator('ol.crumbs li.current').innerText(), '処理結果');
    assert.match(await page.locator('#receipt-number').innerText(), /^\d{7}$/);
    assert.equal(await page.locator('#receipt-time').innerText(), jst(now));
    assert.equal(await page.locator('#result-serial').innerText(), formatSerial(tokenA.serial));
    await shot('start-result');
    await link('ログイン画面').click();
    await page.waitForURL(/\/login$/);
  });

  await t.test('振込 with a code: wrong code keeps the form, replay is refused, payment works', async () => {
    await login(alice);
    await page.waitForURL(/\/account$/);
    await restartServer();
    await page.reload();
    assert.match(page.url(), /\/account$/, 'the session survives a server restart');
    assert.match(await page.locator('#token-status').innerText(), new RegExp(formatSerial(tokenA.serial)));
    await link('振込').click();
    await page.fill('#f-bank', 'かけしん信用金庫');
    await page.fill('#f-branch', '本店営業部');
    await page.fill('#f-account_number', '1234567');
    await page.fill('#f-payee', 'ヤマダ タロウ');
    await page.fill('#f-amount', '12,000');
    await tick();
    const bad = wrong(totp(tokenA.key, now));
    await page.fill('#f-otp', bad);
    await button('振込実行').click();
    const msg = await errorText();
    assert.match(msg, /ワンタイムパスワードが正しくありません/);
    assert.match(msg, /連続\d+回目/);
    assert.equal(await page.inputValue('#f-bank'), 'かけしん信用金庫');
    assert.equal(await page.inputValue('#f-payee'), 'ヤマダ タロウ');
    assert.equal(await page.inputValue('#f-amount'), '12,000');
    assert.equal(await page.inputValue('#f-otp'), '');
    assert.ok(!(await page.content()).includes(bad));
    await shot('transfer-error');

    const good = totp(tokenA.key, now);
    await page.fill('#f-otp', good);
    await button('振込実行').click();
    await page.waitForURL(/\/account\/done$/);
    assert.match(await page.locator('#result-message').innerText(), /お振込みを受け付けました/);
    assert.match(await page.locator('#receipt-number').innerText(), /^\d{7}$/);
    assert.equal(await page.locator('#amount').innerText(), '12,000円');
    await shot('transfer-result');

    await link('振込').click();
    await page.fill('#f-bank', 'かけしん信用金庫');
    await page.fill('#f-branch', '本店営業部');
    await page.fill('#f-account_number', '1234567');
    await page.fill('#f-payee', 'ヤマダ タロウ');
    await page.fill('#f-amount', '100');
    await page.fill('#f-otp', good);
    await button('振込実行').click();
    assert.match(await errorText(), /このワンタイムパスワードは使用済みです/);

    await link('収納サービスへの支払').click();
    await page.fill('#f-biller', '12345');
    await page.fill('#f-customer_number', 'ABC123');
    await page.fill('#f-confirm_number', '9876');
    await page.fill('#f-amount', '5400');
    await tick();
    await page.fill('#f-otp', totp(tokenA.key, now));
    await button('支払実行').click();
    await page.waitForURL(/\/account\/done$/);
    assert.match(await page.locator('#result-message').innerText(), /お支払いを受け付けました/);
  });

  await t.test('login OTP 「する」: set with a code, then login asks for the code', async () => {
    await link('ログイン時のワンタイムパスワード').click();
    await page.check('#otp-login-on');
    await page.fill('#f-otp', '12345');
    await button('変更').click();
    assert.match(await errorText(), /半角数字6桁/);
    assert.ok(await page.isChecked('#otp-login-on'), 'the choice is kept');
    await tick();
    await page.fill('#f-otp', totp(tokenA.key, now));
    await button('変更').click();
    assert.match(await page.locator('#settings-notice').innerText(), /設定を変更しました/);
    assert.equal(await page.locator('#login-otp-status').innerText(), 'する');

    await link('ワンタイムパスワード利用履歴').click();
    const history = await page.locator('#history').innerText();
    for (const s of ['トークン登録', '認証失敗', '使用済み', 'ログイン時の認証を「する」に変更']) {
      assert.ok(history.includes(s), `history shows ${s}`);
    }
    await shot('history');
    await button('ログアウト').click();
    await page.waitForURL(/\/login$/);

    await login(alice);
    await page.waitForURL(/\/login\/otp$/);
    await tick();
    await page.fill('#f-otp', wrong(totp(tokenA.key, now)));
    await button('ログイン').click();
    assert.match(await errorText(), /ワンタイムパスワードが正しくありません/);
    await shot('login-otp');
    await page.fill('#f-otp', totp(tokenA.key, now));
    await button('ログイン').click();
    await page.waitForURL(/\/account$/);
    await button('ログアウト').click();
  });

  await t.test('交換 to a second token: a wrong old code goes back one step, then 変更後/変更前', async () => {
    await tick();
    tokenB = await pair(profile.url, profile, now);
    await page.goto(`${base}/login`);
    await link('交換').click();
    assert.equal(await page.locator('h1').innerText(), 'ワンタイムパスワード交換');
    assert.deepEqual(await page.locator('ol.crumbs li').allInnerTexts(),
      ['旧ワンタイムパスワード認証', '新ワンタイムパスワード認証', '処理結果']);
    const warning = await page.locator('#exchange-warning').innerText();
    assert.match(warning, /アンインストールしないで下さい/);
    assert.match(warning, /SIMカード/);
    await authenticate(alice);
    await page.waitForURL(/\/exchange\/old$/);
    await page.fill('#f-otp', '12a456');
    await button('次へ').click();
    assert.match(await errorText(), /半角数字6桁/);
    await page.fill('#f-otp', wrong(totp(tokenA.key, now)));
    await button('次へ').click();
    await page.waitForURL(/\/exchange\/new$/);
    assert.equal(await page.locator('ol.crumbs li.current').innerText(), '新ワンタイムパスワード認証');
    await page.waitForSelector('text=新ソフトウェアトークンに表示されているシリアル番号');
    await page.fill('#f-serial', tokenB.serial);
    await page.fill('#f-otp', totp(tokenB.key, now));
    await button('登録').click();
    assert.match(await errorText(), /現行（旧）のソフトウェアトークンのワンタイムパスワードが正しくありません/);
    await shot('exchange-error');

    await tick();
    await page.fill('#f-otp', totp(tokenA.key, now));
    await button('次へ').click();
    await page.waitForURL(/\/exchange\/new$/);
    assert.equal(await page.inputValue('#f-serial'), tokenB.serial, 'the new serial typed before is kept');
    await page.fill('#f-otp', totp(tokenB.key, now));
    await button('登録').click();
    await page.waitForURL(/\/exchange\/result$/);
    assert.match(await page.locator('#result-message').innerText(), /ワンタイムパスワードの登録が完了しました/);
    assert.match(await page.locator('#receipt-number').innerText(), /^\d{7}$/);
    assert.equal(await page.locator('#receipt-time').innerText(), jst(now));
    assert.equal(await page.locator('#serial-after').innerText(), formatSerial(tokenB.serial));
    assert.equal(await page.locator('#serial-before').innerText(), formatSerial(tokenA.serial));
    await shot('exchange-result');
    await link('ログイン画面').click();

    await login(alice);
    await page.waitForURL(/\/login\/otp$/);
    await tick();
    await page.fill('#f-otp', totp(tokenA.key, now));
    await button('ログイン').click();
    assert.match(await errorText(), /ワンタイムパスワードが正しくありません/, 'the old token no longer works');
    await page.fill('#f-otp', totp(tokenB.key, now));
    await button('ログイン').click();
    await page.waitForURL(/\/account$/);
    assert.match(await page.locator('#token-status').innerText(), new RegExp(formatSerial(tokenB.serial)));
    await button('ログアウト').click();
  });

  await t.test('利用中止: authenticate, code, confirmation, result, ログイン画面', async () => {
    await page.goto(`${base}/login`);
    await link('利用中止').click();
    assert.equal(await page.locator('h1').innerText(), 'ワンタイムパスワード利用中止');
    await authenticate(alice);
    await page.waitForURL(/\/stop\/otp$/);
    await tick();
    await page.fill('#f-otp', wrong(totp(tokenB.key, now)));
    await button('次へ').click();
    await page.waitForURL(/\/stop\/confirm$/);
    await button('中止する').click();
    assert.match(await errorText(), /ワンタイムパスワードが正しくありません/);
    await page.fill('#f-otp', totp(tokenB.key, now));
    await button('次へ').click();
    await page.waitForURL(/\/stop\/confirm$/);
    assert.match(await page.locator('#confirm-message').innerText(), /利用を中止します/);
    await shot('stop-confirm');
    await button('中止する').click();
    await page.waitForURL(/\/stop\/result$/);
    assert.match(await page.locator('#receipt-number').innerText(), /^\d{7}$/);
    assert.equal(await page.locator('#result-serial').innerText(), formatSerial(tokenB.serial));
    await shot('stop-result');
    await link('ログイン画面').click();
    await page.waitForURL(/\/login$/);

    await login(alice);
    await page.waitForURL(/\/account$/, { timeout: 30_000 });
    assert.match(await page.locator('#token-status').innerText(), /未登録/);
    assert.equal(await page.locator('#login-otp-status').innerText(), 'しない');
    await link('振込').click();
    await page.fill('#f-bank', 'かけしん信用金庫');
    await page.fill('#f-branch', '本店営業部');
    await page.fill('#f-account_number', '1234567');
    await page.fill('#f-payee', 'ヤマダ タロウ');
    await page.fill('#f-amount', '100');
    await tick();
    await page.fill('#f-otp', totp(tokenB.key, now));
    await button('振込実行').click();
    assert.match(await errorText(), /ワンタイムパスワードが登録されていません/);
    await button('ログアウト').click();
  });

  await t.test('lockout: repeated wrong codes lock the token; the customer is told to call the bank', async () => {
    const bob = customers[1];
    await page.goto(`${base}/login`);
    await link('利用開始').click();
    await authenticate(bob);
    await page.waitForURL(/\/start\/register$/);
    await tick();
    const tokenC = await pair(profile.url, profile, now);
    await page.fill('#f-serial', tokenC.serial);
    await page.fill('#f-otp', totp(tokenC.key, now));
    await button('登録').click();
    await page.waitForURL(/\/start\/result$/);
    await login(bob);
    await page.waitForURL(/\/account$/);
    await link('収納サービスへの支払').click();
    await page.fill('#f-biller', '12345');
    await page.fill('#f-customer_number', 'ABC123');
    await page.fill('#f-confirm_number', '9876');
    await page.fill('#f-amount', '5400');
    let attempts = 0; let msg = '';
    while (attempts < 20) {
      attempts += 1;
      await page.fill('#f-otp', wrong(totp(tokenC.key, now)));
      await button('支払実行').click();
      msg = await errorText();
      if (/当金庫までご連絡ください/.test(msg)) break;
      assert.match(msg, new RegExp(`連続${attempts}回目`));
    }
    assert.match(msg, /当金庫までご連絡ください/, 'locked within 20 wrong codes');
    assert.ok(attempts > 3, `locked only after several wrong codes (${attempts})`);
    assert.equal(await page.inputValue('#f-biller'), '12345');
    await tick();
    await page.fill('#f-otp', totp(tokenC.key, now));
    await button('支払実行').click();
    assert.match(await errorText(), /当金庫までご連絡ください/, 'even the right code is refused while locked');
    await shot('locked');
    await link('ワンタイムパスワード利用履歴').click();
    assert.match(await page.locator('#history').innerText(), /ロック中/);
    await button('ログアウト').click();
  });

  await t.test('English pages via ?lang=en', async () => {
    await page.goto(`${base}/login?lang=en`);
    await page.waitForSelector('text=Contract ID (user number)');
    for (const name of ['Start', 'Exchange', 'Stop']) assert.equal(await link(name).count(), 1, name);
    await shot('login-en');
    await page.goto(`${base}/login?lang=ja`);
    await page.waitForSelector('text=契約者ID（利用者番号）');
  });

  await t.test('a form without its CSRF token is refused', async () => {
    const res = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `contract_id=${alice.id}&password=${encodeURIComponent(alice.password)}`,
      redirect: 'manual',
    });
    assert.equal(res.status, 403);
  });
});
