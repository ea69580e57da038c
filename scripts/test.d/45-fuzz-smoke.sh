#!/usr/bin/env bash
# Stage 45: a short smoke run of every fuzz target (fuzz/Cargo.toml), 10 s
# each (FUZZ_SECONDS to change it), from the tracked seed corpora in
# fuzz/seeds/. Fails when any target crashes: a panic or failed assertion,
# an AddressSanitizer report, an input slower than 10 s or a run over
# 2 GiB of memory; the crashing input is kept in fuzz/artifacts/<target>/.
#
# Toolchain: the machine's stable Rust; neither nightly nor cargo-fuzz is
# installed. fuzz/run.sh builds the targets with plain `cargo build` and the
# flags cargo-fuzz would pass (SanitizerCoverage, -Zsanitizer=address,
# --cfg fuzzing); the one unstable flag is allowed by RUSTC_BOOTSTRAP=1,
# set for that cargo call only. libFuzzer is compiled from C++ by
# libfuzzer-sys (g++ from build-essential, installed by scripts/setup).
# Longer runs: `bash fuzz/run.sh 60` (figures in BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash fuzz/run.sh "${FUZZ_SECONDS:-10}"
