// The pairing screen's camera scanner, run by Dioxus `document::eval`
// (src/services/scanner.rs, `WebviewCamera`): `dioxus.send` / `dioxus.recv`
// are its channel, `__SIDE__` and `__VIDEO__` are replaced by FRAME_SIDE
// and VIDEO_ID before it runs (top-level `await` and `return` are allowed:
// Dioxus runs the text as the body of an async function).
//
// Messages to Rust: {kind:'started'} once the picture shows; then one
// {kind:'frame', w, h, luma} per 'frame' request (the picture scaled to at
// most SIDE pixels on its longer side, grey BT.601 in integers, base64);
// or one of {kind:'denied'}, {kind:'no-camera'}, {kind:'failed'},
// {kind:'stopped'} (page hidden), after which it has stopped. Anything but
// 'frame' from Rust, the video element leaving the page (checked every
// 500 ms) or window.__softtokenScanStop() stops the camera.
const SIDE = __SIDE__;
let stream = null, stopped = false, watch = null;
function stop() {
  stopped = true;
  if (watch) { clearInterval(watch); watch = null; }
  if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
  const v = document.getElementById('__VIDEO__');
  if (v) { v.srcObject = null; }
  document.removeEventListener('visibilitychange', onHidden);
  if (window.__softtokenScanStop === stop) { window.__softtokenScanStop = null; }
}
function onHidden() {
  if (document.hidden && !stopped) { stop(); dioxus.send({ kind: 'stopped' }); }
}
if (window.__softtokenScanStop) { window.__softtokenScanStop(); }
window.__softtokenScanStop = stop;
document.addEventListener('visibilitychange', onHidden);
if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
  stop(); dioxus.send({ kind: 'no-camera' }); return;
}
try {
  stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
  });
} catch (e) {
  const n = e && e.name;
  stop();
  if (n === 'NotAllowedError' || n === 'SecurityError') { dioxus.send({ kind: 'denied' }); }
  else if (n === 'NotFoundError' || n === 'OverconstrainedError') { dioxus.send({ kind: 'no-camera' }); }
  else { dioxus.send({ kind: 'failed' }); }
  return;
}
if (stopped) { stop(); return; }
let video = null;
for (let i = 0; i < 50 && !video; i++) {
  video = document.getElementById('__VIDEO__');
  if (!video) { await new Promise(function (r) { setTimeout(r, 20); }); }
}
if (!video || stopped) { stop(); return; }
video.setAttribute('playsinline', '');
video.muted = true;
video.srcObject = stream;
try { await video.play(); } catch (e) { /* autoplay of a muted stream may be refused; frames still arrive */ }
watch = setInterval(function () { if (!video.isConnected) { stop(); } }, 500);
dioxus.send({ kind: 'started' });
const canvas = document.createElement('canvas');
const ctx = canvas.getContext('2d', { willReadFrequently: true });
while (!stopped) {
  const msg = await dioxus.recv();
  if (msg !== 'frame' || stopped || !video.isConnected) { stop(); return; }
  const vw = video.videoWidth, vh = video.videoHeight;
  if (!vw || !vh) { dioxus.send({ kind: 'frame', w: 0, h: 0, luma: '' }); continue; }
  const s = Math.min(1, SIDE / Math.max(vw, vh));
  const w = Math.max(1, Math.round(vw * s)), h = Math.max(1, Math.round(vh * s));
  canvas.width = w; canvas.height = h;
  ctx.drawImage(video, 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  const grey = new Uint8Array(w * h);
  for (let i = 0, j = 0; j < grey.length; i += 4, j++) {
    grey[j] = (px[i] * 77 + px[i + 1] * 150 + px[i + 2] * 29) >> 8;
  }
  let bin = '';
  for (let i = 0; i < grey.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, grey.subarray(i, i + 0x8000));
  }
  dioxus.send({ kind: 'frame', w: w, h: h, luma: btoa(bin) });
}
