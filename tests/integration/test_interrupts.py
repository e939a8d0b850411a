"""Ctrl-C, as a user presses it: quiet stops with status 130, and a crawl stopped by a
first or a second Ctrl-C exits non-zero with its summary line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from tests.helpers import ROOT, A, Site, page, write_declarations


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "atlas_crawl.cli", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_in_classify_stops_quietly_with_130() -> None:
    process = _start("classify")
    assert process.stdin is not None
    process.stdin.write('{"text": "We may terminate your account at any time.", "lang": "en"}\n')
    process.stdin.flush()
    time.sleep(4)  # the model loads; the command waits for more input
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def _slow_documents(site: Site, tmp_path: Path, count: int) -> Path:
    for i in range(count):
        site.serve(f"/p{i}", page(f"Policy {i}. " + A))
        site.routes[f"/p{i}"].delay = 1.0
        write_declarations(
            tmp_path / "decl",
            f"Service{i:02d}",
            {"Privacy Policy": {"fetch": site.url(f"/p{i}"), "select": "main"}},
        )
    return tmp_path / "decl"


def _wait_for_a_check(db_url: str) -> None:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        with psycopg.connect(db_url) as conn:
            if conn.execute("SELECT count(*) FROM checks").fetchone()[0]:
                return
        time.sleep(0.1)
    raise AssertionError("nothing was recorded")


def test_an_interrupted_crawl_exits_non_zero_with_its_summary(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = _slow_documents(site, tmp_path, 40)
    env = {
        "ATLAS_DATABASE_URL": db_url,
        "ATLAS_EVIDENCE_DIR": str(tmp_path / "e"),
        "ATLAS_AUTOTHROTTLE": "0",
    }
    for presses in (1, 2):
        crawler = _start("crawl", "--declarations", str(decl), env=env)
        _wait_for_a_check(db_url)
        for _ in range(presses):
            crawler.send_signal(signal.SIGINT)
            time.sleep(0.3)
        out, err = crawler.communicate(timeout=120)
        assert crawler.returncode not in (0, None), (presses, err[-3000:])
        assert "declarations: " in out and " checks in " in out, (presses, out, err[-2000:])
        assert "Traceback" not in err, err[-3000:]
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("TRUNCATE check_store CASCADE")


def test_ctrl_c_in_the_demo_stops_quietly_and_leaves_no_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    demo = subprocess.Popen(
        [sys.executable, "-m", "atlas_crawl.cli", "demo"],
        cwd=ROOT,
        env={**os.environ, "ATLAS_DATA_DIR": str(data)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not (data / "pgdata" / "postmaster.pid").exists():
        assert time.monotonic() < deadline and demo.poll() is None, "the demo did not start"
        time.sleep(0.2)
    time.sleep(3)  # into its first crawl
    os.killpg(demo.pid, signal.SIGINT)  # as a terminal sends Ctrl-C to the foreground group
    _out, err = demo.communicate(timeout=120)
    assert demo.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    assert not (data / "pgdata" / "postmaster.pid").exists(), "the embedded server was left"


def test_ctrl_c_through_dev_py_stops_quietly_with_130() -> None:
    """dev.py waits for the command it started; Ctrl-C reaches both, as a terminal sends
    it to the foreground group, and neither prints a traceback."""
    process = subprocess.Popen(
        [sys.executable, "dev.py", "classify"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(5)  # the model loads; classify waits for input
    os.killpg(process.pid, signal.SIGINT)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
