#!/usr/bin/env bash
# Stage 32, the man-in-the-browser rehearsal of 取引認証 (STK1-TXN), end to
# end: a bank with `--txn-auth required`, the desktop simulator window read
# by OCR and clicked with xdotool, web banking in headless Chromium with a
# script injected into the 振込 tab as malware would (tests/e2e/mitb.py says
# what is checked; tests/e2e/README.md how to run it alone):
#   a tampered 振込 (typed A, sent B): the window shows B, rejecting it in the
#   window stops it, nothing executes; an untampered one approved in the
#   window executes once, as stored; neither moves without the app.
# Reuses stage 30's tools and build (a no-op when stage 30 built it).
# Screenshots: target/screenshots/ (docs/screenshots/ with
# SOFTTOKEN_UPDATE_DOCS=1, i.e. `scripts/test --update-docs`; E2E_SHOTS=DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in Xvfb xdotool import convert identify tesseract gnome-keyring-daemon dbus-daemon dbus-send python3 node; do
  command -v "$tool" >/dev/null || { echo "32-mitb: missing $tool (scripts/setup)"; exit 1; }
done
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "32-mitb: Debian chromium is not installed (scripts/setup)"; exit 1; }

echo "32-mitb: building the app and the bank"
# The same package selection as stage 30 (and scripts/test's workspace
# tests): nothing is rebuilt when they ran first.
cargo test --workspace --no-run --locked -q
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "32-mitb: npm ci (tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund --prefer-offline) \
    || { echo "32-mitb: npm ci in tests/browser failed (run scripts/setup with network first)"; exit 1; }
fi

exec python3 -m tests.e2e mitb --bin-dir "${CARGO_TARGET_DIR:-$PWD/target}/debug" "$@"
