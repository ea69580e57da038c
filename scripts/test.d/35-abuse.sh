#!/usr/bin/env bash
# Stage 35: abuse on the real binary, loopback only, bounded.
# 50 concurrent wrong logins for one contract ID: every one answered, the
# server's memory grows by less than 64 MiB (tests/abuse/login_flood.py).
# The other abuse figures are tests of `cargo test` (crates/bank/tests/abuse.rs:
# pairing flood from 127.0.0.2, 300 slow bodies, scoped keys, the data
# directory copy; crates/webbank: one Argon2 in flight, 5,000 cookieless
# GET /login → 0 rows); docs/security.md lists them.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${CARGO_TARGET_DIR:-target}/debug/softtoken-bank"
if [ ! -x "$bin" ]; then
  echo "-- building softtoken-bank"
  cargo build -q --locked -p softtoken-bank
fi
timeout 180 python3 tests/abuse/login_flood.py "$bin"
echo "35-abuse: ok"
