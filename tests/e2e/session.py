"""A desktop session for the simulator, shared by the end-to-end stage and
`scripts/demo`: processes with cleanup on every exit path, a private D-Bus
session bus, an unlocked gnome-keyring (the app keeps token secrets only in a
Secret Service), Xvfb, xdotool window placement and ImageMagick screenshots.

Everything here waits a bounded time: each wait names what it waited for in
the `E2EError` it raises. Nothing here ever sees a code.

    with Session(work, keyring=Keyring("password", data_home), home=work / "home") as s:
        win = s.display.find_window("^softtoken: old$")
        win.move_to(0, 0)
        win.screenshot(work / "old.png")
"""
from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, TypeVar

T = TypeVar("T")

# Longest one xdotool/ImageMagick/dbus-send command may take (seconds).
TOOL_TIMEOUT = 30
# Longest line read from a child (bytes).
MAX_LINE = 1 << 20


class E2EError(Exception):
    """A step of a session or scenario failed; the message says which (and
    never contains a code)."""


def wait_until(what: str, probe: Callable[[], Optional[T]], timeout: float,
               interval: float = 0.1) -> T:
    """Calls `probe` until it returns something other than None/False and
    returns that; at most `timeout` seconds and timeout/interval + 1 calls,
    then raises E2EError("timed out after N s waiting for WHAT")."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 1):
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise E2EError(f"timed out after {timeout:g} s waiting for {what}")


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP end the program by SystemExit, SIGINT (Ctrl-C) by
    KeyboardInterrupt, so every `with Session`/`finally` cleans up."""

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    # Also when started in the background, where SIGINT starts out ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)


class Processes:
    """Child processes, each in its own process group, stopped in reverse
    start order: SIGTERM to the child, up to `grace` seconds to exit, then
    SIGKILL to its whole group (helpers it started die with it)."""

    def __init__(self) -> None:
        self._running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], *, env: dict, log: Optional[Path] = None,
              **popen) -> subprocess.Popen:
        """Starts `argv` (stdout and stderr to `log` unless `popen` says
        otherwise). `name` is for messages."""
        out = open(log, "ab") if log else subprocess.DEVNULL
        try:
            popen.setdefault("stdin", subprocess.DEVNULL)
            popen.setdefault("stdout", out)
            popen.setdefault("stderr", out)
            proc = subprocess.Popen(argv, env=env, start_new_session=True, **popen)
        except OSError as e:
            raise E2EError(f"could not start {name} ({argv[0]}): {e.strerror}") from None
        finally:
            if log:
                out.close()
        self._running.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen, grace: float = 5.0) -> Optional[int]:
        """Stops one child (see the class); returns its exit status."""
        self._running = [(n, p) for n, p in self._running if p is not proc]
        if proc.poll() is None:
            try:
                proc.terminate()
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass  # a pipe the child left unread
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return None

    def stop_all(self) -> None:
        """Stops every child; a SIGINT/SIGTERM/SIGHUP arriving meanwhile waits
        until all are stopped (then ends the program as usual)."""
        stopping = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
        before = signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
        try:
            for _name, proc in reversed(list(self._running)):
                self.stop(proc)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)

    def alive(self, proc: subprocess.Popen) -> bool:
        return proc.poll() is None


def _read_line(proc: subprocess.Popen, timeout: float, what: str) -> str:
    """One line from `proc`'s stdout pipe within `timeout` seconds."""
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise E2EError(f"timed out after {timeout:g} s waiting for {what}")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            raise E2EError(f"{what}: the process ended (status {proc.wait()})")
        buf += chunk
        if len(buf) > MAX_LINE:
            raise E2EError(f"{what}: a line longer than {MAX_LINE} bytes")
    return buf.split(b"\n", 1)[0].decode()


def secret_service_on_bus(env: dict, activatable: bool = True) -> bool:
    """True if the session bus in `env` has a Secret Service running (or,
    with `activatable`, one it would start on demand)."""
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    for method in ("ListNames", "ListActivatableNames")[:2 if activatable else 1]:
        try:
            out = subprocess.run(
                ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                 "/org/freedesktop/DBus", f"org.freedesktop.DBus.{method}"],
                env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT).stdout
        except (OSError, subprocess.TimeoutExpired):
            return False
        if '"org.freedesktop.secrets"' in out:
            return True
    return False


@dataclass(frozen=True)
class Keyring:
    """A gnome-keyring for the session: unlocked with `password`, its
    keyrings under `data_home` (its XDG_DATA_HOME). Throw-away or demo
    passwords only: never one that protects real tokens."""

    password: str
    data_home: Path

    def __repr__(self):
        return f"Keyring(data_home={str(self.data_home)!r})"


@dataclass(frozen=True)
class Geometry:
    x: int
    y: int
    width: int
    height: int


class Display:
    """An X display (Xvfb or the desktop's), driven with xdotool; screenshots
    are the root window cropped to a window (Xvfb has no compositor)."""

    def __init__(self, env: dict, scratch: Path):
        self.env = env
        self._root_png = scratch / "root.png"

    def _run(self, argv: list[str], timeout: float = TOOL_TIMEOUT) -> str:
        try:
            done = subprocess.run(argv, env=self.env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise E2EError(f"{argv[0]} {argv[1]} took more than {timeout:g} s") from None
        if done.returncode != 0:
            raise E2EError(f"{argv[0]} {argv[1]} failed: {done.stderr.strip()[:200]}")
        return done.stdout

    def find_window(self, name_regex: str, timeout: float = 60, visible: bool = True) -> "Window":
        """The first window whose title matches `name_regex`, waiting for it
        at most `timeout` seconds."""
        argv = ["xdotool", "search", "--sync"] + (["--onlyvisible"] if visible else [])
        try:
            out = self._run(argv + ["--name", name_regex], timeout=timeout)
        except E2EError:
            raise E2EError(f"no window titled {name_regex!r} within {timeout:g} s") from None
        ids = out.split()
        if not ids:
            raise E2EError(f"no window titled {name_regex!r} within {timeout:g} s")
        return Window(self, ids[0], name_regex)

    def root_screenshot(self, dst: Path) -> None:
        self._run(["import", "-window", "root", str(dst)])


class Window:
    def __init__(self, display: Display, wid: str, title: str):
        self.display = display
        self.wid = wid
        self.title = title

    def geometry(self) -> Geometry:
        out = self.display._run(["xdotool", "getwindowgeometry", "--shell", self.wid])
        values = dict(re.findall(r"^([A-Z]+)=(-?\d+)$", out, re.M))
        try:
            return Geometry(int(values["X"]), int(values["Y"]), int(values["WIDTH"]),
                            int(values["HEIGHT"]))
        except KeyError:
            raise E2EError(f"xdotool gave no geometry for window {self.title!r}") from None

    def move_to(self, x: int, y: int = 0, tries: int = 20) -> None:
        """Moves the window until it stays at x (it may place itself after it
        is mapped: a window left at x=0 would cover another one)."""
        g = None
        for _ in range(tries):
            try:
                self.display._run(["xdotool", "windowmove", self.wid, str(x), str(y)])
            except E2EError:
                pass
            time.sleep(0.5)
            g = self.geometry()
            if g.x == x:
                return
        raise E2EError(f"window {self.title!r} stays at x={g.x if g else '?'} instead of x={x}")

    def press(self, key: str = "Return") -> None:
        try:
            self.display._run(["xdotool", "windowfocus", "--sync", self.wid], timeout=10)
        except E2EError:
            pass  # focus may already be there; the key goes to the focused window
        self.display._run(["xdotool", "key", "--clearmodifiers", key])

    def click(self, x: int, y: int) -> None:
        """Left click at (x, y) in window coordinates (as in its screenshot)."""
        self.display._run(["xdotool", "mousemove", "--window", self.wid, str(x), str(y)])
        time.sleep(0.2)
        self.display._run(["xdotool", "click", "1"])

    def type_text(self, text: str) -> None:
        """Types `text` into the focused field of the window (never a code:
        xdotool's argument list is visible to other local users)."""
        self.display._run(["xdotool", "type", "--delay", "80", text])

    def screenshot(self, dst: Path) -> Path:
        """Saves the window as PNG at `dst`, atomically (a reader never sees
        half a file); returns `dst`."""
        g = self.geometry()
        root = self.display._root_png
        self.display.root_screenshot(root)
        tmp = dst.with_name(dst.name + ".tmp")
        self.display._run(["convert", str(root), "-crop", f"{g.width}x{g.height}+{g.x}+{g.y}",
                           "+repage", f"png:{tmp}"])
        os.replace(tmp, dst)
        return dst


class Session:
    """A context manager: on entry starts what is asked for, on exit (normal,
    exception, SIGINT/SIGTERM with `install_signal_handlers`) stops every
    process it or its users started through `self.procs`.

    * `private_bus`: a `dbus-daemon --session` of its own;
    * `keyring`: a gnome-keyring on that bus (the bus must have no other
      Secret Service);
    * `home`: HOME and XDG_DATA_HOME for every child (throw-away profile);
    * `xvfb`: an Xvfb display (else the inherited DISPLAY is used, if any).

    `env` is the environment for children; `display` is None without X.
    """

    def __init__(self, work: Path, *, private_bus: bool = False,
                 keyring: Optional[Keyring] = None, home: Optional[Path] = None,
                 xvfb: bool = False, screen: str = "1280x1024x24"):
        self.work = work
        self.private_bus = private_bus
        self.keyring = keyring
        self.home = home
        self.xvfb = xvfb
        self.screen = screen
        self.procs = Processes()
        self.env = dict(os.environ)
        self.display: Optional[Display] = None

    def __enter__(self) -> "Session":
        try:
            self._start()
        except BaseException:
            self.procs.stop_all()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.procs.stop_all()

    def _start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        env = self.env
        if self.home is not None:
            self.home.mkdir(parents=True, exist_ok=True)
            env["HOME"] = str(self.home)
            env["XDG_DATA_HOME"] = str(self.home / ".local" / "share")
            env["LANG"] = "C.UTF-8"
            for var in ("LC_ALL", "LC_MESSAGES"):
                env.pop(var, None)
        if self.private_bus:
            self._start_bus()
        if self.keyring is not None:
            self._start_keyring(self.keyring)
        if self.xvfb:
            self._start_xvfb()
        if env.get("DISPLAY"):
            env.setdefault("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            self.display = Display(env, self.work)

    def _start_bus(self) -> None:
        proc = self.procs.start(
            "dbus-daemon",
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            env=self.env, log=None, stdout=subprocess.PIPE)
        address = _read_line(proc, 10, "the private session bus's address").strip()
        if not address.startswith("unix:"):
            raise E2EError("dbus-daemon printed no bus address")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address

    def _start_keyring(self, keyring: Keyring) -> None:
        keyring.data_home.mkdir(parents=True, exist_ok=True)
        env = dict(self.env, XDG_DATA_HOME=str(keyring.data_home))
        proc = self.procs.start(
            "gnome-keyring-daemon",
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            env=env, log=self.work / "keyring.log", stdin=subprocess.PIPE,
            stdout=subprocess.PIPE)
        # --unlock reads the password until end of input.
        proc.stdin.write(keyring.password.encode())
        proc.stdin.close()
        line = _read_line(proc, 20, "gnome-keyring-daemon to start")
        m = re.fullmatch(r"GNOME_KEYRING_CONTROL=(\S+)", line.strip())
        if not m:
            raise E2EError("gnome-keyring-daemon printed no GNOME_KEYRING_CONTROL")
        self.env["GNOME_KEYRING_CONTROL"] = m.group(1)
        wait_until("the keyring's Secret Service on the session bus",
                   lambda: secret_service_on_bus(self.env, activatable=False), 20, 0.2)

    def _start_xvfb(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            proc = self.procs.start(
                "Xvfb",
                ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", self.screen,
                 "-nolisten", "tcp"],
                env=self.env, log=self.work / "xvfb.log", pass_fds=(write_fd,))
        finally:
            os.close(write_fd)
        try:
            number = b""
            deadline = time.monotonic() + 20
            while not number.endswith(b"\n"):
                left = deadline - time.monotonic()
                ready = select.select([read_fd], [], [], max(left, 0))[0] if left > 0 else []
                if not ready:
                    raise E2EError("timed out after 20 s waiting for Xvfb's display number")
                chunk = os.read(read_fd, 64)
                if not chunk:
                    raise E2EError(f"Xvfb ended (status {proc.wait()}; see xvfb.log)")
                number += chunk
        finally:
            os.close(read_fd)
        if not number.strip().isdigit():
            raise E2EError("Xvfb printed no display number")
        self.env["DISPLAY"] = ":" + number.strip().decode()
        self.env.pop("WAYLAND_DISPLAY", None)
