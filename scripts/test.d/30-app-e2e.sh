#!/usr/bin/env bash
# End to end: the desktop simulator window against a real bank, read by OCR,
# registered in web banking by a (headless) person.
#
# 1. starts `softtoken-bank serve --demo --test-clock` on loopback (a demo
#    customer from its output), a private session bus with an unlocked
#    throw-away gnome-keyring (own HOME), Xvfb, and the web banking driver
#    (tests/browser/webbank-driver.mjs: Debian's headless Chromium);
# 2. opens the simulator (profile "old") with --bank-profile/--pair-link,
#    confirms with the keyboard, screenshots the window and reads the serial
#    and the code with tesseract (tests/e2e/read_token.py), as a person would;
# 3. 利用開始 in web banking with that serial and code: the result page
#    shows 受付番号 and the serial, the bank reports the token active;
#    a 振込 with a code the window did not show is refused, one with the
#    code it shows is accepted;
# 4. 交換: a second simulator (profile "new") pairs, both windows are read
#    in one time step, web banking's 交換 takes the old window's code and
#    the new window's serial and code; the result shows 変更後/変更前, the
#    bank reports old=revoked, new=active, the new window says "In use" and
#    the reopened old window says "replaced".
# Reading a code: two independent OCR readings must agree, and the 30 s
# step must be the same before and after reading all windows involved;
# otherwise it is read again. A submission the bank refuses is retried at
# most twice, each time with codes of a later step (the reason is printed;
# codes never are). Screenshots: docs/screenshots/app-*.png and e2e-*.png
# (E2E_SHOTS=dir to change).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"

if [ -z "${APP_E2E_INNER:-}" ]; then
  for tool in Xvfb xdotool import convert tesseract gnome-keyring-daemon dbus-run-session curl python3 node; do
    command -v "$tool" >/dev/null || { echo "30-app-e2e: missing $tool (scripts/setup)"; exit 1; }
  done
  [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "30-app-e2e: Debian chromium is not installed (scripts/setup)"; exit 1; }
  # The OCR against screenshots it once misread (tests/e2e/fixtures). The CI
  # run that failed (2026-11-25):
  # the old reader took the new window's "KDS8 0DJN 0WQZ" for CDS8QDJN0WQZ
  # (two misread characters that still pass the check character), which the
  # bank refused as serial_or_otp_invalid. The codes are compared as
  # SHA-256 only to keep them out of this script and its output (they are
  # expired codes of a deleted throw-away token, visible in the images).
  ocr_fixture() { # image known-serials expected-serial code-sha256
    local out
    out="$(E2E_KNOWN_SERIALS="$2" python3 tests/e2e/read_token.py "tests/e2e/fixtures/$1" 2>/dev/null)" \
      || { echo "30-app-e2e: read_token.py could not read fixture $1"; exit 1; }
    [ "${out% *}" = "$3" ] || { echo "30-app-e2e: fixture $1 read as ${out% *}, not $3"; exit 1; }
    [ "$(printf '%s' "${out#* }" | sha256sum | cut -d' ' -f1)" = "$4" ] \
      || { echo "30-app-e2e: fixture $1: the code was misread"; exit 1; }
  }
  ocr_fixture ci-new-window.png KDS80DJN0WQZ,BDM8MZ5GM8V2 KDS80DJN0WQZ \
    dd85790322cb927e50cfab10e54831f4954b8018cb27f5be92d24d73d8fc4e59
  ocr_fixture ci-old-window.png KDS80DJN0WQZ,BDM8MZ5GM8V2 BDM8MZ5GM8V2 \
    6790bd53b75b6cc060ad5eb443fe116cc482f157f006dfde719d046073b30c00
  # A later run: tesseract reads "V653 71JK 4X34" as V653713K4X34.
  ocr_fixture j-read-as-3-window.png V65371JK4X34 V65371JK4X34 \
    0d9f66e68bd63b446ec3c2fff210b2a61dae475e6a153a5c1cb7e73a3d07316f
  # A clean-clone run (17:04 UTC): the crop cut off the serial's first
  # character ("BJ34 JJTQ VNC7" read as "J34 JJTQ VNC7").
  ocr_fixture first-char-cut-window.png BJ34JJTQVNC7 BJ34JJTQVNC7 \
    d8890f4f27f5b54b5295df0f69e5d0825bf61a868381076534eb99f2e6699131
  # A window whose serial the bank does not know is not read (here the bank
  # "knows" only the old window's serial).
  if E2E_KNOWN_SERIALS=BDM8MZ5GM8V2 python3 tests/e2e/read_token.py \
      tests/e2e/fixtures/ci-new-window.png >/dev/null 2>&1; then
    echo "30-app-e2e: read_token.py read a serial the bank does not know"; exit 1
  fi
  echo "30-app-e2e: OCR reads the failed CI run's windows correctly"
  echo "30-app-e2e: building the app and the bank"
  # Same package selection as scripts/test's `cargo test --workspace`, which
  # builds both binaries (target/debug) for the integration tests: reused.
  cargo test --workspace --no-run --locked -q
  if [ ! -d tests/browser/node_modules/playwright-core ]; then
    echo "30-app-e2e: npm ci (tests/browser)"
    (cd tests/browser && npm ci --no-audit --no-fund --prefer-offline) \
      || { echo "30-app-e2e: npm ci in tests/browser failed (run scripts/setup with network first)"; exit 1; }
  fi
  WORK="$(mktemp -d /tmp/softtoken-app-e2e.XXXXXX)"
  export APP_E2E_INNER=1 WORK ROOT
  export TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
  status=0
  started=$(date +%s)
  dbus-run-session -- bash "$0" || status=$?
  echo "30-app-e2e: $(( $(date +%s) - started )) s"
  if [ "$status" -ne 0 ]; then
    echo "30-app-e2e: FAILED ($status); logs and OCR crops kept in $WORK:"
    for f in "$WORK"/*.log; do echo "--- $f"; tail -n 30 "$f"; done
  else
    rm -rf "$WORK"
  fi
  exit "$status"
fi

# ---------------------------------------------------------------- inside the bus
SHOTS="${E2E_SHOTS:-$ROOT/docs/screenshots}"
mkdir -p "$SHOTS" "$WORK/home"
export HOME="$WORK/home" XDG_DATA_HOME="$WORK/home/.local/share" LANG=C.UTF-8
unset LC_ALL LC_MESSAGES || true
PIDS=()
# The simulators are started in command substitutions: their pids are in files.
cleanup() {
  local p all=("${PIDS[@]}" $(cat "$WORK"/app-*.pid 2>/dev/null))
  for p in "${all[@]}"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do # up to 5 s to exit, then killed
    local alive=0
    for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 1 ] || break
    sleep 0.1
  done
  for p in "${all[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() {
  echo "30-app-e2e: $*" >&2
  [ -n "${BANK_PID:-}" ] && ! kill -0 "$BANK_PID" 2>/dev/null && echo "30-app-e2e: (the bank process is gone)"
  exit 1
}

eval "$(printf 'throwaway-e2e' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL

Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$WORK/display")" WEBKIT_DISABLE_DMABUF_RENDERER=1

BANK="$TARGET/debug/softtoken-bank"
APP="$TARGET/debug/softtoken"
"$BANK" serve --listen 127.0.0.1:0 --data "$WORK/bank" --demo --test-clock >"$WORK/bank.log" 2>&1 &
BANK_PID=$!
PIDS+=($!)
for _ in $(seq 1 600); do grep -q "listening on" "$WORK/bank.log" && break; sleep 0.1; done
URL="$(grep -o 'listening on http://[^ ]*' "$WORK/bank.log" | head -n1 | sed 's/listening on //')"
[ -n "$URL" ] || fail "bank did not start"
# The first demo customer: `demo customer: contract_id=<digits> password=<password>`.
DEMO="$(grep -m1 -E '^demo customer: contract_id=[0-9]+ password=[^ ]+$' "$WORK/bank.log" || true)"
[ -n "$DEMO" ] || fail "bank printed no demo customer"
CONTRACT_ID="$(sed -E 's/^.*contract_id=([0-9]+) .*$/\1/' <<<"$DEMO")"
PASSWORD="$(sed -E 's/^.*password=([^ ]+)$/\1/' <<<"$DEMO")"
"$BANK" profile --data "$WORK/bank" >"$WORK/profile.json"
LINK="$(python3 - "$WORK/profile.json" <<'PY'
import json, sys, urllib.parse
p = json.load(open(sys.argv[1]))
print("softtoken://pair?" + urllib.parse.urlencode(
    {"v": 1, "bank": p["bank_id"], "url": p["url"], "kid": p["server_key_id"]}))
PY
)"
echo "bank at $URL (demo customer $CONTRACT_ID)"

# ---------------------------------------------------------------- web banking
# The driver runs for the whole stage: one JSON request line in, one JSON
# answer line out (tests/browser/webbank-driver.mjs).
coproc WEB {
  cd "$ROOT/tests/browser" &&
    WEBBANK_CONTRACT_ID="$CONTRACT_ID" WEBBANK_PASSWORD="$PASSWORD" \
      exec node webbank-driver.mjs --base "$URL" --shots "$SHOTS" 2>"$WORK/webbank.log"
}
PIDS+=("$WEB_PID")
WEB_IN="${WEB[1]}" WEB_OUT="${WEB[0]}"

# Sends one request (JSON, built only from digits and serial characters);
# the answer is left in $ANSWER.
ANSWER=""
web() { # json
  printf '%s\n' "$1" >&"$WEB_IN" || fail "web banking driver is gone (see webbank.log)"
  IFS= read -r -t 180 ANSWER <&"$WEB_OUT" || fail "web banking driver did not answer (see webbank.log)"
  # The driver checked that no page echoed a typed code.
  [ "$(jget echoed <<<"$ANSWER")" != True ] || fail "web banking echoed a code"
}
# A field of a JSON object on stdin ("" if absent).
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1],""))' "$1"; }
# The answer without anything that could be a code (for messages).
why() { python3 -c '
import json, sys
a = json.load(sys.stdin)
print("at=%s url=%s error=%s" % (a.get("at"), a.get("url"), a.get("error")))' <<<"$ANSWER"; }

status_of() { curl -sS "$URL/v1/tokens/$1/status" | jget state; }
compact() { tr -d ' \n' <<<"$1"; }

# ---------------------------------------------------------------- the windows
# Starts a simulator; prints its window id.
start_app() { # name x lang
  "$APP" --profile "$WORK/$1" --bank-profile "$WORK/profile.json" --pair-link "$LINK" \
    --lang "$3" >"$WORK/app-$1.log" 2>&1 &
  PIDS+=($!)
  echo $! >"$WORK/app-$1.pid"
  local wid X=-1 Y SCREEN WIDTH HEIGHT WINDOW
  wid="$(timeout 60 xdotool search --sync --onlyvisible --name "softtoken: $1" | head -n1)"
  [ -n "$wid" ] || fail "window $1 did not open"
  # The window may place itself after it is mapped: move it until it stays
  # (a window left at x=0 would cover the other one and be read in its place).
  for _ in $(seq 1 20); do
    xdotool windowmove "$wid" "$2" 0 2>/dev/null || true
    sleep 0.5
    eval "$(xdotool getwindowgeometry --shell "$wid")"
    [ "$X" = "$2" ] && break
  done
  [ "$X" = "$2" ] || fail "window $1 stays at x=$X instead of x=$2"
  echo "$wid"
}

# Screenshot of one window (the root window, cropped: Xvfb has no compositor).
shot() { # wid file
  import -window root "$WORK/root.png"
  local X Y WIDTH HEIGHT SCREEN WINDOW
  eval "$(xdotool getwindowgeometry --shell "$1")"
  convert "$WORK/root.png" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$2"
}

# OCR of a window: prints the text tesseract reads.
read_window() { # wid name
  shot "$1" "$WORK/$2.png"
  convert "$WORK/$2.png" -colorspace Gray -resize 300% -threshold 55% "$WORK/$2-ocr.png"
  tesseract "$WORK/$2-ocr.png" - --psm 11 -l eng 2>/dev/null
}

# Waits (at most $3 s) until the window's text, read by OCR, contains $2.
wait_text() { # wid text seconds name
  local end=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    read_window "$1" "$4" | grep -q "$2" && return 0
    sleep 1
  done
  fail "window $4 never showed '$2'"
}

step_now() { echo $(( $(date +%s) / 30 )); }

declare -A WID=() SERIAL=() CODE=() USED=()
READ_STEP=0
READS=0
# Reads serial and code of the named windows as a person would, all in one
# 30 s step that is later than the last step used for each of them:
# starts only when the step has run >= 2 s (the window has redrawn) and has
# >= 10 s left, and counts only if the step is unchanged after the last
# window was read. Each window's code must be agreed by two independent
# OCR readings (read_token.py). Sets SERIAL[name], CODE[name], READ_STEP.
read_codes() { # name...
  local end=$(( $(date +%s) + 150 )) name s0 s1 line ok
  while [ "$(date +%s)" -lt "$end" ]; do
    local t=$(( $(date +%s) % 30 )) later=1
    for name in "$@"; do [ "$(step_now)" -gt "${USED[$name]:-0}" ] || later=0; done
    if [ "$later" -eq 0 ] || [ "$t" -lt 2 ] || [ "$t" -gt 20 ]; then sleep 1; continue; fi
    s0="$(step_now)"
    ok=1
    for name in "$@"; do
      READS=$((READS + 1))
      shot "${WID[$name]}" "$WORK/$name.png"
      if line="$(E2E_BANK_URL="$URL" python3 "$ROOT/tests/e2e/read_token.py" "$WORK/$name.png" \
          "$WORK/crops/$READS-$name" 2>>"$WORK/ocr.log")"; then
        read -r SERIAL[$name] CODE[$name] <<<"$line"
        rm -rf "$WORK/crops/$READS-$name"
      else
        echo "reading $READS: window $name not read with confidence; reading again" | tee -a "$WORK/ocr.log"
        cp "$WORK/$name.png" "$WORK/crops/$READS-$name/window.png" 2>/dev/null || true
        ok=0
        break
      fi
    done
    [ "$ok" -eq 1 ] || { sleep 1; continue; }
    s1="$(step_now)"
    if [ "$s0" != "$s1" ]; then
      echo "reading $READS: the 30 s step changed while reading ($*); reading again"
      continue
    fi
    READ_STEP="$s0"
    return 0
  done
  fail "could not read $* with confidence within 150 s (crops in $WORK/crops)"
}
mkdir -p "$WORK/crops"

press_return() { # wid
  xdotool windowfocus --sync "$1" 2>/dev/null || true
  xdotool key --clearmodifiers Return
}

confirm_pairing() { # wid name
  sleep 3
  shot "$1" "$SHOTS/app-$2-confirm.png"
  press_return "$1"
  for _ in $(seq 1 40); do
    [ -s "$WORK/$2/tokens.json" ] && grep -q '"ready"' "$WORK/$2/tokens.json" && return 0
    sleep 0.5
  done
  fail "pairing in window $2 did not finish"
}

# Submits $2 (a function building the request from SERIAL/CODE) after reading
# the windows $3...; a refusal is retried at most twice, in later steps.
submit() { # what builder windows...
  local what="$1" builder="$2" attempt name
  shift 2
  for attempt in 1 2 3; do
    read_codes "$@"
    web "$("$builder")"
    for name in "$@"; do USED[$name]="$READ_STEP"; done
    [ "$(jget ok <<<"$ANSWER")" = True ] && return 0
    echo "$what: attempt $attempt of 3 refused ($(why))$([ "$attempt" -lt 3 ] && echo '; reading again in a later step')"
  done
  fail "$what: refused 3 times with what the window(s) showed"
}

# ---------------------------------------------------------------- 利用開始
WID[old]="$(start_app old 0 ja)"
confirm_pairing "${WID[old]}" old
sleep 1
shot "${WID[old]}" "$SHOTS/app-paired.png"

start_request() {
  printf '{"cmd":"start","serial":"%s","otp":"%s","shot":"start-result"}' "${SERIAL[old]}" "${CODE[old]}"
}
read_codes old
OLD_SERIAL="${SERIAL[old]}"
echo "old window shows serial $OLD_SERIAL"
[ "$(status_of "$OLD_SERIAL")" = issued ] || fail "bank does not know $OLD_SERIAL as issued"
submit 利用開始 start_request old
[ "${SERIAL[old]}" = "$OLD_SERIAL" ] || fail "old window changed serial?"
[ "$(compact "$(jget serial <<<"$ANSWER")")" = "$OLD_SERIAL" ] || fail "利用開始 result shows another serial: $(jget serial <<<"$ANSWER")"
jget receipt <<<"$ANSWER" | grep -Eq '^[0-9]{7}$' || fail "利用開始 result has no 受付番号"
[ "$(status_of "$OLD_SERIAL")" = active ] || fail "old token not active after 利用開始"
echo "利用開始 accepted in web banking: 受付番号 $(jget receipt <<<"$ANSWER"), serial $OLD_SERIAL active"

# "Show token" has the focus on the success screen: open the token screen.
press_return "${WID[old]}"
sleep 3
shot "${WID[old]}" "$SHOTS/app-token-active.png"

# ---------------------------------------------------------------- 振込
# A code the window did not show is refused (the check can fail): the
# shown code with its first digit moved by 5.
wrong_request() {
  local c="${CODE[old]}"
  printf '{"cmd":"transfer","otp":"%s","shot":"transfer-wrong"}' \
    "$(( (${c:0:1} + 5) % 10 ))${c:1}"
}
read_codes old
web "$(wrong_request)"
[ "$(jget ok <<<"$ANSWER")" = False ] || fail "振込 with a code the window did not show was accepted"
jget error <<<"$ANSWER" | grep -q 'ワンタイムパスワードが正しくありません' \
  || fail "振込 with a wrong code: unexpected answer ($(why))"
echo "振込 with a code the window did not show: refused"

transfer_request() {
  printf '{"cmd":"transfer","otp":"%s","shot":"transfer-result"}' "${CODE[old]}"
}
submit 振込 transfer_request old
jget message <<<"$ANSWER" | grep -q 'お振込みを受け付けました' || fail "振込 result: $(jget message <<<"$ANSWER")"
compact "$(jget token_status <<<"$ANSWER")" | grep -q "$OLD_SERIAL" || fail "account page does not show $OLD_SERIAL"
echo "振込 with the code the window shows: accepted (受付番号 $(jget receipt <<<"$ANSWER"))"

# ---------------------------------------------------------------- 交換
WID[new]="$(start_app new 400 en)"
confirm_pairing "${WID[new]}" new
exchange_request() {
  printf '{"cmd":"exchange","old_otp":"%s","new_serial":"%s","new_otp":"%s","shot":"exchange-result"}' \
    "${CODE[old]}" "${SERIAL[new]}" "${CODE[new]}"
}
read_codes new old
NEW_SERIAL="${SERIAL[new]}"
[ "${SERIAL[old]}" = "$OLD_SERIAL" ] || fail "old window changed serial?"
[ "$NEW_SERIAL" != "$OLD_SERIAL" ] || fail "new token has the old serial"
echo "new window shows serial $NEW_SERIAL"
[ "$(status_of "$NEW_SERIAL")" = issued ] || fail "bank does not know $NEW_SERIAL as issued"
submit 交換 exchange_request new old
[ "${SERIAL[new]}" = "$NEW_SERIAL" ] || fail "new window changed serial?"
jget header <<<"$ANSWER" | grep -q '変更後' || fail "交換 result has no 変更後"
jget header <<<"$ANSWER" | grep -q '変更前' || fail "交換 result has no 変更前"
[ "$(compact "$(jget after <<<"$ANSWER")")" = "$NEW_SERIAL" ] || fail "交換 result 変更後 is $(jget after <<<"$ANSWER")"
[ "$(compact "$(jget before <<<"$ANSWER")")" = "$OLD_SERIAL" ] || fail "交換 result 変更前 is $(jget before <<<"$ANSWER")"
[ "$(status_of "$OLD_SERIAL")" = revoked ] || fail "old token not revoked"
[ "$(status_of "$NEW_SERIAL")" = active ] || fail "new token not active"
echo "交換 accepted in web banking: $OLD_SERIAL → $NEW_SERIAL (受付番号 $(jget receipt <<<"$ANSWER"))"
printf '{"cmd":"quit"}\n' >&"$WEB_IN" || true

# The new window (English), on its token screen, asks the bank: "In use".
press_return "${WID[new]}"
wait_text "${WID[new]}" "In use" 60 new-state
shot "${WID[new]}" "$SHOTS/app-exchange-new.png"

# The old phone, reopened, shows its token as stopped/replaced.
kill "$(cat "$WORK/app-old.pid")"
sleep 1
"$APP" --profile "$WORK/old" --bank-profile "$WORK/profile.json" --lang en >"$WORK/app-old2.log" 2>&1 &
PIDS+=($!)
OLD2="$(timeout 60 xdotool search --sync --name "softtoken: old" | head -n1)"
sleep 3
wait_text "$OLD2" "replaced" 40 old-state
shot "$OLD2" "$SHOTS/app-old-revoked.png"
echo "OCR: $READS window readings; codes agreed only after more than two readings: $(grep -c 'agreed only after' "$WORK/ocr.log" 2>/dev/null || true) time(s)"
echo "30-app-e2e: ok"
