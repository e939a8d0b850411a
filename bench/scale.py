"""How atlas-crawl's reads, checkpoints and verification behave over a long history.

    python bench/scale.py --checks 1000000 --database-url URL
    python bench/scale.py --checks 10000000 --database-url URL

Builds, in the database named (created when missing; it must hold no checks yet), a
history of 10,000 documents on 1,000 platforms checked twice a day up to ``--checks``
checks (bench/scale_build.py: new texts through the recorder, routine rechecks and
failures in bulk, as the recorder writes them), then times each read over repeated
calls after one warm-up call: the crawl plan, the CLI's reading commands (in this
process, each opening its connection as the command does), every page type and API call
of ``atlas-crawl serve`` (a server process with its kept answers off, so each request is
made), ``checkpoint``, and ``verify`` (full, then ``--since`` the checkpoint after one
more round of rechecks). Prints a table; the database is left in place. ``--reuse``
times an existing build again.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas_crawl.cli.main import main as cli  # noqa: E402
from atlas_crawl.storage.plan import document_states, untracked_documents  # noqa: E402
from bench.scale_build import build, more_rounds  # noqa: E402


def ensure_database(url: str) -> None:
    params = conninfo_to_dict(url)
    name = params.get("dbname", "")
    admin = make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and p95 in ms of ``repeat`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), p95(times)


def run_cli(*argv: str) -> Callable[[], object]:
    def call() -> object:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli(list(argv))
        if code != 0:
            raise RuntimeError(f"atlas-crawl {' '.join(argv)} exited {code}")
        return out.getvalue()

    return call


def samples(conn: psycopg.Connection) -> dict[str, str]:
    """One record of each kind, from the middle of the history."""

    def one(sql: str) -> str:
        row = conn.execute(sql).fetchone()
        assert row is not None, sql
        return str(row[0])

    change = one("SELECT record_id FROM changes ORDER BY change_id "
                 "OFFSET (SELECT count(*) / 2 FROM changes) LIMIT 1")  # fmt: skip
    return {
        "change": change,
        "version": one(f"SELECT v.record_id FROM versions v JOIN changes c ON "
                       f"c.to_version_id = v.version_id WHERE c.record_id = '{change}'"),
        "provision": one("SELECT record_id FROM provision_records ORDER BY provision_id "
                         "OFFSET (SELECT count(*) / 2 FROM provision_records) LIMIT 1"),
        "platform": one(f"SELECT p.name FROM changes c JOIN documents d USING (document_id) "
                        f"JOIN platforms p USING (platform_id) WHERE c.record_id = '{change}'"),
        "document": one(f"SELECT d.document_type FROM changes c JOIN documents d "
                        f"USING (document_id) WHERE c.record_id = '{change}'"),
        "document_record": one(f"SELECT d.record_id FROM changes c JOIN documents d "
                               f"USING (document_id) WHERE c.record_id = '{change}'"),
    }  # fmt: skip


def cli_reads(url: str, s: dict[str, str]) -> dict[str, Callable[[], object]]:
    def plan() -> object:
        with psycopg.connect(url) as conn:
            return document_states(conn), untracked_documents(conn)

    return {
        "crawl plan (10,000 documents)": plan,
        "status": run_cli("status"),
        "history --days 7": run_cli("history", "--days", "7"),
        "diff": run_cli("diff", s["change"], "--color", "never"),
        "show": run_cli("show", s["version"]),
        "provision": run_cli("provision", s["provision"]),
        "provisions PLATFORM DOCUMENT": run_cli("provisions", s["platform"], s["document"]),
        "compare arbitration": run_cli("compare", "arbitration"),
        "cite (change)": run_cli("cite", s["change"]),
    }


def web_paths(s: dict[str, str]) -> dict[str, str]:
    slug = s["platform"].lower().replace(" ", "-")
    return {
        "page /": "/",
        "page platforms": "/platforms?cursor=500",
        "page platform": f"/platforms/{slug}",
        "page document": f"/documents/{s['document_record']}",
        "page version": f"/versions/{s['version']}",
        "page change": f"/changes/{s['change']}",
        "page provision": f"/provisions/{s['provision']}",
        "page type": "/types/arbitration",
        "page search": "/search?q=" + quote("binding arbitration"),
        "feed changes": "/feeds/changes.xml",
        "feed platform": f"/feeds/platforms/{slug}.xml",
        "api platforms": "/api/v1/platforms",
        "api changes": "/api/v1/changes",
        "api change": f"/api/v1/changes/{s['change']}",
        "api provision": f"/api/v1/provisions/{s['provision']}",
        "api type": "/api/v1/types/arbitration",
        "api search": "/api/v1/search?q=" + quote("binding arbitration"),
    }


@contextlib.contextmanager
def server(url: str):  # type: ignore[no-untyped-def]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "ATLAS_DATABASE_URL": url, "ATLAS_WEB_CACHE_MB": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "atlas_crawl.cli", "serve", "--port",
                             str(port)], cwd=ROOT, env=env)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/api/v1/platforms", timeout=60).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def fetcher(url: str) -> Callable[[], object]:
    return lambda: urllib.request.urlopen(url, timeout=120).read()


def sizes(conn: psycopg.Connection) -> dict[str, str]:
    checks = conn.execute("SELECT count(*) FROM checks").fetchone()[0]
    routine = conn.execute(
        "SELECT count(*) FROM checks WHERE outcome = 'unchanged'").fetchone()[0]  # fmt: skip
    total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    per_check = conn.execute(
        """SELECT sum(pg_total_relation_size(relid)) FROM (
               SELECT relid FROM pg_partition_tree('check_store') WHERE isleaf
               UNION ALL SELECT 'ledger_store'::regclass UNION ALL SELECT 'check_pages'::regclass
               UNION ALL SELECT 'check_labels'::regclass) t"""
    ).fetchone()[0]
    counts = {n: conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0]
              for n in ("documents", "versions", "changes", "provision_records", "captures",
                        "ledger", "alert_notifications")}  # fmt: skip
    return {
        "checks": f"{checks:,} ({routine:,} routine)",
        **{k: f"{v:,}" for k, v in counts.items()},
        "database size": f"{total / 1e9:.2f} GB",
        "checks + pages + ledger, per check": f"{per_check / checks:.0f} bytes",
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=1_000_000)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="time an existing build")
    parser.add_argument("--no-verify", action="store_true", help="skip the full verify")
    args = parser.parse_args()
    url = args.database_url
    os.environ["ATLAS_DATABASE_URL"] = url  # the commands run in this process read it
    ensure_database(url)
    table: list[tuple[str, str]] = []
    if not args.reuse:
        with psycopg.connect(url, autocommit=True) as conn:
            stats = build(conn, args.checks, args.documents)
        table.append(("build", f"{stats.seconds:.0f} s ({stats.recorded:,} through the "
                               f"recorder, {stats.bulk:,} in bulk)"))  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        table += sizes(conn).items()
        s = samples(conn)
    tmp = tempfile.mkdtemp(prefix="atlas-scale-")
    key, cp = str(Path(tmp) / "key.pem"), str(Path(tmp) / "cp.json")
    run_cli("keygen", "--key", key)()
    for label in ("checkpoint", "checkpoint again (after the first)"):
        t = time.perf_counter()
        run_cli("checkpoint", "--key", key, "--out", cp)()
        table.append((label, f"{time.perf_counter() - t:.1f} s"))
        print(f"{label}: {table[-1][1]}", flush=True)
    for name, fn in cli_reads(url, s).items():
        median, worst = timed(fn, args.repeat)
        table.append((name, f"median {median:.0f} ms, p95 {worst:.0f} ms"))
        print(f"{name}: {table[-1][1]}", flush=True)
    with server(url) as base:
        for name, path in web_paths(s).items():
            median, worst = timed(fetcher(base + path), args.repeat)
            table.append((name, f"median {median:.0f} ms, p95 {worst:.0f} ms"))
            print(f"{name}: {table[-1][1]}", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        added = more_rounds(conn, 1)
    checks = [(f"verify --since CHECKPOINT ({added:,} checks since)", ["verify", "--since", cp])]
    if not args.no_verify:
        checks.append(("verify (full)", ["verify"]))
    for label, argv in checks:
        t = time.perf_counter()
        out = run_cli(*argv)()
        seconds = time.perf_counter() - t
        table.append((label, f"{seconds:.1f} s; {str(out).strip().splitlines()[-1]}"))
        print(f"{label}: {table[-1][1]}", flush=True)
    width = max(len(k) for k, _ in table)
    print(f"\n{'what':{width}}  measured ({args.checks:,} checks asked)")
    for k, v in table:
        print(f"{k:{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
