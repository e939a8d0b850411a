"""Commands about alerts: ``watch add | list | remove``, ``notify`` (deliver what the
outbox holds; ``--follow`` keeps at it; ``--retry-dead`` queues dead ones again) and
``feeds --out DIR``."""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from scrapy.settings import BaseSettings

from atlas_crawl.cli.common import UsageError, connect, settings_of
from atlas_crawl.cli.names import documents_named, match_one, record_number
from atlas_crawl.cli.reading import json_line
from atlas_crawl.history.report import table
from atlas_crawl.storage.database import data_dir
from atlas_crawl.storage.queries import query, run

if TYPE_CHECKING:  # the alerts package loads only for the commands that deliver
    from atlas_crawl.alerts.notify import Delivery, Tally


def _resolve(conn: psycopg.Connection, text: str) -> dict[str, object]:
    """The watch's columns for a target as typed, checked against what is recorded."""
    from atlas_crawl.alerts.targets import parse_target

    try:
        target = parse_target(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    row: dict[str, object] = {"kind": target.kind, "platform": None, "document": None,
                              "provision": None, "clause_type": target.clause_type}  # fmt: skip
    if target.kind == "platform":
        names = {r["platform"] for r in run(conn, "document_names")}
        name = match_one(target.platform or "", names, "platform")
        found = conn.execute("SELECT platform_id FROM platforms WHERE name = %s", (name,))
        row["platform"] = found.fetchone()[0]  # type: ignore[index]
    elif target.kind == "document":
        platform, document_type = documents_named(conn, target.platform, target.document)[0]
        found = conn.execute(
            "SELECT d.document_id FROM documents d JOIN platforms p USING (platform_id) "
            "WHERE p.name = %s AND d.document_type = %s",
            (platform, document_type),
        )
        row["document"] = found.fetchone()[0]  # type: ignore[index]
    elif target.kind == "provision":
        number = record_number(target.provision or "", "provision")
        exists = conn.execute(
            "SELECT 1 FROM provision_records WHERE provision_id = %s", (number,)
        ).fetchone()
        if not exists:
            raise UsageError(f"bad target {text!r}: no provision AC-P-{number:06d}")
        row["provision"] = number
    return row


def cmd_watch(args: argparse.Namespace) -> int:
    with connect(args) as conn:
        if args.action == "add":
            return _add(conn, args)
        if args.action == "remove":
            return _remove(conn, args)
        if args.action == "test":
            return _test(conn, args)
        rows = run(conn, "list_watches")
    if args.json:
        for row in rows:
            print(json_line(row))
    elif rows:
        print(table(rows, ["watch_id", "target", "min_severity", "technical", "lowered",
                           "channel", "destination", "origin", "state", "pending",
                           "delivered", "dead"]))  # fmt: skip
    else:
        print("no watches: atlas-crawl watch add TARGET DESTINATION")
    return 0


def _add(conn: psycopg.Connection, args: argparse.Namespace) -> int:
    from atlas_crawl.alerts.targets import parse_destination

    if len(args.values) != 2:
        raise UsageError("usage: atlas-crawl watch add TARGET DESTINATION [--secret S] "
                         "[--min-severity low|medium|high] [--technical] [--lowered]")  # fmt: skip
    target_text, destination_text = args.values
    try:
        destination = parse_destination(destination_text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.secret is not None and destination.channel != "webhook":
        raise UsageError("--secret signs webhooks only (an http:// or https:// destination)")
    if args.secret == "":
        raise UsageError("--secret must not be empty")
    secret = None
    if destination.channel == "webhook":
        secret = args.secret or secrets.token_hex(32)
    with conn.transaction():
        columns = _resolve(conn, target_text)
        watch_id = conn.execute(query("insert_watch"), {
            **columns, "target": target_text.strip(), "min_severity": args.min_severity,
            "technical": args.technical, "channel": destination.channel,
            "destination": destination.address, "secret": secret, "lowered": args.lowered,
        }).fetchone()[0]  # type: ignore[index]  # fmt: skip
    print(f"watch {watch_id}: {target_text.strip()} -> {destination.channel} "
          f"{destination.address}")  # fmt: skip
    if secret and not args.secret:
        print(f"webhook secret (HMAC-SHA256 key, shown once): {secret}")
    return 0


def _remove(conn: psycopg.Connection, args: argparse.Namespace) -> int:
    if len(args.values) != 1 or not args.values[0].isdigit():
        raise UsageError("usage: atlas-crawl watch remove WATCH_ID (see atlas-crawl watch list)")
    watch_id = int(args.values[0])
    with conn.transaction():
        if not conn.execute(query("remove_watch"), {"watch": watch_id}).fetchone():
            raise UsageError(f"no watch {watch_id} (see atlas-crawl watch list)")
        dropped = conn.execute(query("drop_pending_of_watch"), {"watch": watch_id}).rowcount
    print(f"watch {watch_id} removed ({dropped} pending alert(s) will not be sent)")
    return 0


def _test(conn: psycopg.Connection, args: argparse.Namespace) -> int:
    """A sample alert through one watch's channel, to check a webhook or SMTP setup."""
    from atlas_crawl.alerts.notify import send_test

    if len(args.values) != 1 or not args.values[0].isdigit():
        raise UsageError("usage: atlas-crawl watch test WATCH_ID (see atlas-crawl watch list)")
    watch_id = int(args.values[0])
    watch = next((w for w in run(conn, "watch_channels") if w["watch_id"] == watch_id), None)
    if watch is None:
        raise UsageError(f"no watch {watch_id} (see atlas-crawl watch list)")
    if watch["channel"] == "atom":
        print(
            f"watch {watch_id} writes the Atom feed {watch['destination']!r}: nothing to send "
            "(atlas-crawl notify writes it; atlas-crawl feeds --out DIR writes every feed)"
        )
        return 0
    error = send_test(conn, watch, delivery_setup(settings_of(args)))
    if error is not None:
        print(f"atlas-crawl: watch {watch_id} ({watch['channel']} {watch['destination']}): "
              f"the test alert was not delivered: {error}", file=sys.stderr)  # fmt: skip
        return 1
    print(f"watch {watch_id}: a test alert was delivered to {watch['destination']}")
    return 0


def delivery_setup(settings: BaseSettings) -> Delivery:
    from atlas_crawl.alerts import subscriptions
    from atlas_crawl.alerts.channels import smtp_of
    from atlas_crawl.alerts.notify import Delivery

    feeds = settings.get("ATLAS_FEEDS_DIR")
    return Delivery(
        timeout=settings.getfloat("ATLAS_NOTIFY_TIMEOUT"),
        max_attempts=max(1, settings.getint("ATLAS_NOTIFY_MAX_ATTEMPTS")),
        backoff=settings.getfloat("ATLAS_NOTIFY_BACKOFF"),
        feeds_dir=Path(feeds).expanduser() if feeds else data_dir(settings) / "feeds",
        smtp=smtp_of(settings),
        subscribing=subscriptions.from_settings(settings),
    )  # fmt: skip


def report_tally(tally: Tally) -> None:
    print(f"alerts: {tally.delivered} delivered, {tally.failed} to retry, {tally.dead} dead",
          flush=True)  # fmt: skip


def cmd_notify(args: argparse.Namespace) -> int:
    from atlas_crawl.alerts.notify import deliver_pending, follow

    settings = settings_of(args)
    setup = delivery_setup(settings)
    with connect(args, autocommit=True) as conn:
        if args.retry_dead is not None:
            only = None if args.retry_dead == "all" else _notification(args.retry_dead)
            queued = conn.execute(query("retry_dead"), {"id": only}).rowcount
            print(f"{queued} dead alert(s) queued again")
        if args.follow:
            with connect(args, autocommit=True) as listener:
                try:
                    follow(conn, listener, setup, report_tally)
                except KeyboardInterrupt:
                    return 0
        tally = deliver_pending(conn, setup)
    report_tally(tally)
    for error in tally.errors[:10]:
        print(f"  {error}", file=sys.stderr)
    return 0


def _notification(value: str) -> int:
    if not value.isdigit():
        raise UsageError(f"--retry-dead takes a notification id or 'all', not {value!r}")
    return int(value)


def cmd_feeds(args: argparse.Namespace) -> int:
    from atlas_crawl.alerts.atom import write_all_feeds

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: not a folder")
    with connect(args) as conn:
        try:
            written = write_all_feeds(conn, out)
        except OSError as exc:
            raise UsageError(f"cannot write feeds in {out}: {exc}") from None
    print(f"{len(written)} Atom feeds written in {out}")
    return 0
