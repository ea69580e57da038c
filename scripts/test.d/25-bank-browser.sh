#!/usr/bin/env bash
# Stage 25: the bank's web pages walked in Debian's headless Chromium
# (tests/browser): the JavaScript STK1 and STK1-TXN clients against the
# specs' test vectors (and RFC 6287 Appendix C), then 利用開始 → 振込 →
# login OTP する → 交換 → 利用中止 against the real
# `softtoken-bank serve --demo --test-clock --txn-auth off` (bank.test.mjs),
# and 取引認証 (approve, reject, expire, offline 取引認証番号, no-JS button)
# against `--txn-auth required` (txn.test.mjs), the staff console
# (staff.test.mjs) and the app's camera script with a fake camera
# (camera.test.mjs). Screenshots are written
# to target/screenshots/bank-*.png, or to the tracked docs/screenshots/
# when SOFTTOKEN_UPDATE_DOCS=1 (`bash scripts/test --update-docs`), so a
# plain run leaves `git status` clean. Fails loudly on any error.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

fail() { echo "25-bank-browser: FAILED: $*" >&2; exit 1; }

command -v node >/dev/null || fail "node is not installed (scripts/setup)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "Debian chromium is not installed (scripts/setup)"

LOCKED=()
[ -f Cargo.lock ] && [ "${CI:-}" = "true" ] && LOCKED=(--locked)
# Same package selection as scripts/test's `cargo test --workspace`, so the
# binary that run built is reused instead of rebuilding dependencies with
# another feature set.
echo "-- cargo test --workspace --no-run (builds target/debug/softtoken-bank)"
cargo test --workspace --no-run -q "${LOCKED[@]}" || fail "cargo build of softtoken-bank"
[ -x "$CARGO_TARGET_DIR/debug/softtoken-bank" ] || fail "no binary at $CARGO_TARGET_DIR/debug/softtoken-bank"

cd tests/browser
if [ ! -d node_modules/playwright-core ]; then
  echo "-- npm ci (tests/browser)"
  npm ci --no-audit --no-fund --prefer-offline || fail "npm ci in tests/browser (run scripts/setup with network first)"
fi

echo "-- node --test (tests/browser)"
SKIP_CARGO_BUILD=1 node --test --test-concurrency=1 stk1.test.mjs stk1-txn.test.mjs bank.test.mjs txn.test.mjs staff.test.mjs camera.test.mjs \
  || fail "browser tests (see the TAP output above)"
if [ "${SOFTTOKEN_UPDATE_DOCS:-}" = "1" ]; then
  echo "25-bank-browser: screenshots updated in docs/screenshots/"
else
  echo "25-bank-browser: screenshots in target/screenshots/ (SOFTTOKEN_UPDATE_DOCS=1 updates docs/screenshots/)"
fi
echo "25-bank-browser: ok"
