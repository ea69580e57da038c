"""The OCR against screenshots it once misread (tests/e2e/fixtures), through
read_token.py's command line (which they keep working).

The codes are compared as SHA-256 only, to keep them out of this file and its
output (they are expired codes of deleted throw-away tokens, visible in the
images)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .session import E2EError

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Fixture:
    image: str
    known: str  # E2E_KNOWN_SERIALS: what the bank "knows"
    serial: str  # what must be read
    code_sha256: str
    why: str


FIXTURES = [
    # The CI run that failed (2026-11-25): the old reader took the new
    # window's "KDS8 0DJN 0WQZ" for CDS8QDJN0WQZ (two misread characters
    # that still pass the check character), which the bank refused as
    # serial_or_otp_invalid.
    Fixture("ci-new-window.png", "KDS80DJN0WQZ,BDM8MZ5GM8V2", "KDS80DJN0WQZ",
            "dd85790322cb927e50cfab10e54831f4954b8018cb27f5be92d24d73d8fc4e59",
            "two look-alikes that pass the check character"),
    Fixture("ci-old-window.png", "KDS80DJN0WQZ,BDM8MZ5GM8V2", "BDM8MZ5GM8V2",
            "6790bd53b75b6cc060ad5eb443fe116cc482f157f006dfde719d046073b30c00",
            "the other window of that run"),
    # A later run: tesseract reads "V653 71JK 4X34" as V653713K4X34.
    Fixture("j-read-as-3-window.png", "V65371JK4X34", "V65371JK4X34",
            "0d9f66e68bd63b446ec3c2fff210b2a61dae475e6a153a5c1cb7e73a3d07316f",
            "J read as 3"),
    # A clean-clone run (17:04 UTC): the crop cut off the serial's first
    # character ("BJ34 JJTQ VNC7" read as "J34 JJTQ VNC7").
    Fixture("first-char-cut-window.png", "BJ34JJTQVNC7", "BJ34JJTQVNC7",
            "d8890f4f27f5b54b5295df0f69e5d0825bf61a868381076534eb99f2e6699131",
            "the first character cut off"),
]


def _cli(image: str, known: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, E2E_KNOWN_SERIALS=known)
    env.pop("E2E_BANK_URL", None)
    return subprocess.run([sys.executable, str(HERE / "read_token.py"),
                           str(HERE / "fixtures" / image)],
                          env=env, capture_output=True, text=True, timeout=300)


def check() -> None:
    """Raises E2EError on the first fixture read wrongly."""
    for f in FIXTURES:
        done = _cli(f.image, f.known)
        if done.returncode != 0:
            raise E2EError(f"read_token.py could not read fixture {f.image} ({f.why})")
        parts = done.stdout.split()
        if len(parts) != 2:
            raise E2EError(f"read_token.py printed no 'SERIAL CODE' for fixture {f.image}")
        serial, code = parts
        if serial != f.serial:
            raise E2EError(f"fixture {f.image} read as {serial}, not {f.serial} ({f.why})")
        if hashlib.sha256(code.encode()).hexdigest() != f.code_sha256:
            raise E2EError(f"fixture {f.image}: the code was misread")
    # A window whose serial the bank does not know is not read (here the
    # bank "knows" only the old window's serial).
    if _cli("ci-new-window.png", "BDM8MZ5GM8V2").returncode == 0:
        raise E2EError("read_token.py read a serial the bank does not know")
    check_txn()


def check_txn() -> None:
    """The transaction screen (read_txn, module API): the account number the
    malware put in, and the buttons the rehearsal clicks — 「Approve」 (white
    on the primary colour, found only by the light-text pass), 「Reject」, and
    on the confirmation 「Reject it」 (not the question's "Reject this")."""
    from . import read_txn
    from .read_token import Unreadable

    png = str(HERE / "fixtures" / "txn-tampered-window.png")
    try:
        account, _ = read_txn.account_number(png)
    except Unreadable as e:
        raise E2EError(f"fixture txn-tampered-window.png: account number not read ({e})") from None
    if account != "9876543":
        raise E2EError(f"fixture txn-tampered-window.png: account read as {account}")
    # The first latency benchmark run: 1111111, whose thin ones thresholded
    # crops lose (111111, 11111): readings of the wrong length do not vote.
    try:
        ones, _ = read_txn.account_number(str(HERE / "fixtures" / "txn-ones-window.png"))
    except Unreadable as e:
        raise E2EError(f"fixture txn-ones-window.png: account number not read ({e})") from None
    if ones != "1111111":
        raise E2EError(f"fixture txn-ones-window.png: account read as {ones}")
    ws = read_txn.words(png)
    for label in ("Approve", "Reject", "Back"):
        if read_txn.find(ws, label) is None:
            raise E2EError(f"fixture txn-tampered-window.png: no {label!r} found")
    if read_txn.find(ws, "Approve").y <= read_txn.find(ws, "Account").y:
        raise E2EError("fixture txn-tampered-window.png: 'Approve' found above the fields")
    # The offline 取引認証番号 screen of demo-steps (an expired code of a
    # deleted throw-away token; compared as SHA-256 like the codes above).
    try:
        code = read_txn.offline_code(str(HERE / "fixtures" / "txn-offline-window.png"))
    except Unreadable as e:
        raise E2EError(f"fixture txn-offline-window.png: code not read ({e})") from None
    if hashlib.sha256(code.reveal().encode()).hexdigest() != \
            "80d77dee08a7463100bfba21308f1710e90b6f0d31cc0a45a91c666a00d4f1de":
        raise E2EError("fixture txn-offline-window.png: the offline code was misread")
    ws = read_txn.words(str(HERE / "fixtures" / "txn-reject-ask-window.png"))
    button = read_txn.find(ws, "it", after="Reject")
    question = read_txn.find(ws, "this", after="Reject")
    if button is None or question is None or button.y <= question.y:
        raise E2EError("fixture txn-reject-ask-window.png: the 'Reject it' button not found "
                       "below the question")
