#!/usr/bin/env bash
# Benchmark of the token service's verify endpoint over HTTP on loopback
# (not a test). Starts the release server in several setups and runs the
# load generator (crates/bank/examples/loadgen.rs) against each; every
# request is a fresh valid code, i.e. an accepted verification: a
# compare-and-set write and an audit row, answered after its commit.
#
# Setups (third argument, comma-separated; default all):
#   gc-on-full    SQLite, group commit on, synchronous=FULL (durable, the default)
#   gc-off-full   SQLite, one transaction per request, synchronous=FULL (durable peer)
#   gc-on-normal  SQLite, group commit on, synchronous=NORMAL (not durable; reference)
#   pg1           PostgreSQL, one instance
#   pg2           PostgreSQL, two instances on one database; the load
#                 generator's workers are spread round robin over them
#   pg1-async     PostgreSQL, one instance, synchronous_commit=off for its
#                 role (NOT durable: a diagnostic showing what the WAL flush
#                 per commit costs; only when named)
#   pg1-odsync, pg2-odsync
#                 pg1 / pg2 with wal_sync_method=open_datasync (still
#                 durable: WAL written with O_DSYNC instead of write +
#                 fdatasync; only when named)
# PostgreSQL: a throw-away cluster from scripts/lib/pg.sh (Debian's
# package; fsync=on, synchronous_commit=on, Unix socket in its directory),
# each setup in a schema of its own, every instance with the default pool
# (--database-pool 16). Key files are copied to the second instance's data
# directory, the KEK file is shared, as docs/deploy.md describes.
#
# Each row: verifications/s, latency percentiles, and the CPU time (user +
# system, /proc/<pid>/stat) per verification during that level of the
# server processes and of the whole PostgreSQL cluster (postmaster and all
# its children). On a machine shared with other work, CPU per verification
# is the figure that stays comparable; the load average is printed.
#
# Usage: [BENCH_NO_BUILD=1] bench/bank/run.sh [seconds-per-level] [concurrencies] [setups]
#   e.g. bench/bank/run.sh 5 1,16,32,64 gc-on-full,pg1,pg2
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_LEVEL="${1:-5}"
CONCURRENCY="${2:-1,16,32,64}"
SETUPS="${3:-gc-on-full,gc-off-full,gc-on-normal,pg1,pg2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
# BENCH_NO_BUILD=1 uses the release binaries as they are.
[ -n "${BENCH_NO_BUILD:-}" ] || cargo build --release -q -p softtoken-bank --bin softtoken-bank --example loadgen
BIN="$CARGO_TARGET_DIR/release/softtoken-bank"
GEN="$CARGO_TARGET_DIR/release/examples/loadgen"
WORK="$(mktemp -d)"
PIDS=()
stop_servers() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() { stop_servers; rm -rf "$WORK"; }
trap cleanup EXIT

case ",$SETUPS," in
  *,pg*)
    # shellcheck source=scripts/lib/pg.sh
    source scripts/lib/pg.sh
    # WAL flush timing, for the flushes-per-verification line below.
    export PG_EXTRA_OPTIONS="-c track_wal_io_timing=on"
    # pg_start's EXIT trap stops the cluster, then calls pg_on_exit.
    pg_on_exit() { cleanup; }
    pg_start
    POSTMASTER="$(head -1 "$PG_DATA/postmaster.pid")"
    echo "# PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}'), fsync=on, synchronous_commit=on, $PG_SOCKET_DIR"
    ;;
esac
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); $SECONDS_PER_LEVEL s per level; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# start NAME DIR [ARGS…]: starts a server; sets LAST_URL, appends to PIDS.
start() {
  local name="$1" dir="$2" url="" i
  shift 2
  # The load generator pairs all its tokens from one address, so the
  # per-source pairing limits are lifted for the benchmark.
  "$BIN" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data "$dir" \
      --kek-file "$WORK/$name.kek" --test-clock \
      --provision-rate 100000 --provision-burst 100000 \
      --pending-per-source 100000 --unbound-per-source 100000 \
      "$@" >"$dir.out" 2>"$dir.err" &
  PIDS+=("$!")
  for i in $(seq 300); do
    url="$(sed -n 's/^listening on //p' "$dir.out" | head -1)"
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "server $name did not start:"; cat "$dir.err"; exit 1; }
  LAST_URL="$url"
}

HEADER_DONE=""
# ON_LOAD: a command run once the load generator has paired and bound its
# tokens, i.e. when the measured levels begin.
ON_LOAD=true
run() { # LABEL URLS [--postmaster PID]
  local label="$1" urls="$2" data="$WORK/$1/a" gen i
  shift 2
  local pids; pids="$(IFS=,; echo "${PIDS[*]}")"
  "$GEN" --url "$urls" --data "$data" --tokens 256 --concurrency "$CONCURRENCY" \
      --seconds "$SECONDS_PER_LEVEL" --label "$label" --server-pids "$pids" "$@" \
      >"$WORK/$label.table" 2>"$WORK/$label.gen" &
  gen=$!
  for i in $(seq 3000); do
    grep -q 'paired and bound' "$WORK/$label.gen" && break
    kill -0 "$gen" 2>/dev/null || break
    sleep 0.1
  done
  $ON_LOAD
  wait "$gen" || { echo "load generator failed:"; cat "$WORK/$label.gen"; exit 1; }
  if [ -z "$HEADER_DONE" ]; then cat "$WORK/$label.table"; HEADER_DONE=1; else tail -n +3 "$WORK/$label.table"; fi
  stop_servers
}

sqlite() { # LABEL GROUP SYNC
  mkdir -p "$WORK/$1"
  start "$1" "$WORK/$1/a" --group-commit "$2" --synchronous "$3"
  run "$1" "$LAST_URL"
}

pg_reset_wal_stats() { pg_admin_sql <<<"SELECT pg_stat_reset_shared('wal')" >/dev/null; }

pg_schema_url() { # SCHEMA → URL with that search path
  pg_app_sql <<<"CREATE SCHEMA $1" >/dev/null
  echo "$PG_URL&options=-csearch_path%3D$1"
}

pg() { # LABEL INSTANCES [SQL before] [SQL after] (run as the cluster's superuser)
  local label="$1" n="$2" url urls="" i total
  mkdir -p "$WORK/$label"
  url="$(pg_schema_url "${label//-/_}")"
  [ -n "${3:-}" ] && pg_admin_sql "$PG_DB" <<<"$3" >/dev/null
  for i in $(seq "$n"); do
    local dir="$WORK/$label/$([ "$i" = 1 ] && echo a || echo "i$i")"
    if [ "$i" -gt 1 ]; then
      mkdir -m 0700 "$dir"
      for f in server-key api-key ops-key; do install -m 0600 "$WORK/$label/a/$f" "$dir/$f"; done
    fi
    start "$label" "$dir" --database "$url" --database-password-file "$PG_PASSWORD_FILE"
    urls="${urls:+$urls,}$LAST_URL"
  done
  ON_LOAD=pg_reset_wal_stats
  run "$label" "$urls" --postmaster "$POSTMASTER"
  ON_LOAD=true
  # WAL flushes (fdatasync by the committing backends or the WAL writer)
  # over the measured levels of this setup: how long each took, and how
  # many verifications one flush carried (PostgreSQL's own group commit).
  # (PostgreSQL counts fdatasync/fsync calls only: none with open_datasync.)
  total="$(awk -F'|' 'NR>2 {s+=$4} END {print s+0}' "$WORK/$label.table")"
  printf '\\pset tuples_only on\n\\pset format unaligned\nSELECT wal_sync, round((wal_sync_time / greatest(wal_sync, 1))::numeric, 2) FROM pg_stat_wal;\n' \
    | pg_admin_sql | tr -d ' ' | awk -F'|' -v n="$total" -v l="$label" \
      '{ printf "%s: %d verifications, %d WAL flushes (%.2f ms each on average), %.1f verifications per flush\n", l, n, $1, $2, ($1 > 0 ? n / $1 : 0) }' \
      >>"$WORK/flushes"
  [ -n "${4:-}" ] && pg_admin_sql "$PG_DB" <<<"$4" >/dev/null
  return 0
}

IFS=, read -r -a WANT <<<"$SETUPS"
for s in "${WANT[@]}"; do
  case "$s" in
    gc-on-full) sqlite gc-on-full on full ;;
    gc-off-full) sqlite gc-off-full off full ;;
    gc-on-normal) sqlite gc-on-normal on normal ;;
    pg1) pg pg1 1 ;;
    pg2) pg pg2 2 ;;
    pg1-async) pg pg1-async 1 "ALTER ROLE $PG_ROLE SET synchronous_commit = off" "ALTER ROLE $PG_ROLE RESET ALL" ;;
    pg1-odsync | pg2-odsync)
      pg "$s" "${s:2:1}" "ALTER SYSTEM SET wal_sync_method = open_datasync; SELECT pg_reload_conf()" \
        "ALTER SYSTEM RESET wal_sync_method; SELECT pg_reload_conf()" ;;
    *) echo "unknown setup $s" >&2; exit 2 ;;
  esac
done
[ -f "$WORK/flushes" ] && { echo; sed 's/^/# /' "$WORK/flushes"; }
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
