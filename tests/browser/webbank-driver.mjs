// Web banking driver for the app end-to-end harness (tests/e2e/webbank.py, stage 30):
// a person at the bank's web pages in Debian's headless Chromium, typing the
// serial number and codes they read off the app's window.
//
// Not a test file (stage 25 runs `node --test` here): the harness starts it
// once and talks to it over pipes, one JSON object per line each way.
//
//   node webbank-driver.mjs --base http://127.0.0.1:PORT --shots DIR
//
// The customer (a `--demo` one) comes from the environment:
// WEBBANK_CONTRACT_ID and WEBBANK_PASSWORD.
// Requests (stdin):
//   {"cmd":"start","serial":S,"otp":C,"shot":NAME?}
//       login screen › 利用開始 › 利用者認証 › ワンタイムパスワード登録 › 登録
//   {"cmd":"transfer","otp":C,"shot":NAME?}
//       ログイン › 振込 › form + code › 振込実行
//   {"cmd":"exchange","old_otp":C,"new_serial":S,"new_otp":C2,"shot":NAME?}
//       login screen › 交換 › 利用者認証 › 旧ワンタイムパスワード › 新 › 登録
//   {"cmd":"quit"}
// Answers (stdout): {"ok":true, ...what the result page shows} or
// {"ok":false,"at":PAGE,"error":TEXT} where TEXT is the page's error box.
// Codes are never written anywhere: not in answers, not on stderr, and each
// answer checks the page does not echo the typed code (`echoed` is true if
// it did, which the stage treats as a failure).
// Screenshots: DIR/e2e-NAME.png when a request names one.
import path from 'node:path';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const base = arg('base');
const shots = arg('shots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!base || !shots) {
  process.stderr.write('usage: webbank-driver.mjs --base URL --shots DIR\n');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const customer = {
  contract_id: process.env.WEBBANK_CONTRACT_ID || '',
  password: process.env.WEBBANK_PASSWORD || '',
};
if (!/^\d+$/.test(customer.contract_id) || !customer.password) {
  process.stderr.write('webbank-driver: set WEBBANK_CONTRACT_ID and WEBBANK_PASSWORD\n');
  process.exit(2);
}

const userDataDir = mkdtempSync(path.join(tmpdir(), 'stk-e2e-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1000, height: 760 },
  locale: 'ja-JP',
  handleSIGTERM: false,
  handleSIGINT: false,
});
// Stopped by the stage (or its cleanup): close Chromium, then exit even if
// stdin is still open.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    context.close().catch(() => {}).finally(() => {
      rmSync(userDataDir, { recursive: true, force: true });
      process.exit(1);
    });
    setTimeout(() => process.exit(1), 5000).unref();
  });
}
context.setDefaultTimeout(30_000);
const page = context.pages()[0] || await context.newPage();

// Controls and results are found by their `id` (docs/web-banking.md).
const click = (id) => page.locator(`#${id}`).click();
const text = (id) => page.locator(`#${id}`).innerText();
const shot = async (name) => {
  if (name) await page.screenshot({ path: path.join(shots, `e2e-${name}.png`), fullPage: true });
};

/** The page's error box, or null. */
async function errorBox() {
  const e = page.locator('#page-error');
  return (await e.count()) ? (await e.first().innerText()).trim() : null;
}

/** True if the page's HTML contains any of the typed codes. */
async function echoes(codes) {
  const html = await page.content();
  return codes.some((c) => c && html.includes(c));
}

/** A refusal answer for the page we are on. */
async function refused(at, codes) {
  return { ok: false, at, url: new URL(page.url()).pathname, error: await errorBox(), echoed: await echoes(codes) };
}

async function authenticate(c) {
  await page.fill('#f-contract_id', c.contract_id);
  await page.fill('#f-password', c.password);
  await click('auth-submit');
}

/** 利用開始 from the login screen: authenticate, then serial + code 「登録」. */
async function start(r) {
  const c = customer;
  await page.goto(`${base}/login`);
  await click('btn-start');
  await authenticate(c);
  await page.waitForURL(/\/start\/register$|\/start$/);
  if (!/\/start\/register$/.test(page.url())) return refused('auth', [r.otp]);
  await page.fill('#f-serial', r.serial);
  await page.fill('#f-otp', r.otp);
  await click('register-submit');
  await page.waitForLoadState();
  if (!/\/start\/result$/.test(page.url())) {
    await shot(r.shot && `${r.shot}-refused`);
    return refused('register', [r.otp]);
  }
  await shot(r.shot);
  return {
    ok: true,
    message: await text('result-message'),
    receipt: await text('receipt-number'),
    receipt_time: await text('receipt-time'),
    serial: await text('result-serial'),
    echoed: await echoes([r.otp]),
  };
}

/** ログイン › 振込 with the code. */
async function transfer(r) {
  const c = customer;
  await page.goto(`${base}/login`);
  await page.fill('#f-contract_id', c.contract_id);
  await page.fill('#f-password', c.password);
  await click('login-submit');
  await page.waitForURL(/\/account$|\/login(\/otp)?$/);
  if (!/\/account$/.test(page.url())) return refused('login', [r.otp]);
  const tokenStatus = await text('token-status');
  await click('nav-transfer');
  await page.fill('#f-bank', 'かけしん信用金庫');
  await page.fill('#f-branch', '本店営業部');
  await page.fill('#f-account_number', '1234567');
  await page.fill('#f-payee', 'ヤマダ タロウ');
  await page.fill('#f-amount', '12,000');
  await page.fill('#f-otp', r.otp);
  await click('transfer-submit');
  await page.waitForLoadState();
  let answer;
  if (/\/account\/done$/.test(page.url())) {
    await shot(r.shot);
    answer = {
      ok: true,
      token_status: tokenStatus,
      message: await text('result-message'),
      receipt: await text('receipt-number'),
      amount: await text('amount'),
      echoed: await echoes([r.otp]),
    };
  } else {
    await shot(r.shot && `${r.shot}-refused`);
    answer = { ...(await refused('transfer', [r.otp])), token_status: tokenStatus };
  }
  await click('logout');
  await page.waitForURL(/\/login$/);
  return answer;
}

/** 交換 from the login screen: old code 「次へ」, new serial + code 「登録」. */
async function exchange(r) {
  const c = customer;
  const codes = [r.old_otp, r.new_otp];
  await page.goto(`${base}/login`);
  await click('btn-exchange');
  await authenticate(c);
  await page.waitForURL(/\/exchange\/old$|\/exchange$/);
  if (!/\/exchange\/old$/.test(page.url())) return refused('auth', codes);
  await page.fill('#f-otp', r.old_otp);
  await click('old-submit');
  await page.waitForURL(/\/exchange\/(new|old)$/);
  if (!/\/exchange\/new$/.test(page.url())) return refused('old', codes);
  await page.fill('#f-serial', r.new_serial);
  await page.fill('#f-otp', r.new_otp);
  await click('new-submit');
  await page.waitForLoadState();
  if (!/\/exchange\/result$/.test(page.url())) {
    await shot(r.shot && `${r.shot}-refused`);
    // Back on the old-code page means the bank refused the old code.
    const at = (await page.locator('#old-form').count()) ? 'old' : 'new';
    return refused(at, codes);
  }
  await shot(r.shot);
  return {
    ok: true,
    message: await text('result-message'),
    receipt: await text('receipt-number'),
    header: (await page.locator('#change-table tr').first().innerText()).trim(),
    after: await text('serial-after'),
    before: await text('serial-before'),
    echoed: await echoes(codes),
  };
}

const handlers = { start, transfer, exchange };
const lines = createInterface({ input: process.stdin });
const reply = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
try {
  for await (const line of lines) {
    if (!line.trim()) continue;
    let r;
    try {
      r = JSON.parse(line);
    } catch {
      reply({ ok: false, at: 'driver', error: 'request is not JSON' });
      continue;
    }
    if (r.cmd === 'quit') break;
    const h = handlers[r.cmd];
    if (!h) {
      reply({ ok: false, at: 'driver', error: `unknown cmd ${String(r.cmd).slice(0, 20)}` });
      continue;
    }
    try {
      reply(await h(r));
    } catch (e) {
      // Playwright errors name selectors and URLs, never the filled values.
      reply({ ok: false, at: 'driver', error: String(e.message || e).split('\n')[0], url: page.url() });
    }
  }
} finally {
  await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
// The parent may keep our stdin open after "quit".
process.exit(0);
