#!/usr/bin/env bash
# Copies softtoken's Android resources (launcher icons, localised app name,
# backup/data-extraction rules) into the Gradle project that dx 0.7.10
# generates, because dx has no setting for extra `res/` files.
#
# dx creates <target>/dx/softtoken/<profile>/android/app/ and rewrites only
# its own files there on every build (it never deletes the res/ folder), so
# run this once before the first `dx build|serve|bundle --android` of a
# profile (and again after `cargo clean`). Without it the build stops at
# Gradle's resource linking with "resource xml/softtoken_… not found" —
# on purpose: there is no silent build without backup exclusion.
#
# Usage: platforms/android/stage-res.sh debug|release [TARGET_DIR]
#   TARGET_DIR defaults to $CARGO_TARGET_DIR or <repo>/target.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
profile="${1:-}"
case "$profile" in
  debug | release) ;;
  *)
    echo "usage: $0 debug|release [TARGET_DIR]" >&2
    exit 2
    ;;
esac
target="${2:-${CARGO_TARGET_DIR:-$root/target}}"
dest="$target/dx/softtoken/$profile/android/app/app/src/main/res"
mkdir -p "$dest"
cp -R "$here/res/." "$dest/"
echo "staged $(find "$here/res" -type f | wc -l) resource files into $dest"
