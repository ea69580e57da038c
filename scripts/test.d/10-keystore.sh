#!/usr/bin/env bash
# Stage 10: softtoken-store against a real Secret Service.
#   1. without any D-Bus session, then on a bare session bus with no Secret
#      Service: Keystore::platform must fail with keystore_unavailable and
#      leave the metadata untouched;
#   2. a session where gnome-keyring is activated but locked and no prompt
#      can be shown: adding a token fails with keystore_locked, nothing left;
#   3. a private dbus-run-session with gnome-keyring-daemon unlocked with a
#      throw-away password: round trip, profile isolation, persistence
#      across reopen, crash recovery.
# Every bus and keyring daemon runs with its own temporary HOME/XDG dirs
# (set before dbus-run-session, so D-Bus-activated daemons inherit them).
# Fails loudly if the keyring cannot be started or reached (no silent skip).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# The sessions below get their own HOME; keep the toolchain reachable.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"

for tool in dbus-run-session gnome-keyring-daemon secret-tool; do
  command -v "$tool" >/dev/null || { echo "10-keystore: $tool is missing (run scripts/setup)" >&2; exit 1; }
done

LOCKED=()
[ "${CI:-}" = "true" ] && LOCKED=(--locked)
# --workspace: the same feature resolution as scripts/test's workspace run,
# so its build is reused.
TEST=(cargo test --workspace --test real_keystore "${LOCKED[@]}")
# Build outside the sessions so that only the tests run inside them.
"${TEST[@]}" --no-run

SANDBOX="$(mktemp -d)"
cleanup() { rm -rf "$SANDBOX"; }
trap cleanup EXIT

# Runs a command and fails unless it reports at least $1 passed tests
# (a renamed test must not turn this stage into a silent no-op).
expect_passed() {
  local want="$1"; shift
  local log="$SANDBOX/last.log"
  "$@" 2>&1 | tee "$log"
  local got
  got="$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log" | tail -n 1)"
  if [ -z "$got" ] || [ "$got" -lt "$want" ]; then
    echo "10-keystore: expected $want passing tests, got '${got:-none}'" >&2
    exit 1
  fi
}

# A fresh private home for one phase: prints `env` arguments.
private_home() {
  local h="$SANDBOX/$1"
  mkdir -p "$h/home" "$h/runtime"
  chmod 700 "$h/home" "$h/runtime"
  echo "HOME=$h/home XDG_RUNTIME_DIR=$h/runtime XDG_DATA_HOME=$h/home/.local/share" \
       "XDG_CONFIG_HOME=$h/home/.config XDG_CACHE_HOME=$h/home/.cache"
}

echo "-- 10-keystore: no Secret Service (no D-Bus session)"
# shellcheck disable=SC2046
expect_passed 1 env -u DISPLAY -u WAYLAND_DISPLAY $(private_home nobus) \
  DBUS_SESSION_BUS_ADDRESS="unix:path=$SANDBOX/no-such-bus" \
  "${TEST[@]}" -- --ignored --exact no_secret_service_is_a_clear_error_and_touches_nothing --nocapture

echo "-- 10-keystore: a D-Bus session without any Secret Service on it"
# A bare session bus: no service directories, so nothing can be activated.
cat > "$SANDBOX/bare-session.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$SANDBOX</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
# shellcheck disable=SC2046
expect_passed 1 env -u DISPLAY -u WAYLAND_DISPLAY $(private_home bare) timeout 300 \
  dbus-run-session --config-file="$SANDBOX/bare-session.conf" -- \
  "${TEST[@]}" -- --ignored --exact no_secret_service_is_a_clear_error_and_touches_nothing --nocapture

echo "-- 10-keystore: gnome-keyring activated but locked, no prompt possible"
# shellcheck disable=SC2046
expect_passed 1 env -u DISPLAY -u WAYLAND_DISPLAY $(private_home locked) timeout 300 \
  dbus-run-session -- \
  "${TEST[@]}" -- --ignored --exact locked_keyring_refuses_and_leaves_nothing --nocapture

echo "-- 10-keystore: gnome-keyring unlocked in a private D-Bus session"
cat > "$SANDBOX/inner.sh" <<'INNER'
set -euo pipefail
# Throw-away password: creates and unlocks the login keyring of this HOME.
eval "$(printf '%s' 'softtoken-ci-throwaway' | gnome-keyring-daemon --unlock --components=secrets)"
eval "$(gnome-keyring-daemon --start --components=secrets)"
# Prove the Secret Service answers before running the tests.
printf '%s' probe | secret-tool store --label='softtoken CI probe' service softtoken-ci-probe username probe
[ "$(secret-tool lookup service softtoken-ci-probe username probe)" = probe ] \
  || { echo "10-keystore: gnome-keyring does not answer" >&2; exit 1; }
secret-tool clear service softtoken-ci-probe username probe
"$@" -- --ignored --skip no_secret_service --skip locked_keyring --test-threads=1
INNER
# shellcheck disable=SC2046
expect_passed 5 env -u DISPLAY -u WAYLAND_DISPLAY $(private_home unlocked) timeout 600 \
  dbus-run-session -- bash "$SANDBOX/inner.sh" "${TEST[@]}"
echo "-- 10-keystore: ok"
