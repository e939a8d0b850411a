"""Commands that read the history: ``history``, ``diff``, ``show``."""

from __future__ import annotations

import argparse
import sys

from atlas_crawl.cli.common import UsageError, connect, use_color
from atlas_crawl.history.report import (
    NotFound,
    change_text,
    document_history,
    recent_history,
    version_text,
)


def cmd_history(args: argparse.Namespace) -> int:
    if bool(args.platform) != bool(args.document):
        raise UsageError("history needs both --platform and --document, or neither")
    with connect(args) as conn:
        try:
            if args.platform:
                print(document_history(conn, args.platform, args.document))
            else:
                print(recent_history(conn, args.days))
        except NotFound as exc:
            raise UsageError(str(exc)) from None
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    with connect(args) as conn:
        try:
            print(change_text(conn, args.change_id, use_color(args.color)))
        except NotFound as exc:
            raise UsageError(str(exc)) from None
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with connect(args) as conn:
        try:
            sys.stdout.write(version_text(conn, args.version_id, header=not args.text_only))
        except NotFound as exc:
            raise UsageError(str(exc)) from None
    return 0
