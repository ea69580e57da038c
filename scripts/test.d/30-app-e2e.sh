#!/usr/bin/env bash
# End to end: the desktop simulator window against a real bank, read by OCR.
#
# 1. starts `softtoken-bank serve --test-clock` on loopback, a private
#    session bus with an unlocked throw-away gnome-keyring (own HOME), Xvfb;
# 2. opens the simulator (profile "old") with --bank-profile/--pair-link,
#    confirms with the keyboard, screenshots the window and reads the serial
#    and the code with tesseract, as a person would;
# 3. registers them at the bank (back-end API `bind`) and checks the bank
#    accepts them and the window then shows the token as active;
# 4. 交換: a second simulator (profile "new") pairs, both windows are read
#    in one time step, `change` moves the customer to the new token; the
#    bank reports old=revoked, new=active, and the old window says so.
# Screenshots: docs/screenshots/app-*.png (E2E_SHOTS=dir to change).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"

if [ -z "${APP_E2E_INNER:-}" ]; then
  for tool in Xvfb xdotool import convert tesseract gnome-keyring-daemon dbus-run-session curl python3; do
    command -v "$tool" >/dev/null || { echo "30-app-e2e: missing $tool (scripts/setup)"; exit 1; }
  done
  echo "30-app-e2e: building the app and the bank"
  # Same package selection as scripts/test's `cargo test --workspace`, which
  # builds both binaries (target/debug) for the integration tests: reused.
  cargo test --workspace --no-run --locked -q
  WORK="$(mktemp -d /tmp/softtoken-app-e2e.XXXXXX)"
  export APP_E2E_INNER=1 WORK ROOT
  export TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
  status=0
  dbus-run-session -- bash "$0" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "30-app-e2e: FAILED ($status); logs:"
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
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

eval "$(printf 'throwaway-e2e' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL

Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$WORK/display")" WEBKIT_DISABLE_DMABUF_RENDERER=1

BANK="$TARGET/debug/softtoken-bank"
APP="$TARGET/debug/softtoken"
"$BANK" serve --listen 127.0.0.1:0 --data "$WORK/bank" --test-clock >"$WORK/bank.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do grep -q "listening on" "$WORK/bank.log" && break; sleep 0.1; done
URL="$(grep -o 'listening on http://[^ ]*' "$WORK/bank.log" | head -n1 | sed 's/listening on //')"
[ -n "$URL" ] || { echo "bank did not start"; exit 1; }
"$BANK" profile --data "$WORK/bank" >"$WORK/profile.json"
KEY="$(cat "$WORK/bank/api-key")"
LINK="$(python3 - "$WORK/profile.json" <<'PY'
import json, sys, urllib.parse
p = json.load(open(sys.argv[1]))
print("softtoken://pair?" + urllib.parse.urlencode(
    {"v": 1, "bank": p["bank_id"], "url": p["url"], "kid": p["server_key_id"]}))
PY
)"
echo "bank at $URL"

# Starts a simulator; prints its window id.
start_app() { # name x lang
  "$APP" --profile "$WORK/$1" --bank-profile "$WORK/profile.json" --pair-link "$LINK" \
    --lang "$3" >"$WORK/app-$1.log" 2>&1 &
  PIDS+=($!)
  echo $! >"$WORK/app-$1.pid"
  local wid
  wid="$(timeout 60 xdotool search --sync --name "softtoken: $1" | head -n1)"
  xdotool windowmove "$wid" "$2" 0
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

# The serial and the code a person reads off the window: "SERIAL CODE".
read_token() { # wid name
  local i
  for i in 1 2 3; do
    shot "$1" "$WORK/$2.png"
    python3 "$ROOT/tests/e2e/read_token.py" "$WORK/$2.png" && return 0
    sleep 1
  done
  echo "OCR could not read serial and code from window $2" >&2
  return 1
}

# Waits (at most $3 s) until the window's text, read by OCR, contains $2.
wait_text() { # wid text seconds name
  local end=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    read_window "$1" "$4" | grep -q "$2" && return 0
    sleep 1
  done
  echo "window $4 never showed '$2'"; return 1
}

api() { # path json
  curl -sS -X POST "$URL$1" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "$2"
}
status_of() { curl -sS "$URL/v1/tokens/$1/status"; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1],""))' "$1"; }

# Waits until the current 30 s step has at least 8 s left (both codes read in one step).
mid_step() { while [ $(( 30 - $(date +%s) % 30 )) -lt 8 ]; do sleep 1; done; }
next_step() { sleep $(( 30 - $(date +%s) % 30 + 1 )); }

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
  echo "pairing in window $2 did not finish"; return 1
}

# ---------------------------------------------------------------- 利用開始
OLD="$(start_app old 0 ja)"
confirm_pairing "$OLD" old
sleep 1
shot "$OLD" "$SHOTS/app-paired.png"
mid_step
read -r OLD_SERIAL OLD_CODE < <(read_token "$OLD" old)
echo "old window shows serial $OLD_SERIAL"
[ "$(status_of "$OLD_SERIAL" | field state)" = issued ] || { echo "bank does not know $OLD_SERIAL as issued"; exit 1; }
bind="$(api /v1/bank/bind "{\"v\":1,\"customer_id\":\"e2e-0001\",\"serial\":\"$OLD_SERIAL\",\"otp\":\"$OLD_CODE\"}")"
[ "$(echo "$bind" | field result)" = ok ] || { echo "bind refused: $bind"; exit 1; }
[ "$(status_of "$OLD_SERIAL" | field state)" = active ] || { echo "old token not active"; exit 1; }
echo "bank accepted the code the old window showed (bind ok)"
# "Show token" has the focus on the success screen: open the token screen.
press_return "$OLD"
sleep 3
shot "$OLD" "$SHOTS/app-token-active.png"
# A code the window did not show is refused (the check can fail).
bad="$(api /v1/bank/verify "{\"v\":1,\"customer_id\":\"e2e-0001\",\"otp\":\"000000\",\"purpose\":\"transfer\"}")"
[ "$(echo "$bad" | field error)" = invalid_otp ] || { echo "a wrong code was not refused: $bad"; exit 1; }

# ---------------------------------------------------------------- 交換
NEW="$(start_app new 400 en)"
confirm_pairing "$NEW" new
next_step   # the old code used by bind must not be replayed
mid_step
read -r NEW_SERIAL NEW_CODE < <(read_token "$NEW" new)
read -r OLD_SERIAL2 OLD_CODE2 < <(read_token "$OLD" old)
[ "$OLD_SERIAL2" = "$OLD_SERIAL" ] || { echo "old window changed serial?"; exit 1; }
[ "$NEW_SERIAL" != "$OLD_SERIAL" ] || { echo "new token has the old serial"; exit 1; }
change="$(api /v1/bank/change "{\"v\":1,\"customer_id\":\"e2e-0001\",\"old_otp\":\"$OLD_CODE2\",\"new_serial\":\"$NEW_SERIAL\",\"new_otp\":\"$NEW_CODE\"}")"
[ "$(echo "$change" | field result)" = ok ] || { echo "change refused: $change"; exit 1; }
[ "$(status_of "$OLD_SERIAL" | field state)" = revoked ] || { echo "old token not revoked"; exit 1; }
[ "$(status_of "$NEW_SERIAL" | field state)" = active ] || { echo "new token not active"; exit 1; }
echo "交換 accepted: $OLD_SERIAL → $NEW_SERIAL"

# The new window (English), on its token screen, asks the bank: "In use".
press_return "$NEW"
wait_text "$NEW" "In use" 60 new-state
shot "$NEW" "$SHOTS/app-exchange-new.png"

# The old phone, reopened, shows its token as stopped/replaced.
kill "$(cat "$WORK/app-old.pid")"
sleep 1
"$APP" --profile "$WORK/old" --bank-profile "$WORK/profile.json" --lang en >"$WORK/app-old2.log" 2>&1 &
PIDS+=($!)
OLD2="$(timeout 60 xdotool search --sync --name "softtoken: old" | head -n1)"
sleep 3
wait_text "$OLD2" "replaced" 40 old-state
shot "$OLD2" "$SHOTS/app-old-revoked.png"
echo "30-app-e2e: ok"
