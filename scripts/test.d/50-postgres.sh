#!/usr/bin/env bash
# Stage 50: the token service on a real PostgreSQL (Debian's package,
# scripts/lib/pg.sh): a throw-away cluster in a temp dir, owned by an
# unprivileged user, Unix socket only, durable; stopped and deleted at the
# end whatever happens. Runs
#   1. the PostgreSQL store's tests (two store handles = two instances on
#      one database: one code raced 50 times, one lockout counter, 交換 vs
#      verify, one active token per customer, newer schema / other keys
#      refused, pool exhaustion, killed connections);
#   2. the token service's in-process HTTP tests (tests/http.rs) with the
#      API on PostgreSQL (SOFTTOKEN_TEST_DATABASE).
# Every loop in the tests is bounded in count and time; all traffic is on
# 127.0.0.1 and the cluster's Unix socket.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

fail() { echo "50-postgres: FAILED: $*" >&2; exit 1; }

LOCKED=()
[ "${CI:-}" = "true" ] && LOCKED=(--locked)

# shellcheck source=scripts/lib/pg.sh
source scripts/lib/pg.sh
pg_start || fail "cannot start a PostgreSQL cluster (scripts/setup installs postgresql)"
echo "-- PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}') on $PG_SOCKET_DIR"
export SOFTTOKEN_TEST_DATABASE="$PG_URL"
export SOFTTOKEN_TEST_DATABASE_PASSWORD_FILE="$PG_PASSWORD_FILE"

echo "-- cargo test -p softtoken-token-service on PostgreSQL (the in-process API tests, and the store's own, ignored ones included)"
cargo test -p softtoken-token-service "${LOCKED[@]}" -- --include-ignored \
  || fail "token-service tests on PostgreSQL"
echo "50-postgres: ok"
