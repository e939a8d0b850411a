"""Latency of every page type and API call of ``atlas-crawl serve`` under concurrent
clients, and the server's memory over the run.

    python bench/web_load.py --database-url URL [--clients 20] [--requests 10000]

Starts the server on a free port of 127.0.0.1 against the database (best: the full demo
backfill, see docs/BENCHMARKS.md), warms it with one pass over the URLs, then sends
``--requests`` requests from ``--clients`` threads in turn over the page types, and
prints each type's median and p95 in milliseconds, and the server's resident memory
after each tenth of the requests.
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


def _urls(db_url: str) -> dict[str, str]:
    with psycopg.connect(db_url) as conn:

        def one(sql: str) -> str:
            row = conn.execute(sql).fetchone()
            return str(row[0]) if row else "none"

        change = one("SELECT record_id FROM changes ORDER BY change_id DESC LIMIT 1")
        provision = one("SELECT record_id FROM provision_classifications "
                        "ORDER BY severity_rank(severity) DESC LIMIT 1")  # fmt: skip
        platform = one("SELECT lower(regexp_replace(name, '[^a-zA-Z0-9]+', '-', 'g')) "
                       "FROM platforms ORDER BY platform_id LIMIT 1")  # fmt: skip
    return {
        "page /": "/",
        "page platform": f"/platforms/{platform}",
        "page document": "/documents/AC-D-00001",
        "page version": "/versions/AC-V-000001",
        "page change": f"/changes/{change}",
        "page provision": f"/provisions/{provision}",
        "page type": "/types/ai-training",
        "page search": "/search?q=data",
        "api platforms": "/api/v1/platforms",
        "api changes": "/api/v1/changes",
        "api change": f"/api/v1/changes/{change}",
        "api provision": f"/api/v1/provisions/{provision}",
        "api type": "/api/v1/types/ai-training",
        "api search": "/api/v1/search?q=data",
    }


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "atlas_crawl.cli", "serve", "--port", str(port),
         "--connections", str(min(args.clients, 16))],
        cwd=ROOT, env={**os.environ, "ATLAS_DATABASE_URL": args.database_url},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    urls = _urls(args.database_url)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        for path in urls.values():  # warm: templates, pools, caches
            urllib.request.urlopen(base + path, timeout=30).read()
        times: dict[str, list[float]] = defaultdict(list)
        memory: list[float] = [_rss_mb(server.pid)]
        lock = threading.Lock()
        counter = iter(range(args.requests))
        names = list(urls)
        step = max(args.requests // 10, 1)

        def client() -> None:
            for i in counter:
                name = names[i % len(names)]
                started = time.perf_counter()
                urllib.request.urlopen(base + urls[name], timeout=60).read()
                took = (time.perf_counter() - started) * 1000
                with lock:
                    times[name].append(took)
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
    print(f"{'resource':16} {'median ms':>10} {'p95 ms':>8}")
    for name in names:
        values = sorted(times[name])
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"{name:16} {statistics.median(values):10.1f} {p95:8.1f}")
    print("server memory, MB, every tenth of the run:", " ".join(f"{m:.0f}" for m in memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
