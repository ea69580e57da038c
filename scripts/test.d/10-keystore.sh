#!/usr/bin/env bash
# Stage 10: softtoken-store against a real Secret Service.
#   1. without any D-Bus session: Keystore::platform must fail with
#      keystore_unavailable and leave the metadata untouched;
#   2. inside a private dbus-run-session with gnome-keyring-daemon (own
#      temporary HOME/XDG dirs, login keyring unlocked with a throw-away
#      password): round trip, profile isolation, persistence across reopen,
#      crash recovery.
# Fails loudly if the keyring cannot be started or reached (no silent skip).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

for tool in dbus-run-session gnome-keyring-daemon secret-tool; do
  command -v "$tool" >/dev/null || { echo "10-keystore: $tool is missing (run scripts/setup)" >&2; exit 1; }
done

LOCKED=()
[ -f Cargo.lock ] && [ "${CI:-}" = "true" ] && LOCKED=(--locked)
# Build outside the session so that only the tests run inside it.
cargo test -p softtoken-store --test real_keystore "${LOCKED[@]}" --no-run

# The session below gets its own HOME; keep the toolchain reachable.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
SANDBOX="$(mktemp -d)"
cleanup() { rm -rf "$SANDBOX"; }
trap cleanup EXIT

echo "-- 10-keystore: no Secret Service (no D-Bus session)"
env -u DBUS_SESSION_BUS_ADDRESS -u XDG_RUNTIME_DIR \
  DBUS_SESSION_BUS_ADDRESS="unix:path=$SANDBOX/no-such-bus" \
  XDG_RUNTIME_DIR="$SANDBOX/no-runtime" \
  cargo test -p softtoken-store --test real_keystore "${LOCKED[@]}" -- \
  --ignored --exact no_secret_service_is_a_clear_error_and_touches_nothing --nocapture

echo "-- 10-keystore: gnome-keyring in a private D-Bus session"
mkdir -p "$SANDBOX/home" "$SANDBOX/runtime"
chmod 700 "$SANDBOX/home" "$SANDBOX/runtime"
cat > "$SANDBOX/inner.sh" <<'INNER'
set -euo pipefail
export HOME="$SANDBOX/home" XDG_RUNTIME_DIR="$SANDBOX/runtime"
export XDG_DATA_HOME="$HOME/.local/share" XDG_CONFIG_HOME="$HOME/.config" XDG_CACHE_HOME="$HOME/.cache"
# Throw-away password: creates and unlocks the login keyring of this HOME.
eval "$(printf '%s' 'softtoken-ci-throwaway' | gnome-keyring-daemon --unlock --components=secrets)"
eval "$(gnome-keyring-daemon --start --components=secrets)"
# Prove the Secret Service answers before running the tests.
printf '%s' probe | secret-tool store --label='softtoken CI probe' service softtoken-ci-probe username probe
[ "$(secret-tool lookup service softtoken-ci-probe username probe)" = probe ] \
  || { echo "10-keystore: gnome-keyring does not answer" >&2; exit 1; }
secret-tool clear service softtoken-ci-probe username probe
status=0
cargo test -p softtoken-store --test real_keystore ${LOCKED_FLAG} -- \
  --ignored --skip no_secret_service --test-threads=1 || status=$?
# Stop the daemon this session started (by its pid, from its control dir).
if [ -n "${GNOME_KEYRING_PID:-}" ]; then kill "$GNOME_KEYRING_PID" 2>/dev/null || true; fi
exit "$status"
INNER
SANDBOX="$SANDBOX" LOCKED_FLAG="${LOCKED[*]:-}" timeout 600 dbus-run-session -- bash "$SANDBOX/inner.sh"
echo "-- 10-keystore: ok"
