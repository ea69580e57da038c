#!/usr/bin/env python3
"""Checks that each workspace crate's `rust-version` is at least the highest
`rust-version` of anything it depends on in Cargo.lock.

The dependency graph is the one `cargo metadata --locked --all-features`
resolves: every platform, every feature, normal, build and dev
dependencies (a toolchain older than that maximum cannot build or test the
crate from the committed lockfile). Crates that declare no `rust-version`
do not raise the maximum.

Prints one line per workspace crate; exits 1 if any crate declares less
than its dependencies need (or nothing at all), 2 if cargo metadata fails.

Usage: python3 scripts/check-msrv.py [--manifest-path Cargo.toml]
"""

import argparse
import json
import subprocess
import sys


def parse_version(text):
    """'1.89' / '1.89.0' -> (1, 89, 0)."""
    parts = [int(p) for p in text.split(".")]
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


def show(version):
    return ".".join(str(p) for p in version)


def metadata(manifest_path):
    cmd = [
        "cargo",
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--all-features",
        "--manifest-path",
        manifest_path,
    ]
    try:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError as err:
        sys.stderr.write(err.stderr)
        print("check-msrv: cargo metadata failed", file=sys.stderr)
        sys.exit(2)
    return json.loads(out)


def closure(root, edges):
    """Every package id reachable from root (root excluded)."""
    seen = set()
    todo = list(edges.get(root, ()))
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        todo.extend(edges.get(pkg, ()))
    seen.discard(root)
    return seen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest-path", default="Cargo.toml")
    args = parser.parse_args()

    meta = metadata(args.manifest_path)
    packages = {p["id"]: p for p in meta["packages"]}
    edges = {n["id"]: [d["pkg"] for d in n["deps"]] for n in meta["resolve"]["nodes"]}
    members = meta["workspace_members"]

    failed = False
    for member in sorted(members, key=lambda i: packages[i]["name"]):
        pkg = packages[member]
        needed, needed_by = None, []
        for dep in closure(member, edges):
            dep_pkg = packages[dep]
            if dep in members or not dep_pkg.get("rust_version"):
                continue
            version = parse_version(dep_pkg["rust_version"])
            if needed is None or version > needed:
                needed, needed_by = version, []
            if version == needed:
                needed_by.append(f"{dep_pkg['name']} {dep_pkg['version']}")
        declared = pkg.get("rust_version")
        if needed is None:
            print(f"{pkg['name']}: rust-version {declared}, no dependency declares one")
            continue
        needed_by.sort()
        culprits = ", ".join(needed_by[:4]) + (", …" if len(needed_by) > 4 else "")
        if declared is None:
            print(f"{pkg['name']}: FAILED: no rust-version, dependencies need {show(needed)} ({culprits})")
            failed = True
        elif parse_version(declared) < needed:
            print(
                f"{pkg['name']}: FAILED: rust-version {declared} but the locked "
                f"dependencies need {show(needed)} ({culprits})"
            )
            failed = True
        else:
            print(f"{pkg['name']}: rust-version {declared} >= {show(needed)} needed ({culprits})")
    if failed:
        print(
            "check-msrv: raise rust-version in Cargo.toml ([workspace.package]) "
            "or lock older dependencies",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
