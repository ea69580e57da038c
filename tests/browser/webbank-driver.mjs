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
//   {"cmd":"txn_transfer","account":A,"amount":N,"tamper_to":B?,"inject_to":B?,"shot":NAME?}
//       (--txn-auth required) ログイン › 振込 › form (no code) › 確認 › 取引認証;
//       answers when the 取引認証 page is shown (the page stays open for
//       txn_wait). `tamper_to`: a script injected into the page, as
//       man-in-the-browser malware, changes the typed account number A to B
//       when the form is submitted and shows A again wherever the next pages
//       show B (the customer sees A everywhere in the browser). `inject_to`:
//       a route rewrites every POST after 入力 (確認, 確認状況を更新) to carry
//       the form fields again with account B (a bank that read fields after
//       入力 would execute B). Shots NAME-confirm, NAME-auth.
//   {"cmd":"txn_wait","timeout_ms":T,"shot":NAME?}
//       waits at most T ms on that 取引認証 page for the page to move on by
//       itself (its poller): {"ok":true,"state":"done",...receipt} or
//       {"ok":true,"state":"rejected"|"expired",...} (then the history rows,
//       logout, the page is closed); or {"ok":true,"state":"pending"} if it
//       did not move (the page stays open).
//   {"cmd":"txn_offline","code":C,"shot":NAME?}
//       on that 取引認証 page: 「アプリが通信できない場合」 › 取引認証番号 › 認証;
//       answers as txn_wait once the page moved on (or {"ok":false,...} with
//       the page's error box; the page stays open)
//   {"cmd":"settings","txn_auth":"on"|"off","otp":C,"shot":NAME?}
//       (--txn-auth optional) ログイン › 設定 › 取引認証 する/しない + code › 変更
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

// ------------------------------------------------------------ 取引認証
// The page of the transfer awaiting 取引認証 (txn_transfer → txn_wait).
let txnPage = null;

/** What man-in-the-browser malware does to the 振込 pages (runs in the
 * page before its own scripts, on every navigation of that tab): at submit
 * time the typed payee account is swapped for the mule's, and the typed one
 * is put back wherever a later page shows the mule's. */
function mitbScript({ to }) {
  const KEY = 'stk-mitb-typed';
  const hide = () => {
    const typed = sessionStorage.getItem(KEY);
    const cell = document.getElementById('txn-account_number');
    if (typed && cell && cell.textContent.trim() === to) cell.textContent = typed;
  };
  document.addEventListener('submit', (e) => {
    const form = e.target;
    const account = form && form.querySelector && form.querySelector('#f-account_number');
    if (account && account.value && account.value !== to) {
      sessionStorage.setItem(KEY, account.value);
      account.value = to;
    }
  }, true);
  document.addEventListener('DOMContentLoaded', hide);
  new MutationObserver(hide).observe(document, { childList: true, subtree: true });
}

/** The transfer form's fields (the page's names) with `account`. */
function transferForm(r, account) {
  return {
    bank: 'かけしん信用金庫', branch: '本店営業部', account_type: 'futsu', account_number: account,
    payee: r.payee || 'ヤマダ タロウ', amount: String(r.amount),
  };
}

/** ログイン › 振込 (no code) › 確認 › 取引認証, in a tab of its own. */
async function txnTransfer(r) {
  if (!/^\d{7}$/.test(String(r.account)) || (r.tamper_to && !/^\d{7}$/.test(String(r.tamper_to)))) {
    return { ok: false, at: 'driver', error: 'account numbers are 7 digits' };
  }
  if (txnPage) await txnPage.close().catch(() => {});
  const p = txnPage = await context.newPage();
  if (r.tamper_to) await p.addInitScript(mitbScript, { to: String(r.tamper_to) });
  let injected = 0;
  if (r.inject_to) {
    await p.route(/\/account\/(transfer\/confirm|txn\/check)$/, async (route) => {
      const req = route.request();
      if (req.method() !== 'POST') return route.continue();
      const body = new URLSearchParams(req.postData() || '');
      for (const [k, v] of Object.entries(transferForm(r, String(r.inject_to)))) body.set(k, v);
      injected += 1;
      return route.continue({ postData: body.toString() });
    });
  }
  const pshot = async (name) => {
    if (name) await p.screenshot({ path: path.join(shots, `e2e-${name}.png`), fullPage: true });
  };
  await p.goto(`${base}/login`);
  await p.fill('#f-contract_id', customer.contract_id);
  await p.fill('#f-password', customer.password);
  await p.locator('#login-submit').click();
  await p.waitForURL(/\/account$|\/login(\/otp)?$/);
  if (!/\/account$/.test(p.url())) return { ok: false, at: 'login', url: new URL(p.url()).pathname, error: null };
  await p.locator('#nav-transfer').click();
  await p.waitForURL(/\/account\/transfer$/);
  if (await p.locator('#f-otp').count()) {
    return { ok: false, at: 'transfer', error: 'the 振込 form asks for a code (not 取引認証)' };
  }
  await p.fill('#f-bank', 'かけしん信用金庫');
  await p.fill('#f-branch', '本店営業部');
  await p.fill('#f-account_number', String(r.account));
  await p.fill('#f-payee', r.payee || 'ヤマダ タロウ');
  await p.fill('#f-amount', String(r.amount));
  const typed = await p.inputValue('#f-account_number');
  await p.locator('#transfer-submit').click();
  await p.waitForLoadState();
  if (!/\/account\/transfer\/confirm$/.test(p.url())) {
    return { ok: false, at: 'transfer', url: new URL(p.url()).pathname, error: await p.locator('#page-error').innerText().catch(() => null) };
  }
  const confirmAccount = (await p.locator('#txn-account_number').innerText()).trim();
  await pshot(r.shot && `${r.shot}-confirm`);
  await p.locator('#confirm-submit').click();
  await p.waitForLoadState();
  if (!/\/account\/txn$/.test(p.url())) {
    return { ok: false, at: 'confirm', url: new URL(p.url()).pathname, error: await p.locator('#page-error').innerText().catch(() => null) };
  }
  await p.locator('#txn-status').waitFor();
  await pshot(r.shot && `${r.shot}-auth`);
  return {
    ok: true,
    at: 'txn',
    typed,
    confirm_account: confirmAccount,
    txn_account: (await p.locator('#txn-account_number').innerText()).trim(),
    amount: (await p.locator('#txn-amount').innerText()).trim(),
    crumb: (await p.locator('#crumbs li.current').innerText()).trim(),
    instruction: (await p.locator('#txn-instruction').innerText()).trim(),
    injected,
  };
}

/** The offline 取引認証番号 on the 取引認証 page (see the header). */
async function txnOffline(r) {
  const p = txnPage;
  if (!p) return { ok: false, at: 'driver', error: 'no 取引認証 page (txn_transfer first)' };
  await p.locator('#txn-offline-open').click();
  await p.fill('#f-txn_code', r.code);
  await p.locator('#txn-offline-submit').click();
  await p.waitForLoadState();
  const echoed = (await p.content()).includes(r.code);
  if (/\/account\/txn$/.test(p.url()) && await p.locator('#page-error').count()) {
    if (r.shot) await p.screenshot({ path: path.join(shots, `e2e-${r.shot}-refused.png`), fullPage: true });
    return { ok: false, at: 'txn_offline', error: (await p.locator('#page-error').innerText()).trim(), echoed };
  }
  return { ...(await txnWait({ timeout_ms: 10_000, shot: r.shot })), echoed };
}

/** 設定 under --txn-auth optional: 取引認証 する/しない with the code. */
async function settings(r) {
  const p = page;
  await p.goto(`${base}/login`);
  await p.fill('#f-contract_id', customer.contract_id);
  await p.fill('#f-password', customer.password);
  await click('login-submit');
  await p.waitForURL(/\/account$|\/login(\/otp)?$/);
  if (!/\/account$/.test(p.url())) return refused('login', [r.otp]);
  await click('nav-settings');
  await p.waitForURL(/\/account\/settings$/);
  if (!(await p.locator('#txn-auth-on').count())) {
    return { ok: false, at: 'settings', error: 'no 取引認証 choice in 設定 (not --txn-auth optional)' };
  }
  await p.locator(r.txn_auth === 'off' ? '#txn-auth-off' : '#txn-auth-on').check();
  await p.fill('#f-otp', r.otp);
  await click('settings-submit');
  await p.waitForLoadState();
  let answer;
  if (await p.locator('#page-error').count()) {
    await shot(r.shot && `${r.shot}-refused`);
    answer = await refused('settings', [r.otp]);
  } else {
    await shot(r.shot);
    answer = {
      ok: true,
      notice: (await p.locator('#settings-notice').innerText().catch(() => '')).trim(),
      status: (await p.locator('#txn-auth-status').innerText()).trim(),
      echoed: await echoes([r.otp]),
    };
  }
  await click('logout');
  await p.waitForURL(/\/login$/);
  return answer;
}

/** Waits on the 取引認証 page for its result (see the header). */
async function txnWait(r) {
  const p = txnPage;
  if (!p) return { ok: false, at: 'driver', error: 'no 取引認証 page (txn_transfer first)' };
  const timeout = Math.max(0, Number(r.timeout_ms) || 0);
  const moved = await Promise.race([
    p.waitForURL(/\/account\/done$/, { timeout }).then(() => 'done'),
    p.locator('#txn-result').waitFor({ timeout }).then(() => 'result'),
  ]).catch(() => null);
  if (!moved) {
    if (!/\/account\/txn$/.test(p.url()) || !(await p.locator('#txn-status').count())) {
      return { ok: false, at: 'txn', url: new URL(p.url()).pathname, error: 'left the 取引認証 page without a result' };
    }
    return { ok: true, state: 'pending', url: new URL(p.url()).pathname };
  }
  await p.waitForLoadState();
  const pshot = async (name) => {
    if (name) await p.screenshot({ path: path.join(shots, `e2e-${name}.png`), fullPage: true });
  };
  let answer;
  if (/\/account\/done$/.test(p.url())) {
    await pshot(r.shot);
    answer = {
      ok: true,
      state: 'done',
      message: await p.locator('#result-message').innerText(),
      receipt: await p.locator('#receipt-number').innerText(),
      receipt_time: await p.locator('#receipt-time').innerText(),
      transaction: await p.locator('#transaction').innerText(),
      amount: await p.locator('#amount').innerText(),
    };
  } else {
    await pshot(r.shot);
    const result = p.locator('#txn-result');
    answer = {
      ok: true,
      state: await result.getAttribute('data-result'),
      message: await result.innerText(),
      txn_account: (await p.locator('#txn-account_number').innerText()).trim(),
    };
  }
  await p.locator('#nav-history').click();
  await p.waitForURL(/\/account\/history$/);
  answer.history = await p.locator('#history tr').allInnerTexts();
  await p.locator('#logout').click();
  await p.waitForURL(/\/login$/);
  await p.close();
  txnPage = null;
  return answer;
}

const handlers = { start, transfer, exchange, txn_transfer: txnTransfer, txn_wait: txnWait, txn_offline: txnOffline, settings };
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
