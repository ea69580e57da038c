"""The reference bank as a child process: `softtoken-bank serve`, the URL and
the first demo customer from its output, its profile and pairing link, and the
public token status."""
from __future__ import annotations

import http.client
import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .session import E2EError, Processes, wait_until

DEMO_CUSTOMER = re.compile(r"^demo customer: contract_id=([0-9]+) password=([^ ]+)$", re.M)
LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass(frozen=True)
class Customer:
    """A demo customer of web banking (the password is not in `repr`)."""

    contract_id: str
    password: str = field(repr=False)


class Bank:
    """`softtoken-bank serve --data DATA --listen LISTEN [--demo] [--test-clock]
    --txn-auth TXN_AUTH`, its output in `log`. `txn_auth` defaults to "off" (the
    code-only 振込 the scenario walks)."""

    def __init__(self, procs: Processes, env: dict, bin_dir: Path, data: Path, log: Path, *,
                 listen: str = "127.0.0.1:0", demo: bool = True, test_clock: bool = False,
                 txn_auth: str = "off"):
        self.procs = procs
        self.env = env
        self.exe = bin_dir / "softtoken-bank"
        self.data = data
        self.log = log
        self.listen = listen
        self.demo = demo
        self.test_clock = test_clock
        self.txn_auth = txn_auth
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""

    def start(self, timeout: float = 60) -> str:
        """Starts the bank and waits (bounded) until it listens; returns its URL."""
        if not self.exe.is_file():
            raise E2EError(f"no bank binary at {self.exe}")
        argv = [str(self.exe), "serve", "--listen", self.listen, "--data", str(self.data)]
        argv += ["--demo"] if self.demo else []
        argv += ["--test-clock"] if self.test_clock else []
        argv += ["--txn-auth", self.txn_auth]
        self.log.write_bytes(b"")
        self.proc = self.procs.start("the bank", argv, env=self.env, log=self.log)

        def listening():
            if self.proc.poll() is not None:
                raise E2EError(f"the bank ended with status {self.proc.returncode} "
                               f"(see {self.log.name})")
            m = LISTENING.search(self.output())
            return m.group(1) if m else None

        self.url = wait_until("the bank to listen", listening, timeout)
        return self.url

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def demo_customer(self, timeout: float = 10) -> Customer:
        """The first `demo customer: contract_id=… password=…` line."""
        m = wait_until("the bank to print a demo customer",
                       lambda: DEMO_CUSTOMER.search(self.output()), timeout)
        return Customer(m.group(1), m.group(2))

    def write_profile(self, dst: Path) -> dict:
        """`softtoken-bank profile --data DATA` into `dst`; returns it parsed."""
        try:
            done = subprocess.run([str(self.exe), "profile", "--data", str(self.data)],
                                  env=self.env, capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            raise E2EError("softtoken-bank profile took more than 30 s") from None
        if done.returncode != 0:
            raise E2EError(f"softtoken-bank profile failed: {done.stderr.decode()[:200]}")
        try:
            profile = json.loads(done.stdout)
        except ValueError:
            raise E2EError("softtoken-bank profile printed no JSON") from None
        if not isinstance(profile, dict):
            raise E2EError("softtoken-bank profile printed no JSON object")
        dst.write_bytes(done.stdout)
        return profile

    @staticmethod
    def pair_link(profile: dict) -> str:
        """The `softtoken://pair?…` link a simulator pairs with."""
        try:
            query = {"v": 1, "bank": profile["bank_id"], "url": profile["url"],
                     "kid": profile["server_key_id"]}
        except KeyError as e:
            raise E2EError(f"the bank's profile has no {e.args[0]}") from None
        return "softtoken://pair?" + urllib.parse.urlencode(query)

    def token_state(self, serial: str) -> str:
        """The public `/v1/tokens/{serial}/status` state ("" if the bank
        answers without one, e.g. for a serial it does not know)."""
        quoted = urllib.parse.quote(serial, safe="")
        try:
            with urllib.request.urlopen(f"{self.url}/v1/tokens/{quoted}/status", timeout=10) as r:
                body = r.read()
        except urllib.error.HTTPError as e:
            body = e.read()
        except (OSError, http.client.HTTPException) as e:
            raise E2EError(f"the bank did not answer the status request: {e}") from None
        try:
            answer = json.loads(body)
        except ValueError:
            return ""
        state = answer.get("state") if isinstance(answer, dict) else None
        return state if isinstance(state, str) else ""
