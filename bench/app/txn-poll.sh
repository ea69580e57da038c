#!/usr/bin/env bash
# App benchmark (not a test): idle CPU of the app while its token screen
# polls pending transactions (STK1-TXN, every 5 s) against the same app with
# polling switched off, in the same run, alternating.
#   bash bench/app/txn-poll.sh          # ROUNDS=3 IDLE_SECS=60 by default
#
# * The app is a release build with the `bench` feature, the only build in
#   which the environment variable SOFTTOKEN_BENCH_NO_TXN_POLL is read
#   (it turns polling off; src/ui/transaction/triggers.rs). Both halves run
#   this one binary, so the only difference is the polling.
# * The bank is `softtoken-bank serve --demo` on loopback. The profile holds
#   one token (examples/seed_profile) whose bank URL is set to that bank,
#   so the app opens on its token screen and polls the bank's real
#   endpoint every 5 s. The bank does not know the seeded serial and
#   answers each poll 401; the app's side is the same as for a paired token
#   (keystore read, K_TXN, MAC, HTTP request and answer) except for
#   verifying transactions, and it keeps polling after a 401. The bank's
#   request counter (its --metrics-listen) shows how many polls each half
#   made: the polling half must have polled, the other half not.
# * Measured: CPU time of all the app's processes (WebKit helpers included)
#   over IDLE_SECS after an 8 s settle, % of one core. IDLE_SECS must be at
#   most 165 so the measured span stays inside the 3-minute polling window.
# * Runs under Xvfb, a private session bus and an unlocked throw-away
#   keyring (as bench/app/run.sh). APP_BIN=path skips the build (the binary
#   must have the `bench` feature); BANK_BIN=path likewise for the bank.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
if [ -z "${TXN_BENCH_INNER:-}" ]; then
  TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
  WORK="$(mktemp -d /tmp/softtoken-txn-bench.XXXXXX)"
  if [ -z "${APP_BIN:-}" ]; then
    cargo build --release --locked -q -p softtoken --features bench --bin softtoken --example seed_profile
    # Copied at once: another build may replace target/release/softtoken.
    cp "$TARGET/release/softtoken" "$WORK/softtoken"
    APP_BIN="$WORK/softtoken"
  fi
  if [ -z "${BANK_BIN:-}" ]; then
    cargo build --locked -q -p softtoken-bank --bin softtoken-bank
    BANK_BIN="$TARGET/debug/softtoken-bank"
  fi
  SEED="${SEED_BIN:-$TARGET/release/examples/seed_profile}"
  [ -x "$SEED" ] || cargo build --release --locked -q -p softtoken --example seed_profile
  export TXN_BENCH_INNER=1 WORK APP_BIN BANK_BIN SEED
  dbus-run-session -- bash "$0"
  rm -rf "$WORK"
  exit 0
fi

ROUNDS="${ROUNDS:-3}"; IDLE_SECS="${IDLE_SECS:-60}"
if [ "$IDLE_SECS" -gt 165 ]; then
  echo "IDLE_SECS must be at most 165 (the polling window is 180 s)" >&2; exit 2
fi
mkdir -p "$WORK/home"; export HOME="$WORK/home"
eval "$(printf 'throwaway-bench' | gnome-keyring-daemon --unlock --components=secrets)"
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$WORK/display" >/dev/null 2>&1 &
XPID=$!
BPID=""
trap 'kill $XPID 2>/dev/null || true; [ -n "$BPID" ] && kill $BPID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$WORK/display")" WEBKIT_DISABLE_DMABUF_RENDERER=1

# The bank, on loopback, with its metrics on a listener of their own.
"$BANK_BIN" serve --demo --data "$WORK/bank" --listen 127.0.0.1:0 \
  --metrics-listen 127.0.0.1:0 >"$WORK/bank.log" 2>&1 &
BPID=$!
for _ in $(seq 1 300); do grep -q 'metrics on' "$WORK/bank.log" && grep -q 'listening on' "$WORK/bank.log" && break; sleep 0.1; done
BANK_URL=$(grep -o 'listening on http://[^ ]*' "$WORK/bank.log" | head -1 | awk '{print $3}')
METRICS=$(grep -o 'metrics on [^ ]*' "$WORK/bank.log" | head -1 | awk '{print $3}')
[ -n "$BANK_URL" ] && [ -n "$METRICS" ] || { echo "the bank did not start:"; cat "$WORK/bank.log"; exit 1; }
case "$METRICS" in http*) ;; *) METRICS="http://$METRICS" ;; esac

# One token, its bank URL pointed at this bank.
"$SEED" "$WORK/profile" >/dev/null
sed -i "s#http://127.0.0.1:9#${BANK_URL%/}#" "$WORK/profile/tokens.json"
grep -q "${BANK_URL%/}" "$WORK/profile/tokens.json" || { echo "profile URL not set"; exit 1; }

polls() { # the bank's count of poll requests
  curl -s "$METRICS/metrics" |
    awk '/^softtoken_request_duration_seconds_count\{route="\/v1\/tokens\/\{serial\}\/transactions\/pending"\}/ {n=$2} END {print n+0}'
}

tree() { # pid → pid and all descendants
  local p=$1; echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree "$c"; done
}
ticks() { local t=0; for p in $(tree "$1"); do
  [ -r /proc/$p/stat ] && t=$(( t + $(awk '{print $14+$15}' /proc/$p/stat) )); done; echo $t; }

idle() { # env... → "cpu% polls-during-measurement"
  env "$@" "$APP_BIN" --profile "$WORK/profile" --lang ja >/dev/null 2>"$WORK/app.log" &
  local pid=$!; sleep 8
  local hz; hz=$(getconf CLK_TCK)
  local p0; p0=$(polls); local a; a=$(ticks "$pid")
  sleep "$IDLE_SECS"
  local b; b=$(ticks "$pid"); local p1; p1=$(polls)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  awk -v d=$((b - a)) -v hz="$hz" -v s="$IDLE_SECS" -v n=$((p1 - p0)) \
    'BEGIN { printf "%.2f %d\n", 100 * d / hz / s, n }'
}

echo "== idle over ${IDLE_SECS}s, ${ROUNDS} rounds alternating: CPU % of one core (all the app's processes), bank polls counted meanwhile"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   cores: $(nproc)"
: >"$WORK/on"; : >"$WORK/off"
for r in $(seq 1 "$ROUNDS"); do
  on=$(idle)
  off=$(idle SOFTTOKEN_BENCH_NO_TXN_POLL=1)
  echo "round $r: polling $on   no polling $off"
  echo "$on" >>"$WORK/on"; echo "$off" >>"$WORK/off"
  [ "$(echo "$on" | awk '{print $2}')" -gt 0 ] || { echo "the polling half made no poll"; exit 1; }
  [ "$(echo "$off" | awk '{print $2}')" -eq 0 ] || { echo "the switched-off half polled"; exit 1; }
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
paste "$WORK/on" "$WORK/off" | awk '
  { on += $1; off += $3; n++; d = $1 - $3; if (d < 0) d = -d; if (d > max) max = d }
  END { printf "mean: polling %.2f %%   no polling %.2f %%   difference %.2f %% of a core (largest per round %.2f)\n",
               on / n, off / n, on / n - off / n, max }'
