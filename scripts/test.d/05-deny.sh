#!/usr/bin/env bash
# Stage 05: the dependency policy, from Cargo.lock, without building.
#   1. rust-version: each workspace crate declares at least the highest
#      rust-version of its locked dependencies (scripts/check-msrv.py);
#   2. cargo deny --workspace --locked check advisories licenses bans with
#      deny.toml (all platforms the project ships to, all features).
# The RustSec advisory database is fetched from github.com. When it cannot
# be fetched, the stage prints "advisories: database not reachable, not
# checked" (and cargo-deny's reason), still checks licenses and bans, and
# fails on their failures; with DENY_REQUIRE_ADVISORIES=1 it fails instead.
# Needs cargo-deny (scripts/setup installs it) and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never

fail() { echo "05-deny: FAILED: $*" >&2; exit 1; }

command -v cargo-deny >/dev/null || fail "cargo-deny is not installed (run scripts/setup)"

echo "-- rust-version against Cargo.lock (scripts/check-msrv.py)"
python3 scripts/check-msrv.py || fail "rust-version is lower than the locked dependencies need"

# --workspace: the root manifest is also the app's package; without it
# cargo-deny would check only the app's graph, not the bank's.
DENY=(cargo deny --workspace --locked)
checks=(licenses bans)
fetch_log="$(mktemp)"
trap 'rm -f "$fetch_log"' EXIT
echo "-- advisory database (cargo deny fetch db)"
if timeout 300 "${DENY[@]}" fetch db >"$fetch_log" 2>&1; then
  checks=(advisories licenses bans)
else
  sed 's/^/   /' "$fetch_log" >&2
  echo "05-deny: advisories: database not reachable, not checked"
  [ "${DENY_REQUIRE_ADVISORIES:-0}" = "1" ] && fail "DENY_REQUIRE_ADVISORIES=1 and no advisory database"
fi

echo "-- cargo deny check ${checks[*]}"
"${DENY[@]}" check --show-stats --hide-inclusion-graph "${checks[@]}" || fail "cargo deny check ${checks[*]}"

if [ "${#checks[@]}" -eq 3 ]; then
  echo "05-deny: ok (advisories, licenses, bans, rust-version)"
else
  echo "05-deny: ok (licenses, bans, rust-version); advisories: database not reachable, not checked"
fi
