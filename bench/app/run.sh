#!/usr/bin/env bash
# App benchmarks (not tests), each next to an empty Dioxus window measured
# in the same run (examples/empty_window.rs):
#   * launch → first code visible (ms; the first mounted code element, or the
#     empty window's root element, prints a marker when SOFTTOKEN_BENCH_MARK is set)
#   * idle CPU of all the window's processes (the app or example itself, and
#     the WebKit web and network processes it starts) over IDLE_SECS
#     (default 60) with the countdown running, % of one core, and the ratio
#     app / empty window (goal <= 1.5), with the load average around it;
#     then the app with no token (its first-run screen, where nothing
#     changes), which tells the app's own idle cost from the countdown's
#   * their total resident memory (MB, sum of VmRSS)
#   * release binary size (bytes)
# Runs under Xvfb, a private session bus and an unlocked throw-away keyring.
#   bash bench/app/run.sh            # RUNS=5 IDLE_SECS=60 by default
# Diagnosis: APP_BIN=path (e.g. a debug build) skips the release build and
# measures that binary; ONLY_IDLE=1 skips the launch timing, ONLY_LAUNCH=1
# the idle part. The idle line
# also lists each process's share ([name cpu% ...]).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
if [ -z "${APP_BENCH_INNER:-}" ]; then
  [ -n "${APP_BIN:-}" ] ||
    cargo build --release --locked -q -p softtoken --bin softtoken --example empty_window --example seed_profile
  export TARGET="${CARGO_TARGET_DIR:-$ROOT/target}" APP_BENCH_INNER=1
  WORK="$(mktemp -d /tmp/softtoken-app-bench.XXXXXX)"; export WORK
  dbus-run-session -- bash "$0"
  rm -rf "$WORK"
  exit 0
fi

RUNS="${RUNS:-5}"; IDLE_SECS="${IDLE_SECS:-60}"
mkdir -p "$WORK/home"; export HOME="$WORK/home"
eval "$(printf 'throwaway-bench' | gnome-keyring-daemon --unlock --components=secrets)"
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$WORK/display" >/dev/null 2>&1 &
XPID=$!
trap 'kill $XPID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$WORK/display")" WEBKIT_DISABLE_DMABUF_RENDERER=1 SOFTTOKEN_BENCH_MARK=1

APP="${APP_BIN:-$TARGET/release/softtoken}"; EMPTY="$TARGET/release/examples/empty_window"
"$TARGET/release/examples/seed_profile" "$WORK/profile" >/dev/null

tree() { # pid → pid and all descendants
  local p=$1; echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree "$c"; done
}
ticks() { local t=0; for p in $(tree "$1"); do
  [ -r /proc/$p/stat ] && t=$(( t + $(awk '{print $14+$15}' /proc/$p/stat) )); done; echo $t; }
rss_kb() { local t=0; for p in $(tree "$1"); do
  [ -r /proc/$p/status ] && t=$(( t + $(awk '/^VmRSS/{print $2}' /proc/$p/status) )); done; echo $t; }

first_visible() { # cmd... → ms from exec to marker
  local t0 log="$WORK/out.log"; : >"$log"
  t0=$(date +%s%3N)
  "$@" 2>"$log" >/dev/null &
  local pid=$!
  for _ in $(seq 1 300); do grep -q first-code-visible "$log" && break; sleep 0.02; done
  local t1; t1=$(grep -o 'first-code-visible [0-9]*' "$log" | awk '{print $2}')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo $(( t1 - t0 ))
}

per_proc() { # pid → "name:ticks" per process of the tree
  for p in $(tree "$1"); do [ -r /proc/$p/stat ] &&
    awk '{gsub(/[()]/, "", $2); print $2 ":" $14+$15}' /proc/$p/stat; done; }

idle() { # cmd... → "cpu% rssMB processes  [per process: name cpu%]"
  "$@" >/dev/null 2>&1 &
  local pid=$!; sleep 8
  local hz; hz=$(getconf CLK_TCK)
  local a; a=$(ticks "$pid"); local pa; pa=$(per_proc "$pid")
  sleep "$IDLE_SECS"
  local b; b=$(ticks "$pid"); local pb; pb=$(per_proc "$pid")
  local r; r=$(rss_kb "$pid"); local n; n=$(tree "$pid" | wc -l)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local each; each=$(paste -d' ' <(echo "$pa") <(echo "$pb") | awk -v hz="$hz" -v s="$IDLE_SECS" \
    '{ split($1, x, ":"); split($2, y, ":"); printf " %s %.2f", x[1], 100 * (y[2] - x[2]) / hz / s }')
  awk -v d=$((b - a)) -v hz="$hz" -v s="$IDLE_SECS" -v r="$r" -v n="$n" -v each="$each" \
    'BEGIN { printf "%.2f %.0f %d  [%s ]\n", 100 * d / hz / s, r / 1024, n, each }'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

if [ -z "${ONLY_IDLE:-}" ]; then
echo "== launch → first code visible (ms), median of $RUNS, alternating"
: >"$WORK/e"; : >"$WORK/a"
for _ in $(seq 1 "$RUNS"); do
  first_visible "$EMPTY" >>"$WORK/e"
  first_visible "$APP" --profile "$WORK/profile" --lang ja >>"$WORK/a"
done
echo "empty window: $(median <"$WORK/e") ms   (runs: $(tr '\n' ' ' <"$WORK/e"))"
echo "app:          $(median <"$WORK/a") ms   (runs: $(tr '\n' ' ' <"$WORK/a"))"
fi

if [ -z "${ONLY_LAUNCH:-}" ]; then
echo "== idle over ${IDLE_SECS}s: CPU % of one core, total RSS MB, processes"
echo "   (the app on its token screen, countdown running; load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
e_idle="$(idle "$EMPTY")"; echo "empty window: $e_idle"
a_idle="$(idle "$APP" --profile "$WORK/profile" --lang ja)"; echo "app:          $a_idle"
mkdir -p "$WORK/no-token"
n_idle="$(idle "$APP" --profile "$WORK/no-token" --lang ja)"; echo "app, no token: $n_idle"
echo "   (load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
awk -v e="${e_idle%% *}" -v a="${a_idle%% *}" 'BEGIN {
  if (e > 0) printf "idle ratio app / empty window: %.2f (goal <= 1.5: %s)\n", a / e, (a / e <= 1.5 ? "met" : "missed")
  else print "idle ratio: empty window measured 0 ticks (raise IDLE_SECS)" }'
awk -v e="${e_idle%% *}" -v n="${n_idle%% *}" 'BEGIN {
  if (e > 0) printf "idle ratio app with no token / empty window: %.2f\n", n / e }'
fi

echo "== release binary size (bytes)"
echo "empty window: $(stat -c %s "$EMPTY")"
echo "app:          $(stat -c %s "$APP")"
