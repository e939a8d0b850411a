"""1,000 readers subscribe from the web view, confirm, and receive one change by e-mail.

    .venv/bin/python bench/subscribers.py [--subscribers 1000] [--clients 20]

In a scratch database of the PostgreSQL at 127.0.0.1:5432 (or ATLAS_BENCH_SERVER_URL):
one platform recorded, ``atlas-crawl serve`` taking subscriptions (SMTP to an aiosmtpd
server on 127.0.0.1, the hourly limits raised for the run), ``--subscribers`` readers
posting the form from ``--clients`` threads (each confirmation e-mail sent while its
request waits), each confirming through its link, then a change recorded and one
``notify`` pass delivering its alerts. Prints each stage's time and rate.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import psycopg
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts_delivery import check, scratch  # noqa: E402

from atlas_crawl.alerts.channels import Smtp  # noqa: E402
from atlas_crawl.alerts.notify import Delivery, deliver_pending  # noqa: E402
from atlas_crawl.storage.migrate import upgrade  # noqa: E402
from atlas_crawl.storage.recorder import record_check  # noqa: E402


class Mailbox:
    def __init__(self) -> None:
        self.confirmations: dict[str, str] = {}
        self.alerts = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=default)
        text = message.get_body(("plain",)).get_content()
        with self.lock:
            found = re.search(r"token=(\S+)", text)
            if message["Subject"].startswith("Confirm") and found:
                self.confirmations[message["To"]] = found.group(1)
            else:
                self.alerts += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _subscribe(base: str, n: int) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(
        http.cookiejar.CookieJar()))  # fmt: skip
    page = opener.open(f"{base}/watch?target=platform%3Abench", timeout=60).read().decode()
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page[:300]
    form = {"target": "platform:bench", "csrf": found.group(1), "email": f"r{n}@example.org"}
    with opener.open(f"{base}/watch", urllib.parse.urlencode(form).encode(), timeout=60) as r:
        assert r.status == 200


def _confirm(base: str, token: str) -> None:
    data = urllib.parse.urlencode({"token": token}).encode()
    with urllib.request.urlopen(f"{base}/watch/confirm", data, timeout=60) as r:
        assert b"Alerts confirmed" in r.read()


def _wait(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the messages did not all arrive")
        time.sleep(0.05)


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    url = scratch(f"bench_subscribers_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(url, autocommit=True) as conn:
        upgrade(conn)
        record_check(conn, check(0))
    mailbox, smtp_port = Mailbox(), _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ATLAS_DATABASE_URL": url, "ATLAS_SMTP_HOST": "127.0.0.1",
           "ATLAS_SMTP_PORT": str(smtp_port), "ATLAS_SMTP_STARTTLS": "0",
           "ATLAS_SUBSCRIBE_SECRET": uuid.uuid4().hex, "ATLAS_PUBLIC_URL": base,
           "ATLAS_SUBSCRIBE_PER_CLIENT": str(10 * args.subscribers)}  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "atlas_crawl.cli", "serve", "--port",
                               str(port)], cwd=ROOT, env=env)  # fmt: skip
    try:
        _wait(lambda: _answers(base))
        figures = {}
        with ThreadPoolExecutor(args.clients) as pool:
            started = time.perf_counter()
            list(pool.map(lambda n: _subscribe(base, n), range(args.subscribers)))
            _wait(lambda: len(mailbox.confirmations) == args.subscribers)
            figures["subscribe_and_confirmation_sent_s"] = time.perf_counter() - started
            started = time.perf_counter()
            list(pool.map(lambda t: _confirm(base, t), list(mailbox.confirmations.values())))
            figures["confirm_s"] = time.perf_counter() - started
        with psycopg.connect(url, autocommit=True) as conn:
            started = time.perf_counter()
            record_check(conn, check(1))
            figures["record_change_with_outbox_s"] = time.perf_counter() - started
            smtp = Smtp("127.0.0.1", smtp_port, False, "", "", "atlas@localhost")
            setup = Delivery(timeout=10, max_attempts=8, backoff=30, feeds_dir=Path("/tmp"),
                             smtp=smtp)  # fmt: skip
            started = time.perf_counter()
            tally = deliver_pending(conn, setup)
            _wait(lambda: mailbox.alerts == args.subscribers)
            figures["alerts_delivered_s"] = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        controller.stop()
    print(json.dumps({"subscribers": args.subscribers, "clients": args.clients,
                      "alerts_delivered": tally.delivered,
                      **{k: round(v, 2) for k, v in figures.items()},
                      "confirmations_per_s": round(args.subscribers /
                                                   figures["subscribe_and_confirmation_sent_s"]),
                      "alerts_per_s": round(args.subscribers / figures["alerts_delivered_s"])},
                     indent=2))  # fmt: skip
    return 0


def _answers(base: str) -> bool:
    try:
        urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=2).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
