"""``status`` (where every tracked document stands, what needs a look first), and
``untrack`` / ``track``."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from atlas_crawl.cli.common import UsageError, connect
from atlas_crawl.cli.names import documents_named
from atlas_crawl.cli.reading import json_line
from atlas_crawl.history.report import table
from atlas_crawl.storage.queries import run


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.0f} days"
    if hours >= 1:
        return f"{hours:.0f} hours"
    return f"{max(delta.total_seconds() / 60, 0):.0f} minutes"


def state(row: dict[str, Any], now: datetime) -> str:
    """In words: 'ok', 'failing for 3 days, 6 checks: selector matched nothing', ..."""
    if not row["tracked"]:
        return f"untracked since {row['untracked_at'].astimezone(UTC):%Y-%m-%d}"
    if row["last_checked_at"] is None:
        return "never checked"
    if row["failing_checks"]:
        since = _span(now - row["failing_since"])
        plural = "s" if row["failing_checks"] > 1 else ""
        return (
            f"failing for {since}, {row['failing_checks']} check{plural}: "
            f"{row['last_failure_reason']}"
        )
    if row["last_outcome"] == "candidate":
        return "new text, awaiting confirmation"
    if row.get("last_change_review_reason"):
        return f"ok; last change flagged for review ({row['last_change_review_reason']})"
    return "ok"


def cmd_status(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    with connect(args) as conn:
        rows = run(conn, "document_status", all=args.all)
        untracked = 0 if rows else len(run(conn, "document_status", all=True))
    for row in rows:
        row["state"] = state(row, now)
        row["version"] = (
            f"{row['version_number']} ({row['version_record_id']})" if row["version_number"] else ""
        )
    if args.json:
        for row in rows:
            print(json_line(row))
    elif not rows and untracked:
        print(
            f"no documents tracked: {untracked} untracked (status --all lists them, "
            "track PLATFORM checks them again)"
        )
    elif not rows:
        print("no documents tracked yet: run atlas-crawl crawl")
    else:
        columns = ["platform", "document_type", "state", "last_checked_at", "version"]
        print(table(rows, [*columns, "last_changed_at", "last_change_record_id"]))
    waiting = [r for r in rows if r["tracked"] and r["last_failure_reason"] == "no browser"]
    if waiting and not args.json:
        from atlas_crawl.crawl.addon import BROWSER_HELP

        print(f"{len(waiting)} document(s) wait for a browser: {BROWSER_HELP}")
    if args.fail_on is not None:
        failing = [r for r in rows if r["tracked"] and (r["failing_checks"] or 0) >= args.fail_on]
        if failing:
            print(
                f"atlas-crawl: {len(failing)} document(s) failing for {args.fail_on} "
                "check(s) or more",
                file=sys.stderr,
            )
            return 1
    return 0


def _set_tracking(args: argparse.Namespace, query: str, done: str) -> int:
    with connect(args, autocommit=True) as conn:
        documents = documents_named(conn, args.platform, args.document)
        if not documents:
            raise UsageError(f"no documents of {args.platform}")
        with conn.transaction():
            for platform, document_type in documents:
                run(conn, query, platform=platform, document_type=document_type)
    for platform, document_type in documents:
        print(f"{platform} / {document_type}: {done}")
    return 0


def cmd_untrack(args: argparse.Namespace) -> int:
    return _set_tracking(args, "untrack_document", "untracked (its history is kept)")


def cmd_track(args: argparse.Namespace) -> int:
    return _set_tracking(args, "track_document", "tracked")
