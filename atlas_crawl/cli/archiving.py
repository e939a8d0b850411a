"""``db ranges`` and ``db archive-checks``: the routine checks' ranges of IDs, and
moving the old ones out of the database (storage/archive_checks.py)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from atlas_crawl.cli.common import UsageError, connect, settings_of


def _before(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--before: expected a date (YYYY-MM-DD) or a time in ISO 8601, got {text!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


def cmd_db_ranges(args: argparse.Namespace) -> int:
    from atlas_crawl.storage.check_ranges import ranges, set_span, span

    with connect(args, autocommit=True) as conn:
        if args.span is not None:
            if args.span < 1000:
                raise UsageError(f"--span: at least 1000 check IDs a range, not {args.span}")
            set_span(conn, args.span)
        print(f"routine checks in ranges of {span(conn):,} IDs (oldest first):")
        for r in ranges(conn):
            print(f"  {r.table:28} IDs {r.first:>12,}-{r.end - 1:<12,} {r.checks:>10,} checks"
                  f"  {_when(r.oldest)} to {_when(r.newest)}")  # fmt: skip
        archived = conn.execute(
            "SELECT count(*), coalesce(sum(checks), 0) FROM check_archives"
        ).fetchone()
        if archived and archived[0]:
            print(f"archived: {archived[1]:,} checks in {archived[0]} ranges (check_archives)")
    return 0


def cmd_db_archive_checks(args: argparse.Namespace) -> int:
    from atlas_crawl.storage.archive_checks import ArchivedRange, archive_checks
    from atlas_crawl.storage.database import data_dir

    before = _before(args.before)
    folder = Path(args.to) if args.to else data_dir(settings_of(args)) / "check-archives"
    with connect(args, autocommit=True) as conn:
        done = archive_checks(conn, before, folder, dry_run=args.dry_run)
    if not done:
        print(f"no closed range of routine checks was wholly checked before {before:%Y-%m-%d %H:%M}"
              " UTC: nothing archived")  # fmt: skip
        return 0
    for item in done:
        r = item.range if isinstance(item, ArchivedRange) else item
        what = (f"checks {r.first:,}-{r.end - 1:,}: {r.checks:,} routine checks, "
                f"{_when(r.oldest)} to {_when(r.newest)}")  # fmt: skip
        if isinstance(item, ArchivedRange):
            files = ", ".join(
                f"{folder / name} (sha256 {digest})" for name, digest in item.files.items()
            )
            print(f"archived {what} -> {files}")
        else:
            print(f"would archive {what}")
    return 0


def add_range_commands(db_sub: argparse._SubParsersAction) -> None:
    """``db ranges`` and ``db archive-checks`` under ``db``."""
    ranges = db_sub.add_parser("ranges", help="the routine checks' ranges of IDs (partitions)")
    ranges.add_argument("--span", type=int, help="make the ranges to come this many IDs wide")
    ranges.set_defaults(func=cmd_db_ranges)
    archive = db_sub.add_parser(
        "archive-checks",
        help="move the routine checks of ranges wholly checked before a date out of the "
        "database, to compressed CSV files (what stays still verifies)",
    )
    archive.add_argument("--before", required=True, metavar="DATE", help="YYYY-MM-DD (UTC)")
    archive.add_argument("--to", metavar="DIR", help="default: the data folder's check-archives")
    archive.add_argument("--dry-run", action="store_true", help="only say which ranges")
    archive.set_defaults(func=cmd_db_archive_checks)
