"""The embedded PostgreSQL as a new user meets it: stopped by the last command that
used it, even after a command was killed; ``db stop`` and ``db shell``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import ROOT, cli


def _env(data: Path) -> dict[str, str]:
    return {"ATLAS_DATA_DIR": str(data), "ATLAS_DATABASE_URL": "embedded:atlas_try"}


def _running(data: Path) -> bool:
    return (data / "pgdata" / "postmaster.pid").exists()


def _kill_while_holding(data: Path) -> int:
    """A command killed while it holds the server (psql waiting for input under db
    shell): its process ID stays in the server's list of users."""
    held = subprocess.Popen(
        [sys.executable, "-m", "atlas_crawl.cli", "db", "shell"],
        cwd=ROOT,
        env={**os.environ, **_env(data)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    handles = data / "pgdata" / ".handle_pids.json"
    while not (handles.exists() and held.pid in json.loads(handles.read_text() or "[]")):
        assert time.monotonic() < deadline and held.poll() is None, held.stderr
        time.sleep(0.2)
    os.killpg(held.pid, signal.SIGKILL)
    held.wait(timeout=30)
    assert _running(data) and held.pid in json.loads(handles.read_text())
    return held.pid


def test_a_killed_command_leaves_no_server_running_for_ever(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = cli("db", "upgrade", db_url=None, env=_env(data), timeout=180)
    assert first.returncode == 0, first.stderr
    assert not _running(data), "the last command stops the server"
    _kill_while_holding(data)
    # The next command finds the dead handle, and as the last one stops the server.
    after = cli("history", db_url=None, env=_env(data), timeout=180)
    assert after.returncode == 0, after.stderr
    assert not _running(data), "stale handles kept the server running"
    _kill_while_holding(data)
    stopped = cli("db", "stop", db_url=None, env=_env(data), timeout=180)
    assert stopped.returncode == 0 and stopped.stdout.startswith("stopped"), stopped.stderr
    assert not _running(data)


def test_db_stop_and_db_shell(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert cli("db", "stop", db_url=None, env=_env(data)).stdout.strip().endswith("not running")
    shell = subprocess.run(
        [sys.executable, "-m", "atlas_crawl.cli", "db", "shell"],
        cwd=ROOT,
        env={**os.environ, **_env(data)},
        input="SELECT 40 + 2 AS answer;\n",
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert shell.returncode == 0, shell.stderr
    assert "42" in shell.stdout
    assert not _running(data)
    other = cli("db", "stop", db_url="postgresql://postgres@127.0.0.1:5432/postgres")
    assert other.returncode == 2 and "is not the embedded server" in other.stderr
