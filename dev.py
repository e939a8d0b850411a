#!/usr/bin/env python3
"""Bootstrap and run atlas-crawl with nothing but Python 3.11+ installed.

    python3 dev.py demo      # the offline demo, then its web view (installs what it needs)
    python3 dev.py test      # the test suite
    python3 dev.py browser   # Debian's Chromium, for documents that need JavaScript
    python3 dev.py <any atlas-crawl arguments>

The first run creates ``.venv`` beside this file and installs the project into it
(again whenever pyproject.toml changes). ``test`` installs Debian's Chromium too when the
tests it runs need a browser (not for tests/unit alone) and it is missing, on a Debian
machine run as root; it says so first.
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
    """Debian's Chromium, for rendered documents and the browser tests (Playwright's own
    download is not used: it needs a host that may be out of reach)."""
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
    _say("installing Debian's chromium (apt-get install chromium, about a minute)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)


def needs_browser(test_args: list[str]) -> bool:
    """Whether the tests selected may drive a browser: all but tests/unit alone."""
    paths = [a for a in test_args if not a.startswith("-")]
    return not paths or any(not a.replace("\\", "/").startswith("tests/unit") for a in paths)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if argv[0] == "browser":
        ensure_chromium()
        return 0
    ensure_venv()
    if argv[0] == "test":
        if needs_browser(argv[1:]):
            ensure_chromium()
        command = [str(PYTHON), "-m", "pytest", *argv[1:]]
    elif argv[0] == "demo":
        # The main job: the demo, then its web view (--no-serve: the demo alone).
        rest = [a for a in argv[1:] if a != "--no-serve"]
        serve = [] if "--no-serve" in argv or "--serve" in rest else ["--serve"]
        command = [str(BIN / "atlas-crawl"), "demo", *rest, *serve]
    else:
        command = [str(BIN / "atlas-crawl"), *argv]
    # The commands atlas-crawl suggests are run the way this one was.
    env = {**os.environ, "ATLAS_COMMAND": f"python3 {os.path.relpath(__file__)}"}
    # The child gets Ctrl-C too and stops as it does; this process only waits for it.
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # during the install: stop quietly, as a shell command does
        sys.exit(130)
