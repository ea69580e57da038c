# shellcheck shell=bash
# A throw-away PostgreSQL cluster for tests and benchmarks. Source it:
#
#   source scripts/lib/pg.sh
#   pg_start            # initdb + start in a fresh temp dir; EXIT trap stops it
#   echo "$PG_URL"      # postgresql://softtoken@/softtoken?host=<dir>&port=<port>
#   pg_restart          # fast stop + start (same data)
#   pg_crash            # immediate stop (like a power cut: no checkpoint)
#   pg_start_again      # start the stopped cluster again
#   pg_cleanup          # stop whatever runs and delete the directory
#
# The cluster comes from Debian's `postgresql` package (the newest version
# under /usr/lib/postgresql/*/bin, or PG_BIN). It listens only on a Unix
# socket inside its own directory (listen_addresses='', no TCP port), runs
# durable (fsync=on, synchronous_commit=on) and as an unprivileged user:
# when the caller is root, the system user `softtoken-test` (created if
# missing, no login shell, no home) owns the cluster; otherwise the caller
# does. The cluster's superuser is reachable only by that OS user (peer
# authentication); the application role `softtoken` logs in with a random
# password (SCRAM) that is kept in two 0600 files of the caller:
#   $PG_PASSWORD_FILE   the password alone (for --database-password-file)
#   $PG_PASSFILE        libpq pgpass format (for PGPASSFILE)
# The password never appears on a command line.
#
# pg_start installs `trap pg_cleanup EXIT` (and turns INT/TERM into exit,
# so the trap runs); a caller with its own clean-up defines a function
# `pg_on_exit`, which the trap calls after stopping the cluster. Every wait
# is bounded (PG_WAIT seconds, default 30).
#
# PG_EXTRA_OPTIONS (e.g. "-c track_wal_io_timing=on") adds server settings;
# it must not undo fsync or synchronous_commit.
#
# Variables set by pg_start: PG_DIR (the temp dir), PG_DATA, PG_SOCKET_DIR,
# PG_PORT, PG_DB, PG_ROLE, PG_URL, PG_CONNINFO (key/value form, no
# password), PG_PASSWORD_FILE, PG_PASSFILE, PG_LOG.

PG_ROLE="${PG_ROLE:-softtoken}"
PG_DB="${PG_DB:-softtoken}"
PG_PORT="${PG_PORT:-5432}"
PG_WAIT="${PG_WAIT:-30}"
PG_OS_USER_DEFAULT=softtoken-test

pg_fail() { echo "pg.sh: $*" >&2; return 1; }

# The bin directory of the newest installed PostgreSQL (or $PG_BIN).
pg_bin_dir() {
  if [ -n "${PG_BIN:-}" ]; then
    [ -x "$PG_BIN/pg_ctl" ] || { pg_fail "PG_BIN=$PG_BIN has no pg_ctl"; return 1; }
    echo "$PG_BIN"; return 0
  fi
  local best="" v
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] || continue
    v="${d#/usr/lib/postgresql/}"; v="${v%/bin}"
    if [ -z "$best" ] || [ "${v%%.*}" -gt "${best%%.*}" ] 2>/dev/null; then best="$v"; fi
  done
  [ -n "$best" ] || { pg_fail "no PostgreSQL under /usr/lib/postgresql (run scripts/setup)"; return 1; }
  echo "/usr/lib/postgresql/$best/bin"
}

# Runs a command as the cluster's OS user, from / (its home may be closed).
_pg_as() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

_pg_ensure_user() {
  if [ "$(id -u)" -ne 0 ]; then PG_OS_USER="$(id -un)"; return 0; fi
  PG_OS_USER="${PG_OS_USER:-$PG_OS_USER_DEFAULT}"
  if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$PG_OS_USER" || { pg_fail "cannot create user $PG_OS_USER"; return 1; }
  fi
}

_pg_ctl_start() {
  _pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_WAIT" start -o \
    "-c listen_addresses='' -k $PG_SOCKET_DIR -p $PG_PORT -c fsync=on -c synchronous_commit=on -c max_connections=${PG_MAX_CONNECTIONS:-200} ${PG_EXTRA_OPTIONS:-}" \
    >/dev/null || { pg_fail "pg_ctl start failed; log:"; tail -n 30 "$PG_LOG" >&2; return 1; }
  pg_wait_ready
}

# Waits (bounded) until the server accepts connections.
pg_wait_ready() {
  local i
  for ((i = 0; i < PG_WAIT * 10; i++)); do
    "$PG_BINDIR/pg_isready" -q -h "$PG_SOCKET_DIR" -p "$PG_PORT" -d postgres && return 0
    sleep 0.1
  done
  pg_fail "server not ready after ${PG_WAIT}s"
}

# Runs SQL from stdin as the cluster superuser on database $1 (default postgres).
pg_admin_sql() {
  _pg_as "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" \
    -U "$PG_OS_USER" -d "${1:-postgres}" -f -
}

pg_start() {
  PG_BINDIR="$(pg_bin_dir)" || return 1
  _pg_ensure_user || return 1
  PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/softtoken-pg.XXXXXX")" || return 1
  trap pg_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  PG_DATA="$PG_DIR/data"
  PG_SOCKET_DIR="$PG_DIR"
  PG_LOG="$PG_DIR/postgres.log"
  PG_PASSWORD_FILE="$PG_DIR/password"
  PG_PASSFILE="$PG_DIR/pgpass"
  chmod 0700 "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    # The OS user writes its data dir, log and socket; the password files stay the caller's.
    # (root reaches the socket and the password files in a 0700 dir anyway).
    chown "$PG_OS_USER:" "$PG_DIR"
    chmod 0700 "$PG_DIR"
  fi
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PG_PASSWORD_FILE")
  local pw; pw="$(cat "$PG_PASSWORD_FILE")"
  (umask 077 && printf '*:*:*:%s:%s\n' "$PG_ROLE" "$pw" >"$PG_PASSFILE")
  _pg_as "$PG_BINDIR/initdb" -D "$PG_DATA" -U "$PG_OS_USER" --auth-local=peer \
    --auth-host=reject -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
    || { pg_fail "initdb failed:"; cat "$PG_DIR/initdb.log" >&2; return 1; }
  # Superuser by peer only; every other role by password; no TCP at all.
  _pg_as sh -c "cat >'$PG_DATA/pg_hba.conf'" <<EOF
local all $PG_OS_USER peer
local all all scram-sha-256
EOF
  _pg_as touch "$PG_LOG"
  _pg_ctl_start || return 1
  pg_admin_sql <<EOF || { pg_fail "cannot create role/database"; return 1; }
SET password_encryption = 'scram-sha-256';
CREATE ROLE "$PG_ROLE" LOGIN PASSWORD '$pw';
CREATE DATABASE "$PG_DB" OWNER "$PG_ROLE";
EOF
  pg_admin_sql "$PG_DB" <<EOF || { pg_fail "cannot restrict schema public"; return 1; }
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO "$PG_ROLE";
EOF
  PG_URL="postgresql://$PG_ROLE@/$PG_DB?host=$PG_SOCKET_DIR&port=$PG_PORT"
  PG_CONNINFO="host=$PG_SOCKET_DIR port=$PG_PORT user=$PG_ROLE dbname=$PG_DB"
  export PG_DIR PG_DATA PG_SOCKET_DIR PG_PORT PG_DB PG_ROLE PG_URL PG_CONNINFO \
    PG_PASSWORD_FILE PG_PASSFILE PG_LOG
}

# True while the postmaster runs.
pg_running() {
  [ -n "${PG_DATA:-}" ] && [ -d "$PG_DATA" ] && _pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# Stops with mode $1 (fast|immediate|smart), bounded.
pg_stop() {
  pg_running || return 0
  _pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m "${1:-fast}" -w -t "$PG_WAIT" stop >/dev/null
}

# Immediate stop: every backend killed, no checkpoint (recovery at next start).
pg_crash() { pg_stop immediate; }

# Starts the (stopped) cluster again with the same data and settings.
pg_start_again() { pg_running || _pg_ctl_start; }

pg_restart() { pg_stop fast && pg_start_again; }

# Writes an executable script FILE taking `stop` or `start` that stops
# (fast) or starts this cluster with its settings: for tests that stop and
# start the database themselves (bounded by PG_WAIT as well).
pg_write_ctl() {
  local file="$1" as=""
  [ "$(id -u)" -eq 0 ] && as="runuser -u $PG_OS_USER --"
  cat >"$file" <<EOF
#!/bin/sh
# Stops or starts the throw-away cluster in $PG_DIR (scripts/lib/pg.sh).
cd /
case "\$1" in
  stop) exec $as "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m fast -w -t "$PG_WAIT" stop ;;
  start) exec $as "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_WAIT" start -o "-c listen_addresses='' -k $PG_SOCKET_DIR -p $PG_PORT -c fsync=on -c synchronous_commit=on -c max_connections=${PG_MAX_CONNECTIONS:-200} ${PG_EXTRA_OPTIONS:-}" ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
EOF
  chmod 0700 "$file"
}

# Runs SQL from stdin as the application role (password from PG_PASSFILE).
pg_app_sql() {
  PGPASSFILE="$PG_PASSFILE" "$PG_BINDIR/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
    -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DB" -f -
}

pg_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
    if ! pg_stop immediate 2>/dev/null; then
      # pg_ctl gave up: end the postmaster this script started, by its pid.
      local pid
      pid="$(head -1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    fi
    rm -rf "$PG_DIR"
  fi
  PG_DIR=""
  if declare -F pg_on_exit >/dev/null; then pg_on_exit; fi
  return "$rc"
}
