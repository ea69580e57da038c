"""50 concurrent wrong logins for one contract ID against a real bank.

Starts `softtoken-bank serve --demo` on loopback (its own data directory),
reads the server's resident memory (VmRSS) before and after 50 concurrent
`POST /login` with a wrong password for one demo customer, and fails when
the growth reaches the limit (64 MiB, issue figure) or a request is not
answered. The at-most-one-Argon2-in-flight part is proven by counting in
`crates/webbank` (`concurrent_wrong_logins_run_one_password_check`); this
stage shows the memory side on the real binary. Bounded: one burst, every
request with a 30 s timeout, the whole run under 120 s.

Usage: python3 tests/abuse/login_flood.py BANK_BINARY
"""
import http.client
import re
import subprocess
import sys
import tempfile
import threading
import time

LIMIT_MIB = 64
N = 50


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data", f"{tmp}/data", "--demo"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = contract = None
            deadline = time.monotonic() + 60
            while (url is None or contract is None) and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                m = re.search(r"contract_id=(\d+)", line)
                if m and contract is None:
                    contract = m.group(1)
                m = re.match(r"listening on http://([\d.]+):(\d+)", line)
                if m:
                    url = (m.group(1), int(m.group(2)))
            if url is None or contract is None:
                print("login_flood: the bank did not start")
                return 1
            threading.Thread(target=proc.stdout.read, daemon=True).start()

            c = http.client.HTTPConnection(*url, timeout=30)
            c.request("GET", "/login")
            r = c.getresponse()
            page = r.read().decode()
            cookie = r.getheader("Set-Cookie", "").split(";")[0]
            m = re.search(r'name="csrf" value="([^"]+)"', page)
            if not cookie or not m:
                print("login_flood: no session cookie or CSRF token on /login")
                return 1
            body = f"csrf={m.group(1)}&contract_id={contract}&password=wrong-password-0"
            before = rss_kib(proc.pid)

            statuses = []
            lock = threading.Lock()
            barrier = threading.Barrier(N)

            def one():
                try:
                    k = http.client.HTTPConnection(*url, timeout=30)
                    barrier.wait(timeout=30)
                    k.request("POST", "/login", body=body, headers={
                        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
                    resp = k.getresponse()
                    resp.read()
                    st = resp.status
                except Exception as e:  # noqa: BLE001 - reported below
                    st = f"error {type(e).__name__}"
                with lock:
                    statuses.append(st)

            threads = [threading.Thread(target=one) for _ in range(N)]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            after = rss_kib(proc.pid)
            growth_mib = (after - before) / 1024
            answered = [s for s in statuses if isinstance(s, int)]
            print(f"login_flood: {N} concurrent wrong logins for one contract ID in "
                  f"{time.monotonic() - t0:.1f} s; statuses {sorted(set(map(str, statuses)))}; "
                  f"RSS {before / 1024:.1f} → {after / 1024:.1f} MiB (growth {growth_mib:.1f} MiB, limit {LIMIT_MIB})")
            if len(answered) != N or any(s >= 500 for s in answered):
                print("login_flood: not every request got a clear answer")
                return 1
            if growth_mib >= LIMIT_MIB:
                print("login_flood: memory grew past the limit")
                return 1
            return 0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
