"""Say whether the browser tests can run: they need Debian's `chromium` (no downloaded browsers)."""

from __future__ import annotations

import os
import shutil
import sys

exe = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
if exe:
    print(f"browser tests: using {exe}")
    sys.exit(0)
msg = ("browser tests: Chromium not found, so the tests in tests/e2e will be SKIPPED.\n"
       "  Install it with: sudo apt-get install -y chromium   (or set CHROMIUM_PATH)")
if os.environ.get("CI"):
    print(msg.replace("will be SKIPPED", "cannot run in CI"), file=sys.stderr)
    sys.exit(2)
print(msg, file=sys.stderr)
