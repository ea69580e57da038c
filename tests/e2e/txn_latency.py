"""Benchmark (not a test): how long a pending transaction takes to appear in
the open app, measured on the real simulator window.
`python3 -m tests.e2e txn-latency [--runs N]` (bench/app/txn-latency.sh).

Set-up as the rehearsal (mitb.py): `softtoken-bank serve --demo --test-clock
--txn-auth required`, the simulator (`--lang en`) paired and registered, its
token screen open (it polls when opened and every 5 s for 3 minutes).

Calibration (once): a transaction created through the back-end API
(`POST /v1/bank/transactions` with the bank's API key, as web banking
does) is read off the window by OCR (read_txn): the places of 「Approve」,
「Reject」 and 「‹ Back」, and the colours at two points inside the two buttons
(left of their labels) become the screen's signature. It is rejected in the
window.

Each run: 「‹ Back」 (the token screen polls again at once and then every 5
s), a random wait of 1–6 s (so creation falls anywhere in the 5 s poll
cycle), then the transaction is created through the API and the window is
captured (`import -window`, raw RGB) as fast as it goes until both points
show the signature's colours. The latency is from just before the create
request to the start of the first capture that shows the screen (its
resolution, one capture interval, is printed). Every run is cross-checked
afterwards by OCR of that captured frame: it must show 「Approve」 and the
account number of the transaction just created (each run has its own), else
the benchmark fails. Then the transaction is rejected in the window (「Reject」,
「Reject it」, the result checked by OCR).
"""
from __future__ import annotations

import os
import random
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import read_txn
from .mitb import Mitb
from .read_token import Unreadable
from .scenario import App, say
from .session import E2EError

DETECT_TIMEOUT = 30  # seconds: a run that shows nothing by then fails
TOLERANCE = 24       # per channel, for the signature's colours
CALIBRATION_ACCOUNT = "1111111"  # thin ones: the hardest for OCR


@dataclass
class Signature:
    points: list  # [(x, y, (r, g, b))]


@dataclass
class TxnLatency(Mitb):
    runs: int = 20

    # ------------------------------------------------------------ back-end API
    def create_txn(self, account: str) -> None:
        answer = self.backend("/v1/bank/transactions", {
            "customer_id": self.customer.contract_id, "kind": "transfer",
            "fields": [["payee_bank", "かけしん信用金庫"], ["payee_branch", "本店営業部"],
                       ["account_type", "普通"], ["account_number", account],
                       ["payee_name", "ヤマダ タロウ"], ["amount", "1000"]]})
        if answer.get("result") != "ok":
            raise E2EError(f"creating a transaction: {answer.get('result')!r}")

    # ------------------------------------------------------------ fast capture
    def capture(self, app: App) -> tuple[int, int, bytes]:
        """(width, height, raw RGB) of the window, one `import` run."""
        g = app.window.geometry()
        done = subprocess.run(["import", "-silent", "-window", app.window.wid, "-depth", "8",
                               "rgb:-"], env=self.session.env, capture_output=True, timeout=30)
        if done.returncode != 0 or len(done.stdout) != g.width * g.height * 3:
            raise E2EError(f"import -window failed ({len(done.stdout)} bytes)")
        return g.width, g.height, done.stdout

    @staticmethod
    def pixel(frame, x: int, y: int) -> tuple:
        w, _h, raw = frame
        i = (y * w + x) * 3
        return raw[i], raw[i + 1], raw[i + 2]

    def matches(self, frame, sig: Signature) -> bool:
        return all(all(abs(a - b) <= TOLERANCE for a, b in zip(self.pixel(frame, x, y), rgb))
                   for x, y, rgb in sig.points)

    def save(self, frame, dst: Path) -> Path:
        w, h, raw = frame
        subprocess.run(["convert", "-size", f"{w}x{h}", "-depth", "8", "rgb:-", str(dst)],
                       input=raw, check=True, timeout=30)
        return dst

    # ------------------------------------------------------------ the window
    def reject_in_window(self, app: App, label: str) -> None:
        self.click_then(app, "Reject", "it", "Reject")
        self.click_word(app, "it", after="Reject")
        self.wait_words(app, "You rejected", 20, label)

    def calibrate(self, app: App) -> Signature:
        self.create_txn(CALIBRATION_ACCOUNT)
        shown = self.read_screen(app, "calibrate")
        if shown.account != CALIBRATION_ACCOUNT:
            raise E2EError(f"calibration: the window shows {shown.account}, not {CALIBRATION_ACCOUNT}")
        approve = read_txn.find(shown.words, "Approve")
        reject = read_txn.find(shown.words, "Reject")
        back = read_txn.find(shown.words, "Back")
        frame = self.capture(app)
        # Inside each button, left of its label (the button spans the card).
        points = []
        for word in (approve, reject):
            x, y = max(word.x - 40, 4), word.center[1]
            points.append((x, y, self.pixel(frame, x, y)))
        self.back_at = back.center
        self.reject_in_window(app, "calibrate-rejected")
        sig = Signature(points)
        app.window.click(*self.back_at)
        time.sleep(2)
        if self.matches(self.capture(app), sig):
            raise E2EError("calibration: the token screen has the transaction screen's signature")
        say(f"calibrated: signature {points}")
        return sig

    def steps(self) -> None:
        app = self.phone = self.start_app("phone", 0, "en")
        self.pair_and_start(app, shots=False)
        app.window.press("Return")
        time.sleep(2)
        sig = self.calibrate(app)
        load_before = os.getloadavg()
        latencies, intervals = [], []
        used = {CALIBRATION_ACCOUNT}
        for run in range(1, self.runs + 1):
            time.sleep(random.uniform(1, 6))
            account = CALIBRATION_ACCOUNT
            while account in used:
                account = f"{random.randrange(1_000_000, 10_000_000)}"
            used.add(account)
            t0 = time.monotonic()
            self.create_txn(account)
            created = time.monotonic()
            shown_frame, seen, last, captures = None, None, t0, 0
            while time.monotonic() - t0 < DETECT_TIMEOUT:
                start = time.monotonic()
                frame = self.capture(app)
                captures += 1
                intervals.append(time.monotonic() - start)
                if self.matches(frame, sig):
                    shown_frame, seen = frame, start
                    break
                last = start
            if shown_frame is None:
                raise E2EError(f"run {run}: the transaction did not appear within {DETECT_TIMEOUT} s")
            png = self.save(shown_frame, self.work / f"run-{run}.png")
            try:
                read, _ = read_txn.account_number(str(png))
            except Unreadable as e:
                raise E2EError(f"run {run}: the detected frame is no readable transaction ({e})") from None
            if read != account or read_txn.find(read_txn.words(str(png)), "Approve") is None:
                raise E2EError(f"run {run}: the detected frame shows {read}, not the new {account}")
            latency = seen - t0
            latencies.append(latency)
            say(f"run {run}: shown after {latency:.2f} s (create request {created - t0:.3f} s, "
                f"{captures} captures, previous capture {seen - last:.2f} s before)")
            self.reject_in_window(app, f"run-{run}-rejected")
            app.window.click(*self.back_at)
            time.sleep(1)
        load_after = os.getloadavg()
        cap = statistics.median(intervals)
        say(f"txn-latency: {len(latencies)} runs: median {statistics.median(latencies):.2f} s, "
            f"max {max(latencies):.2f} s, min {min(latencies):.2f} s, within 5 s: "
            f"{sum(1 for x in latencies if x <= 5)}/{len(latencies)}; capture interval median "
            f"{cap:.2f} s; load average {load_before[0]:.2f} → {load_after[0]:.2f} "
            f"({os.cpu_count()} cores)")
