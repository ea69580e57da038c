#!/usr/bin/env bash
# Benchmark of STK1-TXN confirmations (create + poll + approve + consume) over HTTP on loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_LEVEL="${1:-5}"
CONCURRENCY="${2:-16,32,64}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p softtoken-bank --bin softtoken-bank --example loadgen
BIN="$CARGO_TARGET_DIR/release/softtoken-bank"
GEN="$CARGO_TARGET_DIR/release/examples/loadgen"
WORK="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); $SECONDS_PER_LEVEL s per level; load $(cut -d' ' -f1-3 /proc/loadavg)"
dir="$WORK/txn"; mkdir -p "$dir"
"$BIN" serve --listen 127.0.0.1:0 --data "$dir" --kek-file "$WORK/txn.kek" --test-clock \
    --provision-rate 100000 --provision-burst 100000 \
    --pending-per-source 100000 --unbound-per-source 100000 >"$dir/out" 2>"$dir/err" &
PID=$!
for _ in $(seq 100); do grep -q '^listening on ' "$dir/out" && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$dir/out" | head -1)"
[ -n "$url" ] || { echo "server did not start:"; cat "$dir/err"; exit 1; }
"$GEN" --url "$url" --data "$dir" --tokens 256 --concurrency "$CONCURRENCY" \
    --seconds "$SECONDS_PER_LEVEL" --label "txn durable" --mode txn
ticks="$(awk '{print $14+$15}' "/proc/$PID/stat")"; hz="$(getconf CLK_TCK)"
echo "server CPU $(awk -v t="$ticks" -v hz="$hz" 'BEGIN{printf "%.1f", t/hz}') s (setup included); load $(cut -d' ' -f1-3 /proc/loadavg)"
