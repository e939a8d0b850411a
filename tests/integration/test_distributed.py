"""Two crawler processes sharing one round through Redis (scrapy-redis) and one
PostgreSQL: every document checked exactly once, even when one process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.helpers import ROOT, Site, write_declarations

REDIS_URL = os.environ.get("ATLAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DOCUMENTS = 24


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}); the distributed mode needs one")
    return REDIS_URL


def _platforms(site: Site, tmp_path: Path, delay: float) -> Path:
    folder = tmp_path / "declarations"
    for i in range(DOCUMENTS):
        path = f"/policy/{i}"
        site.serve(path, f"<html><main><h1>Policy {i}</h1><p>Text of policy {i}.</p></main></html>")
        site.routes[path].delay = delay
        write_declarations(
            folder,
            f"Service{i:02d}",
            {"Privacy Policy": {"fetch": site.url(path), "select": "main"}},
        )
    return folder


def _worker(
    folder: Path,
    round_name: str,
    db_url: str,
    redis_url: str,
    tmp_path: Path,
    name: str,
    concurrency: int = 2,
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ATLAS_DATABASE_URL": db_url,
        "ATLAS_EVIDENCE_DIR": str(tmp_path / f"evidence-{name}"),
        "ATLAS_REDIS_URL": redis_url,
        "ATLAS_REDIS_LEASE": "2",
    }
    command = [
        sys.executable, "-m", "scrapy", "crawl", "declarations",
        "-a", f"path={folder}", "-a", f"round={round_name}",
        "-s", "AUTOTHROTTLE_ENABLED=0", "-s", f"CONCURRENT_REQUESTS={concurrency}",
    ]  # fmt: skip
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )


def _round_checks(db: psycopg.Connection, round_name: str) -> dict[str, int]:
    rows = db.execute(
        """SELECT split_part(source_ref, ':', 4), count(*) FROM checks
           WHERE source_ref LIKE %s GROUP BY 1""",
        (f"round:declarations:{round_name}:%",),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def _assert_exactly_once(db: psycopg.Connection, round_name: str) -> None:
    per_document = _round_checks(db, round_name)
    assert len(per_document) == DOCUMENTS, sorted(per_document)
    assert set(per_document.values()) == {1}
    assert db.execute("SELECT count(*) FROM checks").fetchone() == (DOCUMENTS,)
    versions = db.execute("SELECT count(*), count(DISTINCT document_id) FROM versions").fetchone()
    assert versions == (DOCUMENTS, DOCUMENTS)


def test_two_processes_share_a_round(
    site: Site, tmp_path: Path, db: psycopg.Connection, db_url: str, redis_url: str
) -> None:
    folder = _platforms(site, tmp_path, delay=0.2)
    round_name = f"test-{uuid.uuid4().hex[:8]}"
    workers = [_worker(folder, round_name, db_url, redis_url, tmp_path, n) for n in "ab"]
    for worker in workers:
        assert worker.wait(timeout=180) == 0, (tmp_path / "a.log").read_text()

    _assert_exactly_once(db, round_name)
    crawls = db.execute("SELECT count(DISTINCT crawl_id) FROM checks").fetchone()
    assert crawls == (2,), "both processes should have taken part"
    # Each page was fetched once: no document was checked by both.
    assert len([h for h in site.hits if h.startswith("/policy/")]) == DOCUMENTS

    # The same round again adds nothing: its documents were all queued once already.
    again = _worker(folder, round_name, db_url, redis_url, tmp_path, "c")
    assert again.wait(timeout=120) == 0
    assert db.execute("SELECT count(*) FROM checks").fetchone() == (DOCUMENTS,)


def test_a_killed_process_loses_nothing(
    site: Site, tmp_path: Path, db: psycopg.Connection, db_url: str, redis_url: str
) -> None:
    folder = _platforms(site, tmp_path, delay=1.0)
    round_name = f"test-{uuid.uuid4().hex[:8]}"
    doomed = _worker(folder, round_name, db_url, redis_url, tmp_path, "a")
    survivor = _worker(folder, round_name, db_url, redis_url, tmp_path, "b")
    deadline = time.monotonic() + 120
    while sum(_round_checks(db, round_name).values()) < 4:
        assert time.monotonic() < deadline, "the crawl did not start"
        time.sleep(0.2)
    doomed.send_signal(signal.SIGKILL)  # mid-run, with requests in flight
    doomed.wait(timeout=30)
    assert survivor.wait(timeout=180) == 0, (tmp_path / "b.log").read_text()

    _assert_exactly_once(db, round_name)
    log = (tmp_path / "b.log").read_text()
    assert "queued again" in log, "the killed process's requests in flight were picked up"


CHANGING = 200


def _changing_platforms(site: Site, tmp_path: Path, version: int) -> Path:
    folder = tmp_path / "changing"
    for i in range(CHANGING):
        path = f"/changing/{i}"
        site.serve(
            path,
            f"<html><main><h1>Policy {i}</h1><p>Version {version} of policy {i}: we collect "
            f"your e-mail address.</p></main></html>",
        )
        site.routes[path].delay = 0.05
        write_declarations(
            folder,
            f"Changing{i:03d}",
            {"Privacy Policy": {"fetch": site.url(path), "select": "main"}},
        )
    return folder


def _verify_checks(db: psycopg.Connection, round_name: str) -> int:
    return db.execute(
        "SELECT count(*) FROM checks WHERE source_ref LIKE %s",
        (f"round:declarations:{round_name}:%:verify",),
    ).fetchone()[0]


@pytest.mark.parametrize(
    ("first_checks", "confirmations"),
    [(5, 0), (60, 20), (150, 120)],
    ids=["before-confirmations", "during", "after-most"],
)
def test_a_killed_process_leaves_no_change_unconfirmed(
    site: Site,
    tmp_path: Path,
    db: psycopg.Connection,
    db_url: str,
    redis_url: str,
    first_checks: int,
    confirmations: int,
) -> None:
    """Every one of 200 pages changes; one of two processes is killed at a point of the
    round. The survivor finishes it: every change confirmed in the same round, none left a
    candidate, each check recorded once."""
    folder = _changing_platforms(site, tmp_path, version=1)
    setup = _worker(folder, f"setup-{uuid.uuid4().hex[:8]}", db_url, redis_url, tmp_path, "s")
    assert setup.wait(timeout=300) == 0, (tmp_path / "s.log").read_text()[-3000:]
    _changing_platforms(site, tmp_path, version=2)
    round_name = f"test-{uuid.uuid4().hex[:8]}"
    # Scrapy's default concurrency: many checks between fetch, commit and the signal
    # that queues their confirmations.
    doomed = _worker(folder, round_name, db_url, redis_url, tmp_path, "a", concurrency=16)
    survivor = _worker(folder, round_name, db_url, redis_url, tmp_path, "b", concurrency=16)
    deadline = time.monotonic() + 240
    while (
        sum(_round_checks(db, round_name).values()) - _verify_checks(db, round_name) < first_checks
        or _verify_checks(db, round_name) < confirmations
    ):
        assert time.monotonic() < deadline, "the round did not get there"
        assert survivor.poll() is None and doomed.poll() is None, "a process ended early"
        time.sleep(0.02)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    assert survivor.wait(timeout=300) == 0, (tmp_path / "b.log").read_text()[-3000:]

    left = db.execute(
        "SELECT outcome, count(*) FROM checks WHERE source_ref LIKE %s GROUP BY 1",
        (f"round:declarations:{round_name}:%",),
    ).fetchall()
    assert dict(left).get("candidate", 0) == 0, left
    changes = db.execute("SELECT count(*), count(*) FILTER (WHERE verified) FROM changes")
    assert changes.fetchone() == (CHANGING, CHANGING)
    # Each check of the round once: a first fetch and a confirmation per document.
    refs = db.execute(
        "SELECT source_ref, count(*) FROM checks WHERE source_ref LIKE %s GROUP BY 1",
        (f"round:declarations:{round_name}:%",),
    ).fetchall()
    assert len(refs) == 2 * CHANGING and {n for _, n in refs} == {1}
