#!/usr/bin/env bash
# Builds every fuzz target of fuzz/Cargo.toml and runs each for SECONDS
# (default 10), starting from its tracked seeds (fuzz/seeds/<target>/) plus
# whatever an earlier run left in fuzz/corpus/<target>/ (ignored by git).
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]
#
# Exits non-zero as soon as a target crashes (panic, failed assertion,
# AddressSanitizer report, input slower than 10 s, or over 2 GiB of memory);
# the input is kept in fuzz/artifacts/<target>/ and replayed with
#   fuzz/target/x86_64-unknown-linux-gnu/release/<target> <file>
# Prints one summary line per target (runs, execs/s, coverage, corpus size,
# peak RSS) for BENCHMARKS.md.
#
# No nightly toolchain and no cargo-fuzz: the targets are built with plain
# cargo on the machine's stable toolchain, with the instrumentation flags
# cargo-fuzz would pass (SanitizerCoverage for libFuzzer, AddressSanitizer,
# `--cfg fuzzing`, debug assertions and overflow checks). `-Zsanitizer` is
# an unstable flag, accepted on stable only with RUSTC_BOOTSTRAP=1, which
# this script sets for its own cargo call and nothing else. The AddressSanitizer
# runtime ships with the stable toolchain (librustc-stable_rt.asan.a);
# libFuzzer itself is compiled from C++ by libfuzzer-sys (needs g++, from
# build-essential in scripts/setup). `--target` keeps the flags off build
# scripts and proc-macros.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=never

seconds="${1:-10}"
shift || true
case "$seconds" in '' | *[!0-9]*) echo "fuzz/run.sh: SECONDS must be a number" >&2; exit 2 ;; esac

triple="$(rustc -vV | sed -n 's/^host: //p')"
[ -n "$triple" ] || { echo "fuzz/run.sh: cannot tell the host triple" >&2; exit 1; }

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  # Every [[bin]] of fuzz/Cargo.toml, in file order.
  mapfile -t targets < <(awk '/^\[\[bin\]\]/{b=1; next} b && /^name *=/{gsub(/.*= *"|".*/, ""); print; b=0}' Cargo.toml)
fi
[ "${#targets[@]}" -gt 0 ] || { echo "fuzz/run.sh: no targets" >&2; exit 1; }

LOCKED=()
[ "${CI:-}" = "true" ] && LOCKED=(--locked)

bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
echo "-- building ${#targets[@]} fuzz targets (release, ASan + SanitizerCoverage, $triple)"
RUSTC_BOOTSTRAP=1 \
  RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Zsanitizer=address \
-Cdebug-assertions -Coverflow-checks -Cforce-frame-pointers=yes" \
  cargo build --release "${LOCKED[@]}" --target "$triple" --target-dir target "${bins[@]}"

summary=()
for t in "${targets[@]}"; do
  bin="target/$triple/release/$t"
  corpus="corpus/$t"
  mkdir -p "$corpus" "artifacts/$t"
  dirs=("$corpus")
  [ -d "seeds/$t" ] && dirs+=("seeds/$t")
  log="artifacts/$t/last-run.log"
  echo "-- $t: ${seconds}s"
  # -close_fd_mask=1: the targets print nothing; keep the log to libFuzzer's.
  if ! ASAN_OPTIONS="detect_leaks=0:abort_on_error=0" "$bin" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" "${dirs[@]}" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz/run.sh: FAILED: $t crashed; input kept in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)"
  cov="$(grep -aEo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1 || true)"
  summary+=("$(printf '%-16s runs %-9s execs/s %-7s %-30s peak RSS %s MB' "$t" "${runs:-?}" "${rate:-?}" "${cov:-cov: ?}" "${rss:-?}")")
done
echo "-- fuzz summary (${seconds}s each)"
printf '%s\n' "${summary[@]}"
