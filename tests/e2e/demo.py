"""The demo of `scripts/demo`: a local demo bank next to the desktop simulator.

Starts `softtoken-bank serve --demo` with its data under BASE/bank, writes
the bank's profile, prints the demo customers and the web-banking URL, and
opens the simulator (profile BASE/phone) trusting that profile, on the
pairing screen of the bank's link while the phone has no token yet. Ctrl-C
(or closing the window) stops both. BASE is ~/.local/share/softtoken-demo.

It needs two things a desktop session has; without them it makes its own:
  * a Secret Service (the app keeps token secrets only there): if the
    session bus has none, a private bus with a gnome-keyring whose keyring
    lives under BASE/keyring, unlocked with the fixed password
    "softtoken-demo" (DEMO ONLY: never for real tokens);
  * a display: without DISPLAY/WAYLAND_DISPLAY (e.g. over ssh) the window
    runs under Xvfb, pairing is confirmed automatically, and the window is
    saved every 2 s to BASE/window.png.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .bank import Bank
from .session import E2EError, Keyring, Session, secret_service_on_bus

DEMO_KEYRING_PASSWORD = "softtoken-demo"  # demo only, printed in the README
SHOT_INTERVAL = 2.0


def demo_base(arg) -> Path:
    if arg:
        return Path(arg).resolve()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "softtoken-demo"


def main(args) -> int:
    base = demo_base(args.base)
    bin_dir = Path(args.bin_dir).resolve()
    for sub in ("bank", "phone"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    keyring = None
    if not secret_service_on_bus(dict(os.environ)):
        keyring = Keyring(DEMO_KEYRING_PASSWORD, base / "keyring")
        print("demo: no Secret Service on the session bus: using a private bus and a demo keyring")
        print(f"      ({keyring.data_home}, password {DEMO_KEYRING_PASSWORD}; DEMO ONLY)")
    headless = not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    try:
        with Session(base, private_bus=keyring is not None, keyring=keyring,
                     xvfb=headless) as s:
            return _run(s, base, bin_dir, args.port, headless)
    except E2EError as e:
        print(f"demo: {e}")
        return 1
    except KeyboardInterrupt:
        return 130


def _run(s: Session, base: Path, bin_dir: Path, port: int, headless: bool) -> int:
    bank = Bank(s.procs, s.env, bin_dir, base / "bank", base / "bank.log",
                listen=f"127.0.0.1:{port}", demo=True, txn_auth="optional")
    try:
        url = bank.start()
    except E2EError:
        print(bank.output())
        raise E2EError("the bank did not start") from None
    profile_path = base / "bank-profile.json"
    link = Bank.pair_link(bank.write_profile(profile_path))

    print()
    print(f"== demo bank: {url}   (log: {bank.log})")
    for line in bank.output().splitlines():
        if "listening on" not in line:
            print(line)
    print(f"== web banking: {url}/")
    print(f"== pairing link: {link}")
    print("== Ctrl-C stops the bank and the app.")
    print()
    if headless:
        print("== no display: the simulator runs under Xvfb; its window is saved every 2 s to")
        print(f"   {base / 'window.png'} (pairing is confirmed automatically)")

    # Open on the pairing screen only while the phone has no token yet.
    argv = [str(bin_dir / "softtoken"), "--profile", str(base / "phone"),
            "--bank-profile", str(profile_path)]
    tokens = base / "phone" / "tokens.json"
    pairing = not (tokens.is_file() and '"ready"' in tokens.read_text(errors="replace"))
    if pairing:
        argv += ["--pair-link", link]
    app = s.procs.start("the simulator", argv, env=s.env, stdout=None, stderr=None)

    if headless and s.display is not None:
        # The simulator's window is titled "softtoken: <profile folder name>".
        window = s.display.find_window("^softtoken: ", timeout=60)
        if pairing:
            time.sleep(3)
            window.press("Return")
        # Until the window is closed or the demo stopped (no bound: a demo).
        while app.poll() is None:
            try:
                window.screenshot(base / "window.png")
            except E2EError:
                break  # the window is gone
            time.sleep(SHOT_INTERVAL)
    app.wait()
    return 0
