"""Unit tests of the harness itself (seconds; no X, no bank, no browser):
python3 -m unittest tests.e2e.test_harness"""
from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from pathlib import Path

from . import __main__ as cli
from . import read_token, read_txn
from .bank import DEMO_CUSTOMER, Bank, Customer
from .read_token import Code
from .session import Display, E2EError, Processes, Session, Window, _read_line, wait_until
from .webbank import WebBanking, compact, field, why


def group_alive(pgid: int) -> bool:
    """True if a process of group `pgid` still runs (zombies waiting for
    their reaper do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid pgrp ...: comm may hold spaces.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class CodeTest(unittest.TestCase):
    def test_never_printed(self):
        code = Code("493027")
        for text in (repr(code), str(code), f"{code}", "%s" % code, "{!r}".format(code),
                     repr([code]), repr({"otp": code})):
            self.assertNotIn("493027", text)
            self.assertNotIn("493", text)
        self.assertEqual(code.reveal(), "493027")

    def test_only_six_digits(self):
        for bad in ("", "12345", "1234567", "12345a", " 123456", "１２３４５６"):
            with self.assertRaises(ValueError):
                Code(bad)

    def test_equality_and_unhashable(self):
        self.assertEqual(Code("000001"), Code("000001"))
        self.assertNotEqual(Code("000001"), Code("000002"))
        self.assertNotEqual(Code("000001"), "000001")
        with self.assertRaises(TypeError):
            hash(Code("000001"))

    def test_moved_first_digit_is_another_code(self):
        for first in range(10):
            code = Code(f"{first}23456")
            wrong = code.with_first_digit_moved(5)
            self.assertNotEqual(wrong, code)
            self.assertEqual(wrong.reveal(), f"{(first + 5) % 10}23456")


class WaitTest(unittest.TestCase):
    def test_returns_the_first_value(self):
        calls = []
        self.assertEqual(wait_until("x", lambda: calls.append(1) or (len(calls) >= 3 and "v"),
                                    5, 0.01), "v")
        self.assertEqual(len(calls), 3)

    def test_bounded_in_time_and_count(self):
        calls = []
        started = time.monotonic()
        with self.assertRaisesRegex(E2EError, "waiting for the thing"):
            wait_until("the thing", lambda: calls.append(1), 0.3, 0.05)
        self.assertLess(time.monotonic() - started, 1.5)
        self.assertLessEqual(len(calls), 7)


class ProcessesTest(unittest.TestCase):
    def test_stop_kills_the_whole_group(self):
        procs = Processes()
        p = procs.start("sh", ["sh", "-c", "sleep 100 & sleep 100"], env=dict(os.environ))
        time.sleep(0.2)
        self.assertTrue(group_alive(p.pid))
        procs.stop(p, grace=2)
        # SIGKILL is delivered asynchronously: gone within moments.
        wait_until("the group to be gone", lambda: not group_alive(p.pid), 3, 0.05)

    def test_a_child_ignoring_sigterm_is_killed(self):
        procs = Processes()
        p = procs.start("sh", ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"],
                        env=dict(os.environ))
        time.sleep(0.2)
        started = time.monotonic()
        procs.stop(p, grace=0.5)
        self.assertIsNotNone(p.poll())
        self.assertLess(time.monotonic() - started, 5)

    def test_session_exit_stops_everything_on_an_exception(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(ValueError):
                with Session(Path(tmp)) as s:
                    p = s.procs.start("sleep", ["sleep", "100"], env=s.env)
                    raise ValueError("a step failed")
            self.assertIsNotNone(p.poll())

    def test_read_line_is_bounded(self):
        procs = Processes()
        try:
            slow = procs.start("sleep", ["sleep", "100"], env=dict(os.environ),
                               stdout=subprocess.PIPE)
            started = time.monotonic()
            with self.assertRaisesRegex(E2EError, "timed out"):
                _read_line(slow, 0.3, "a line")
            self.assertLess(time.monotonic() - started, 2)
            gone = procs.start("sh", ["sh", "-c", "printf half"], env=dict(os.environ),
                               stdout=subprocess.PIPE)
            with self.assertRaisesRegex(E2EError, "ended"):
                _read_line(gone, 5, "a line")
        finally:
            procs.stop_all()


class FakeDisplay(Display):
    """xdotool answers without X: the window is always at `x`."""

    def __init__(self, x):
        super().__init__({}, Path("/nonexistent"))
        self.x = x
        self.commands = []

    def _run(self, argv, timeout=0):
        self.commands.append(argv[:2])
        if argv[1] == "getwindowgeometry":
            return f"WINDOW=7\nX={self.x}\nY=0\nWIDTH=390\nHEIGHT=844\nSCREEN=0\n"
        return ""


class WindowTest(unittest.TestCase):
    def test_geometry(self):
        g = Window(FakeDisplay(400), "7", "t").geometry()
        self.assertEqual((g.x, g.y, g.width, g.height), (400, 0, 390, 844))

    def test_move_gives_up_after_its_tries(self):
        d = FakeDisplay(0)
        with self.assertRaisesRegex(E2EError, "stays at x=0 instead of x=400"):
            Window(d, "7", "t").move_to(400, 0, tries=2)
        self.assertEqual(d.commands.count(["xdotool", "windowmove"]), 2)


class ReadTxnTest(unittest.TestCase):
    W = read_txn.Word

    def test_find_a_word_or_a_phrase_on_one_line(self):
        ws = [self.W(10, 100, 50, 16, "Reject"), self.W(64, 100, 30, 16, "this"),
              self.W(10, 200, 50, 16, "Reject"), self.W(64, 201, 12, 16, "it."),
              self.W(10, 300, 50, 16, "(Back)")]
        self.assertEqual(read_txn.find(ws, "Reject").y, 100)
        self.assertEqual(read_txn.find(ws, "Back").x, 10)
        it = read_txn.find(ws, "it", after="Reject")
        self.assertEqual((it.x, it.y, it.text), (10, 200, "Reject it"))
        self.assertEqual(it.center, (10 + (76 - 10) // 2, 200 + 8))
        self.assertIsNone(read_txn.find(ws, "this", after="Approve"))
        # Words on different lines are no phrase.
        ws = [self.W(10, 100, 50, 16, "Reject"), self.W(10, 140, 12, 16, "it")]
        self.assertIsNone(read_txn.find(ws, "it", after="Reject"))

    def test_click_moves_within_the_window_then_clicks(self):
        d = FakeDisplay(0)
        Window(d, "7", "t").click(5, 6)
        self.assertEqual(d.commands, [["xdotool", "mousemove"], ["xdotool", "click"]])


class FakeWeb:
    def __init__(self, answer):
        self.answer = answer
        self.requests = []

    def request(self, req, timeout=180):
        self.requests.append(req)
        return self.answer


class MitbChecksTest(unittest.TestCase):
    """The rehearsal's "nothing runs without the app" check fails when web
    banking moves on or executes without a decision in the window."""

    def mitb(self, answer, receipts):
        from .mitb import Mitb

        m = Mitb.__new__(Mitb)
        m.web = FakeWeb(answer)
        m.transfer_receipts = lambda: receipts
        return m

    def test_passes_while_pending_and_nothing_executed(self):
        m = self.mitb({"ok": True, "state": "pending"}, [])
        m.undecided("t", receipts=0)
        self.assertEqual(m.web.requests[0]["cmd"], "txn_wait")

    def test_fails_if_the_page_reached_done_without_the_app(self):
        m = self.mitb({"ok": True, "state": "done"}, [])
        with self.assertRaisesRegex(E2EError, "moved on"):
            m.undecided("t", receipts=0)

    def test_fails_if_a_transfer_ran_without_the_app(self):
        m = self.mitb({"ok": True, "state": "pending"}, [(1, {"account_number": "9876543"})])
        with self.assertRaisesRegex(E2EError, "executed without a decision"):
            m.undecided("t", receipts=0)


class BankTest(unittest.TestCase):
    def test_demo_customer_line(self):
        out = ("demo customer: contract_id=1000001 password=abc123def456\n"
               "demo customer: contract_id=1000002 password=zzz\nlistening on http://x\n")
        m = DEMO_CUSTOMER.search(out)
        self.assertEqual(m.groups(), ("1000001", "abc123def456"))
        self.assertNotIn("abc123", repr(Customer(*m.groups())))
        self.assertIsNone(DEMO_CUSTOMER.search("demo customer: contract_id=x password=y\n"))

    def test_pair_link(self):
        link = Bank.pair_link({"bank_id": "demo", "url": "http://127.0.0.1:1/&x",
                               "server_key_id": "k1"})
        scheme, _, query = link.partition("?")
        self.assertEqual(scheme, "softtoken://pair")
        self.assertEqual(urllib.parse.parse_qs(query),
                         {"v": ["1"], "bank": ["demo"], "url": ["http://127.0.0.1:1/&x"],
                          "kid": ["k1"]})
        with self.assertRaisesRegex(E2EError, "server_key_id"):
            Bank.pair_link({"bank_id": "demo", "url": "u"})


class StatusHandler(http.server.BaseHTTPRequestHandler):
    ANSWERS = {"/v1/tokens/KNOWN/status": (200, b'{"state":"active"}'),
               "/v1/tokens/GONE/status": (200, b'{"state":"revoked"}'),
               "/v1/tokens/ODD/status": (200, b'{"state":"weird"}'),
               "/v1/tokens/LIST/status": (200, b'["active"]'),
               "/v1/tokens/JUNK/status": (200, b'<html>')}

    def do_GET(self):
        status, body = self.ANSWERS.get(self.path, (404, b'{"error":"not_found"}'))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class OracleTest(unittest.TestCase):
    def test_bank_oracle_and_token_state(self):
        server = http.server.HTTPServer(("127.0.0.1", 0), StatusHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_port}"
            knows = read_token.bank_oracle(url)
            self.assertTrue(knows("KNOWN"))
            self.assertTrue(knows("GONE"))
            for serial in ("ODD", "LIST", "JUNK", "NOPE", "A/B"):
                self.assertFalse(knows(serial), serial)
            bank = Bank(Processes(), {}, Path("/nonexistent"), Path("/d"), Path("/l"))
            bank.url = url
            self.assertEqual(bank.token_state("KNOWN"), "active")
            self.assertEqual(bank.token_state("NOPE"), "")
            self.assertEqual(bank.token_state("LIST"), "")
        finally:
            server.shutdown()
            server.server_close()

    def test_known_oracle(self):
        knows = read_token.known_oracle("A,B".split(","))
        self.assertTrue(knows("A"))
        self.assertFalse(knows("C"))


FAKE_DRIVER = r"""
import { createInterface } from 'node:readline';
for await (const line of createInterface({ input: process.stdin })) {
  const r = JSON.parse(line);
  if (r.cmd === 'quit') break;
  if (r.cmd === 'echo') process.stdout.write('{"ok":true,"echoed":true}\n');
  if (r.cmd === 'junk') process.stdout.write('not json\n');
  if (r.cmd === 'list') process.stdout.write('[1]\n');
  if (r.cmd === 'fine') process.stdout.write(JSON.stringify({ ok: true, echoed: false, got: r }) + '\n');
  if (r.cmd === 'refuse') process.stdout.write('{"ok":false,"at":"register","error":"E"}\n');
}
process.exit(0);
"""


class WebBankingTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = Path(self.tmp.name)
        (root / "tests" / "browser").mkdir(parents=True)
        (root / "tests" / "browser" / "webbank-driver.mjs").write_text(FAKE_DRIVER)
        self.procs = Processes()
        self.web = WebBanking(self.procs, dict(os.environ), root, "http://x", root / "shots",
                              Customer("1000001", "pw"), root / "webbank.log")
        self.web.start()

    def tearDown(self):
        self.procs.stop_all()
        self.tmp.cleanup()

    def test_answers(self):
        answer = self.web.request({"cmd": "fine", "otp": "123456"}, timeout=20)
        self.assertEqual(answer["got"], {"cmd": "fine", "otp": "123456"})
        answer = self.web.request({"cmd": "refuse"}, timeout=20)
        self.assertIs(answer["ok"], False)
        self.assertEqual(why(answer), "at=register url=None error=E")
        with self.assertRaisesRegex(E2EError, "echoed a typed code"):
            self.web.request({"cmd": "echo"}, timeout=20)
        with self.assertRaisesRegex(E2EError, "not JSON"):
            self.web.request({"cmd": "junk"}, timeout=20)
        with self.assertRaisesRegex(E2EError, "not an object"):
            self.web.request({"cmd": "list"}, timeout=20)
        with self.assertRaisesRegex(E2EError, "timed out"):
            self.web.request({"cmd": "silent"}, timeout=0.5)
        self.web.quit()
        self.assertEqual(self.web.proc.returncode, 0)
        with self.assertRaisesRegex(E2EError, "gone"):
            self.web.request({"cmd": "fine"})

    def test_fields(self):
        self.assertEqual(compact(" ABCD EFGH\nJKMN "), "ABCDEFGHJKMN")
        self.assertEqual(field({"a": "x", "b": 1}, "a"), "x")
        self.assertEqual(field({"a": "x", "b": 1}, "b"), "")
        self.assertEqual(field({}, "c"), "")


class ScreenshotDirTest(unittest.TestCase):
    def setUp(self):
        self.saved = {k: os.environ.pop(k, None) for k in ("E2E_SHOTS", "SOFTTOKEN_UPDATE_DOCS")}

    def tearDown(self):
        for k, v in self.saved.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v

    def test_target_unless_asked(self):
        self.assertEqual(cli.screenshot_dir(), cli.ROOT / "target" / "screenshots")
        os.environ["SOFTTOKEN_UPDATE_DOCS"] = "0"
        self.assertEqual(cli.screenshot_dir(), cli.ROOT / "target" / "screenshots")
        os.environ["SOFTTOKEN_UPDATE_DOCS"] = "1"
        self.assertEqual(cli.screenshot_dir(), cli.ROOT / "docs" / "screenshots")
        os.environ["E2E_SHOTS"] = "/tmp/elsewhere"
        self.assertEqual(cli.screenshot_dir(), Path("/tmp/elsewhere"))


if __name__ == "__main__":
    unittest.main()
