#!/usr/bin/env python3
"""Bootstrap and run atlas-crawl with nothing but Python 3.11+ installed.

    python3 dev.py demo     # the offline demo (installs what it needs the first time)
    python3 dev.py test     # the test suite
    python3 dev.py <any atlas-crawl arguments>

The first run creates ``.venv`` beside this file and installs the project into it
(again whenever pyproject.toml changes). ``test`` also installs Debian's Chromium for
the rendering tests when it is missing and this is a Debian machine run as root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".atlas-installed"


def _say(message: str) -> None:
    print(f"[dev.py] {message}", file=sys.stderr, flush=True)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by any Python
        sys.exit(f"atlas-crawl needs Python 3.11 or newer, this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PYTHON.exists():
        _say(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    _say("installing atlas-crawl and its dependencies (first run only)")
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def ensure_chromium() -> None:
    """Debian's Chromium for the rendering tests (Playwright cannot download its own here)."""
    known = [
        "/usr/lib/chromium/chromium",
        "/usr/bin/chromium",
        os.environ.get("ATLAS_CHROMIUM_PATH"),
    ]
    if any(p and os.path.exists(p) for p in known):
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        _say(
            "Chromium not found: the rendering tests will be skipped "
            "(install Debian's chromium or set ATLAS_CHROMIUM_PATH)"
        )
        return
    _say("installing Debian's chromium for the rendering tests")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    ensure_venv()
    if argv[0] == "test":
        ensure_chromium()
        command = [str(PYTHON), "-m", "pytest", *argv[1:]]
    else:
        command = [str(BIN / "atlas-crawl"), *argv]
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
