"""The simulator's end-to-end harness (stdlib only, Python 3.11): see
`python3 -m tests.e2e --help` and tests/e2e/README.md.

Modules: `session` (processes, private bus, keyring, Xvfb, windows,
screenshots; shared with scripts/demo), `bank` (softtoken-bank as a child),
`webbank` (the headless-Chromium web banking driver over JSON lines),
`read_token` (OCR of a window), `scenario` (the end-to-end steps),
`ocr_fixtures` (OCR regression screenshots), `demo` (scripts/demo).
"""
