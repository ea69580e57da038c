#!/usr/bin/env bash
# Benchmark (not a test): a pending transaction appears in the open app
# within how long of its creation — the real desktop simulator window under
# Xvfb, its token screen open (it polls when opened and every 5 s for 3
# minutes), the transaction created through the bank's back-end API, the
# window captured until it shows the transaction screen, each run
# cross-checked by OCR (tests/e2e/txn_latency.py says how).
#   bash bench/app/txn-latency.sh            # RUNS=20 by default
# Needs what stage 30 needs (scripts/setup). APP_BIN_DIR=DIR measures the
# softtoken and softtoken-bank binaries there instead of a fresh debug build
# (the stage's binaries; the app's polling is network- and timer-bound).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${RUNS:-20}"
BIN_DIR="${APP_BIN_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/debug}"
if [ -z "${APP_BIN_DIR:-}" ]; then
  cargo build --locked -q -p softtoken-bank -p softtoken --bin softtoken --bin softtoken-bank
fi
SHOTS="$(mktemp -d /tmp/softtoken-txn-latency.XXXXXX)"  # unused: the benchmark saves no screenshot
trap 'rm -rf "$SHOTS"' EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); $RUNS runs; load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 -m tests.e2e txn-latency --runs "$RUNS" --bin-dir "$BIN_DIR" --shots "$SHOTS"
echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"
