"""Commands that read the history: ``history``, ``diff``, ``show``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from typing import Any

from atlas_crawl.cli.common import UsageError, connect, use_color
from atlas_crawl.cli.names import documents_named, record_number
from atlas_crawl.history.provision_report import recent_provision_rows, recent_provisions_text
from atlas_crawl.history.report import (
    NotFound,
    change_text,
    document_history,
    document_history_rows,
    recent_history,
    recent_rows,
    version_text,
)
from atlas_crawl.history.summary import change_summary


def json_line(row: dict[str, Any]) -> str:
    """One JSON object on one line; times in UTC, ISO 8601."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return value

    return json.dumps({k: plain(v) for k, v in row.items()}, ensure_ascii=False)


def cmd_history(args: argparse.Namespace) -> int:
    if args.provisions:
        return _provision_history(args)
    with connect(args) as conn:
        if args.platform or args.document:
            documents = documents_named(conn, args.platform, args.document)
            if not documents:
                raise UsageError(f"no documents of {args.platform}")
            for i, (platform, document_type) in enumerate(documents):
                if args.json:
                    named = {"platform": platform, "document_type": document_type}
                    for row in document_history_rows(conn, platform, document_type):
                        _print_json(conn, args, {**named, **row})
                    continue
                try:
                    print(("\n" if i else "") + document_history(conn, platform, document_type))
                except NotFound as exc:
                    print(f"{exc}")
                if args.summaries:
                    _print_summaries(conn, document_history_rows(conn, platform, document_type))
        elif args.json:
            for row in recent_rows(conn, args.days):
                _print_json(conn, args, row)
        else:
            print(recent_history(conn, args.days))
            if args.summaries:
                _print_summaries(conn, recent_rows(conn, args.days))
    return 0


def _print_json(conn: Any, args: argparse.Namespace, row: dict[str, Any]) -> None:
    if args.summaries and row.get("change_id") is not None:
        row = {**row, "summary": change_summary(conn, row["change_id"]).text()}
    print(json_line(row))


def _print_summaries(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Each change's summary for a person, as alerts say it (``--summaries``)."""
    for row in rows:
        if row.get("change_id") is not None:
            print("\n" + change_summary(conn, row["change_id"]).text())


def _provision_history(args: argparse.Namespace) -> int:
    with connect(args) as conn:
        platform = document_type = None
        if args.platform or args.document:
            found = documents_named(conn, args.platform, args.document)
            if not found:
                raise UsageError(f"no documents of {args.platform}")
            platform = found[0][0] if args.platform else None
            document_type = found[0][1] if args.document else None
        rows = recent_provision_rows(conn, args.days, platform, document_type)
    if args.json:
        for row in rows:
            print(json_line(row))
    else:
        print(recent_provisions_text(rows, args.days))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    number = record_number(args.change, "change")
    with connect(args) as conn:
        try:
            print(change_text(conn, number, use_color(args.color)))
        except NotFound as exc:
            raise UsageError(str(exc)) from None
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    number = record_number(args.version, "version")
    with connect(args) as conn:
        try:
            sys.stdout.write(version_text(conn, number, header=not args.text_only))
        except NotFound as exc:
            raise UsageError(str(exc)) from None
    return 0
