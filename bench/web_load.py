"""Latency of every page type and API call of ``atlas-crawl serve`` under concurrent
clients, and the server's memory over the run.

    python bench/web_load.py --database-url URL [--clients 20] [--requests 10000]

Starts the server on a free port of 127.0.0.1 against the database (best: the full demo
backfill, see docs/BENCHMARKS.md), then sends ``--requests`` requests from ``--clients``
threads in turn over the page types, each type over up to ``--per-type`` different
addresses (nothing warmed first: every address is made on its first visit), and prints
each type's median and p95 in milliseconds, the median of first visits, and the
server's resident memory after each tenth of the requests.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]


WORDS = [
    "data",
    "privacy",
    "cookies",
    "account",
    "payment",
    "law",
    "children",
    "delete",
    "share",
    "third parties",
    "advertising",
    "terminate",
    "liability",
    "content",
    "email",
]


def _urls(db_url: str, per_type: int) -> dict[str, list[str]]:
    """For each page type, up to ``per_type`` different addresses (every platform,
    document and change, a sample of versions and provisions): each is first made on
    its first request, as a reader's visit would."""
    with psycopg.connect(db_url) as conn:

        def ids(sql: str) -> list[str]:
            return [str(r[0]) for r in conn.execute(sql, (per_type,)).fetchall()]

        changes = ids("SELECT record_id FROM changes ORDER BY change_id DESC LIMIT %s")
        provisions = ids("SELECT record_id FROM provision_records ORDER BY "
                         "hashtext(record_id) LIMIT %s")  # fmt: skip
        versions = ids("SELECT record_id FROM versions ORDER BY hashtext(record_id) LIMIT %s")
        documents = ids("SELECT record_id FROM documents ORDER BY document_id LIMIT %s")
        platforms = ids("SELECT lower(trim(both '-' from regexp_replace(name, '[^a-zA-Z0-9]+', "
                        "'-', 'g'))) FROM platforms ORDER BY platform_id LIMIT %s")  # fmt: skip
        types = ids("SELECT DISTINCT clause_type FROM text_clause_types LIMIT %s")
    words = [w.replace(" ", "+") for w in WORDS]
    return {
        "page /": ["/"],
        "page platform": [f"/platforms/{p}" for p in platforms],
        "page document": [f"/documents/{d}" for d in documents],
        "page version": [f"/versions/{v}" for v in versions],
        "page change": [f"/changes/{c}" for c in changes],
        "page provision": [f"/provisions/{p}" for p in provisions],
        "page type": [f"/types/{t}" for t in types],
        "page search": [f"/search?q={w}" for w in words],
        "feed": ["/feeds/changes.xml"] + [f"/feeds/platforms/{p}.xml" for p in platforms],
        "api platforms": ["/api/v1/platforms"],
        "api changes": ["/api/v1/changes"] + [f"/api/v1/changes?cursor={c}" for c in changes],
        "api change": [f"/api/v1/changes/{c}" for c in changes],
        "api provision": [f"/api/v1/provisions/{p}" for p in provisions],
        "api type": [f"/api/v1/types/{t}" for t in types],
        "api search": [f"/api/v1/search?q={w}" for w in words],
    }


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the workers), in MB."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        total += _rss_mb(int(child))
    return total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument(
        "--per-type",
        type=int,
        default=200,
        help="different addresses per page type (each made on its first visit)",
    )
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "atlas_crawl.cli", "serve", "--port", str(port),
         "--connections", str(min(args.clients, 16)), "--workers", str(args.workers)],
        cwd=ROOT, env={**os.environ, "ATLAS_DATABASE_URL": args.database_url},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    urls = _urls(args.database_url, args.per_type)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        urllib.request.urlopen(base + "/", timeout=30).read()  # templates loaded
        times: dict[str, list[float]] = defaultdict(list)
        first: dict[str, list[float]] = defaultdict(list)
        seen: set[str] = set()
        memory: list[float] = [_rss_mb(server.pid)]
        lock = threading.Lock()
        counter = iter(range(args.requests))
        names = list(urls)
        step = max(args.requests // 10, 1)

        def client() -> None:
            for i in counter:
                name = names[i % len(names)]
                path = urls[name][(i // len(names)) % len(urls[name])]
                started = time.perf_counter()
                with urllib.request.urlopen(base + path, timeout=60) as answer:
                    answer.read()
                    assert answer.status == 200, path
                took = (time.perf_counter() - started) * 1000
                with lock:
                    times[name].append(took)
                    if path not in seen:
                        seen.add(path)
                        first[name].append(took)
                    if i % step == step - 1:
                        memory.append(_rss_mb(server.pid))

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{args.requests} requests from {args.clients} clients in {elapsed:.1f} s "
          f"({args.requests / elapsed:.0f} per second)")  # fmt: skip
    print(f"{'resource':16} {'addresses':>9} {'median ms':>10} {'p95 ms':>8} "
          f"{'first visits: median ms':>24}")  # fmt: skip
    for name in names:
        values = sorted(times[name])
        p95 = values[max(int(len(values) * 0.95) - 1, 0)]
        print(f"{name:16} {len(urls[name]):9} {statistics.median(values):10.1f} {p95:8.1f} "
              f"{statistics.median(first[name]):24.1f}")  # fmt: skip
    print("server memory, MB, every tenth of the run:", " ".join(f"{m:.0f}" for m in memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
