"""Reads the app's transaction screen (取引認証) off a window screenshot with
Debian's tesseract, as a person would: the payee's account number the app
shows, and where its buttons are (to click them with xdotool).

The simulator runs with `--lang en` here: Debian's tesseract has only the
English model, and the English labels ("Approve", "Reject", "Reject it",
"You rejected …") are what the harness finds buttons and results by. The
digits are the same in both languages.

* `words(png)` — every word tesseract finds (page segmentation 11 on a 2x
  grey copy) with its box in window pixels;
* `account_number(png)` — the one 7-digit number on the screen, read again
  from its box alone (digits only, one line) at several scales and
  thresholds until one 7-digit value has two readings and more than any
  other (a reading of another length, e.g. a thin 1 lost at a threshold,
  does not vote): a misread digit gives another value, which must then be
  outvoted. Raises `read_token.Unreadable` if there is no such number, more
  than one, or no value wins.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Optional

from . import read_token
from .read_token import Unreadable

# (scale %, threshold % or None): neighbours differ in both.
ACCOUNT_VARIANTS = [(200, None), (300, 55), (150, None), (250, 50), (350, None), (200, 60),
                    (300, None), (250, None)]


@dataclass(frozen=True)
class Word:
    x: int
    y: int
    w: int
    h: int
    text: str

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2


def _lines(src: str, tmp: str, light: bool) -> list[list[tuple]]:
    """read_token.lines; with `light`, of a copy where only light text on a
    coloured area stays (white on the primary button, which tesseract does
    not read otherwise): light pixels black, the rest white, then the light
    page around flooded white from the bottom-left corner."""
    if not light:
        return read_token.lines(src, tmp)
    size = subprocess.run(["identify", "-format", "%h", src], capture_output=True, text=True,
                          check=True, timeout=read_token.TOOL_TIMEOUT).stdout.strip()
    mask = os.path.join(tmp, "light-text.png")
    subprocess.run(["convert", src, "-colorspace", "Gray", "-threshold", "85%", "-negate",
                    "-fill", "white", "-draw", f"color 0,{int(size) - 1} floodfill", mask],
                   check=True, timeout=read_token.TOOL_TIMEOUT)
    return read_token.lines(mask, tmp)


def words(png: str) -> list[Word]:
    """Every word on the screenshot: tesseract's lines in order, then the
    words only the light-text copy shows (text on the primary button)."""
    out: list[Word] = []
    with tempfile.TemporaryDirectory() as tmp:
        for light in (False, True):
            for line in _lines(png, tmp, light):
                for w in sorted(line):
                    word = Word(*w)
                    if not any(o.text == word.text and abs(o.x - word.x) < 8
                               and abs(o.y - word.y) < 8 for o in out):
                        out.append(word)
    return out


def locate(png: str, label: str, after: Optional[str] = None) -> Optional[Word]:
    """`find` on the screenshot: the plain pass first, the light-text pass
    (one more tesseract run) only if the plain one did not find it."""
    with tempfile.TemporaryDirectory() as tmp:
        for light in (False, True):
            ws = [Word(*w) for line in _lines(png, tmp, light) for w in sorted(line)]
            found = find(ws, label, after)
            if found is not None:
                return found
    return None


def shows(png: str, phrase: str) -> bool:
    """True if `phrase` is in the screenshot's text: the plain pass first,
    the light-text pass only if needed."""
    with tempfile.TemporaryDirectory() as tmp:
        for light in (False, True):
            if phrase in text([Word(*w) for line in _lines(png, tmp, light) for w in sorted(line)]):
                return True
    return False


def text(ws: list[Word]) -> str:
    """The words joined by spaces (for phrase checks)."""
    return " ".join(w.text for w in ws)


def find(ws: list[Word], label: str, after: Optional[str] = None) -> Optional[Word]:
    """The word `label` (punctuation around it ignored); with `after`, only
    a `label` directly following the word `after` (e.g. "Reject" "it")."""
    clean = [re.sub(r"^[^\w]+|[^\w]+$", "", w.text) for w in ws]
    for i, c in enumerate(clean):
        if c != label:
            continue
        if after is None:
            return ws[i]
        if i > 0 and clean[i - 1] == after and abs(ws[i - 1].y - ws[i].y) < ws[i].h:
            # The phrase's box: both words.
            a = ws[i - 1]
            return Word(a.x, min(a.y, ws[i].y), ws[i].x + ws[i].w - a.x, max(a.h, ws[i].h), f"{after} {label}")
    return None


def read_digits(png: str) -> str:
    return re.sub(r"[^0-9]", "", read_token.tess(png, 7, "0123456789 "))


def account_number(png: str, crops: Optional[str] = None) -> tuple[str, int]:
    """The 7-digit account number the screen shows and the number of box
    readings it took; raises Unreadable (see the module)."""
    with tempfile.TemporaryDirectory() as tmp:
        # The account number is dark text: the plain pass only.
        ws = [Word(*w) for line in _lines(png, tmp, False) for w in line]
    found = [w for w in ws if re.fullmatch(r"[0-9]{7}", w.text)]
    if not found:
        raise Unreadable("no 7-digit number on the screen")
    if len(found) > 1:
        raise Unreadable(f"{len(found)} 7-digit numbers on the screen")
    w = found[0]
    box = read_token.union([(w.x, w.y, w.w, w.h, w.text)], pad=8)
    votes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (scale, threshold) in enumerate(ACCOUNT_VARIANTS):
            t = os.path.join(tmp, f"account-{i}-{scale}-{threshold or 'gray'}.png")
            read_token.crop(png, box, scale, t, threshold)
            if crops:
                shutil.copy(t, crops)
            value = read_digits(t)
            if len(value) != 7:
                continue  # a lost digit (thin 1s at a threshold): no vote
            votes[value] = votes.get(value, 0) + 1
            best = max(votes.values())
            leaders = [v for v, n in votes.items() if n == best]
            if best >= 2 and len(leaders) == 1:
                return leaders[0], i + 1
    raise Unreadable(f"the account number's readings disagree ({len(votes)} different 7-digit readings)")


def offline_code(png: str, crops: Optional[str] = None) -> read_token.Code:
    """The 6-digit 取引認証番号 of the offline screen: the tallest line of two
    3-digit groups (in a step's last seconds the next code is shown smaller
    too), read again from its box until two consecutive readings agree (as
    read_token's code). Raises Unreadable."""
    with tempfile.TemporaryDirectory() as tmp:
        pairs = []
        for line in _lines(png, tmp, False):
            line.sort()
            for i in range(len(line) - 1):
                pair = line[i:i + 2]
                if all(re.fullmatch(r"\d{3}", w[4]) for w in pair):
                    pairs.append(pair)
        if not pairs:
            raise Unreadable("no code (two 3-digit groups) on the screen")
        pair = max(pairs, key=lambda p: max(w[3] for w in p))
        code, _ = read_token.agreed(png, read_token.union(pair, pad=8), read_token.CODE_VARIANTS,
                                    read_token.read_code, lambda c: len(c) == 6, tmp, crops,
                                    "offline-code")
    if not code:
        raise Unreadable("the code's readings disagree")
    return read_token.Code(code)
