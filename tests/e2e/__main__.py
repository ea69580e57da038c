"""python3 -m tests.e2e COMMAND (from the repository root)

  ocr-fixtures            the OCR against the screenshots it once misread
  scenario [options]      the end-to-end scenario (tests/e2e/scenario.py)
      --bin-dir DIR       where softtoken and softtoken-bank are
                          (default $CARGO_TARGET_DIR/debug, else target/debug)
      --shots DIR         where screenshots go (default below)
      --keep              keep the work folder even when the scenario passes
  mitb [options]          the man-in-the-browser rehearsal (tests/e2e/mitb.py),
                          same options as scenario
  demo-steps [options]    the README's 取引認証 steps for scripts/demo
                          (tests/e2e/demo_steps.py), same options as scenario
  txn-latency [--runs N]  benchmark: a pending transaction appearing in the open
                          app (tests/e2e/txn_latency.py), scenario's options
  gallery [options]       README screenshots: token screen at 100 %/200 % text,
                          light/dark, and the QA panel (tests/e2e/gallery.py);
                          --bin-dir, --shots, --keep as for scenario
  demo [options]          the demo of scripts/demo (tests/e2e/demo.py)

Screenshots go to target/screenshots/ unless SOFTTOKEN_UPDATE_DOCS=1 (then
docs/screenshots/, the ones the README shows) or E2E_SHOTS=DIR.
Exit status: 0 passed, 1 failed, 2 usage.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import ocr_fixtures
from .session import E2EError, install_signal_handlers

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "30-app-e2e"


def screenshot_dir() -> Path:
    if os.environ.get("E2E_SHOTS"):
        return Path(os.environ["E2E_SHOTS"]).resolve()
    if os.environ.get("SOFTTOKEN_UPDATE_DOCS") == "1":
        return ROOT / "docs" / "screenshots"
    return ROOT / "target" / "screenshots"


def default_bin_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "debug"


def cmd_ocr_fixtures(_args) -> int:
    try:
        ocr_fixtures.check()
    except E2EError as e:
        print(f"{PREFIX}: {e}", file=sys.stderr)
        return 1
    print(f"{PREFIX}: OCR reads the screenshots it once misread correctly")
    return 0


def cmd_scenario(args) -> int:
    if args.command == "mitb":
        from .mitb import Mitb as Scenario
        prefix = "32-mitb"
    elif args.command == "demo-steps":
        from .demo_steps import DemoSteps as Scenario
        prefix = "demo-steps"
    elif args.command == "txn-latency":
        from functools import partial

        from .txn_latency import TxnLatency

        Scenario = partial(TxnLatency, runs=args.runs)
        prefix = "txn-latency"
    else:
        from .scenario import Scenario
        prefix = PREFIX

    bin_dir = Path(args.bin_dir).resolve() if args.bin_dir else default_bin_dir()
    shots = Path(args.shots).resolve() if args.shots else screenshot_dir()
    work = Path(tempfile.mkdtemp(prefix="softtoken-app-e2e."))
    print(f"{prefix}: binaries from {bin_dir}, screenshots to {shots}", flush=True)
    started = time.monotonic()
    status = 1
    try:
        Scenario(ROOT, bin_dir, work, shots).run()
        status = 0
    except E2EError as e:
        print(f"{prefix}: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        status = 130
    except SystemExit as e:
        print(f"{prefix}: stopped by a signal", file=sys.stderr)
        status = e.code if isinstance(e.code, int) else 1
    print(f"{prefix}: {time.monotonic() - started:.0f} s", flush=True)
    if status != 0:
        print(f"{prefix}: FAILED ({status}); logs and OCR crops kept in {work}:")
        for log in sorted(work.glob("*.log")):
            print(f"--- {log}")
            print("\n".join(log.read_text(errors="replace").splitlines()[-30:]))
    elif args.keep:
        print(f"{prefix}: work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    if status == 0:
        print(f"{prefix}: ok")
    return status


def cmd_gallery(args) -> int:
    from . import gallery

    bin_dir = Path(args.bin_dir).resolve() if args.bin_dir else default_bin_dir()
    shots = Path(args.shots).resolve() if args.shots else screenshot_dir()
    work = Path(tempfile.mkdtemp(prefix="softtoken-gallery."))
    started = time.monotonic()
    status = 1
    try:
        gallery.main(ROOT, bin_dir, work, shots)
        status = 0
    except E2EError as e:
        print(f"{gallery.PREFIX}: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        status = 130
    print(f"{gallery.PREFIX}: {time.monotonic() - started:.0f} s", flush=True)
    if status != 0 or args.keep:
        print(f"{gallery.PREFIX}: work folder kept: {work}")
        for log in sorted(work.glob("*.log")) if status != 0 else []:
            print(f"--- {log}")
            print("\n".join(log.read_text(errors="replace").splitlines()[-20:]))
    else:
        shutil.rmtree(work, ignore_errors=True)
    if status == 0:
        print(f"{gallery.PREFIX}: ok")
    return status


def cmd_demo(args) -> int:
    from . import demo as demo_module

    return demo_module.main(args)


def main(argv=None) -> int:
    install_signal_handlers()
    parser = argparse.ArgumentParser(prog="python3 -m tests.e2e", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("ocr-fixtures").set_defaults(run=cmd_ocr_fixtures)
    p = sub.add_parser("scenario")
    p.add_argument("--bin-dir")
    p.add_argument("--shots")
    p.add_argument("--keep", action="store_true")
    p.set_defaults(run=cmd_scenario)
    p = sub.add_parser("mitb")
    p.add_argument("--bin-dir")
    p.add_argument("--shots")
    p.add_argument("--keep", action="store_true")
    p.set_defaults(run=cmd_scenario)
    p = sub.add_parser("demo-steps")
    p.add_argument("--bin-dir")
    p.add_argument("--shots")
    p.add_argument("--keep", action="store_true")
    p.set_defaults(run=cmd_scenario)
    p = sub.add_parser("txn-latency")
    p.add_argument("--bin-dir")
    p.add_argument("--shots")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--runs", type=int, default=20)
    p.set_defaults(run=cmd_scenario)
    p = sub.add_parser("gallery")
    p.add_argument("--bin-dir")
    p.add_argument("--shots")
    p.add_argument("--keep", action="store_true")
    p.set_defaults(run=cmd_gallery)
    p = sub.add_parser("demo")
    p.add_argument("--bin-dir", default=str(ROOT / "target" / "release"))
    p.add_argument("--port", type=int, default=8700)
    p.add_argument("--base", help="the demo's folder (default "
                                  "$XDG_DATA_HOME/softtoken-demo or ~/.local/share/softtoken-demo)")
    p.set_defaults(run=cmd_demo)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
