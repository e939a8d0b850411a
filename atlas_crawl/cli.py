"""``atlas-crawl``: upgrade the database, crawl, and read the change history."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from atlas_crawl.storage.database import DatabaseUnavailable, connect
from atlas_crawl.storage.migrate import MigrationError, upgrade
from atlas_crawl.storage.queries import run
from atlas_crawl.textdiff import render_diff

SETTINGS_MODULE = "atlas_crawl.settings"


class UsageError(Exception):
    """Bad input from the user: printed as-is, exit status 2."""


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    def fmt(value: Any) -> str:
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return "" if value is None else str(value)

    cells = [[fmt(r[c]) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    with connect(autocommit=True) as conn:
        applied = upgrade(conn)
    print(f"applied: {', '.join(applied)}" if applied else "database schema is up to date")
    return 0


def _spider_names() -> list[str]:
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    return sorted(SpiderLoader.from_settings(get_project_settings()).list())


def cmd_crawl(args: argparse.Namespace) -> int:
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    available = [n for n in _spider_names() if n != "declarations"]
    names = args.platforms or ([] if args.declarations else available)
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise UsageError(f"unknown platform(s) {', '.join(unknown)}; known: {', '.join(available)}")
    if args.services and not args.declarations:
        raise UsageError("--services needs --declarations")
    declared = None
    if args.declarations:
        from atlas_crawl.declarations import DeclarationError, load_ota_folder, service_names

        # Loaded here, so a bad folder or service name is one plain line, not a
        # traceback from inside Scrapy's start-up; the spider takes them as they are.
        try:
            declared = load_ota_folder(Path(args.declarations), service_names(args.services))
        except DeclarationError as exc:
            raise UsageError(str(exc)) from None
    # Check the database before anything is fetched, with a plain message if it fails.
    with connect(autocommit=True) as conn:
        upgrade(conn)
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    settings = get_project_settings()
    if args.due:
        settings.set("ATLAS_DUE_HOURS", args.due, priority="cmdline")
    common: dict[str, str] = {}
    if args.redis:
        from atlas_crawl.distributed import distributed_settings, round_name

        settings.setdict(distributed_settings(args.redis), priority="cmdline")
        common["round"] = round_name(args.round)
    elif args.round:
        common["round"] = args.round
    process = CrawlerProcess(settings)
    for name in names:
        process.crawl(name, **common)
    if declared is not None:
        process.crawl("declarations", path=args.declarations, documents=declared, **common)
    process.start()
    failed = [c for c in process.crawlers if c.stats and c.stats.get_value("atlas/checks/failed")]
    if getattr(process, "bootstrap_failed", False):
        return 1
    return 3 if failed and args.strict else 0


def _kind_label(row: dict[str, Any]) -> str:
    """'content', 'technical (redesign)', ...: what kind of change made a version."""
    if row["kind"] is None:
        return ""
    return f"{row['kind']} ({row['kind_reason']})" if row["kind_reason"] else row["kind"]


def cmd_history(args: argparse.Namespace) -> int:
    with connect() as conn:
        if args.platform and args.document:
            params = {"platform": args.platform, "document_type": args.document}
            rows = run(conn, "document_history", **params)
            if not rows:
                raise UsageError(f"no versions of {args.platform} / {args.document}")
            for row in rows:
                row["change"] = _kind_label(row)
            print(f"{args.platform} / {args.document}")
            print(
                _table(
                    rows,
                    [
                        "version_number",
                        "version_id",
                        "first_seen_at",
                        "last_seen_at",
                        "change_id",
                        "change",
                        "chars_added",
                        "chars_removed",
                        "text_sha256",
                    ],
                )
            )
            counts = run(conn, "document_check_counts", **params)
            print("\nchecks: " + ", ".join(f"{r['outcome']} {r['checks']}" for r in counts))
            return 0
        if args.platform or args.document:
            raise UsageError("history needs both --platform and --document, or neither")
        since = datetime.now(UTC) - timedelta(days=args.days)
        rows = run(conn, "recent_changes", since=since)
        print(f"changes in the last {args.days} days: {len(rows)}")
        for row in rows:
            row["change"] = _kind_label(row)
        if rows:
            print(
                _table(
                    rows,
                    [
                        "change_id",
                        "detected_at",
                        "platform",
                        "document_type",
                        "from_version_id",
                        "to_version_id",
                        "change",
                        "chars_added",
                        "chars_removed",
                    ],
                )
            )
        docs = run(conn, "tracked_documents")
        print(f"\ntracked documents: {len(docs)}")
        if docs:
            print(_table(docs, ["platform", "document_type", "versions", "last_checked_at"]))
    return 0


def _color(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    return sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def cmd_diff(args: argparse.Namespace) -> int:
    with connect() as conn:
        rows = run(conn, "change_detail", change_id=args.change_id)
    if not rows:
        raise UsageError(f"no change with id {args.change_id}")
    c = rows[0]
    print(f"change {c['change_id']}: {c['platform']} / {c['document_type']}")
    print(
        f"version {c['from_number']} -> {c['to_number']}, detected "
        f"{c['detected_at'].astimezone(UTC):%Y-%m-%d %H:%M:%SZ}, "
        f"+{c['chars_added']} -{c['chars_removed']} characters, {_kind_label(c)} change"
    )
    print(c["url"])
    print()
    print(render_diff(c["old_text"], c["new_text"], color=_color(args.color)))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with connect() as conn:
        rows = run(conn, "version_text", version_id=args.version_id)
    if not rows:
        raise UsageError(f"no version with id {args.version_id}")
    v = rows[0]
    if not args.text_only:
        print(f"# {v['platform']} / {v['document_type']}, version {v['version_number']}")
        print(f"# first seen {v['first_seen_at'].astimezone(UTC):%Y-%m-%d %H:%M:%SZ}, {v['url']}")
        print(f"# text sha256 {v['text_sha256']}, capture sha256 {v['raw_sha256']}\n")
    sys.stdout.write(v["text"])
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    import time

    from atlas_crawl.evidence.verify import verify
    from atlas_crawl.storage.database import evidence_dir

    started = time.perf_counter()
    with connect() as conn:
        report = verify(conn, Path(args.evidence_dir) if args.evidence_dir else evidence_dir())
    seconds = time.perf_counter() - started
    checked = ", ".join(f"{n} {k}" for k, n in report.counts.items())
    for mismatch in report.mismatches:
        print(f"MISMATCH {mismatch}")
    verdict = f"{len(report.mismatches)} mismatches" if report.mismatches else "all hashes match"
    print(f"verified {checked} in {seconds:.2f}s: {verdict}")
    return 1 if report.mismatches else 0


def cmd_warc(args: argparse.Namespace) -> int:
    from atlas_crawl.evidence.bundle import NotFound, write_checks_warc

    out = Path(args.out or f"atlas-checks-{'-'.join(map(str, args.check_ids))}.warc.gz")
    try:
        with connect() as conn, out.open("wb") as fh:
            pages = write_checks_warc(conn, args.check_ids, fh)
    except NotFound as exc:
        out.unlink(missing_ok=True)
        raise UsageError(str(exc)) from None
    print(f"wrote {pages} captured page(s) to {out}")
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    import json

    from atlas_crawl.evidence.citation import NotFound, citation, citation_text

    try:
        with connect() as conn:
            found = citation(conn, args.record)
    except (NotFound, ValueError) as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(found, indent=2) if args.json else citation_text(found))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from atlas_crawl.evidence.bundle import NotFound, export_change
    from atlas_crawl.evidence.citation import parse_record_id

    try:
        kind, number = parse_record_id(args.change)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if kind != "change" and not args.change.strip().isdigit():
        raise UsageError(f"{args.change} is not a change (like AC-C-000003 or 3)")
    out = Path(args.out or f"atlas-change-{number}.zip")
    try:
        with connect() as conn:
            manifest = export_change(conn, number, out)
    except NotFound as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {out}: {len(manifest['files'])} files, manifest.json and MANIFEST.txt")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    from atlas_crawl.evidence.wayback import ArchiveError, WaybackClient, WaybackSettings

    try:
        settings = WaybackSettings.from_env()
    except ArchiveError as exc:
        raise UsageError(str(exc)) from None
    if settings is None:
        raise UsageError("archiving is off: set ATLAS_WAYBACK_ENABLED=1 and the keys")
    client = WaybackClient(settings)
    with connect(autocommit=True) as conn:
        rows = conn.execute(
            """SELECT v.version_id, d.url FROM versions v JOIN documents d USING (document_id)
               WHERE v.archive_status IN ('pending', 'failed') ORDER BY v.version_id"""
        ).fetchall()
        for version_id, url in rows:
            try:
                archived = client.save(url)
                conn.execute(
                    """UPDATE versions SET archive_status = 'archived', archive_url = %s,
                           archive_detail = NULL WHERE version_id = %s""",
                    (archived, version_id),
                )
                print(f"version {version_id}: {archived}")
            except ArchiveError as exc:
                conn.execute(
                    "UPDATE versions SET archive_status = 'failed', archive_detail = %s"
                    " WHERE version_id = %s",
                    (str(exc), version_id),
                )
                print(f"version {version_id}: failed: {exc}")
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from atlas_crawl.backfill import (
        BackfillError,
        ota_captures,
        print_progress,
        run_backfill,
        warc_captures,
    )
    from atlas_crawl.catalog import load_documents
    from atlas_crawl.declarations import DeclarationError

    try:
        documents = load_documents(Path(args.declarations) if args.declarations else None)
    except DeclarationError as exc:
        raise UsageError(str(exc)) from None
    ignored: dict[str, int] = {}
    if args.connections < 1:
        raise UsageError("--connections must be at least 1")
    try:
        with contextlib.ExitStack() as stack:
            conn = stack.enter_context(connect(autocommit=True))
            upgrade(conn)
            lanes = [
                stack.enter_context(connect(autocommit=True)) for _ in range(args.connections - 1)
            ]
            if args.source == "ota":
                repo = Path(args.inputs[0])
                if len(args.inputs) != 1:
                    raise UsageError("backfill ota takes one snapshots repository")
                captures = ota_captures(repo, documents, ignored)
                stats = run_backfill(
                    conn,
                    captures,
                    f"backfill ota {repo.name}",
                    "ota:",
                    args.workers,
                    print_progress,
                    lanes=lanes,
                )
            else:
                found = warc_captures([Path(f) for f in args.inputs], documents, ignored)
                stats = run_backfill(
                    conn,
                    found,
                    "backfill warc",
                    "warc:",
                    args.workers,
                    print_progress,
                    lanes=lanes,
                )
    except BackfillError as exc:
        raise UsageError(str(exc)) from None
    print(file=sys.stderr)
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items())) or "none"
    print(
        f"{stats.seen} captures: {stats.imported} imported ({outcomes}), "
        f"{stats.skipped} imported before, in {stats.seconds:.1f}s"
    )
    if ignored:
        print(
            f"ignored (no declared document): {sum(ignored.values())} captures of "
            f"{len(ignored)} documents or URLs"
        )
    return 0


def cmd_reextract(args: argparse.Namespace) -> int:
    from atlas_crawl.catalog import load_documents
    from atlas_crawl.reextract import reextract

    documents = load_documents(Path(args.declarations) if args.declarations else None)
    with connect(autocommit=True) as conn:
        upgrade(conn)
        results = reextract(conn, documents, args.platform, args.document)
    if not results:
        raise UsageError("no declared document matches")
    for r in results:
        print(f"{r.platform} / {r.document_type}: {r.outcome}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from atlas_crawl.demo import run_demo

    return run_demo(color=_color(args.color))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atlas-crawl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database administration")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations and recreate views").set_defaults(
        func=cmd_db_upgrade
    )

    crawl = sub.add_parser("crawl", help="check platforms' documents (all, or those named)")
    crawl.add_argument("platforms", nargs="*", help="spider names (default: every platform)")
    crawl.add_argument(
        "--declarations", metavar="DIR", help="also crawl an OTA declarations folder"
    )
    crawl.add_argument("--services", help="with --declarations: only these services (A,B)")
    crawl.add_argument("--strict", action="store_true", help="exit 3 when any check failed")
    crawl.add_argument(
        "--due",
        type=float,
        metavar="HOURS",
        help="only documents not checked successfully in the last HOURS",
    )
    crawl.add_argument(
        "--redis",
        metavar="URL",
        default=os.environ.get("ATLAS_REDIS_URL"),
        help="share the round's queue with other processes at this Redis (ATLAS_REDIS_URL)",
    )
    crawl.add_argument(
        "--round",
        help="the round to join: each document is checked once per round "
        "(default with --redis: the current UTC hour)",
    )
    crawl.set_defaults(func=cmd_crawl)

    history = sub.add_parser("history", help="recent changes, or one document's versions")
    history.add_argument("--platform")
    history.add_argument("--document", help="document type, e.g. 'Privacy Policy'")
    history.add_argument("--days", type=int, default=7, help="window for recent changes")
    history.set_defaults(func=cmd_history)

    diff = sub.add_parser("diff", help="show a change")
    diff.add_argument("change_id", type=int)
    diff.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    diff.set_defaults(func=cmd_diff)

    show = sub.add_parser("show", help="print a version's text")
    show.add_argument("version_id", type=int)
    show.add_argument("--text-only", action="store_true", help="only the text, no header")
    show.set_defaults(func=cmd_show)

    verify = sub.add_parser("verify", help="recompute every stored hash and chain")
    verify.add_argument("--evidence-dir", help="WARC folder (default: ATLAS_EVIDENCE_DIR)")
    verify.set_defaults(func=cmd_verify)

    warc = sub.add_parser("warc", help="write stored captures of checks as WARC")
    warc.add_argument("check_ids", type=int, nargs="+")
    warc.add_argument("--out", help="output file (.warc.gz)")
    warc.set_defaults(func=cmd_warc)

    cite = sub.add_parser("cite", help="a citation of a version or change")
    cite.add_argument("record", help="AC-V-000012 (version), AC-C-000003 (change), or a version id")
    cite.add_argument("--json", action="store_true")
    cite.set_defaults(func=cmd_cite)

    export = sub.add_parser("export", help="a change's evidence bundle (zip)")
    export.add_argument("change", help="AC-C-000003 or a change id")
    export.add_argument("--out", help="output file (.zip)")
    export.set_defaults(func=cmd_export)

    backfill = sub.add_parser("backfill", help="import history from archives")
    backfill.add_argument("source", choices=["ota", "warc"])
    backfill.add_argument("inputs", nargs="+", help="a snapshots repository, or WARC/WACZ files")
    backfill.add_argument(
        "--declarations", metavar="DIR", help="OTA declarations (default: the platform spiders)"
    )
    backfill.add_argument("--workers", type=int, default=2, help="extraction processes")
    backfill.add_argument(
        "--connections",
        type=int,
        default=2,
        help="database connections recording at once (one document stays on one)",
    )
    backfill.set_defaults(func=cmd_backfill)

    reext = sub.add_parser("reextract", help="re-derive versions after a declaration change")
    reext.add_argument("platform", nargs="?")
    reext.add_argument("document", nargs="?", help="document type")
    reext.add_argument("--declarations", metavar="DIR")
    reext.set_defaults(func=cmd_reextract)

    archive = sub.add_parser("archive", help="submit versions still to archive (Wayback)")
    archive.set_defaults(func=cmd_archive)

    demo = sub.add_parser("demo", help="offline demo: two crawls of a local sample policy")
    demo.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (DatabaseUnavailable, MigrationError) as exc:
        print(f"atlas-crawl: {exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"atlas-crawl: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
