"""The ``atlas-crawl`` command, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg

from atlas_crawl.storage.recorder import record_check
from tests.helpers import ROOT, TEXT_1, TEXT_2, Site, cli, make, write_declarations


def test_db_upgrade_is_idempotent(empty_db_url: str) -> None:
    first = cli("db", "upgrade", db_url=empty_db_url)
    assert first.returncode == 0, first.stderr
    assert "001_initial.sql" in first.stdout
    again = cli("db", "upgrade", db_url=empty_db_url)
    assert again.returncode == 0 and "up to date" in again.stdout


def test_edited_migration_is_refused(empty_db_url: str) -> None:
    assert cli("db", "upgrade", db_url=empty_db_url).returncode == 0
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET sha256 = 'x'")
    result = cli("db", "upgrade", db_url=empty_db_url)
    assert result.returncode == 2 and "was edited after it was applied" in result.stderr


def test_unreachable_database_is_a_clear_error() -> None:
    result = cli("db", "upgrade", db_url="postgresql://postgres@127.0.0.1:1/nowhere")
    assert result.returncode == 2
    assert "cannot connect to the database (ATLAS_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_history_diff_show(db: psycopg.Connection, db_url: str) -> None:
    record_check(db, make(TEXT_1))
    second = record_check(db, make(TEXT_2, body=b"<html>2</html>", minutes=5))
    history = cli("history", "--platform", "Example", "--document", "Privacy Policy", db_url=db_url)
    assert history.returncode == 0, history.stderr
    assert "version_number" in history.stdout and "checks: changed 1, first 1" in history.stdout

    recent = cli("history", "--days", "100000", db_url=db_url)
    assert recent.returncode == 0 and "changes in the last 100000 days: 1" in recent.stdout

    diff = cli("diff", str(second.change_id), "--color", "never", db_url=db_url)
    assert diff.returncode == 0, diff.stderr
    assert "version 1 -> 2" in diff.stdout and "email{+ and phone number+}" in diff.stdout
    colored = cli("diff", str(second.change_id), "--color", "always", db_url=db_url)
    assert "\x1b[32m and phone number\x1b[0m" in colored.stdout

    show = cli("show", str(second.version_id), "--text-only", db_url=db_url)
    assert show.stdout == TEXT_2

    missing = cli("diff", "999", db_url=db_url)
    assert missing.returncode == 2 and "no change with id 999" in missing.stderr


def test_crawl_command_runs_declarations_and_names_unknown_platforms(
    site: Site, tmp_path: Path, db_url: str
) -> None:
    url = site.serve("/p", "<html><body><main><h1>Privacy</h1><p>We care.</p></main></body>")
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )
    result = cli("crawl", "--declarations", str(decl), db_url=db_url)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT outcome FROM document_checks").fetchall() == [("first",)]

    unknown = cli("crawl", "linkdin", db_url=db_url)
    assert unknown.returncode == 2
    assert "no platform 'linkdin' (did you mean 'linkedin'" in unknown.stderr
    before = len(site.hits)
    service = cli("crawl", "--declarations", str(decl), "--services", "Nope", db_url=db_url)
    assert service.returncode == 2, service.stderr
    assert f"{decl}: no declaration for services ['Nope']" in service.stderr
    assert "Traceback" not in service.stderr
    assert len(site.hits) == before  # nothing fetched


def test_demo_runs_offline_on_the_embedded_database_then_serves_it(tmp_path: Path) -> None:
    """The README's main command: no database configured, no network; the demo, then the
    web view of its database until Ctrl-C."""
    import signal
    import socket
    import urllib.request

    data = Path("/tmp") / f"atlas-demo-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "ATLAS_DATA_DIR": str(data), "ATLAS_DATABASE_URL": "",
           "DATABASE_URL": ""}  # fmt: skip
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "atlas_crawl.cli", "demo", "--color", "never", "--serve",
         "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "The web view of the demo's database" in line:
                break
        out = "".join(lines)
        assert f"open http://127.0.0.1:{port}/" in out, out
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    home = answer.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "the demo's web view did not answer"
                time.sleep(0.3)
        assert "Policy changes of 1 platform(s)" in home and "AC-C-000001" in home
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/changes/AC-C-000001") as answer:
            assert "Severity raised" in answer.read().decode()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) in (0, 130)
        assert "checks: changed 1, first 1, unchanged 1" in out  # the re-fetch confirmed it
        assert "[-do not-]{+may+}" in out
        assert "build" not in out.split("$ atlas-crawl diff")[1].split("The demo database")[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        subprocess.run(["rm", "-rf", str(data)], check=False)
