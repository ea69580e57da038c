#!/usr/bin/env bash
# Idle-cost probe (BENCHMARKS.md, app section): what WebKitGTK under Xvfb
# costs for a page that changes in a given way, without the app's own work.
# Each case is examples/idle_probe.rs showing a page built below from the
# token screen's body, with a script or style sheet; the peer is examples/empty_window.rs in the same run. Idle CPU is
# summed over the window's process tree (the example and its WebKit web and
# network processes) for SECS seconds after an 8 s settle.
# A second table looks for the floor under those figures: the same text
# change less often, hidden, on a one-line page in three window sizes, and
# with WebKit's rendering switches; then which GL the web view runs on.
#   bash bench/app/probe.sh [SECS]          # default 30
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${1:-30}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --locked -q -p softtoken --example idle_probe --example empty_window
REL="$CARGO_TARGET_DIR/release/examples"
P=bench/app/probe
WORK="$(mktemp -d)"; export HOME="$WORK"
XPID=""
cleanup() { [ -n "$XPID" ] && kill "$XPID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$WORK/display" >/dev/null 2>&1 &
XPID=$!
for _ in $(seq 1 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
[ -s "$WORK/display" ] || { echo "probe: Xvfb did not start"; exit 1; }
export DISPLAY=":$(cat "$WORK/display")" WEBKIT_DISABLE_DMABUF_RENDERER=1
# The pages: the token screen's server-rendered body (probe/token-body.html)
# styled by the app's own assets/app.css plus probe/probe.css; the strip
# variants replace its seconds text by a strip of the numbers 30 … 1 moved
# by a CSS steps() animation (probe/strip.css), with one visually hidden
# accessible text; strip-ring adds a ring hand turned the same way;
# strip-nowc.css and strip-linear.css each change one thing on top of it.
cat assets/app.css $P/probe.css >"$WORK/app.css"
for v in strip will-change hidden; do cat "$WORK/app.css" $P/$v.css >"$WORK/$v.css"; done
for v in strip-nowc strip-linear; do cat "$WORK/strip.css" $P/$v.css >"$WORK/$v.css"; done
numbers="$(for n in $(seq 30 -1 1); do printf '<span>%s</span>' "$n"; done)"
strip='<span class="seconds" id="seconds-left"><span class="sr">あと 3 秒</span><span aria-hidden="true">あと <span class="digits"><span class="strip" style="animation-delay:-27s">'"$numbers"'</span></span> 秒</span></span>'
plain='<span class="seconds" id="seconds-left">あと 3 秒</span>'
body="$(cat $P/token-body.html)"
[ "${body/"$plain"/}" != "$body" ] || { echo "probe: token-body.html has no seconds text"; exit 1; }
printf '%s' "${body/"$plain"/$strip}" >"$WORK/strip.html"
hand='<span class="hand" style="animation-delay:-27s"></span>'
printf '%s' "${body/"$plain"/$hand$strip}" >"$WORK/strip-ring.html"
hz="$(getconf CLK_TCK)"
tree() { local c; echo "$1"; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$c"; done; }
ticks() { local p t=0; for p in $(tree "$1"); do
  [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
measure() { # LABEL BIN [ENV=VALUE...]
  local label="$1" bin="$2"; shift 2
  env "$@" "$bin" >/dev/null 2>&1 &
  local pid=$! a b
  sleep 8; a="$(ticks "$pid")"; sleep "$SECS"; b="$(ticks "$pid")"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  awk -v d=$((b - a)) -v hz="$hz" -v s="$SECS" -v l="$label" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN { printf "| %s | %.2f %% | %s |\n", l, 100 * d / hz / s, load }'
}
echo "# $(date -u +%FT%TZ) $(nproc) cores; $SECS s per case; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| page | idle CPU, all processes | load |"
echo "|---|---:|---:|"
measure "empty window" "$REL/empty_window"
T=(EXP_HTML=$P/token-body.html EXP_CSS="$WORK/app.css")
measure "token screen, static" "$REL/idle_probe" "${T[@]}"
measure "timer changing nothing" "$REL/idle_probe" "${T[@]}" EXP_JS=$P/timer-noop.js
measure "timer changing the ring" "$REL/idle_probe" "${T[@]}" EXP_JS=$P/timer-ring.js
measure "timer changing the seconds text" "$REL/idle_probe" "${T[@]}" EXP_JS=$P/timer-text.js
measure "same, will-change on the seconds" "$REL/idle_probe" EXP_HTML=$P/token-body.html EXP_CSS="$WORK/will-change.css" EXP_JS=$P/timer-text.js
measure "CSS steps() seconds strip" "$REL/idle_probe" EXP_HTML="$WORK/strip.html" EXP_CSS="$WORK/strip.css"
measure "same, without will-change" "$REL/idle_probe" EXP_HTML="$WORK/strip.html" EXP_CSS="$WORK/strip-nowc.css"
measure "strip and rotating ring layer" "$REL/idle_probe" EXP_HTML="$WORK/strip-ring.html" EXP_CSS="$WORK/strip.css"
measure "strip, linear (comparison)" "$REL/idle_probe" EXP_HTML="$WORK/strip.html" EXP_CSS="$WORK/strip-linear.css"

echo
echo "| the seconds text changed … | idle CPU, all processes | load |"
echo "|---|---:|---:|"
for ms in 2000 5000; do
  printf 'window.PROBE_PERIOD=%s;' "$ms" | cat - $P/timer-text.js >"$WORK/every-$ms.js"
done
measure "every 2 s" "$REL/idle_probe" "${T[@]}" EXP_JS="$WORK/every-2000.js"
measure "every 5 s" "$REL/idle_probe" "${T[@]}" EXP_JS="$WORK/every-5000.js"
measure "every 1 s, not displayed (display: none)" "$REL/idle_probe" EXP_HTML=$P/token-body.html EXP_CSS="$WORK/hidden.css" EXP_JS=$P/timer-text.js
: >"$WORK/none.css"
for wh in 100x100 390x844 1200x1000; do
  measure "every 1 s, one-line page, ${wh/x/ × } window" "$REL/idle_probe" EXP_HTML=$P/tiny.html EXP_CSS="$WORK/none.css" \
    EXP_JS=$P/timer-text.js EXP_W="${wh%x*}" EXP_H="${wh#*x}"
done
measure "every 1 s, WEBKIT_SKIA_ENABLE_CPU_RENDERING=1 WEBKIT_SKIA_CPU_PAINTING_THREADS=0" "$REL/idle_probe" "${T[@]}" \
  EXP_JS=$P/timer-text.js WEBKIT_SKIA_ENABLE_CPU_RENDERING=1 WEBKIT_SKIA_CPU_PAINTING_THREADS=0
measure "every 1 s, DMA-BUF renderer on with WEBKIT_DMABUF_RENDERER_FORCE_SHM=1" "$REL/idle_probe" "${T[@]}" \
  EXP_JS=$P/timer-text.js WEBKIT_DISABLE_DMABUF_RENDERER= WEBKIT_DMABUF_RENDERER_FORCE_SHM=1

# Which GL: the libraries the window's processes have mapped, and what
# WebKit does when it is given no EGL at all.
env "${T[@]}" "$REL/idle_probe" >/dev/null 2>&1 &
pid=$!; sleep 6
for p in $(tree "$pid"); do
  gl="$(grep -o '[^/ ]*\(swrast_dri\|libgallium\|libEGL_mesa\|libLLVM\)[^/ ]*\.so[^ ]*' "/proc/$p/maps" 2>/dev/null | sort -u | tr '\n' ' ' || true)"
  echo "GL mapped by $(cat "/proc/$p/comm" 2>/dev/null): ${gl:-none}"
done
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
__EGL_VENDOR_LIBRARY_FILENAMES=/nonexistent env "${T[@]}" EXP_JS=$P/timer-text.js "$REL/idle_probe" >"$WORK/no-egl.log" 2>&1 &
pid=$!; sleep 6; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
echo "without EGL: $(grep -m1 -i 'egl' "$WORK/no-egl.log" || echo 'no EGL message')"
