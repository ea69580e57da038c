"""Screenshots of the real simulator window for the README: the token screen
at 100 % and 200 % text in the light and the dark theme, and the QA panel.

1. a private session bus with an unlocked throw-away gnome-keyring (own
   HOME), Xvfb, one token seeded into a throw-away profile by the bench
   helper `seed_profile` (through the real store and keystore); its bank is
   a stub on loopback that answers the STK1 status request `active` with a
   `Date` header (and 404 to the transaction poll: no STK1-TXN), so the
   window shows the "in use" screen without a bank or web banking;
2. five simulators side by side, each on its own name for that profile
   (a symlink: same keystore namespace, own window title), English:
   * 100 % / 200 % text: `GDK_DPI_SCALE` 1 or 2, the desktop's font scale
     as GTK reads it, which WebKitGTK applies to the page's root font size
     (the app's sizes are in rem);
   * light / dark: `GTK_THEME=Adwaita` or `Adwaita:dark`, which WebKitGTK
     reports to the page as `prefers-color-scheme`;
   * the QA panel: `--qa --clock-offset 30` at 100 %, light;
3. checks, by OCR as a person would read them, that the serial and both
   3-digit groups of the code are read with confidence (two agreeing
   readings) in every token window, at 200 % included (so the code is not
   clipped), the same code in all windows of one 30 s step, and that the
   dark windows are dark (mean brightness) and the light ones light; the
   QA window shows its panel (OCR finds its "QA panel", "App clock" and "Bank status" headings).

PNGs go to target/screenshots/ (docs/screenshots/ with
SOFTTOKEN_UPDATE_DOCS=1, or --shots DIR). Codes are never printed.
"""
from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import read_token
from .session import E2EError, Keyring, Session, Window, wait_until

STEP = 30
PREFIX = "30-app-e2e gallery"


@dataclass(frozen=True)
class Shot:
    """One window: its screenshot name, text scale, theme and extra flags."""

    name: str
    scale: float
    dark: bool
    qa: bool = False

    @property
    def env(self) -> dict:
        return {"GDK_DPI_SCALE": f"{self.scale:g}",
                "GTK_THEME": "Adwaita:dark" if self.dark else "Adwaita"}


SHOTS = [
    Shot("app-token-100-light", 1.0, False),
    Shot("app-token-200-light", 2.0, False),
    Shot("app-token-100-dark", 1.0, True),
    Shot("app-token-200-dark", 2.0, True),
    Shot("app-qa-panel", 1.0, False, qa=True),
]
WIDTH = 390  # the simulator's window width (src/main.rs)


def say(text: str) -> None:
    print(f"{PREFIX}: {text}", flush=True)


class StatusStub:
    """A loopback HTTP server answering `GET /v1/tokens/{serial}/status` with
    `{"v":1,"serial":…,"state":"active"}` (and the `Date` header every
    answer of `http.server` carries), 404 to everything else."""

    def __init__(self) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                m = re.fullmatch(r"/v1/tokens/([0-9A-Z]{12})/status", self.path)
                if m:
                    body = json.dumps({"v": 1, "serial": m.group(1), "state": "active"})
                    self._answer(200, body)
                else:
                    self._answer(404, json.dumps({"v": 1, "error": "not_found"}))

            def do_POST(self):  # noqa: N802
                self._answer(404, json.dumps({"v": 1, "error": "not_found"}))

            def _answer(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "StatusStub":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def seed(bin_dir: Path, env: dict, profile: Path, url: str) -> str:
    """Seeds one token into `profile` with `seed_profile` and points its bank
    at `url` (the metadata file is plain JSON); returns the serial."""
    exe = bin_dir / "examples" / "seed_profile"
    if not exe.is_file():
        raise E2EError(f"no {exe} (cargo build -p softtoken --example seed_profile)")
    try:
        done = subprocess.run([str(exe), str(profile)], env=env, capture_output=True,
                              text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise E2EError("seed_profile took more than 30 s") from None
    if done.returncode != 0:
        raise E2EError(f"seed_profile failed: {done.stderr.strip()[:200]}")
    serial = done.stdout.strip()
    meta_file = profile / "tokens.json"
    doc = json.loads(meta_file.read_text())
    for entry in doc["tokens"]:
        entry["meta"]["bank"].update(url=url, name="デモ信用金庫", id="demo")
    meta_file.write_text(json.dumps(doc, ensure_ascii=False))
    return serial


def brightness(png: Path) -> float:
    """Mean brightness of an image, 0 (black) … 1 (white)."""
    out = subprocess.run(["convert", str(png), "-colorspace", "Gray", "-format", "%[fx:mean]",
                          "info:"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise E2EError(f"convert could not measure {png.name}")
    return float(out.stdout.strip())


def code_alone(png: Path, crops: Path, name: str) -> read_token.Code:
    """The code of a window read as `read_token.read_window` reads it (the
    tallest line of two 3-digit groups, two agreeing readings), without the
    serial; its box must lie inside the window with a margin (not clipped,
    not cut by the window's edge)."""
    import tempfile

    crops.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["identify", "-format", "%w %h", str(png)], capture_output=True,
                         text=True, timeout=60)
    width, height = (int(v) for v in out.stdout.split())
    with tempfile.TemporaryDirectory() as tmp:
        pairs = []
        for words in read_token.lines(str(png), tmp):
            words.sort()
            pairs += [words[i:i + 2] for i in range(len(words) - 1)
                      if all(re.fullmatch(r"\d{3}", w[4]) for w in words[i:i + 2])]
        if not pairs:
            raise read_token.Unreadable(f"{name}: no line of two 3-digit groups")
        pair = max(pairs, key=lambda p: max(w[3] for w in p))
        x, y, w, h = read_token.union(pair, pad=8)
        if x < 4 or y < 4 or x + w > width - 4 or y + h > height - 4:
            raise E2EError(f"{name}: the code's box {x},{y} {w}x{h} is not inside the "
                           f"{width}x{height} window")
        code, _ = read_token.agreed(str(png), (x, y, w, h), read_token.CODE_VARIANTS,
                                    read_token.read_code, lambda c: len(c) == 6, tmp,
                                    str(crops), "code")
    if not code:
        raise read_token.Unreadable(f"{name}: code disputed")
    return read_token.Code(code)


@dataclass
class Gallery:
    root: Path
    bin_dir: Path
    work: Path
    shots: Path

    def run(self) -> None:
        exe = self.bin_dir / "softtoken"
        if not exe.is_file():
            raise E2EError(f"no softtoken in {self.bin_dir}")
        home = self.work / "home"
        keyring = Keyring("throwaway-gallery", home / ".local" / "share")
        screen = f"{WIDTH * len(SHOTS) + 10 * len(SHOTS)}x900x24"
        with StatusStub() as stub, Session(self.work, private_bus=True, keyring=keyring,
                                           home=home, xvfb=True, screen=screen) as s:
            self.shots.mkdir(parents=True, exist_ok=True)
            profile = self.work / "token"
            serial = seed(self.bin_dir, s.env, profile, stub.url)
            say(f"seeded token {serial}; bank status stub at {stub.url}")
            windows = [self.start(s, exe, shot, profile, i) for i, shot in enumerate(SHOTS)]
            self.take(windows, serial)

    @staticmethod
    def place(windows: list[tuple[Shot, Window]]) -> None:
        """Puts each window at its own x again (a window may place itself
        anew after its page loaded; Xvfb has no window manager)."""
        for i, (_shot, window) in enumerate(windows):
            if window.geometry().x != i * (WIDTH + 10):
                window.move_to(i * (WIDTH + 10), 0)

    def start(self, s: Session, exe: Path, shot: Shot, profile: Path, i: int):
        name = f"gallery-{i}"
        link = self.work / name
        link.symlink_to(profile, target_is_directory=True)
        argv = [str(exe), "--profile", str(link), "--lang", "en"]
        argv += ["--qa", "--clock-offset", "30"] if shot.qa else []
        env = dict(s.env, **shot.env)
        s.procs.start(f"simulator {shot.name}", argv, env=env, log=self.work / f"{name}.log")
        window = s.display.find_window(f"^softtoken: {re.escape(name)}$")
        window.move_to(i * (WIDTH + 10), 0)
        return shot, window

    def take(self, windows: list[tuple[Shot, Window]], serial: str) -> None:
        """Screenshots every window within one 30 s step (second 3..20, so the
        status has arrived and the next code is not shown yet), then reads
        and checks them; again (bounded) if OCR is unsure or the step
        changed."""
        knows = read_token.known_oracle([serial])
        deadline = time.monotonic() + 100
        last = ""
        while time.monotonic() < deadline:
            now = int(time.time())
            if not 3 <= now % STEP <= 20:
                time.sleep(0.5)
                continue
            step = now // STEP
            time.sleep(2)  # the windows have drawn this step
            self.place(windows)
            pngs = {shot: w.screenshot(self.work / f"{shot.name}.png") for shot, w in windows}
            if int(time.time()) // STEP != step:
                continue
            try:
                self.check(pngs, knows, serial)
            except read_token.Unreadable as e:
                last = str(e)
                say(f"not read with confidence ({e}); again")
                time.sleep(1)
                continue
            for shot, png in pngs.items():
                dst = self.shots / f"{shot.name}.png"
                os.replace(png, dst)
                say(f"wrote {dst}")
            return
        raise E2EError(f"the windows were not read with confidence within 100 s ({last})")

    def check(self, pngs: dict, knows, serial: str) -> None:
        codes = []
        for shot, png in pngs.items():
            light = brightness(png)
            if shot.dark and light > 0.35:
                raise E2EError(f"{shot.name}: not dark (mean brightness {light:.2f})")
            if not shot.dark and light < 0.6:
                raise E2EError(f"{shot.name}: not light (mean brightness {light:.2f})")
            if shot.qa:
                text = read_token.text_of(str(png), str(self.work))
                for want in ("QA panel", "App clock", "Bank status"):
                    if want not in text:
                        raise read_token.Unreadable(f"{shot.name}: no {want!r} read")
                continue
            src = png
            if shot.dark:  # tesseract reads dark text on light ground
                src = png.with_name(png.stem + "-negated.png")
                subprocess.run(["convert", str(png), "-negate", str(src)], check=True,
                               timeout=60)
            crops = self.work / "crops" / shot.name
            if shot.scale == 1.0:
                try:
                    reading = read_token.read_window(str(src), str(crops), knows)
                except read_token.Unreadable as e:
                    raise read_token.Unreadable(f"{shot.name}: {e}") from None
                if reading.serial != serial:
                    raise read_token.Unreadable(f"{shot.name}: serial {reading.serial} read")
                codes.append(reading.code)
            else:
                # At 200 % the serial wraps between its groups (one line is
                # what read_window reads): the code is read alone.
                codes.append(code_alone(src, crops, shot.name))
        if any(c != codes[0] for c in codes):
            raise read_token.Unreadable("the windows did not show one and the same code")


def main(root: Path, bin_dir: Path, work: Path, shots: Path) -> None:
    Gallery(root, bin_dir, work, shots).run()
