#!/usr/bin/env bash
# Core OTP benchmark: softtoken-core, totp-rs (latest) and the SHA-1
# compression floor in one criterion run, then a summary with the ratios
# that BENCHMARKS.md quotes. Usage: bash bench/core/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
cargo bench -p softtoken-core --bench otp -- --warm-up-time 2 --measurement-time 5 >/dev/null
python3 - "$target/criterion" <<'PY'
import json, sys, pathlib
root = pathlib.Path(sys.argv[1])
def median(group, name):
    p = root / group / name / "new" / "estimates.json"
    return json.loads(p.read_text())["median"]["point_estimate"]
rows = [
    ("code", "softtoken-core"), ("code", "totp-rs"),
    ("verify_window_1", "softtoken-core_wrong"), ("verify_window_1", "totp-rs_wrong"),
    ("verify_window_1", "softtoken-core_next"), ("verify_window_1", "totp-rs_next"),
    ("verify_window_1", "floor_6-sha1-compressions"),
]
v = {}
for g, n in rows:
    v[(g, n)] = median(g, n)
    print(f"{g}/{n:32s} {v[(g, n)]:9.1f} ns (median)")
vw, tw = v[("verify_window_1", "softtoken-core_wrong")], v[("verify_window_1", "totp-rs_wrong")]
vn, tn = v[("verify_window_1", "softtoken-core_next")], v[("verify_window_1", "totp-rs_next")]
floor = v[("verify_window_1", "floor_6-sha1-compressions")]
print(f"code: totp-rs / softtoken-core = {v[('code','totp-rs')]/v[('code','softtoken-core')]:.2f}x")
print(f"verify (wrong code): totp-rs / softtoken-core = {tw/vw:.2f}x; softtoken-core / floor = {vw/floor:.2f}x")
print(f"verify (code of T+1): totp-rs / softtoken-core = {tn/vn:.2f}x; softtoken-core / floor = {vn/floor:.2f}x")
PY
