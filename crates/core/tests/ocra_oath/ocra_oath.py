"""OCRA responses from PyPI's `oath` (an independent RFC 6287 implementation)
for the differential test crates/core/tests/ocra_differential.rs.

Reads one JSON case per line on stdin and writes one line per case on
stdout: the response, or "ERR <exception type>" if `oath` refused the case.

Case members: suite; key (hex); c (int, optional); q (one challenge) or
qsc (mutual: the concatenated challenges); p (PIN text; `oath` 1.4.5's
P_digest branch fails on Python 3, so the hash is only given on our side); s (hex of the session information); t (time steps).
"""

import json
import sys

from oath import _ocra


def response(case):
    suite = _ocra.str2ocrasuite(case["suite"])
    kwargs = {}
    if "c" in case:
        kwargs["C"] = case["c"]
    if "q" in case:
        kwargs["Q"] = case["q"]
    if "qsc" in case:
        kwargs["Qsc"] = case["qsc"]
    if "p" in case:
        kwargs["P"] = case["p"]
    if "s" in case:
        kwargs["S"] = bytes.fromhex(case["s"])
    if "t" in case:
        kwargs["T_precomputed"] = case["t"]
    return suite(bytes.fromhex(case["key"]), **kwargs)


def main():
    out = []
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            out.append(response(json.loads(line)))
        except Exception as e:  # reported to the Rust side, which fails the case
            out.append("ERR " + type(e).__name__)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
