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
#      of an instance on PostgreSQL (crates/bank/tests/pg_ops.rs);
#   5. the bank binary's own integration tests (token_service.rs,
#      durability.rs, abuse.rs, transactions.rs) once more, every server
#      they start on PostgreSQL (crates/bank/tests/common: one schema per
#      data directory); each test must record that it ran there or why it
#      does not apply (run_matrix below);
#   6. the independent JavaScript STK1 client (tests/browser/stk1.mjs)
#      against two instances on PostgreSQL;
#   7. stage 25's Chromium walks (tests/browser/bank.test.mjs, txn.test.mjs,
#      staff.test.mjs)
#      once more with the token service on PostgreSQL
#      (SOFTTOKEN_BANK_SERVE_ARGS), each in a schema of its own that must
#      afterwards hold the walk's tokens and audit events.
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
grep -q "test result: ok. 3 passed" "$out" || fail "expected 3 operations tests to pass"

# 5. The bank binary's integration tests on PostgreSQL. The helpers in
#    crates/bank/tests/common start every server with --database on a
#    schema of its own and append `ran<TAB>binary<TAB>test` to
#    $SOFTTOKEN_TEST_PG_RECORD after checking that the server migrated it;
#    a test that does not apply to PostgreSQL appends `skipped…<reason>`.
#    Every test the binary lists (less PG_PENDING) must pass and have one
#    of those lines: none passes vacuously on SQLite.
TAB=$'\t'
MATRIX=(token_service durability abuse transactions)
# Tests that need parts of the PostgreSQL backend not yet in the tree
# (binary:test); they run in the SQLite stages meanwhile.
PG_PENDING=()
run_matrix() { # BINARY
  local bin="$1" rec="$PG_DIR/matrix-$1.rec" out="$PG_DIR/matrix-$1.out"
  local skip=() expected=() name p pending n_ran n_skipped
  for p in "${PG_PENDING[@]}"; do
    [ "${p%%:*}" = "$bin" ] && skip+=("${p#*:}")
  done
  mapfile -t expected < <(cargo test -q -p softtoken-bank --test "$bin" "${LOCKED[@]}" -- --list --format terse 2>/dev/null \
    | sed -n 's/: test$//p')
  [ "${#expected[@]}" -gt 0 ] || fail "$bin lists no tests"
  local args=()
  if [ "${skip[*]:-}" = "*" ]; then
    echo "-- $bin: all ${#expected[@]} tests pending on PostgreSQL (they run in the SQLite stages)"
    return 0
  fi
  for name in "${skip[@]}"; do args+=(--skip "$name"); done
  echo "-- cargo test -p softtoken-bank --test $bin on PostgreSQL${skip:+ (pending: ${skip[*]})}"
  : >"$rec"
  SOFTTOKEN_TEST_PG_RECORD="$rec" cargo test -p softtoken-bank --test "$bin" "${LOCKED[@]}" -- --exact "${args[@]}" \
    >"$out" 2>&1 || { cat "$out"; fail "$bin on PostgreSQL"; }
  n_ran=0; n_skipped=0
  for name in "${expected[@]}"; do
    pending=""
    for p in "${skip[@]}"; do [ "$p" = "$name" ] && pending=1; done
    [ -n "$pending" ] && continue
    if grep -q "^ran${TAB}$bin${TAB}$name${TAB}" "$rec"; then
      n_ran=$((n_ran + 1))
    elif grep -q "^skipped${TAB}$bin${TAB}$name${TAB}" "$rec"; then
      n_skipped=$((n_skipped + 1))
      echo "   skipped on PostgreSQL: $name: $(grep "^skipped${TAB}$bin${TAB}$name${TAB}" "$rec" | head -1 | cut -f4)"
    else
      cat "$out"; fail "$bin: $name passed without starting a server on PostgreSQL"
    fi
  done
  grep -q "test result: ok. $((n_ran + n_skipped)) passed" "$out" \
    || { cat "$out"; fail "$bin: expected $((n_ran + n_skipped)) tests to pass"; }
  echo "   $bin: $n_ran tests ran on PostgreSQL, $n_skipped skipped, ${#skip[@]} pending"
}
for bin in "${MATRIX[@]}"; do run_matrix "$bin"; done

# 6. The independent JavaScript STK1 client (tests/browser/stk1.mjs, the
#    one bank.test.mjs pairs with) against two `serve` processes on one
#    database: its spec vectors first, then pairing on instance A, binding
#    and a verification on instance B, the same code again on A (replay),
#    a fresh code on A.
command -v node >/dev/null || fail "node is not installed (scripts/setup)"
BIN="$CARGO_TARGET_DIR/debug/softtoken-bank"
[ -x "$BIN" ] || fail "no binary at $BIN"
SERVER_PIDS=()
pg_on_exit() { local p; for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
start_instance() { # NAME: data dir $PG_DIR/NAME; sets LAST_URL
  local name="$1" url="" i
  : >"$PG_DIR/$name.out"
  "$BIN" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data "$PG_DIR/$name" \
    --kek-file "$PG_DIR/stk1.kek" --test-clock \
    --database "$PG_URL" --database-password-file "$PG_PASSWORD_FILE" \
    >"$PG_DIR/$name.out" 2>"$PG_DIR/$name.err" &
  SERVER_PIDS+=("$!")
  for i in $(seq 1 600); do
    url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$PG_DIR/$name.out")
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { tail -n 20 "$PG_DIR/$name.err" >&2; fail "instance $name did not start"; }
  LAST_URL="$url"
}
echo "-- node --test tests/browser/stk1.test.mjs (the JavaScript STK1 client's vectors)"
(cd tests/browser && node --test stk1.test.mjs) || fail "stk1.test.mjs"
echo "-- the JavaScript STK1 client against two instances on PostgreSQL"
start_instance stk1-a
URL_A="$LAST_URL"
mkdir -m 0700 "$PG_DIR/stk1-b"
for f in server-key api-key ops-key; do install -m 0600 "$PG_DIR/stk1-a/$f" "$PG_DIR/stk1-b/$f"; done
start_instance stk1-b
URL_B="$LAST_URL"
"$BIN" profile --data "$PG_DIR/stk1-a" >"$PG_DIR/stk1-profile.json" || fail "softtoken-bank profile"
cat >"$PG_DIR/stk1-pg.mjs" <<EOF
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pair, totp } from '$PWD/tests/browser/stk1.mjs';
const profile = JSON.parse(readFileSync('$PG_DIR/stk1-profile.json', 'utf8'));
const key = readFileSync('$PG_DIR/stk1-a/api-key', 'utf8').trim();
const [A, B] = [process.argv[2], process.argv[3]];
const t = Math.floor(Date.now() / 1000 / 30) * 30 + 120;
async function bank(base, path, body, time) {
  const res = await fetch(base + path, { method: 'POST', body: JSON.stringify(body), headers: {
    'content-type': 'application/json', authorization: 'Bearer ' + key, 'x-test-time': String(time) } });
  return [res.status, await res.json()];
}
const verify = (base, otp, time) =>
  bank(base, '/v1/bank/verify', { v: 1, customer_id: '6000001', otp, purpose: 'login' }, time);
const tok = await pair(A, profile, t);
let [st, body] = await bank(B, '/v1/bank/bind', { v: 1, customer_id: '6000001', serial: tok.serial, otp: totp(tok.key, t) }, t);
assert.equal(st, 200, JSON.stringify(body));
const code = totp(tok.key, t + 30);
[st, body] = await verify(B, code, t + 30);
assert.equal(st, 200, JSON.stringify(body));
[st, body] = await verify(A, code, t + 30);
assert.equal(st, 409, JSON.stringify(body));
assert.equal(body.error, 'replay');
[st, body] = await verify(A, totp(tok.key, t + 60), t + 60);
assert.equal(st, 200, JSON.stringify(body));
console.log('stk1.mjs on PostgreSQL: paired ' + tok.serial + ' on A, bound and verified on B, replay refused on A');
EOF
node "$PG_DIR/stk1-pg.mjs" "$URL_A" "$URL_B" || fail "the JavaScript STK1 client against PostgreSQL"

# 7. The Chromium walks of stage 25 with the token service on PostgreSQL
#    (web banking keeps its own web.sqlite). The walks start the bank
#    themselves; SOFTTOKEN_BANK_SERVE_ARGS adds `--database …` to it.
#    Screenshots go to target/screenshots/ (never docs/), overwriting stage
#    25's of the same names.
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "Debian chromium is not installed (scripts/setup)"
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "-- npm ci (tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund --prefer-offline) || fail "npm ci in tests/browser"
fi
# Walks that need parts of the PostgreSQL backend not yet in the tree.
WALKS_PENDING=()
for walk in bank txn staff; do
  pending=""
  for p in "${WALKS_PENDING[@]}"; do [ "$p" = "$walk" ] && pending=1; done
  if [ -n "$pending" ]; then
    echo "-- $walk.test.mjs pending on PostgreSQL (it runs in stage 25 on SQLite)"
    continue
  fi
  schema="walk_$walk"
  pg_app_sql <<<"CREATE SCHEMA $schema" >/dev/null || fail "CREATE SCHEMA $schema"
  args=$(printf '["--database","%s&options=-csearch_path%%3D%s","--database-password-file","%s"]' \
    "$PG_URL" "$schema" "$PG_PASSWORD_FILE")
  echo "-- node --test $walk.test.mjs with the token service on PostgreSQL (schema $schema)"
  (cd tests/browser && SOFTTOKEN_BANK_SERVE_ARGS="$args" SKIP_CARGO_BUILD=1 SOFTTOKEN_UPDATE_DOCS= \
    node --test --test-concurrency=1 "$walk.test.mjs") || fail "$walk.test.mjs on PostgreSQL"
  tokens=$(pg_app_sql <<<"SELECT count(*) FROM $schema.tokens WHERE state IN ('active', 'revoked')") \
    || fail "reading $schema"
  # The audit event each walk must have written: a code verified, a
  # 取引認証 transaction consumed by web banking, a token unlocked from the
  # staff console.
  case "$walk" in bank) kind=verified ;; txn) kind=txn_consumed ;; staff) kind=unlocked ;; esac
  events=$(pg_app_sql <<<"SELECT count(*) FROM $schema.events WHERE kind = '$kind'")
  [ "$tokens" -gt 0 ] && [ "$events" -gt 0 ] \
    || fail "$walk.test.mjs left no bound token or no '$kind' event in PostgreSQL ($tokens tokens, $events events)"
  echo "   ran on PostgreSQL: $walk.test.mjs ($tokens bound tokens, $events '$kind' events in schema $schema)"
done
echo "50-postgres: ok"
