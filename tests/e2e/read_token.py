#!/usr/bin/env python3
"""Reads the serial and the one-time password off a screenshot of the app's
window, as a person would, with Debian's tesseract (no access to the app).

usage: read_token.py WINDOW.png  → prints "SERIAL CODE" (compact), exit 1 if unreadable

1. a first pass (page segmentation 11, TSV) finds the words and their boxes;
2. a line of upper-case/digit words (about 12 characters) is the serial: that
   box alone is read
   again at several scales (single line, serial alphabet) until the reading
   passes the serial's Luhn mod 32 check character;
3. a line of two 3-digit groups is the code: read again with digits only.
"""
import os
import re
import subprocess
import sys
import tempfile

ALPHA = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


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


def tess(img, psm, whitelist=None, tsv=False):
    cmd = ["tesseract", img, "-", "--psm", str(psm), "-l", "eng"]
    if whitelist:
        cmd += ["-c", "tessedit_char_whitelist=" + whitelist]
    if tsv:
        cmd += ["tsv"]
    return subprocess.run(cmd, capture_output=True, text=True).stdout


def crop(src, box, scale, dst, threshold=None):
    x, y, w, h = box
    args = ["convert", src, "-crop", f"{w}x{h}+{x}+{y}", "+repage", "-colorspace", "Gray",
            "-resize", f"{scale}%"]
    if threshold:
        args += ["-threshold", f"{threshold}%"]
    subprocess.run(args + [dst], check=True)


def lines(src, tmp):
    big = os.path.join(tmp, "big.png")
    subprocess.run(["convert", src, "-colorspace", "Gray", "-resize", "200%", big], check=True)
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


def main(src):
    with tempfile.TemporaryDirectory() as tmp:
        t = os.path.join(tmp, "t.png")
        serial = code = None
        for words in lines(src, tmp):
            words.sort()
            caps = [w for w in words if re.fullmatch(r"[0-9A-Z\]\[|]+", w[4])]
            n = len("".join(norm(w[4]) for w in caps))
            if serial is None and len(caps) >= 2 and 7 <= n <= 15:
                x, y, w, h = union(caps)
                if n < 11:
                    # The first group ran into the label: reach one group
                    # pitch further left and keep the last 12 characters.
                    pitch = caps[-1][0] - caps[-2][0]
                    x, w = max(x - pitch, 0), w + min(pitch, x)
                for scale in (200, 150, 250, 300):
                    crop(src, (x, y, w, h), scale, t)
                    s = norm(tess(t, 7, ALPHA + " "))[-12:]
                    if luhn_ok(s):
                        serial = s
                        break
            for i in range(len(words) - 1):
                pair = words[i:i + 2]
                if code is None and all(re.fullmatch(r"\d{3}", w[4]) for w in pair):
                    box = union(pair, pad=8)
                    for scale in (100, 150, 200):
                        crop(src, box, scale, t)
                        c = re.sub(r"\D", "", tess(t, 7, "0123456789 "))
                        if len(c) == 6:
                            code = c
                            break
        if not serial or not code:
            print(f"unreadable: serial={serial} code={code}", file=sys.stderr)
            return 1
        print(serial, code)
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
