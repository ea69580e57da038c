#!/usr/bin/env bash
# Stage 30, end to end: the desktop simulator window against a real bank,
# read by OCR, registered in web banking by a (headless) person. The
# orchestration is the stdlib Python harness tests/e2e (scenario.py says
# what is checked; tests/e2e/README.md how to run it alone).
#
# 1. the harness's unit tests and the OCR against the screenshots it once
#    misread (tests/e2e/fixtures);
# 2. builds both binaries (target/debug) as scripts/test's workspace tests do;
# 3. python3 -m tests.e2e gallery: the README's screenshots (tests/e2e/gallery.py);
# 4. the app's countdown timer (src/ui/widgets/countdown.js) in headless
#    Chromium on a fake clock (tests/browser/countdown.test.mjs);
# 5. python3 -m tests.e2e scenario: 利用開始, a wrong code refused, 振込 with
#    the shown code, 交換 to a second profile, the old token revoked.
# Screenshots: target/screenshots/ (docs/screenshots/ with
# SOFTTOKEN_UPDATE_DOCS=1, i.e. `scripts/test --update-docs`; E2E_SHOTS=DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in Xvfb xdotool import convert tesseract gnome-keyring-daemon dbus-daemon dbus-send python3 node; do
  command -v "$tool" >/dev/null || { echo "30-app-e2e: missing $tool (scripts/setup)"; exit 1; }
done
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "30-app-e2e: Debian chromium is not installed (scripts/setup)"; exit 1; }

# The harness's own unit tests, then the OCR against the screenshots it once
# misread (tests/e2e/ocr_fixtures.py says which and why).
python3 -m unittest -q tests.e2e.test_harness
python3 -m tests.e2e ocr-fixtures

echo "30-app-e2e: building the app and the bank"
# Same package selection as scripts/test's `cargo test --workspace`, which
# builds both binaries (target/debug) for the integration tests: reused.
cargo test --workspace --no-run --locked -q
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "30-app-e2e: npm ci (tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund --prefer-offline) \
    || { echo "30-app-e2e: npm ci in tests/browser failed (run scripts/setup with network first)"; exit 1; }
fi

# The README's screenshots (tests/e2e/gallery.py, under a minute): the token
# screen at 100 %/200 % text, light and dark, and the QA panel, the code
# checked by OCR to be whole at 200 %.
cargo build -p softtoken --example seed_profile --locked -q
python3 -m tests.e2e gallery --bin-dir "${CARGO_TARGET_DIR:-$PWD/target}/debug"

# The countdown's timer in the web view, on a fake clock in Chromium.
(cd tests/browser && node --test countdown.test.mjs)

exec python3 -m tests.e2e scenario --bin-dir "${CARGO_TARGET_DIR:-$PWD/target}/debug" "$@"
