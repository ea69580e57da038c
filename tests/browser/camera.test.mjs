// The pairing screen's camera script (src/services/scanner.js) in a real
// web engine (Debian's headless Chromium with its fake camera, fed a
// picture whose left half is black and right half white): the messages it
// sends the app and the frames it gives (scaled to at most SIDE pixels,
// grey, base64, one per request), refusal and no camera, and the camera
// stopped on every way out — asked to, the video element leaving the page,
// the page hidden, another message than 'frame'.
//
// The script runs as Dioxus's `document::eval` runs it: the body of an
// async function taking `dioxus`, here a stand-in channel with the same
// `send` / `recv`. The page is served on Android's app origin
// (https://dioxus.index.html, a secure context) by request interception:
// nothing leaves the machine.
//   node --test tests/browser/camera.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
// As WebviewCamera fills it in (FRAME_SIDE = 720, VIDEO_ID = scan-video).
const SCRIPT = readFileSync(path.join(here, '../../src/services/scanner.js'), 'utf8')
  .replaceAll('__SIDE__', '720')
  .replaceAll('__VIDEO__', 'scan-video');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ORIGIN = 'https://dioxus.index.html';

// A Y4M video, 1280 × 720, 4:2:0: left half black, right half white.
function y4m(width, height, frames) {
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
  const y = Buffer.alloc(width * height);
  for (let row = 0; row < height; row++) {
    y.fill(0, row * width, row * width + width / 2);
    y.fill(255, row * width + width / 2, (row + 1) * width);
  }
  const uv = Buffer.alloc((width / 2) * (height / 2), 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, uv, uv]);
  return Buffer.concat([header, ...Array(frames).fill(frame)]);
}

let browser;
let dir;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'softtoken-camera-'));
  const video = path.join(dir, 'halves.y4m');
  writeFileSync(video, y4m(1280, 720, 10));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
});
after(async () => {
  await browser?.close().catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// A page on the app origin with the pairing screen's video element, a
// stand-in `dioxus` channel, and the camera stream kept for the checks.
async function page({ camera = true, mediaDevices = true } = {}) {
  const context = await browser.newContext();
  if (camera) await context.grantPermissions(['camera'], { origin: ORIGIN });
  const p = await context.newPage();
  await p.route(`${ORIGIN}/**`, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!DOCTYPE html><html><body><div id="scanner"><video id="scan-video" autoplay muted></video></div></body></html>',
  }));
  await p.goto(`${ORIGIN}/`);
  await p.evaluate((withMedia) => {
    if (!withMedia) {
      Object.defineProperty(navigator, 'mediaDevices', { value: undefined });
    } else {
      const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = async (c) => {
        window.asked = c;
        window.stream = await open(c);
        return window.stream;
      };
    }
    // The channel: what the script sends, and what it will receive.
    window.sent = [];
    const inbox = [];
    let waiting = null;
    window.toScript = (m) => { if (waiting) { waiting(m); waiting = null; } else { inbox.push(m); } };
    window.dioxus = {
      send: (m) => window.sent.push(m),
      recv: () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => { waiting = r; })),
    };
  }, mediaDevices);
  await p.evaluate((script) => {
    const AsyncFunction = (async () => {}).constructor;
    window.done = new AsyncFunction('dioxus', script)(window.dioxus);
  }, SCRIPT);
  return { p, context };
}

const sent = (p) => p.evaluate(() => window.sent.map((m) => ({ ...m, luma: m.luma && m.luma.length })));
async function nextMessage(p, count) {
  await p.waitForFunction((n) => window.sent.length >= n, count, { timeout: 10_000 });
  return p.evaluate((n) => window.sent[n - 1], count);
}
const tracksEnded = (p) => p.evaluate(
  () => !!window.stream && window.stream.getTracks().every((t) => t.readyState === 'ended'));

test('starts the back camera without audio and answers each request with one grey frame', async () => {
  const { p, context } = await page();
  try {
    assert.deepEqual(await nextMessage(p, 1), { kind: 'started' });
    const asked = await p.evaluate(() => window.asked);
    assert.equal(asked.audio, false);
    assert.deepEqual(asked.video.facingMode, { ideal: 'environment' });
    // Nothing more until the app asks.
    await p.waitForTimeout(300);
    assert.equal((await sent(p)).length, 1);

    await p.evaluate(() => window.toScript('frame'));
    const frame = await nextMessage(p, 2);
    assert.equal(frame.kind, 'frame');
    // 1280 × 720 scaled to 720 on the longer side.
    assert.deepEqual([frame.w, frame.h], [720, 405]);
    const luma = Buffer.from(frame.luma, 'base64');
    assert.equal(luma.length, frame.w * frame.h);
    // Grey, the right way round: dark on the left, light on the right.
    const at = (x, y) => luma[y * frame.w + x];
    for (const y of [10, 200, 400]) {
      assert.ok(at(20, y) < 40, `left at row ${y}: ${at(20, y)}`);
      assert.ok(at(700, y) > 215, `right at row ${y}: ${at(700, y)}`);
    }
    // Exactly one frame per request.
    await p.waitForTimeout(300);
    assert.equal((await sent(p)).length, 2);
    await p.evaluate(() => window.toScript('frame'));
    assert.equal((await nextMessage(p, 3)).kind, 'frame');

    // Anything but 'frame' stops the camera and the script.
    await p.evaluate(() => window.toScript('stop'));
    await p.evaluate(() => window.done);
    assert.ok(await tracksEnded(p), 'the camera is off');
    assert.equal(await p.evaluate(() => document.getElementById('scan-video').srcObject), null);
    assert.equal(await p.evaluate(() => window.__softtokenScanStop), null);
  } finally {
    await context.close();
  }
});

test('stops the camera when the video element leaves the page', async () => {
  const { p, context } = await page();
  try {
    await nextMessage(p, 1);
    assert.equal(await tracksEnded(p), false);
    await p.evaluate(() => document.getElementById('scanner').remove());
    await p.waitForFunction(
      () => window.stream.getTracks().every((t) => t.readyState === 'ended'), null, { timeout: 2_000 });
  } finally {
    await context.close();
  }
});

test('stops the camera through __softtokenScanStop and when the page is hidden', async () => {
  let { p, context } = await page();
  try {
    await nextMessage(p, 1);
    await p.evaluate(() => window.__softtokenScanStop());
    assert.ok(await tracksEnded(p));
  } finally {
    await context.close();
  }
  ({ p, context } = await page());
  try {
    await nextMessage(p, 1);
    await p.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    assert.deepEqual(await nextMessage(p, 2), { kind: 'stopped' });
    assert.ok(await tracksEnded(p));
  } finally {
    await context.close();
  }
});

test('says denied when the camera is refused, and no-camera without one', async () => {
  let { p, context } = await page({ camera: false });
  try {
    assert.deepEqual(await nextMessage(p, 1), { kind: 'denied' });
    await p.evaluate(() => window.done);
    assert.equal(await p.evaluate(() => window.__softtokenScanStop), null);
  } finally {
    await context.close();
  }
  ({ p, context } = await page({ mediaDevices: false }));
  try {
    assert.deepEqual(await nextMessage(p, 1), { kind: 'no-camera' });
  } finally {
    await context.close();
  }
});
