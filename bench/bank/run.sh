#!/usr/bin/env bash
# Benchmark of the token service's verify endpoint over HTTP on loopback
# (not a test). Starts the release server in several configurations on a
# temporary data directory and runs the load generator against each:
#   group commit on,  synchronous=FULL   (durable: the shipped default)
#   group commit off, synchronous=FULL   (durable peer: one transaction per request)
#   group commit on,  synchronous=NORMAL (not durable on power loss; reference)
# Usage: bench/bank/run.sh [seconds-per-level] [concurrencies]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_LEVEL="${1:-5}"
CONCURRENCY="${2:-1,16,64,128,256}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p softtoken-bank --bin softtoken-bank --example loadgen
BIN="$CARGO_TARGET_DIR/release/softtoken-bank"
GEN="$CARGO_TARGET_DIR/release/examples/loadgen"
WORK="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); $SECONDS_PER_LEVEL s per level"
run() { # label group sync
  local label="$1" group="$2" sync="$3" dir="$WORK/$1"
  mkdir -p "$dir"
  # The KEK lives outside the data directory; the load generator pairs
  # all its tokens from one address, so the per-source pairing limits are
  # lifted for the benchmark.
  "$BIN" serve --listen 127.0.0.1:0 --data "$dir" --kek-file "$WORK/$1.kek" --test-clock \
      --provision-rate 100000 --provision-burst 100000 \
      --pending-per-source 100000 --unbound-per-source 100000 \
      --group-commit "$group" --synchronous "$sync" >"$dir/out" 2>"$dir/err" &
  PID=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$dir/out" && break; sleep 0.1; done
  local url; url="$(sed -n 's/^listening on //p' "$dir/out" | head -1)"
  [ -n "$url" ] || { echo "server did not start:"; cat "$dir/err"; exit 1; }
  "$GEN" --url "$url" --data "$dir" --tokens 256 --concurrency "$CONCURRENCY" \
      --seconds "$SECONDS_PER_LEVEL" --label "$label" >"$dir/table"
  # Server CPU time (user+sys, clock ticks) over the whole run, setup included:
  # on a shared machine this tells the cost per verification even when other
  # processes take cores away.
  local ticks hz total
  ticks="$(awk '{print $14+$15}' "/proc/$PID/stat")"; hz="$(getconf CLK_TCK)"
  if [ "$label" = gc-on-full ]; then cat "$dir/table"; else tail -n +3 "$dir/table"; fi
  total="$(awk -F'|' 'NR>2 {s+=$4} END {print s+0}' "$dir/table")"
  awk -v t="$ticks" -v hz="$hz" -v n="$total" -v l="$label" \
      'BEGIN { if (n > 0) printf "%s: server CPU %.1f s for %d verifications = %.0f us each\n", l, t/hz, n, 1e6*t/hz/n }' >>"$WORK/cpu"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}
run gc-on-full on full
run gc-off-full off full
run gc-on-normal on normal
echo; cat "$WORK/cpu"; echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"
