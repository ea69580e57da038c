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
#      API on PostgreSQL (SOFTTOKEN_TEST_DATABASE);
#   3. two `softtoken-bank serve` processes on one database
#      (crates/bank/tests/pg_instances.rs: one code raced over both, one
#      lockout counter, SIGKILL of one under load, the database stopped
#      and started under load). Those tests return at once without
#      SOFTTOKEN_TEST_DATABASE, so this stage checks that all of them ran;
#   4. the operations listener (/healthz, /readyz, /metrics) and JSON logs
#      of an instance on PostgreSQL (crates/bank/tests/pg_ops.rs).
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
# For the test that stops and starts the cluster itself.
pg_write_ctl "$PG_DIR/ctl"
export SOFTTOKEN_TEST_PG_CTL="$PG_DIR/ctl"

echo "-- cargo test -p softtoken-token-service on PostgreSQL (the in-process API tests, and the store's own, ignored ones included)"
cargo test -p softtoken-token-service "${LOCKED[@]}" -- --include-ignored \
  || fail "token-service tests on PostgreSQL"

PG_INSTANCE_TESTS=4
echo "-- cargo test -p softtoken-bank --test pg_instances (two server processes on one database)"
out="$PG_DIR/pg_instances.out"
cargo test -p softtoken-bank --test pg_instances "${LOCKED[@]}" -- --test-threads=1 --show-output 2>&1 | tee "$out" \
  || fail "two-instance tests"
grep -q "test result: ok. $PG_INSTANCE_TESTS passed" "$out" \
  || fail "expected $PG_INSTANCE_TESTS two-instance tests to pass"
# Without the database the tests return at once and pass: count the line
# each prints after running on PostgreSQL.
ran=$(grep -c "^ran on PostgreSQL: " "$out" || true)
[ "$ran" -eq "$PG_INSTANCE_TESTS" ] \
  || fail "only $ran of $PG_INSTANCE_TESTS two-instance tests ran on PostgreSQL"
echo "-- cargo test -p softtoken-bank --test pg_ops (metrics listener and JSON logs on PostgreSQL)"
out="$PG_DIR/pg_ops.out"
cargo test -p softtoken-bank --test pg_ops "${LOCKED[@]}" 2>&1 | tee "$out" || fail "operations endpoints on PostgreSQL"
grep -q "test result: ok. 2 passed" "$out" || fail "expected 2 operations tests to pass"
echo "50-postgres: ok"
