"""Delivering what the outbox holds: at least once, the same idempotency key on every
try, never by two ``notify`` processes at once.

A batch of due notifications is claimed with ``FOR UPDATE SKIP LOCKED`` (another
process skips those rows), delivered in parallel while the rows stay locked, and marked
in the same transaction: delivered, or failed with the next try after an exponential
delay with jitter, or, after the last allowed try, dead (the ``dead_notifications``
view; ``notify --retry-dead`` queues them again). A process killed mid-batch releases
its locks with its connection; the next run delivers the batch again, with the same
keys, so a receiver that deduplicates sees each notification once.
"""

from __future__ import annotations

import logging
import random
import select
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import psycopg

from atlas_crawl.alerts.atom import Summaries, write_named_feed
from atlas_crawl.alerts.channels import DeliveryFailed, Smtp, post_webhook, send_apprise, send_email
from atlas_crawl.alerts.payload import SCHEMA, body_of, payload
from atlas_crawl.alerts.subscriptions import Subscribing, unsubscribe_headers, unsubscribe_url
from atlas_crawl.history.summary import change_summary
from atlas_crawl.storage.outbox import CHANNEL
from atlas_crawl.storage.queries import query, run

log = logging.getLogger(__name__)

WORKERS = 16
BATCH = 32  # two rounds of workers at most: the rows stay locked, the session busy
MAX_DELAY = 3600.0


@dataclass(frozen=True)
class Delivery:
    timeout: float
    max_attempts: int
    backoff: float
    feeds_dir: Path
    smtp: Smtp
    # Set when the web view takes subscriptions: e-mails carry its unsubscribe link.
    subscribing: Subscribing | None = None


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def retry_delay(attempts: int, backoff: float, rng: random.Random | None = None) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling from
    ``backoff``, times a jitter of 0.5 to 1.5, at most an hour."""
    jitter = (rng or random).uniform(0.5, 1.5)
    return min(MAX_DELAY, backoff * 2 ** max(0, attempts - 1) * jitter)


def _send(row: dict[str, Any], document: dict[str, Any], setup: Delivery) -> None:
    summary = document["summary"]
    if row["channel"] == "webhook":
        post_webhook(row["destination"], body_of(document), row["idempotency_key"],
                     row["secret"], setup.timeout)  # fmt: skip
    elif row["channel"] == "email":
        text, html, headers = summary["text"], summary["html"], None
        if setup.subscribing is not None:
            link = unsubscribe_url(setup.subscribing, row["watch_id"])
            text += f"\n\nStop these alerts: {link}"
            html += f'<p><a href="{escape(link)}">Stop these alerts</a></p>'
            headers = unsubscribe_headers(setup.subscribing, row["watch_id"])
        send_email(setup.smtp, row["destination"], summary["title"],
                   text + f"\n\nAlert {row['idempotency_key']}", html,
                   row["idempotency_key"], setup.timeout, headers)  # fmt: skip
    elif row["channel"] == "apprise":
        send_apprise(row["destination"], summary["title"],
                     summary["text"] + f"\n\nAlert {row['idempotency_key']}")  # fmt: skip
    else:
        raise DeliveryFailed(f"unknown channel {row['channel']}")


def _attempt(row: dict[str, Any], document: dict[str, Any], setup: Delivery) -> str | None:
    try:
        _send(row, document, setup)
    except DeliveryFailed as exc:
        return str(exc)
    except Exception as exc:  # a channel library's own failure: retried like any other
        return f"{type(exc).__name__}: {exc}"
    return None


def deliver_batch(conn: psycopg.Connection, setup: Delivery, tally: Tally, due: datetime) -> int:
    """Claim, deliver and mark one batch of what was due at ``due``; returns how many
    were claimed."""
    with conn.transaction():
        rows = run(conn, "claim_notifications", limit=BATCH, due=due)
        if not rows:
            return 0
        summaries = Summaries(conn)
        outcome: dict[int, str | None] = {}
        feeds = sorted({r["destination"] for r in rows if r["channel"] == "atom"})
        for feed in feeds:
            try:
                write_named_feed(conn, feed, setup.feeds_dir, summaries)
                error = None
            except OSError as exc:
                error = f"cannot write feed {feed!r} in {setup.feeds_dir}: {exc}"
            outcome.update({r["notification_id"]: error for r in rows
                            if r["channel"] == "atom" and r["destination"] == feed})  # fmt: skip
        sending = [r for r in rows if r["channel"] != "atom"]
        documents = {
            r["notification_id"]: payload(summaries(r["change_id"]), r["idempotency_key"],
                                          r["watch_id"], r["target"])
            for r in sending
        }  # fmt: skip
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            results = pool.map(lambda r: _attempt(r, documents[r["notification_id"]], setup),
                               sending)  # fmt: skip
            outcome.update(zip((r["notification_id"] for r in sending), results, strict=True))
        _mark(conn, rows, outcome, setup, tally)
    return len(rows)


def _mark(conn: psycopg.Connection, rows: list[dict[str, Any]], outcome: dict[int, str | None],
          setup: Delivery, tally: Tally) -> None:  # fmt: skip
    done = [n for n, error in outcome.items() if error is None]
    if done:
        conn.execute(query("mark_delivered"), {"ids": done})
        tally.delivered += len(done)
    for row in rows:
        error = outcome[row["notification_id"]]
        if error is None:
            continue
        attempts = row["attempts"] + 1
        conn.execute(query("mark_failed"), {
            "id": row["notification_id"], "error": error[:2000],
            "max_attempts": setup.max_attempts,
            "delay": retry_delay(attempts, setup.backoff),
        })  # fmt: skip
        if attempts >= setup.max_attempts:
            tally.dead += 1
        else:
            tally.failed += 1
        tally.errors.append(f"{row['idempotency_key']}: {error}")
        log.warning("alert %s not delivered (try %d): %s", row["idempotency_key"], attempts,
                    error)  # fmt: skip


def deliver_pending(conn: psycopg.Connection, setup: Delivery) -> Tally:
    """Deliver every notification due now, batch after batch; one that fails waits for
    its next try in a later run (or the next wake of ``follow``), never this one."""
    tally = Tally()
    # A batch's rows stay locked while it is sent, the session idle in its transaction
    # (every try has its own timeout); more than the minute connections get by default.
    conn.execute("SET idle_in_transaction_session_timeout = '10min'")
    row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    while deliver_batch(conn, setup, tally, row[0]):
        pass
    return tally


def seconds_to_next(conn: psycopg.Connection) -> float | None:
    row = conn.execute(
        "SELECT extract(epoch FROM min(next_attempt_at) - now()) FROM notifications "
        "WHERE status = 'pending'"
    ).fetchone()
    return None if row is None or row[0] is None else max(0.0, float(row[0]))


def follow(
    conn: psycopg.Connection,
    listener: psycopg.Connection,
    setup: Delivery,
    report: Callable[[Tally], None],
    stop: Callable[[], bool] = lambda: False,
    idle: float = 60.0,
) -> None:
    """Deliver, then sleep until a recorded change wakes us (LISTEN) or a retry is due."""
    listener.execute(f"LISTEN {CHANNEL}")
    while not stop():
        tally = deliver_pending(conn, setup)
        if tally.delivered or tally.failed or tally.dead:
            report(tally)
        wait = seconds_to_next(conn)
        timeout = idle if wait is None else min(idle, max(wait, 0.05))
        select.select([listener.fileno()], [], [], timeout)
        for _ in listener.notifies(timeout=0):
            pass  # drained: one pass delivers everything due


def send_test(conn: psycopg.Connection, watch: dict[str, Any], setup: Delivery) -> str | None:
    """A sample alert through one watch's channel, marked as a test (``"test": true``,
    ``[test]`` in its title), built from the latest recorded change when there is one;
    the error, or None once delivered. Nothing is recorded in the outbox."""
    import uuid

    key = f"test-{uuid.uuid4().hex[:12]}/W-{watch['watch_id']}"
    latest = conn.execute("SELECT max(change_id) FROM changes").fetchone()
    if latest and latest[0] is not None:
        document = payload(change_summary(conn, int(latest[0])), key, watch["watch_id"],
                           watch["target"])  # fmt: skip
        title = f"[test] {document['summary']['title']}"
    else:
        title = "[test] atlas-crawl alert test"
        text = ("A test of this watch's channel: no change has been recorded yet. Real "
                "alerts look like this one, with the change's summary and evidence.")  # fmt: skip
        document = {
            "schema": SCHEMA,
            "idempotency_key": key,
            "watch": {"id": watch["watch_id"], "target": watch["target"]},
            "summary": {"title": title, "text": text, "html": f"<p>{text}</p>"},
        }
    document["test"] = True
    document["summary"]["title"] = title
    row = {**watch, "idempotency_key": key}
    return _attempt(row, document, setup)
