"""Alerts: what the outbox costs when changes are recorded, and how fast ``notify``
delivers 1,000 changes x 3 watches to a local webhook receiver.

    .venv/bin/python bench/alerts_delivery.py [--changes 1000] [--watches 3]

Uses the PostgreSQL at 127.0.0.1:5432 (or ATLAS_BENCH_SERVER_URL): two scratch
databases, one recorded without watches and one with them, the same changes through
the recorder (one transaction per check, as a crawl records), then one ``notify`` pass
over the whole outbox to an HTTP receiver on 127.0.0.1 that answers 200.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas_crawl.alerts.channels import Smtp  # noqa: E402
from atlas_crawl.alerts.notify import Delivery, deliver_pending  # noqa: E402
from atlas_crawl.model import Page  # noqa: E402
from atlas_crawl.storage.migrate import upgrade  # noqa: E402
from atlas_crawl.storage.recorder import CheckRecord, record_check  # noqa: E402

SERVER = os.environ.get("ATLAS_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def text_of(n: int) -> str:
    clauses = [f"Clause {i}: we keep your data for {i * 7 + n % 5} days and then delete it."
               for i in range(12)]  # fmt: skip
    clauses[n % 12] = f"Clause {n % 12}: revision {n}, we may share usage data with partner {n}."
    return "# Privacy Policy\n\n" + "\n\n".join(clauses) + "\n"


def check(n: int) -> CheckRecord:
    at = T0 + timedelta(hours=n)
    body = f"<html><main>{n}</main></html>".encode()
    url = "https://bench.example/privacy"
    return CheckRecord(
        platform="Bench", document_type="Privacy Policy", url=url,
        declaration={"fetch": url, "select": ["main"]}, checked_at=at, captured_at=at,
        fetcher="http", user_agent="bench",
        pages=[Page(url, url, 200, {"Content-Type": ["text/html"]}, body, "text/html")],
        text=text_of(n), extractor_version="2",
    )  # fmt: skip


def scratch(name: str) -> str:
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    return psycopg.conninfo.make_conninfo(SERVER, dbname=name)


def record(url: str, changes: int, watches: int, receiver: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        upgrade(conn)
        record_check(conn, check(0))
        platform = conn.execute("SELECT platform_id FROM platforms").fetchone()[0]
        for w in range(watches):
            conn.execute(
                "INSERT INTO watches (target, target_kind, platform_id, channel, destination)"
                " VALUES ('platform:Bench', 'platform', %s, 'webhook', %s)",
                (platform, f"{receiver}/w{w}"),
            )
        started = time.perf_counter()
        for n in range(1, changes + 1):
            record_check(conn, check(n))
        return time.perf_counter() - started


def receiver() -> tuple[ThreadingHTTPServer, list[str]]:
    keys: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            keys.append(self.headers["Idempotency-Key"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # notify sends 16 at once
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, keys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--watches", type=int, default=3)
    args = parser.parse_args()
    server, keys = receiver()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    tag = uuid.uuid4().hex[:8]
    plain = record(scratch(f"bench_alerts_none_{tag}"), args.changes, 0, base)
    url = scratch(f"bench_alerts_{tag}")
    watched = record(url, args.changes, args.watches, base)
    setup = Delivery(timeout=10, max_attempts=8, backoff=30, feeds_dir=Path("/tmp"),
                     smtp=Smtp("", 0, False, "", "", ""))  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        queued = conn.execute("SELECT count(*) FROM notifications").fetchone()[0]
        started = time.perf_counter()
        tally = deliver_pending(conn, setup)
        seconds = time.perf_counter() - started
    server.shutdown()
    print(json.dumps({
        "changes": args.changes, "watches": args.watches, "notifications": queued,
        "recording_s_without_watches": round(plain, 1),
        "recording_s_with_watches": round(watched, 1),
        "outbox_cost_pct": round(100 * (watched - plain) / plain, 1),
        "delivered": tally.delivered, "delivery_s": round(seconds, 2),
        "per_second": round(tally.delivered / seconds), "unique_keys": len(set(keys)),
    }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
