"""The man-in-the-browser rehearsal (取引認証, STK1-TXN), end to end with the
real simulator window: `python3 -m tests.e2e mitb` (stage 32).

1. `softtoken-bank serve --demo --test-clock --txn-auth required`, the
   simulator (`--lang en`, see read_txn) paired and registered (利用開始) with
   the code read off its window, as in scenario.py; its token screen opened
   (it polls the bank when opened and every 5 s for 3 minutes);
2. **tampered 振込**: the customer types account A in Chromium; a script
   injected into the tab (as malware would) changes it to B when the form is
   submitted and shows A again on 確認 and 取引認証. Checked: every page the
   customer sees says A; web banking stored B; the window shows B (OCR,
   readings agreed), not A; for 8 s without a decision in the app the page
   stays on 取引認証 and nothing is executed; 「Reject」 and 「Reject it」 are
   clicked in the window; the page shows rejected, the history has one
   rejection and no executed transfer, no receipt row exists and the stored
   row is `rejected`, as at the token service;
3. **untampered 振込** to A (the malware now appends the form fields with B
   to every request after 入力, which a bank that re-read fields would
   execute): the window shows A; 8 s without a decision → nothing executed;
   「Approve」 clicked in the window; the page moves on to 完了 by itself; the
   receipt shows A, not B; exactly one transfer receipt exists, its account
   = the stored transaction's = what the window showed = A, the history has
   exactly one executed 取引認証; the token service reports it `consumed`.

So the rehearsal fails if web banking executes without the app's approval
(step 2/3's waits), executes a rejected transaction (step 2), or executes the
form's fields instead of the stored transaction (step 3, and B ≠ A in 2).
"""
from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import read_txn
from .read_token import Unreadable
from .scenario import App, Scenario, say
from .session import E2EError, wait_until
from .webbank import field, why

TYPED = "1234567"    # what the customer types (the spec's example payee)
MULE = "9876543"     # what the malware sends instead
UNDECIDED_S = 8      # how long nothing may happen without a decision in the app
SHOWN_TIMEOUT = 40   # the app polls every 5 s; OCR retries within this
RESULT_TIMEOUT = 30  # the page's poller asks every 2 s

APPROVED = "取引認証（アプリで承認・実行）"
REJECTED = "取引認証（アプリで拒否・未実行）"


@dataclass
class Shown:
    """What the window showed: the account number and the screenshot's words."""

    account: str
    words: list
    png: Path


@dataclass
class Mitb(Scenario):
    TXN_AUTH = "required"
    ocr_retries: int = 0

    def steps(self) -> None:
        app = self.phone = self.start_app("phone", 0, "en")
        self.pair_and_start(app, shots=False)
        # "Show token" has the focus on the success screen: the token screen,
        # which polls for pending transactions while it is shown.
        app.window.press("Return")
        time.sleep(2)
        self.tampered()
        self.back_to_token_screen()
        self.untampered()
        say(f"OCR: transaction screen read with retries {self.ocr_retries} time(s)")

    # ------------------------------------------------------------ web banking's data
    def db(self):
        """web.sqlite, read-only (the bank keeps writing it; WAL)."""
        path = self.bank.data / "web.sqlite"
        if not path.is_file():
            raise E2EError(f"no web banking database at {path}")
        return closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10))

    def stored_txns(self) -> list[tuple[str, dict, Optional[int]]]:
        """(state, detail, receipt_id) of the customer's stored transactions,
        oldest first."""
        return [(s, d, r) for s, d, r, _ in self.stored_rows()]

    def stored_rows(self) -> list[tuple[str, dict, Optional[int], str]]:
        """stored_txns with each row's txn_id."""
        with self.db() as c:
            rows = c.execute("SELECT state, detail, receipt_id, txn_id FROM txn_auth WHERE "
                             "contract_id = ? ORDER BY created_at, rowid",
                             (self.customer.contract_id,)).fetchall()
        return [(s, json.loads(d), r, t) for s, d, r, t in rows]

    def backend(self, path: str, body: dict) -> dict:
        """A call of the bank's back-end API (`/v1/bank/…`) with its API key
        (the throw-away bank's `api-key` file), as web banking makes it."""
        key = (self.bank.data / "api-key").read_text().strip()
        req = urllib.request.Request(f"{self.bank.url}{path}", method="POST",
                                     data=json.dumps({"v": 1, **body}).encode(),
                                     headers={"Authorization": f"Bearer {key}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            try:
                return json.loads(e.read())
            except ValueError:
                raise E2EError(f"{path}: HTTP {e.code}") from None
        except (OSError, ValueError) as e:
            raise E2EError(f"{path}: {e}") from None

    def token_service_state(self, txn_id: str) -> str:
        answer = self.backend("/v1/bank/transactions/status",
                              {"customer_id": self.customer.contract_id, "txn_id": txn_id})
        return answer.get("state") if answer.get("result") == "ok" else f"error {answer.get('result')}"

    def transfer_receipts(self) -> list[tuple[int, dict]]:
        with self.db() as c:
            rows = c.execute("SELECT id, detail FROM receipts WHERE contract_id = ? AND "
                             "kind = 'transfer' ORDER BY id", (self.customer.contract_id,)).fetchall()
        return [(i, json.loads(d)) for i, d in rows]

    def newest_stored(self, n: int, state: str) -> dict:
        rows = self.stored_txns()
        if len(rows) != n:
            raise E2EError(f"web banking stored {len(rows)} transactions, not {n}")
        got_state, detail, _ = rows[-1]
        if got_state != state:
            raise E2EError(f"the stored transaction is {got_state!r}, not {state!r}")
        return detail

    # ------------------------------------------------------------ the window
    def read_screen(self, app: App, label: str) -> Shown:
        """Waits (bounded) until the window shows a transaction: its
        「Approve」 and 「Reject」 buttons and one agreed account number."""
        png = self.work / f"{label}.png"
        crops = self.work / "crops" / label
        crops.mkdir(parents=True, exist_ok=True)
        tries = 0

        def shown():
            nonlocal tries
            tries += 1
            app.window.screenshot(png)
            ws = read_txn.words(str(png))
            if not (read_txn.find(ws, "Approve") and read_txn.find(ws, "Reject")):
                return None
            try:
                account, _ = read_txn.account_number(str(png), str(crops))
            except Unreadable as e:
                say(f"transaction screen ({label}): {e}; reading again")
                return None
            return Shown(account, ws, png)

        try:
            got = wait_until(f"window {app.name} to show a transaction", shown, SHOWN_TIMEOUT, 1)
        except E2EError:
            raise E2EError(f"window {app.name} showed no readable transaction within "
                           f"{SHOWN_TIMEOUT} s (last screenshot {png.name}, crops in {crops})") from None
        if tries > 1:
            self.ocr_retries += 1
        return got

    def click_then(self, app: App, label: str, then: str, then_after: Optional[str] = None,
                   tries: int = 3) -> None:
        """Clicks `label`, then waits until `then` (`then_after then`) shows;
        if it did not within 8 s and `label` is still shown (a click lost
        while the screen redrew), clicks again, at most `tries` times; if
        `label` is gone, waits up to 20 s more for `then`."""
        png = self.work / f"after-{label}.png"

        def find(word, after=None):
            app.window.screenshot(png)
            return read_txn.locate(str(png), word, after)

        self.click_word(app, label)
        for attempt in range(1, tries + 1):
            try:
                wait_until(f"window {app.name} to show {then!r}", lambda: find(then, then_after), 8, 0.5)
                return
            except E2EError:
                pass
            if attempt == tries:
                break
            word = find(label)
            if word is None:
                wait_until(f"window {app.name} to show {then!r} after {label!r}",
                           lambda: find(then, then_after), 20, 0.5)
                return
            say(f"window {app.name}: {label!r} clicked, {then!r} not shown; clicking again")
            app.window.click(*word.center)
        raise E2EError(f"window {app.name}: {then!r} not shown after clicking {label!r} "
                       f"{tries} times (last screenshot {png.name})")

    def click_word(self, app: App, label: str, after: Optional[str] = None,
                   timeout: float = 20) -> None:
        """Clicks the word `label` (the phrase `after label`) once OCR finds it."""
        png = self.work / f"click-{label}.png"
        name = f"{after} {label}" if after else label

        def where():
            app.window.screenshot(png)
            return read_txn.locate(str(png), label, after)

        try:
            word = wait_until(f"window {app.name} to show {name!r}", where, timeout, 0.5)
        except E2EError:
            raise E2EError(f"window {app.name} shows no {name!r} to click "
                           f"(last screenshot {png.name})") from None
        app.window.click(*word.center)

    def wait_words(self, app: App, phrase: str, timeout: float, label: str) -> None:
        png = self.work / f"{label}.png"

        def shows():
            app.window.screenshot(png)
            return read_txn.shows(str(png), phrase)

        try:
            wait_until(f"window {app.name} to show {phrase!r}", shows, timeout, 0.5)
        except E2EError:
            raise E2EError(f"window {app.name} never showed {phrase!r} "
                           f"(last screenshot {png.name})") from None

    def japanese_shot(self, app: App, name: str, account: str) -> None:
        """Switches the window to Japanese with the header's language toggle,
        saves screenshot `name` (the README's), checks the screen still shows
        `account`, and switches back to English (checked by OCR)."""
        png = self.work / "lang.png"
        app.window.screenshot(png)
        width = app.window.geometry().width
        toggle = next((w for w in read_txn.words(str(png)) if w.y < 50 and w.x > width // 2), None)
        # The toggle's label (日本語) is not in tesseract's English model: if
        # it gave no word there, the header's right end, where the toggle
        # sits (the check below says whether the click switched).
        app.window.click(*(toggle.center if toggle else (width - 45, 27)))

        def japanese():
            app.window.screenshot(png)
            if read_txn.find(read_txn.words(str(png)), "Approve") is not None:
                return False
            try:
                return read_txn.account_number(str(png))[0] == account
            except Unreadable:
                return False

        wait_until(f"window {app.name} in Japanese showing {account}", japanese, 20, 0.5)
        self.shot(app, name)
        self.click_word(app, "English")
        wait_until(f"window {app.name} back in English",
                   lambda: read_txn.find(read_txn.words(str(app.window.screenshot(png))),
                                         "Approve"), 20, 0.5)

    def back_to_token_screen(self) -> None:
        """「‹ Back」: the token screen again, which polls again for 3 minutes."""
        self.click_word(self.phone, "Back")
        time.sleep(2)

    # ------------------------------------------------------------ checks
    def undecided(self, what: str, receipts: int) -> None:
        """Without a decision in the app, for UNDECIDED_S seconds the page stays
        on 取引認証 and nothing is executed."""
        answer = self.web.request({"cmd": "txn_wait", "timeout_ms": UNDECIDED_S * 1000})
        if answer.get("ok") is not True or answer.get("state") != "pending":
            raise E2EError(f"{what}: without a decision in the app the page moved on "
                           f"(state {answer.get('state')!r}; {why(answer)})")
        if len(self.transfer_receipts()) != receipts:
            raise E2EError(f"{what}: a transfer was executed without a decision in the app")

    @staticmethod
    def count(history: list, label: str) -> int:
        return sum(1 for row in history if isinstance(row, str) and label in row)

    def start_txn(self, what: str, **req) -> dict:
        answer = self.web.request({"cmd": "txn_transfer", "account": TYPED, **req})
        if answer.get("ok") is not True:
            raise E2EError(f"{what}: web banking did not reach 取引認証 ({why(answer)})")
        if field(answer, "crumb") != "取引認証":
            raise E2EError(f"{what}: the current step is {field(answer, 'crumb')!r}")
        if "アプリ" not in field(answer, "instruction"):
            raise E2EError(f"{what}: the 取引認証 page does not send the customer to the app")
        for key in ("typed", "confirm_account", "txn_account"):
            if field(answer, key) != TYPED:
                raise E2EError(f"{what}: the browser shows {key}={field(answer, key)!r}, "
                               f"not the typed {TYPED}")
        return answer

    # ------------------------------------------------------------ the steps
    def tampered(self) -> None:
        app = self.phone
        what = "tampered 振込"
        self.start_txn(what, tamper_to=MULE, amount="12,000", shot="mitb-tampered")
        say(f"{what}: typed {TYPED}; the browser shows {TYPED} on 確認 and 取引認証")
        stored = self.newest_stored(1, "pending")
        if stored.get("account_number") != MULE:
            raise E2EError(f"{what}: web banking stored account {stored.get('account_number')!r}, "
                           f"not the {MULE} the malware sent")

        shown = self.read_screen(app, "txn-tampered")
        self.shot(app, "app-txn-tampered")
        if shown.account == TYPED:
            raise E2EError(f"{what}: the window shows the typed {TYPED}, not the changed payee")
        if shown.account != MULE or shown.account != stored.get("account_number"):
            raise E2EError(f"{what}: the window shows {shown.account}, web banking stored "
                           f"{stored.get('account_number')}, the malware sent {MULE}")
        if "12,000" not in read_txn.text(shown.words):
            raise E2EError(f"{what}: the window does not show the amount 12,000")
        say(f"{what}: the window shows account {shown.account} (the malware's), amount 12,000")
        self.japanese_shot(app, "app-txn-tampered-ja", MULE)

        self.undecided(what, receipts=0)
        say(f"{what}: {UNDECIDED_S} s without a decision in the app: still 取引認証, nothing executed")

        self.click_then(app, "Reject", "it", "Reject")
        self.click_word(app, "it", after="Reject")
        self.wait_words(app, "You rejected", 20, "txn-rejected")
        self.shot(app, "app-txn-rejected")
        answer = self.web.request({"cmd": "txn_wait", "timeout_ms": RESULT_TIMEOUT * 1000,
                                   "shot": "mitb-rejected"})
        if answer.get("state") != "rejected":
            raise E2EError(f"{what}: after the rejection in the window the page shows "
                           f"{answer.get('state')!r} ({why(answer)})")
        if "実行されませんでした" not in field(answer, "message"):
            raise E2EError(f"{what}: the rejection page says {field(answer, 'message')!r}")
        history = answer.get("history") or []
        if self.count(history, REJECTED) != 1 or self.count(history, APPROVED) != 0:
            raise E2EError(f"{what}: the history has {self.count(history, REJECTED)} rejected and "
                           f"{self.count(history, APPROVED)} executed 取引認証, not 1 and 0")
        rows = self.stored_txns()
        if [(s, r) for s, _, r in rows] != [("rejected", None)]:
            raise E2EError(f"{what}: stored transactions are {[(s, r) for s, _, r in rows]}")
        if self.transfer_receipts():
            raise E2EError(f"{what}: a transfer receipt exists after the rejection")
        state = self.token_service_state(self.stored_rows()[0][3])
        if state != "rejected":
            raise E2EError(f"{what}: the token service reports the transaction {state!r}")
        say(f"{what}: rejected in the window → web banking shows 「拒否」, nothing executed")

    def untampered(self) -> None:
        app = self.phone
        what = "untampered 振込"
        answer = self.start_txn(what, inject_to=MULE, amount="8,000", shot="mitb-approve")
        stored = self.newest_stored(2, "pending")
        if stored.get("account_number") != TYPED:
            raise E2EError(f"{what}: web banking stored account {stored.get('account_number')!r}")
        injected = answer.get("injected", 0)
        if injected < 1:
            raise E2EError(f"{what}: the malware's route added fields to no request")

        shown = self.read_screen(app, "txn-approve")
        self.shot(app, "app-txn-approve")
        if shown.account != TYPED:
            raise E2EError(f"{what}: the window shows {shown.account}, not {TYPED}")
        say(f"{what}: the window shows account {shown.account}, as typed")

        self.undecided(what, receipts=0)
        say(f"{what}: {UNDECIDED_S} s without a decision in the app: still 取引認証, nothing executed")

        self.click_then(app, "Approve", "approved", "You")
        self.wait_words(app, "You approved", 20, "txn-approved")
        self.shot(app, "app-txn-approved")
        answer = self.web.request({"cmd": "txn_wait", "timeout_ms": RESULT_TIMEOUT * 1000,
                                   "shot": "mitb-done"})
        if answer.get("state") != "done":
            raise E2EError(f"{what}: after the approval in the window the page shows "
                           f"{answer.get('state')!r} ({why(answer)})")
        if "お振込みを受け付けました" not in field(answer, "message"):
            raise E2EError(f"{what}: the receipt says {field(answer, 'message')!r}")
        shown_receipt = field(answer, "transaction")
        if TYPED not in shown_receipt or MULE in shown_receipt:
            raise E2EError(f"{what}: the receipt does not show exactly the stored payee {TYPED}")
        if field(answer, "amount") != "8,000円":
            raise E2EError(f"{what}: the receipt shows the amount {field(answer, 'amount')!r}")
        history = answer.get("history") or []
        if self.count(history, APPROVED) != 1 or self.count(history, REJECTED) != 1:
            raise E2EError(f"{what}: the history has {self.count(history, APPROVED)} executed and "
                           f"{self.count(history, REJECTED)} rejected 取引認証, not 1 and 1")
        receipts = self.transfer_receipts()
        if len(receipts) != 1:
            raise E2EError(f"{what}: {len(receipts)} transfer receipts, not exactly one")
        rid, executed = receipts[0]
        rows = self.stored_txns()
        if [(s, r) for s, _, r in rows] != [("rejected", None), ("executed", rid)]:
            raise E2EError(f"{what}: stored transactions are {[(s, r) for s, _, r in rows]}")
        if not (executed == rows[1][1] and executed.get("account_number") == shown.account == TYPED):
            raise E2EError(f"{what}: executed account {executed.get('account_number')}, stored "
                           f"{rows[1][1].get('account_number')}, shown {shown.account}")
        states = [self.token_service_state(t) for *_, t in self.stored_rows()]
        if states != ["rejected", "consumed"]:
            raise E2EError(f"{what}: the token service reports {states}, not rejected, consumed")
        if field(answer, "receipt") != str(1_000_000 + rid):
            raise E2EError(f"{what}: the page's 受付番号 {field(answer, 'receipt')} is not receipt {rid}")
        say(f"{what}: approved in the window → executed once (受付番号 {field(answer, 'receipt')}), "
            f"account {executed.get('account_number')} = stored = shown; the fields the malware "
            f"added to {injected} later request(s) were ignored")
