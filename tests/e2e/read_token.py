#!/usr/bin/env python3
"""Reads the serial and the one-time password off a screenshot of the app's
window, as a person would, with Debian's tesseract (no access to the app).

usage: read_token.py WINDOW.png [CROPS_DIR]
  → prints "SERIAL CODE" (compact), exit 1 if not read with confidence.
  CROPS_DIR (optional) keeps every crop that was read, for diagnosis.
  E2E_BANK_URL (optional): the bank, asked which serial it knows (below);
  E2E_KNOWN_SERIALS (optional, comma-separated) stands in for it offline.
  Diagnostics on stderr never contain a code (serials are fine).
As a module (tests/e2e/scenario.py): read_window(png, crops, knows) returns
a Reading (serial, Code) or raises Unreadable; bank_oracle(url) and
known_oracle(serials) are the two kinds of `knows`.

1. a first pass (page segmentation 11, TSV) finds the words and their boxes;
2. a line of upper-case/digit words (about 12 characters) is the serial: that
   box alone (widened to the left; extra characters there are dropped) is
   read again at several scales (single line, serial alphabet) as three
   groups of four. The window's monospace font has a dotted zero that
   tesseract reads as Q (and 9 as S or Q, J as 3, K as C): each such
   character stands for its look-alikes, and the spellings whose Luhn mod
   32 check character passes are the candidates; when the bank is asked,
   so is every serial one character away from the reading that passes the
   check character (one per position). The serial is the one candidate the bank
   knows (public `/v1/tokens/{serial}/status` answers issued, active or
   revoked) -- as a person who is unsure between 0 and Q tries both -- or,
   without E2E_BANK_URL, the one candidate two consecutive readings agree
   on. A serial the bank has never issued is therefore never read;
3. a line of two 3-digit groups is the code (the tallest such line: in a
   step's last seconds the smaller next code is shown too). Codes have no check character,
   so a reading counts only when two consecutive independent readings of
   the box (different scale and threshold) give the same six digits; one
   misread digit then makes the readings disagree instead of passing.
"""
import hmac
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from itertools import product
from math import prod
from typing import Callable, Optional

# Longest a single tesseract or ImageMagick run may take (seconds).
TOOL_TIMEOUT = 60

ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# (scale %, threshold % or None): each pair of neighbours differs in both.
SERIAL_VARIANTS = [(200, None), (300, 55), (150, None), (250, 50), (350, None), (200, 60)]
CODE_VARIANTS = [(100, None), (200, 55), (150, None), (250, 45), (300, None), (120, 60)]


def norm(s):
    s = s.upper().replace("O", "0").replace("I", "1").replace("L", "1")
    return re.sub(r"[^0-9A-Z]", "", s)


def luhn_ok(s):
    if len(s) != 12 or any(c not in ALPHA for c in s):
        return False
    total, f = 0, 1
    for ch in reversed(s):
        add = f * ALPHA.index(ch)
        total += add // 32 + add % 32
        f = 3 - f
    return total % 32 == 0


class Code:
    """A one-time password read off a window. `repr`/`str` never show the
    digits (they would end up in logs); `reveal()` is for typing it into
    web banking. Compared in constant time. (Python cannot wipe a string:
    the digits live as long as the interpreter keeps the object.)"""

    __slots__ = ("_digits",)

    def __init__(self, digits: str):
        if not re.fullmatch(r"[0-9]{6}", digits):
            raise ValueError("a code is six digits")
        self._digits = digits

    def reveal(self) -> str:
        return self._digits

    def with_first_digit_moved(self, by: int = 5) -> "Code":
        """The same code with its first digit moved by `by` (mod 10): a code
        the window did not show."""
        return Code(str((int(self._digits[0]) + by) % 10) + self._digits[1:])

    def __eq__(self, other):
        if not isinstance(other, Code):
            return NotImplemented
        return hmac.compare_digest(self._digits, other._digits)

    __hash__ = None

    def __repr__(self):
        return "Code(<redacted>)"

    __str__ = __repr__


@dataclass(frozen=True)
class Reading:
    """What a window showed: its serial (compact) and its code.
    `code_readings` is how many readings of the code box it took for two
    consecutive ones to agree (2 when the first two did)."""

    serial: str
    code: Code
    code_readings: int


class Unreadable(Exception):
    """The window was not read with confidence. The message names what was
    missing or disputed (never a code)."""


# Whether the bank knows a serial (issued, active or revoked).
Oracle = Callable[[str], bool]


def bank_oracle(url: str) -> Oracle:
    """Asks the bank's public `/v1/tokens/{serial}/status`."""

    def knows(serial: str) -> bool:
        quoted = urllib.parse.quote(serial, safe="")
        try:
            with urllib.request.urlopen(f"{url}/v1/tokens/{quoted}/status", timeout=10) as r:
                state = json.load(r).get("state")
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            # Not found (HTTPError is an OSError), cut off, not JSON, not an object.
            return False
        return state in ("issued", "active", "revoked")

    return knows


def known_oracle(serials) -> Oracle:
    """Stands in for the bank offline: knows exactly `serials`."""
    known = frozenset(serials)
    return lambda serial: serial in known


def tess(img, psm, whitelist=None, tsv=False, nodict=False):
    cmd = ["tesseract", img, "-", "--psm", str(psm), "-l", "eng"]
    if nodict:
        cmd += ["-c", "load_system_dawg=0", "-c", "load_freq_dawg=0"]
    if whitelist:
        cmd += ["-c", "tessedit_char_whitelist=" + whitelist]
    if tsv:
        cmd += ["tsv"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT).stdout


def text_of(src, tmp):
    """Everything tesseract reads in a window (page segmentation 11, on a
    grey, enlarged, thresholded copy): for waiting on a word."""
    big = os.path.join(tmp, "text-ocr.png")
    subprocess.run(["convert", src, "-colorspace", "Gray", "-resize", "300%", "-threshold", "55%",
                    big], check=True, timeout=TOOL_TIMEOUT)
    return tess(big, 11)


def crop(src, box, scale, dst, threshold=None):
    x, y, w, h = box
    args = ["convert", src, "-crop", f"{w}x{h}+{x}+{y}", "+repage", "-colorspace", "Gray",
            "-resize", f"{scale}%"]
    if threshold:
        args += ["-threshold", f"{threshold}%"]
    subprocess.run(args + [dst], check=True, timeout=TOOL_TIMEOUT)


def lines(src, tmp):
    big = os.path.join(tmp, "big.png")
    subprocess.run(["convert", src, "-colorspace", "Gray", "-resize", "200%", big], check=True,
                   timeout=TOOL_TIMEOUT)
    out = {}
    for row in tess(big, 11, tsv=True).splitlines()[1:]:
        f = row.split("\t")
        if len(f) < 12 or not f[11].strip():
            continue
        key = (f[2], f[3], f[4])
        x, y, w, h = (int(v) // 2 for v in f[6:10])
        out.setdefault(key, []).append((x, y, w, h, f[11].strip()))
    return list(out.values())


def union(words, pad=4):
    x0 = min(w[0] for w in words) - pad
    y0 = min(w[1] for w in words) - pad
    x1 = max(w[0] + w[2] for w in words) + pad
    y1 = max(w[1] + w[3] for w in words) + pad
    return max(x0, 0), max(y0, 0), x1 - max(x0, 0), y1 - max(y0, 0)


def agreed(src, box, variants, read, valid, tmp, crops, name):
    """The first reading that the next variant's reading repeats, or None.
    Returns (value, number of readings made)."""
    previous = None
    for i, (scale, threshold) in enumerate(variants):
        t = os.path.join(tmp, f"{name}-{i}-{scale}-{threshold or 'gray'}.png")
        crop(src, box, scale, t, threshold)
        if crops:
            shutil.copy(t, crops)
        value = read(t)
        if not valid(value):
            value = None
        if value is not None and value == previous:
            return value, i + 1
        previous = value
    return None, len(variants)


# What tesseract reads -> what the window may show (serial alphabet only).
LOOKALIKES = {"Q": "Q09", "S": "S95", "D": "D0", "0": "0Q", "9": "9SQ", "B": "B8", "8": "8B",
              "A": "A4", "4": "4A", "Y": "Y9", "3": "3J", "J": "J3", "C": "CK", "K": "KC"}


def corrections(text):
    """The serials one character away from a 12-character reading that pass
    the check character: exactly one per position (Luhn mod 32 detects
    every single substitution, so each position has one fix)."""
    out = set()
    for i in range(len(text)):
        for ch in ALPHA:
            c = text[:i] + ch + text[i + 1:]
            if ch != text[i] and luhn_ok(c):
                out.add(c)
    return out


def spellings(text, limit=5000):
    """Every spelling `text` may stand for (LOOKALIKES), or None if there
    are more than `limit`."""
    choices = [LOOKALIKES.get(ch, ch) for ch in text]
    if prod(len(c) for c in choices) > limit:
        return None
    return ["".join(p) for p in product(*choices)]


def serial_candidates(text, one_off=False):
    """Luhn-valid serials a reading of the serial line may stand for: its
    look-alike spellings, and with `one_off` also every serial one
    character away from it (only worth trying against the bank)."""
    groups = [norm(t) for t in text.split() if norm(t)]
    if len(groups) < 3:
        return frozenset()
    groups = groups[-3:]
    groups[0] = groups[0][-4:]
    short = [i for i, g in enumerate(groups) if len(g) == 3]
    if len(short) == 1 and all(len(g) == 4 for i, g in enumerate(groups) if i != short[0]):
        # One character was lost (the crop cut the first one off, or
        # tesseract dropped one): the check character restores it (exactly
        # one character passes at a given position), for each position of
        # the short group and each spelling. Only worth trying against the
        # bank: several candidates usually remain.
        if not one_off:
            return frozenset()
        k = short[0]
        out = set()
        for read in spellings("".join(groups)) or []:
            for pos in range(4 * k, 4 * k + 4):
                for ch in ALPHA:
                    c = read[:pos] + ch + read[pos:]
                    if luhn_ok(c):
                        out.add(c)
        # Each candidate costs one status request to the local bank.
        return frozenset(out) if len(out) <= 3000 else frozenset()
    if any(len(g) != 4 for g in groups):
        return frozenset()
    text = "".join(groups)
    extra = corrections(text) if one_off and all(ch in ALPHA for ch in text) else set()
    return frozenset(extra | {c for c in spellings(text) or [] if luhn_ok(c)})


def read_serial_box(src, box, tmp, crops, knows: Optional[Oracle]):
    seen = set()
    previous = None
    checked = {}
    for i, (scale, threshold) in enumerate(SERIAL_VARIANTS):
        t = os.path.join(tmp, f"serial-{i}-{scale}-{threshold or 'gray'}.png")
        crop(src, box, scale, t, threshold)
        if crops:
            shutil.copy(t, crops)
        # Raw line, no dictionary: keeps four characters per group.
        cands = serial_candidates(tess(t, 13, ALPHA + " ", nodict=True), one_off=knows is not None)
        if knows is not None:
            for c in cands - seen:
                checked[c] = knows(c)
            seen |= cands
            known = [c for c, k in checked.items() if k]
            if len(known) == 1:
                return known[0]
            if len(known) > 1:
                return None
        elif len(cands) == 1 and cands == previous:
            return next(iter(cands))
        previous = cands
    return None


def read_code(t):
    return re.sub(r"[^0-9]", "", tess(t, 7, "0123456789 "))


def read_window(src, crops=None, knows: Optional[Oracle] = None) -> Reading:
    """Reads serial and code off the window screenshot `src`, or raises
    `Unreadable`. `knows` is the bank (see `bank_oracle`): with it, only a
    serial the bank knows is read; without, two readings must agree.
    `crops` (a folder) keeps every crop that was read."""
    if crops:
        os.makedirs(crops, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        serial = code = None
        code_readings = 0
        serial_seen = code_seen = False
        pairs = []
        for words in lines(src, tmp):
            words.sort()
            caps = [w for w in words if re.fullmatch(r"[0-9A-Z\]\[|]+", w[4])]
            n = len("".join(norm(w[4]) for w in caps))
            # The label before the serial may read as capitals too: drop it.
            while n > 15 and len(caps) > 2:
                caps = caps[1:]
                n = len("".join(norm(w[4]) for w in caps))
            if serial is None and len(caps) >= 2 and 7 <= n <= 15:
                serial_seen = True
                x, y, w, h = union(caps)
                # The first group may have run into the label: reach one
                # group pitch (or at least 12 px) further left.
                pitch = caps[-1][0] - caps[-2][0] if n < 12 else 12
                x, w = max(x - pitch, 0), w + min(pitch, x)
                serial = read_serial_box(src, (x, y, w, h), tmp, crops, knows)
            for i in range(len(words) - 1):
                pair = words[i:i + 2]
                if all(re.fullmatch(r"\d{3}", w[4]) for w in pair):
                    pairs.append(pair)
        # In the last seconds of a step the window also shows the next code,
        # in smaller type: the code is the tallest pair of 3-digit groups.
        if pairs:
            code_seen = True
            pair = max(pairs, key=lambda p: max(w[3] for w in p))
            code, code_readings = agreed(src, union(pair, pad=8), CODE_VARIANTS, read_code,
                                         lambda c: len(c) == 6, tmp, crops, "code")
        if not serial or not code:
            raise Unreadable(
                f"serial={serial or ('disputed' if serial_seen else 'not found')} "
                f"code={'read' if code else ('disputed' if code_seen else 'not found')}")
        return Reading(serial, Code(code), code_readings)


def oracle_from_env() -> Optional[Oracle]:
    """E2E_KNOWN_SERIALS (comma-separated) if set, else E2E_BANK_URL if set."""
    known = os.environ.get("E2E_KNOWN_SERIALS")
    if known is not None:
        return known_oracle(known.split(","))
    url = os.environ.get("E2E_BANK_URL")
    return bank_oracle(url) if url else None


def main(src, crops=None):
    try:
        reading = read_window(src, crops, oracle_from_env())
    except Unreadable as e:
        print(f"unreadable: {e}", file=sys.stderr)
        return 1
    if reading.code_readings > 2:
        print(f"code: agreed only after {reading.code_readings} readings (earlier ones differed)",
              file=sys.stderr)
    print(reading.serial, reading.code.reveal())
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
