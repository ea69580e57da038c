"""The end-to-end scenario: the desktop simulator window against a real bank,
read by OCR, registered in web banking by a (headless) person.

1. `softtoken-bank serve --demo --test-clock` on loopback (the first demo
   customer from its output), a private session bus with an unlocked
   throw-away gnome-keyring (own HOME), Xvfb, and the web banking driver;
2. the simulator (profile "old") opens with --bank-profile/--pair-link, the
   pairing is confirmed with the keyboard, the window is screenshot and its
   serial and code read with tesseract (read_token), as a person would;
3. 利用開始 in web banking with that serial and code: the result page shows
   受付番号 and the serial, the bank reports the token active; a 振込 with
   a code the window did not show is refused, one with the code it shows
   is accepted;
4. 交換: a second simulator (profile "new") pairs, both windows are read in
   one time step, 交換 takes the old window's code and the new window's
   serial and code; the result shows 変更後/変更前, the bank reports
   old=revoked, new=active, the new window says "In use" and the reopened
   old window says "replaced".

Reading codes: each window's code must be agreed by two independent OCR
readings, and the 30 s step must be the same before and after reading all
windows involved (else they are read again, at most 150 s). A submission the
bank refuses is retried at most twice, each time with codes of a later step
(the reason is printed; codes never are).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Callable, Optional

from . import read_token
from .bank import Bank
from .read_token import Code, Reading
from .session import E2EError, Keyring, Session, Window, wait_until
from .webbank import WebBanking, compact, field, why

STEP = 30
READ_TIMEOUT = 150  # seconds to read a set of windows with confidence
SUBMIT_ATTEMPTS = 3


def step_now() -> int:
    return int(time.time()) // STEP


def say(text: str) -> None:
    print(text, flush=True)


@dataclass
class App:
    """One simulator: its profile name, process and window."""

    name: str
    proc: subprocess.Popen
    window: Optional[Window] = None
    reading: Optional[Reading] = None
    used_step: int = 0  # the last 30 s step whose code was submitted


@dataclass
class Scenario:
    root: Path
    bin_dir: Path
    work: Path
    shots: Path
    session: Session = dc_field(init=False)
    bank: Bank = dc_field(init=False)
    web: WebBanking = dc_field(init=False)
    reads: int = 0
    slow_agreements: int = 0
    # The bank's `serve --txn-auth` (the code-only 振込 here; mitb.py: required).
    TXN_AUTH = "off"

    # ------------------------------------------------------------ set-up
    def run(self) -> None:
        for exe in ("softtoken", "softtoken-bank"):
            if not (self.bin_dir / exe).is_file():
                raise E2EError(f"no {exe} in {self.bin_dir} (cargo test --workspace --no-run "
                               f"builds it in target/debug)")
        home = self.work / "home"
        keyring = Keyring("throwaway-e2e", home / ".local" / "share")
        with Session(self.work, private_bus=True, keyring=keyring, home=home, xvfb=True) as s:
            self.session = s
            self.bank = Bank(s.procs, s.env, self.bin_dir, self.work / "bank",
                             self.work / "bank.log", demo=True, test_clock=True,
                             txn_auth=self.TXN_AUTH)
            try:
                self._run()
            except E2EError as e:
                if self.bank.proc is not None and not self.bank.alive():
                    raise E2EError(f"{e} (the bank process is gone)") from None
                raise

    def _run(self) -> None:
        self.setup()
        self.steps()

    def steps(self) -> None:
        self.start_and_transfer()
        self.exchange()
        say(f"OCR: {self.reads} window readings; codes agreed only after more than two "
            f"readings: {self.slow_agreements} time(s)")

    def setup(self) -> None:
        """The bank, its first demo customer, the pairing link, the web
        banking driver."""
        (self.work / "crops").mkdir(exist_ok=True)
        self.shots.mkdir(parents=True, exist_ok=True)
        url = self.bank.start()
        customer = self.customer = self.bank.demo_customer()
        self.profile = self.work / "profile.json"
        self.link = Bank.pair_link(self.bank.write_profile(self.profile))
        self.knows = read_token.bank_oracle(url)
        say(f"bank at {url} (demo customer {customer.contract_id})")
        self.web = WebBanking(self.session.procs, self.session.env, self.root, url, self.shots,
                              customer, self.work / "webbank.log")
        self.web.start()

    # ------------------------------------------------------------ windows
    def start_app(self, name: str, x: int, lang: str, pair: bool = True) -> App:
        argv = [str(self.bin_dir / "softtoken"), "--profile", str(self.work / name),
                "--bank-profile", str(self.profile), "--lang", lang]
        argv += ["--pair-link", self.link] if pair else []
        log = self.work / f"app-{name}{'' if pair else '-reopened'}.log"
        proc = self.session.procs.start(f"simulator {name}", argv, env=self.session.env, log=log)
        app = App(name, proc)
        # The simulator's window is titled "softtoken: <profile folder name>".
        app.window = self.session.display.find_window(f"^softtoken: {re.escape(name)}",
                                                      visible=pair)
        if pair:
            app.window.move_to(x, 0)
        return app

    def shot(self, app: App, name: str) -> Path:
        return app.window.screenshot(self.shots / f"{name}.png")

    def confirm_pairing(self, app: App, shot: bool = True) -> None:
        time.sleep(3)
        if shot:
            self.shot(app, f"app-{app.name}-confirm")
        app.window.press("Return")
        tokens = self.work / app.name / "tokens.json"
        wait_until(f"pairing in window {app.name} to finish",
                   lambda: tokens.is_file() and '"ready"' in tokens.read_text(errors="replace"),
                   20, 0.5)

    def wait_text(self, app: App, text: str, timeout: float, label: str) -> None:
        """Waits until OCR of the window finds `text` (bounded)."""
        png = self.work / f"{label}.png"

        def shows():
            app.window.screenshot(png)
            return text in read_token.text_of(str(png), str(self.work))

        try:
            wait_until(f"window {app.name} to show {text!r}", shows, timeout, 1)
        except E2EError:
            raise E2EError(f"window {app.name} never showed {text!r} "
                           f"(last screenshot {png.name})") from None

    def read_codes(self, *apps: App) -> int:
        """Reads serial and code of `apps` as a person would, all in one 30 s
        step later than the last step used for each of them: starts only when
        the step has run >= 2 s (the window has redrawn) and has >= 10 s
        left, and counts only if the step is unchanged after the last window
        was read. Sets each app's `reading`; returns the step."""
        names = " ".join(a.name for a in apps)
        deadline = time.monotonic() + READ_TIMEOUT
        for _ in range(READ_TIMEOUT * 2):
            if time.monotonic() >= deadline:
                break
            now = int(time.time())
            later = all(now // STEP > a.used_step for a in apps)
            if not later or now % STEP < 2 or now % STEP > 20:
                time.sleep(1)
                continue
            s0 = now // STEP
            if not all(self._read(a) for a in apps):
                time.sleep(1)
                continue
            if step_now() != s0:
                say(f"reading {self.reads}: the 30 s step changed while reading ({names}); "
                    f"reading again")
                continue
            return s0
        raise E2EError(f"could not read {names} with confidence within {READ_TIMEOUT} s "
                       f"(crops in {self.work / 'crops'})")

    def _read(self, app: App) -> bool:
        self.reads += 1
        png = app.window.screenshot(self.work / f"{app.name}.png")
        crops = self.work / "crops" / f"{self.reads}-{app.name}"
        try:
            reading = read_token.read_window(str(png), str(crops), self.knows)
        except read_token.Unreadable as e:
            say(f"reading {self.reads}: window {app.name} not read with confidence ({e}); "
                f"reading again")
            crops.mkdir(parents=True, exist_ok=True)
            shutil.copy(png, crops / "window.png")
            return False
        shutil.rmtree(crops, ignore_errors=True)
        if reading.code_readings > 2:
            self.slow_agreements += 1
        app.reading = reading
        return True

    def submit(self, what: str, build: Callable[[], dict], *apps: App) -> dict:
        """Reads `apps`, sends `build()` (made from their readings); a refusal
        is retried at most twice, each time in a later step."""
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            step = self.read_codes(*apps)
            answer = self.web.request(build())
            for a in apps:
                a.used_step = step
            if answer.get("ok") is True:
                return answer
            more = "; reading again in a later step" if attempt < SUBMIT_ATTEMPTS else ""
            say(f"{what}: attempt {attempt} of {SUBMIT_ATTEMPTS} refused ({why(answer)}){more}")
        raise E2EError(f"{what}: refused {SUBMIT_ATTEMPTS} times with what the window(s) showed")

    def expect_state(self, serial: str, state: str, what: str) -> None:
        got = self.bank.token_state(serial)
        if got != state:
            raise E2EError(f"{what}: the bank reports {serial} as {got or 'unknown'!r}, "
                           f"not {state!r}")

    # ------------------------------------------------------------ the steps
    def pair_and_start(self, old: App, shots: bool = True) -> str:
        """Pairs `old` (just started with a pairing link) and registers it
        in web banking (利用開始); returns its serial, now active. Without
        `shots`, no screenshot (those of the scenario stay its own)."""
        self.confirm_pairing(old, shot=shots)
        time.sleep(1)
        if shots:
            self.shot(old, "app-paired")

        # 利用開始
        self.read_codes(old)
        old_serial = self.old_serial = old.reading.serial
        say(f"old window shows serial {old_serial}")
        self.expect_state(old_serial, "issued", "after pairing")
        answer = self.submit("利用開始", lambda: {
            "cmd": "start", "serial": old.reading.serial, "otp": old.reading.code.reveal(),
            "shot": "start-result" if shots else None}, old)
        if old.reading.serial != old_serial:
            raise E2EError("the old window changed its serial")
        if compact(field(answer, "serial")) != old_serial:
            raise E2EError(f"利用開始 result shows another serial: {field(answer, 'serial')}")
        receipt = field(answer, "receipt")
        if not re.fullmatch(r"[0-9]{7}", receipt):
            raise E2EError("利用開始 result has no 受付番号")
        self.expect_state(old_serial, "active", "after 利用開始")
        say(f"利用開始 accepted in web banking: 受付番号 {receipt}, serial {old_serial} active")
        return old_serial

    def start_and_transfer(self) -> None:
        old = self.old = self.start_app("old", 0, "ja")
        old_serial = self.pair_and_start(old)

        # "Show token" has the focus on the success screen: open the token screen.
        old.window.press("Return")
        time.sleep(3)
        self.shot(old, "app-token-active")

        # 振込 with a code the window did not show (the check can fail): the
        # shown code with its first digit moved by 5.
        self.read_codes(old)
        wrong = old.reading.code.with_first_digit_moved(5)
        answer = self.web.request({"cmd": "transfer", "otp": wrong.reveal(),
                                   "shot": "transfer-wrong"})
        if answer.get("ok") is not False:
            raise E2EError("振込 with a code the window did not show was accepted")
        if "ワンタイムパスワードが正しくありません" not in field(answer, "error"):
            raise E2EError(f"振込 with a wrong code: unexpected answer ({why(answer)})")
        say("振込 with a code the window did not show: refused")

        answer = self.submit("振込", lambda: {
            "cmd": "transfer", "otp": old.reading.code.reveal(), "shot": "transfer-result"}, old)
        if "お振込みを受け付けました" not in field(answer, "message"):
            raise E2EError(f"振込 result: {field(answer, 'message')}")
        if old_serial not in compact(field(answer, "token_status")):
            raise E2EError(f"the account page does not show {old_serial}")
        say(f"振込 with the code the window shows: accepted (受付番号 {field(answer, 'receipt')})")

    def exchange(self) -> None:
        old, old_serial = self.old, self.old_serial
        new = self.start_app("new", 400, "en")
        self.confirm_pairing(new)
        self.read_codes(new, old)
        new_serial = new.reading.serial
        if old.reading.serial != old_serial:
            raise E2EError("the old window changed its serial")
        if new_serial == old_serial:
            raise E2EError("the new token has the old serial")
        say(f"new window shows serial {new_serial}")
        self.expect_state(new_serial, "issued", "after pairing the new window")
        answer = self.submit("交換", lambda: {
            "cmd": "exchange", "old_otp": old.reading.code.reveal(),
            "new_serial": new.reading.serial, "new_otp": new.reading.code.reveal(),
            "shot": "exchange-result"}, new, old)
        if new.reading.serial != new_serial:
            raise E2EError("the new window changed its serial")
        header = field(answer, "header")
        for label in ("変更後", "変更前"):
            if label not in header:
                raise E2EError(f"交換 result has no {label}")
        if compact(field(answer, "after")) != new_serial:
            raise E2EError(f"交換 result 変更後 is {field(answer, 'after')}")
        if compact(field(answer, "before")) != old_serial:
            raise E2EError(f"交換 result 変更前 is {field(answer, 'before')}")
        self.expect_state(old_serial, "revoked", "after 交換 (old token)")
        self.expect_state(new_serial, "active", "after 交換 (new token)")
        say(f"交換 accepted in web banking: {old_serial} → {new_serial} "
            f"(受付番号 {field(answer, 'receipt')})")
        self.web.quit()

        # The new window (English), on its token screen, asks the bank: "In use".
        new.window.press("Return")
        self.wait_text(new, "In use", 60, "new-state")
        self.shot(new, "app-exchange-new")

        # The old phone, reopened, shows its token as stopped/replaced.
        self.session.procs.stop(old.proc)
        time.sleep(1)
        reopened = self.start_app("old", 0, "en", pair=False)
        time.sleep(3)
        self.wait_text(reopened, "replaced", 40, "old-state")
        self.shot(reopened, "app-old-revoked")
