// Web banking walked in Debian's headless Chromium against the real
// `softtoken-bank serve --demo --test-clock`, with real codes from the
// independent JavaScript STK1 client (stk1.mjs). The test clock advances
// 30 s per code through the X-Test-Time header, so no step reuses a code
// and nothing sleeps. Controls and results are found by their `id`.
// Screenshots go to target/screenshots/bank-*.png, or to
// docs/screenshots/ when SOFTTOKEN_UPDATE_DOCS=1.
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
const shots = process.env.SOFTTOKEN_UPDATE_DOCS === '1'
  ? path.join(repo, 'docs', 'screenshots')
  : path.join(repo, 'target', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// More `serve` arguments, a JSON array (stage 50 puts the token service on
// PostgreSQL with `--database …`).
const extraServeArgs = JSON.parse(process.env.SOFTTOKEN_BANK_SERVE_ARGS || '[]');

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
const byId = (id) => page.locator(`#${id}`);
const text = (id) => byId(id).innerText();
const click = (id) => byId(id).click();
const errorText = () => text('page-error');
/** The label text of the field whose control has this id. */
const label = (id) => page.locator(`label[for="${id}"]`).innerText();

async function startServer(listen = '127.0.0.1:0') {
  dataDir ??= mkdtempSync(path.join(tmpdir(), 'stk-bank-web-'));
  customers = [];
  server = spawn(bin, ['serve', '--listen', listen, '--data', dataDir, '--demo', '--test-clock', '--txn-auth', 'off',
    ...extraServeArgs], {
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
  await click('auth-submit');
}

async function login(customer) {
  await page.goto(`${base}/login`);
  await page.fill('#f-contract_id', customer.id);
  await page.fill('#f-password', customer.password);
  await click('login-submit');
}

test('web banking: 利用開始 → 振込 → login OTP する → 交換 → 利用中止', { timeout: 600_000 }, async (t) => {
  const alice = customers[0];
  let tokenA; let tokenB;

  await t.test('login screen has the guide labels; a wrong password keeps the contract ID', async () => {
    await page.goto(`${base}/login`);
    assert.equal(await label('f-contract_id'), '契約者ID（利用者番号）');
    assert.equal(await label('f-password'), 'ログインパスワード');
    assert.equal(await text('login-submit'), 'ログイン');
    for (const [id, name] of [['btn-start', '利用開始'], ['btn-exchange', '交換'], ['btn-stop', '利用中止']]) {
      assert.equal(await text(id), name, id);
    }
    await shot('login');
    await page.fill('#f-contract_id', alice.id);
    await page.fill('#f-password', 'not-the-password');
    await click('login-submit');
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
    await click('btn-start');
    assert.equal(await text('page-title'), 'ワンタイムパスワード利用開始');
    const crumbs = await page.locator('#crumbs li').allInnerTexts();
    assert.deepEqual(crumbs, ['利用者認証', 'ワンタイムパスワード登録', '処理結果']);
    assert.equal(await text('back'), '戻る');
    assert.equal(await text('auth-submit'), '次へ');
    await authenticate(alice);
    await page.waitForURL(/\/start\/register$/);
    assert.equal(await page.locator('#crumbs li.current').innerText(), 'ワンタイムパスワード登録');
    const linkText = (await text('pair-link')).trim();
    const u = new URL(linkText);
    assert.equal(u.protocol, 'softtoken:');
    assert.ok(linkText.startsWith('softtoken://pair?v=1&'), linkText);
    assert.equal(u.searchParams.get('bank'), profile.bank_id);
    assert.equal(u.searchParams.get('kid'), profile.server_key_id);
    assert.equal(u.searchParams.get('url'), profile.url);
    assert.equal(await page.locator('#pair-qr svg').count(), 1, 'QR code drawn as inline SVG');
    assert.match(await text('app-download'), /しんきん（個人）ワンタイムパスワード/);
    assert.equal(await text('register-submit'), '登録');
    tokenA = await pair(u.searchParams.get('url'), profile, now);
    await shot('start-register');

    const typed = formatSerial(tokenA.serial).toLowerCase();
    const bad = wrong(totp(tokenA.key, now));
    await page.fill('#f-serial', typed);
    await page.fill('#f-otp', bad);
    await click('register-submit');
    assert.match(await errorText(), /シリアル番号またはワンタイムパスワードが正しくありません/);
    assert.equal(await page.inputValue('#f-serial'), typed, 'the typed serial is kept');
    assert.equal(await page.inputValue('#f-otp'), '');
    assert.ok(!(await page.content()).includes(bad), 'the code is never echoed');
    await shot('start-error');

    await tick();
    await page.fill('#f-otp', totp(tokenA.key, now));
    await click('register-submit');
    await page.waitForURL(/\/start\/result$/);
    assert.equal(await page.locator('#crumbs li.current').innerText(), '処理結果');
    assert.match(await text('receipt-number'), /^\d{7}$/);
    assert.equal(await text('receipt-time'), jst(now));
    assert.equal(await text('result-serial'), formatSerial(tokenA.serial));
    await shot('start-result');
    await click('to-login');
    await page.waitForURL(/\/login$/);
  });

  await t.test('振込 with a code: wrong code keeps the form, replay is refused, payment works', async () => {
    await login(alice);
    await page.waitForURL(/\/account$/);
    await restartServer();
    await page.reload();
    assert.match(page.url(), /\/account$/, 'the session survives a server restart');
    assert.match(await text('token-status'), new RegExp(formatSerial(tokenA.serial)));
    await click('nav-transfer');
    await page.fill('#f-bank', 'かけしん信用金庫');
    await page.fill('#f-branch', '本店営業部');
    await page.fill('#f-account_number', '1234567');
    await page.fill('#f-payee', 'ヤマダ タロウ');
    await page.fill('#f-amount', '12,000');
    await tick();
    const bad = wrong(totp(tokenA.key, now));
    await page.fill('#f-otp', bad);
    await click('transfer-submit');
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
    await click('transfer-submit');
    await page.waitForURL(/\/account\/done$/);
    assert.match(await text('result-message'), /お振込みを受け付けました/);
    assert.match(await text('receipt-number'), /^\d{7}$/);
    assert.equal(await text('amount'), '12,000円');
    await shot('transfer-result');

    await click('nav-transfer');
    await page.fill('#f-bank', 'かけしん信用金庫');
    await page.fill('#f-branch', '本店営業部');
    await page.fill('#f-account_number', '1234567');
    await page.fill('#f-payee', 'ヤマダ タロウ');
    await page.fill('#f-amount', '100');
    await page.fill('#f-otp', good);
    await click('transfer-submit');
    assert.match(await errorText(), /このワンタイムパスワードは使用済みです/);

    await click('nav-payment');
    await page.fill('#f-biller', '12345');
    await page.fill('#f-customer_number', 'ABC123');
    await page.fill('#f-confirm_number', '9876');
    await page.fill('#f-amount', '5400');
    await tick();
    await page.fill('#f-otp', totp(tokenA.key, now));
    await click('payment-submit');
    await page.waitForURL(/\/account\/done$/);
    assert.match(await text('result-message'), /お支払いを受け付けました/);
  });

  await t.test('login OTP 「する」: set with a code, then login asks for the code', async () => {
    await click('nav-settings');
    await page.check('#otp-login-on');
    await page.fill('#f-otp', '12345');
    await click('settings-submit');
    assert.match(await errorText(), /半角数字6桁/);
    assert.ok(await page.isChecked('#otp-login-on'), 'the choice is kept');
    await tick();
    await page.fill('#f-otp', totp(tokenA.key, now));
    await click('settings-submit');
    assert.match(await text('settings-notice'), /設定を変更しました/);
    assert.equal(await text('login-otp-status'), 'する');

    await click('nav-history');
    const history = await text('history');
    for (const s of ['トークン登録', '認証失敗', '使用済み', 'ログイン時の認証を「する」に変更']) {
      assert.ok(history.includes(s), `history shows ${s}`);
    }
    await shot('history');
    await click('logout');
    await page.waitForURL(/\/login$/);

    await login(alice);
    await page.waitForURL(/\/login\/otp$/);
    await tick();
    await page.fill('#f-otp', wrong(totp(tokenA.key, now)));
    await click('login-otp-submit');
    assert.match(await errorText(), /ワンタイムパスワードが正しくありません/);
    await shot('login-otp');
    await page.fill('#f-otp', totp(tokenA.key, now));
    await click('login-otp-submit');
    await page.waitForURL(/\/account$/);
    await click('logout');
  });

  await t.test('交換 to a second token: a wrong old code goes back one step, then 変更後/変更前', async () => {
    await tick();
    tokenB = await pair(profile.url, profile, now);
    await page.goto(`${base}/login`);
    await click('btn-exchange');
    assert.equal(await text('page-title'), 'ワンタイムパスワード交換');
    assert.deepEqual(await page.locator('#crumbs li').allInnerTexts(),
      ['旧ワンタイムパスワード認証', '新ワンタイムパスワード認証', '処理結果']);
    const warning = await text('exchange-warning');
    assert.match(warning, /アンインストールしないで下さい/);
    assert.match(warning, /SIMカード/);
    await authenticate(alice);
    await page.waitForURL(/\/exchange\/old$/);
    await page.fill('#f-otp', '12a456');
    await click('old-submit');
    assert.match(await errorText(), /半角数字6桁/);
    await page.fill('#f-otp', wrong(totp(tokenA.key, now)));
    await click('old-submit');
    await page.waitForURL(/\/exchange\/new$/);
    assert.equal(await page.locator('#crumbs li.current').innerText(), '新ワンタイムパスワード認証');
    assert.equal(await label('f-serial'), '新ソフトウェアトークンに表示されているシリアル番号');
    await page.fill('#f-serial', tokenB.serial);
    await page.fill('#f-otp', totp(tokenB.key, now));
    await click('new-submit');
    assert.match(await errorText(), /現行（旧）のソフトウェアトークンのワンタイムパスワードが正しくありません/);
    await shot('exchange-error');

    await tick();
    await page.fill('#f-otp', totp(tokenA.key, now));
    await click('old-submit');
    await page.waitForURL(/\/exchange\/new$/);
    assert.equal(await page.inputValue('#f-serial'), tokenB.serial, 'the new serial typed before is kept');
    await page.fill('#f-otp', totp(tokenB.key, now));
    await click('new-submit');
    await page.waitForURL(/\/exchange\/result$/);
    assert.match(await text('result-message'), /ワンタイムパスワードの登録が完了しました/);
    assert.match(await text('receipt-number'), /^\d{7}$/);
    assert.equal(await text('receipt-time'), jst(now));
    assert.equal(await text('serial-after'), formatSerial(tokenB.serial));
    assert.equal(await text('serial-before'), formatSerial(tokenA.serial));
    await shot('exchange-result');
    await click('to-login');

    await login(alice);
    await page.waitForURL(/\/login\/otp$/);
    await tick();
    await page.fill('#f-otp', totp(tokenA.key, now));
    await click('login-otp-submit');
    assert.match(await errorText(), /ワンタイムパスワードが正しくありません/, 'the old token no longer works');
    await page.fill('#f-otp', totp(tokenB.key, now));
    await click('login-otp-submit');
    await page.waitForURL(/\/account$/);
    assert.match(await text('token-status'), new RegExp(formatSerial(tokenB.serial)));
    await click('logout');
  });

  await t.test('利用中止: authenticate, code, confirmation, result, ログイン画面', async () => {
    await page.goto(`${base}/login`);
    await click('btn-stop');
    assert.equal(await text('page-title'), 'ワンタイムパスワード利用中止');
    await authenticate(alice);
    await page.waitForURL(/\/stop\/otp$/);
    await tick();
    await page.fill('#f-otp', wrong(totp(tokenB.key, now)));
    await click('stop-otp-submit');
    await page.waitForURL(/\/stop\/confirm$/);
    await click('stop-confirm-submit');
    assert.match(await errorText(), /ワンタイムパスワードが正しくありません/);
    await page.fill('#f-otp', totp(tokenB.key, now));
    await click('stop-otp-submit');
    await page.waitForURL(/\/stop\/confirm$/);
    assert.match(await text('confirm-message'), /利用を中止します/);
    assert.equal(await text('stop-confirm-submit'), '中止する');
    await shot('stop-confirm');
    await click('stop-confirm-submit');
    await page.waitForURL(/\/stop\/result$/);
    assert.match(await text('receipt-number'), /^\d{7}$/);
    assert.equal(await text('result-serial'), formatSerial(tokenB.serial));
    await shot('stop-result');
    await click('to-login');
    await page.waitForURL(/\/login$/);

    await login(alice);
    await page.waitForURL(/\/account$/, { timeout: 30_000 });
    assert.match(await text('token-status'), /未登録/);
    assert.equal(await text('login-otp-status'), 'しない');
    await click('nav-transfer');
    await page.fill('#f-bank', 'かけしん信用金庫');
    await page.fill('#f-branch', '本店営業部');
    await page.fill('#f-account_number', '1234567');
    await page.fill('#f-payee', 'ヤマダ タロウ');
    await page.fill('#f-amount', '100');
    await tick();
    await page.fill('#f-otp', totp(tokenB.key, now));
    await click('transfer-submit');
    assert.match(await errorText(), /ワンタイムパスワードが登録されていません/);
    await click('logout');
  });

  await t.test('lockout: repeated wrong codes lock the token; the customer is told to call the bank', async () => {
    const bob = customers[1];
    await page.goto(`${base}/login`);
    await click('btn-start');
    await authenticate(bob);
    await page.waitForURL(/\/start\/register$/);
    await tick();
    const tokenC = await pair(profile.url, profile, now);
    await page.fill('#f-serial', tokenC.serial);
    await page.fill('#f-otp', totp(tokenC.key, now));
    await click('register-submit');
    await page.waitForURL(/\/start\/result$/);
    await login(bob);
    await page.waitForURL(/\/account$/);
    await click('nav-payment');
    await page.fill('#f-biller', '12345');
    await page.fill('#f-customer_number', 'ABC123');
    await page.fill('#f-confirm_number', '9876');
    await page.fill('#f-amount', '5400');
    let attempts = 0; let msg = '';
    while (attempts < 20) {
      attempts += 1;
      await page.fill('#f-otp', wrong(totp(tokenC.key, now)));
      await click('payment-submit');
      msg = await errorText();
      if (/当金庫までご連絡ください/.test(msg)) break;
      assert.match(msg, new RegExp(`連続${attempts}回目`));
    }
    assert.match(msg, /当金庫までご連絡ください/, 'locked within 20 wrong codes');
    assert.ok(attempts > 3, `locked only after several wrong codes (${attempts})`);
    assert.equal(await page.inputValue('#f-biller'), '12345');
    await tick();
    await page.fill('#f-otp', totp(tokenC.key, now));
    await click('payment-submit');
    assert.match(await errorText(), /当金庫までご連絡ください/, 'even the right code is refused while locked');
    await shot('locked');
    await click('nav-history');
    assert.match(await text('history'), /ロック中/);
    await click('logout');
  });

  await t.test('English pages via ?lang=en', async () => {
    await page.goto(`${base}/login?lang=en`);
    assert.equal(await label('f-contract_id'), 'Contract ID (user number)');
    for (const [id, name] of [['btn-start', 'Start'], ['btn-exchange', 'Exchange'], ['btn-stop', 'Stop']]) {
      assert.equal(await text(id), name, id);
    }
    await shot('login-en');
    await page.goto(`${base}/login?lang=ja`);
    assert.equal(await label('f-contract_id'), '契約者ID（利用者番号）');
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
