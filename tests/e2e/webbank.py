"""Web banking as a person in headless Chromium: `tests/browser/webbank-driver.mjs`
as a child process, one JSON request line in, one JSON answer line out."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Optional

from .bank import Customer
from .session import E2EError, Processes, _read_line


class WebBanking:
    """The driver for one customer at the bank `base_url`; screenshots it
    takes go to `shots` as e2e-NAME.png."""

    def __init__(self, procs: Processes, env: dict, root: Path, base_url: str, shots: Path,
                 customer: Customer, log: Path):
        self.procs = procs
        self.env = dict(env, WEBBANK_CONTRACT_ID=customer.contract_id,
                        WEBBANK_PASSWORD=customer.password)
        self.cwd = root / "tests" / "browser"
        self.base_url = base_url
        self.shots = shots
        self.log = log
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> None:
        self.proc = self.procs.start(
            "the web banking driver",
            ["node", "webbank-driver.mjs", "--base", self.base_url, "--shots", str(self.shots)],
            env=self.env, log=self.log, cwd=self.cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE)

    def request(self, req: dict, timeout: float = 180) -> dict:
        """Sends one request and returns the answer object. Raises E2EError
        if the driver is gone, does not answer in `timeout` seconds, answers
        something else than a JSON object, or reports that a page echoed a
        typed code."""
        if self.proc is None or self.proc.poll() is not None:
            raise E2EError(f"the web banking driver is gone (see {self.log.name})")
        try:
            self.proc.stdin.write(json.dumps(req).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise E2EError(f"the web banking driver is gone (see {self.log.name})") from None
        line = _read_line(self.proc, timeout, f"the web banking driver's answer to "
                                              f"{req.get('cmd')!r} (see {self.log.name})")
        try:
            answer = json.loads(line)
        except ValueError:
            raise E2EError("the web banking driver answered something that is not JSON") from None
        if not isinstance(answer, dict):
            raise E2EError("the web banking driver answered something that is not an object")
        if answer.get("echoed") is not False and answer.get("echoed") is not None:
            raise E2EError(f"web banking echoed a typed code ({why(answer)})")
        return answer

    def quit(self, timeout: float = 15) -> None:
        """Asks the driver to close Chromium and end; stops it if it does not."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"cmd":"quit"}\n')
                self.proc.stdin.close()
                self.proc.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.procs.stop(self.proc)


def why(answer: dict) -> str:
    """Where and why an answer was a refusal (fields that never hold a code)."""
    return "at=%s url=%s error=%s" % (answer.get("at"), answer.get("url"), answer.get("error"))


def field(answer: dict, name: str) -> str:
    """A text field of an answer ("" if absent or not text)."""
    value = answer.get(name)
    return value if isinstance(value, str) else ""


def compact(text: str) -> str:
    """A serial as shown ("ABCD EFGH JKMN", maybe over lines) made compact."""
    return "".join(text.split())
