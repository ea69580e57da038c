// The app's countdown timer (src/ui/widgets/countdown.js) in a real web
// engine (Debian's headless Chromium), on Playwright's fake clock: the
// seconds it shows, second by second and across a step boundary, against
// the app clock the app anchored it to (an offset from the system clock,
// as with --clock-offset); the urgent cue and the next code's box in the
// last five seconds; re-anchoring when the app renders new anchor
// attributes (a clock shift, a language switch); the renderer's text node
// kept; and the timer stopping when the countdown leaves the page.
//
// The markup is the contract the app's `Countdown` renders (asserted on
// the Rust side by tests/screens: ids `countdown`, `seconds-left`,
// `next-code-box`, class `ring-fg`, the data-* anchor).
//   node --test tests/browser/countdown.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = readFileSync(path.join(here, '../../src/ui/widgets/countdown.js'), 'utf8').trimEnd();
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// System clock of the page, and the app clock about an hour ahead of it.
const SYSTEM_MS = 1_700_000_000_000;
const OFFSET_MS = 3_590_300;
const APP_MS = SYSTEM_MS + OFFSET_MS; // 1700003590.300: 20 s left of 30

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await browser?.close().catch(() => {});
});

function markup(clockMs, { before = 'あと ', after = ' 秒', period = 30, t0 = 0 } = {}) {
  const left = period - ((Math.floor(clockMs / 1000) - t0) % period);
  return `<div class="live-code">
  <button class="code" id="otp-code">081 804</button>
  <div class="countdown" id="countdown" role="timer" data-step="1" data-clock-ms="${clockMs}"
       data-period="${period}" data-t0="${t0}" data-ending="5"
       data-text-before="${before}" data-text-after="${after}">
    <svg class="ring" viewBox="0 0 36 36" width="44" height="44" aria-hidden="true">
      <circle class="ring-bg" cx="18" cy="18" r="15.9155" fill="none"></circle>
      <path class="ring-fg" d="M18 2.0845 a 15.9155 15.9155 0 0 1 0 31.831 a 15.9155 15.9155 0 0 1 0 -31.831"
            fill="none" stroke-dasharray="100" stroke-dashoffset="0.0"></path>
    </svg><span class="seconds" id="seconds-left">${before}${left}${after}</span></div>
  <div class="next-code-box" id="next-code-box" hidden><button id="next-code">050 471</button></div>
</div>`;
}

async function page(clockMs = APP_MS, opts = {}) {
  const p = await browser.newPage();
  // Fake timers and Date, standing still at SYSTEM_MS until run.
  await p.clock.install({ time: SYSTEM_MS - 60_000 });
  await p.clock.pauseAt(SYSTEM_MS);
  await p.setContent(markup(clockMs, opts));
  await p.evaluate(() => {
    // Keep the renderer's text node, as Dioxus holds on to it.
    window.keptText = document.getElementById('seconds-left').firstChild;
  });
  await p.evaluate(`${SCRIPT}(${clockMs});`);
  return p;
}

async function seen(p) {
  return p.evaluate(() => ({
    text: document.getElementById('seconds-left').textContent,
    sameNode: document.getElementById('seconds-left').firstChild === window.keptText,
    ring: document.querySelector('.ring-fg').getAttribute('stroke-dashoffset'),
    urgent: document.getElementById('countdown').classList.contains('urgent'),
    nextHidden: document.getElementById('next-code-box').hidden,
  }));
}

// Seconds left at app clock `ms` for a 30 s step from 0.
const leftAt = (ms) => 30 - (Math.floor(ms / 1000) % 30);

test('counts the app clock down second by second across a step boundary', async () => {
  const p = await page();
  try {
    assert.deepEqual(await seen(p), {
      text: 'あと 20 秒', sameNode: true, ring: '33.3', urgent: false, nextHidden: true,
    });
    // 0.7 s to the next app second: still 20 just before it, 19 just after.
    await p.clock.runFor(690);
    assert.equal((await seen(p)).text, 'あと 20 秒');
    await p.clock.runFor(20);
    assert.equal((await seen(p)).text, 'あと 19 秒');
    for (let s = 1; s <= 45; s++) {
      await p.clock.runFor(1000);
      const appMs = APP_MS + 710 + s * 1000;
      const left = leftAt(appMs);
      const got = await seen(p);
      assert.equal(got.text, `あと ${left} 秒`, `after ${s} s`);
      assert.equal(got.ring, (100 - (100 * left) / 30).toFixed(1));
      assert.equal(got.urgent, left <= 5, `urgent at ${left}`);
      assert.equal(got.nextHidden, left > 5, `next code at ${left}`);
      assert.ok(got.sameNode, 'the text node is kept');
    }
  } finally {
    await p.close();
  }
});

test('re-reads the anchor when the app renders it again', async () => {
  const p = await page();
  try {
    // The app clock was shifted 12 s ahead: the app renders the new anchor
    // (and its own text for that moment); the timer follows at once.
    await p.evaluate((ms) => {
      document.getElementById('countdown').setAttribute('data-clock-ms', String(ms));
    }, APP_MS + 12_000);
    await p.clock.runFor(5);
    let got = await seen(p);
    assert.equal(got.text, 'あと 8 秒');
    assert.equal(got.urgent, false);
    await p.clock.runFor(3000);
    got = await seen(p);
    assert.equal(got.text, 'あと 5 秒');
    assert.equal(got.urgent, true);
    assert.equal(got.nextHidden, false);

    // Language switch: the text around the number.
    await p.evaluate(() => {
      const el = document.getElementById('countdown');
      el.setAttribute('data-text-before', '');
      el.setAttribute('data-text-after', ' s left');
    });
    await p.clock.runFor(5);
    assert.equal((await seen(p)).text, '5 s left');
    // Installing again (a new mount) changes nothing about the count.
    await p.evaluate(`${SCRIPT}(${APP_MS + 12_000 + 3010});`);
    assert.equal((await seen(p)).text, '5 s left');
  } finally {
    await p.close();
  }
});

test('a step that does not start at 0 and another period', async () => {
  const p = await page(APP_MS, { t0: 7, period: 60 });
  try {
    // (1700003590 - 7) % 60 = 3 → 57 s left.
    assert.equal((await seen(p)).text, 'あと 57 秒');
    await p.clock.runFor(1000);
    assert.equal((await seen(p)).text, 'あと 56 秒');
  } finally {
    await p.close();
  }
});

test('stops when the countdown leaves the page', async () => {
  const p = await page();
  try {
    await p.evaluate(() => document.getElementById('countdown').remove());
    await p.clock.runFor(1000);
    const state = await p.evaluate(() => ({
      el: window.softtokenCountdown.el, timer: window.softtokenCountdown.timer,
    }));
    assert.deepEqual(state, { el: null, timer: 0 });
    // Nothing is scheduled any more.
    await p.clock.runFor(5000);
    assert.equal(await p.evaluate(() => window.softtokenCountdown.timer), 0);
  } finally {
    await p.close();
  }
});
