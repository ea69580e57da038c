"""The README's 取引認証 steps for `bash scripts/demo`, walked as a person
would against a bank started as the demo starts it (`--txn-auth optional`):
`python3 -m tests.e2e demo-steps` (about 3 minutes; not a CI stage, to keep CI time).

1. the simulator (`--lang en`) paired and registered (利用開始), its token
   screen open;
2. before the customer chooses: a 振込 is the code-only flow (the form asks
   for a code), as the README says;
3. 設定 (「ログイン時のワンタイムパスワード」): 取引認証 「する」 with the code
   read off the window; 設定 then says 「する」;
4. approve: a 振込, 「確認」; in the window 「Check transactions」 (取引を確認),
   the transaction shows the typed account, 「Approve」; the page moves on to
   完了 by itself, the receipt shows it;
5. reject: the same with 「Reject」 and 「Reject it」: the page shows it was not
   executed;
6. offline: in the window 「Transaction code (offline)」 (取引認証番号), the
   account number typed into it, 「Show the transaction code」, the 6-digit
   code read off the window and entered under 「アプリが通信できない場合」:
   the stored transfer runs.
At the end the history has one of each (approved, rejected, offline) and
exactly two transfer receipts exist, both to the typed account.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from . import read_txn
from .mitb import APPROVED, REJECTED, TYPED, Mitb
from .read_token import Unreadable
from .scenario import App, say
from .session import E2EError, wait_until
from .webbank import field, why

OFFLINE = "取引認証（取引認証番号で認証・実行）"


@dataclass
class DemoSteps(Mitb):
    TXN_AUTH = "optional"

    def steps(self) -> None:
        app = self.phone = self.start_app("phone", 0, "en")
        self.pair_and_start(app, shots=False)
        app.window.press("Return")
        time.sleep(2)

        answer = self.web.request({"cmd": "txn_transfer", "account": TYPED, "amount": "1,000"})
        if answer.get("ok") is not False or "asks for a code" not in field(answer, "error"):
            raise E2EError(f"before 設定, 振込 is not the code-only flow ({why(answer)})")
        say("demo: before 設定 the 振込 form asks for the code (code-only flow)")

        answer = self.submit("設定 取引認証 する", lambda: {
            "cmd": "settings", "txn_auth": "on", "otp": app.reading.code.reveal(),
            "shot": "demo-settings"}, app)
        if "する" not in field(answer, "status"):
            raise E2EError(f"設定 says {field(answer, 'status')!r} after choosing する")
        say(f"demo: 設定 → 取引認証 「する」 with the window's code ({field(answer, 'notice')})")

        self.approve_step(app)
        self.click_word(app, "Back")
        self.reject_step(app)
        self.click_word(app, "Back")
        self.offline_step(app)

        history = self.last_history
        counts = [self.count(history, label) for label in (APPROVED, REJECTED, OFFLINE)]
        if counts != [1, 1, 1]:
            raise E2EError(f"demo: history has approved/rejected/offline {counts}, not 1/1/1")
        receipts = self.transfer_receipts()
        if len(receipts) != 2 or any(d.get("account_number") != TYPED for _, d in receipts):
            raise E2EError(f"demo: {len(receipts)} transfer receipts, not two to {TYPED}")
        say("demo: history has one approved, one rejected, one offline 取引認証; two transfers ran")

    def check_in_window(self, app: App, label: str) -> None:
        """「Check transactions」 on the token screen (unless the screen's own
        polling opened the transaction first), then the transaction."""
        png = self.work / f"{label}-check.png"

        def opened():
            app.window.screenshot(png)
            ws = read_txn.words(str(png))
            if read_txn.find(ws, "Approve") is not None:
                return "by itself"
            button = read_txn.find(ws, "transactions", after="Check")
            if button is not None:
                app.window.click(*button.center)
                return "with 「Check transactions」"
            return None

        how = wait_until(f"window {app.name} to show the token screen or a transaction",
                         opened, 30, 0.5)
        shown = self.read_screen(app, label)
        if shown.account != TYPED:
            raise E2EError(f"demo: the window shows {shown.account}, not {TYPED}")
        say(f"demo: the window shows the transaction ({how})")

    def approve_step(self, app: App) -> None:
        self.start_txn("demo approve", amount="2,000")
        self.check_in_window(app, "demo-approve")
        self.click_then(app, "Approve", "approved", "You")
        self.wait_words(app, "You approved", 20, "demo-approved")
        answer = self.web.request({"cmd": "txn_wait", "timeout_ms": 30_000})
        if answer.get("state") != "done" or TYPED not in field(answer, "transaction"):
            raise E2EError(f"demo approve: the page shows {answer.get('state')!r} ({why(answer)})")
        say(f"demo: approved in the window → 完了 (受付番号 {field(answer, 'receipt')})")

    def reject_step(self, app: App) -> None:
        self.start_txn("demo reject", amount="3,000")
        self.check_in_window(app, "demo-reject")
        self.click_then(app, "Reject", "it", "Reject")
        self.click_word(app, "it", after="Reject")
        self.wait_words(app, "You rejected", 20, "demo-rejected")
        answer = self.web.request({"cmd": "txn_wait", "timeout_ms": 30_000})
        if answer.get("state") != "rejected":
            raise E2EError(f"demo reject: the page shows {answer.get('state')!r} ({why(answer)})")
        say("demo: rejected in the window → not executed")

    def offline_step(self, app: App) -> None:
        # Away from the token screen first: it would open the transaction.
        self.click_word(app, "offline", after="code")
        self.wait_words(app, "Show the transaction code", 20, "demo-offline-open")
        self.start_txn("demo offline", amount="4,000")
        png = self.work / "demo-offline.png"
        app.window.screenshot(png)
        # The label "Account number or biller number" ("or biller": the help
        # text above it says "the biller number").
        box = read_txn.find(read_txn.words(str(png)), "biller", after="or")
        if box is None:
            raise E2EError("demo offline: no 'Account number or biller number' field label")
        # The field is right under its label.
        app.window.click(box.center[0], box.y + box.h + 24)
        app.window.type_text(TYPED)
        self.click_word(app, "code", after="transaction")
        crops = self.work / "crops" / "offline"
        crops.mkdir(parents=True, exist_ok=True)

        def code():
            app.window.screenshot(png)
            now = int(time.time())
            if now % 30 > 24:
                return None  # too close to the next step: wait for it
            try:
                return read_txn.offline_code(str(png), str(crops))
            except Unreadable:
                return None

        c = wait_until("the offline code in the window", code, 40, 1)
        self.shot(app, "app-txn-offline")
        answer = self.web.request({"cmd": "txn_offline", "code": c.reveal()})
        if answer.get("state") != "done" or TYPED not in field(answer, "transaction"):
            raise E2EError(f"demo offline: the page shows {answer.get('state')!r} ({why(answer)})")
        self.last_history = answer.get("history") or []
        say(f"demo: offline 取引認証番号 from the window → 完了 (受付番号 {field(answer, 'receipt')})")
