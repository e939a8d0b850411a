"""Commands that write the history: ``db upgrade``, ``crawl``, ``backfill``,
``reextract``, ``demo``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import psycopg

from atlas_crawl.cli.common import (
    UsageError,
    command_name,
    connect,
    database_of,
    settings_of,
    use_color,
)
from atlas_crawl.cli.names import match_one
from atlas_crawl.crawl.outcome import crawler_stats, exit_status, summary_line
from atlas_crawl.storage.migrate import ensure_schema, upgrade


def cmd_db_stop(args: argparse.Namespace) -> int:
    from atlas_crawl.storage.database import data_dir
    from atlas_crawl.storage.embedded import EmbeddedError, stop

    settings = settings_of(args)
    url = settings.get("ATLAS_DATABASE_URL") or ""
    if url and not url.startswith("embedded:"):
        raise UsageError(f"{url.split('@')[-1]} is not the embedded server: stop it as you run it")
    try:
        print(stop(data_dir(settings) / "pgdata"))
    except EmbeddedError as exc:
        raise UsageError(str(exc)) from None
    return 0


def cmd_db_shell(args: argparse.Namespace) -> int:
    from atlas_crawl.storage.embedded import EmbeddedError, run_psql

    db = database_of(args)
    db.connect().close()  # a plain one-line error when it cannot be reached
    try:
        return run_psql(db.url)
    except EmbeddedError as exc:
        raise UsageError(str(exc)) from None


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    with connect(args, autocommit=True) as conn:
        applied = upgrade(conn)
    print(f"applied: {', '.join(applied)}" if applied else "database schema is up to date")
    return 0


def cmd_crawl(args: argparse.Namespace) -> int:
    from scrapy.crawler import CrawlerProcess

    from atlas_crawl.crawl.catalog import platform_spiders

    overrides: dict[str, Any] = {"ATLAS_DUE_HOURS": args.due, "ATLAS_REDIS_URL": args.redis}
    settings = settings_of(args, **overrides)
    spiders = platform_spiders(settings)
    # A platform is named by its spider (`linkedin`) or its name (`LinkedIn`), any case.
    by_name = {name: name for name in spiders} | {c.platform: n for n, c in spiders.items()}
    names = [by_name[match_one(n, by_name, "platform")] for n in args.platforms]
    if not args.platforms and not args.declarations:
        names = sorted(spiders)
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
    # The database is checked before anything is fetched, with a plain message if it
    # fails; the crawl's pipelines find the schema up to date (once per process).
    db = database_of(args)
    with db.connect(autocommit=True) as conn:
        ensure_schema(conn)
    common: dict[str, str] = {}
    if settings.get("ATLAS_REDIS_URL"):
        from atlas_crawl.crawl.distributed import round_name

        try:
            common["round"] = round_name(args.round or settings.get("ATLAS_ROUND"))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    elif args.round:
        common["round"] = args.round
    # Quiet unless asked: progress, warnings and the summary (ATLAS_LOG_LEVEL still rules).
    quiet = not args.verbose and "ATLAS_LOG_LEVEL" not in os.environ
    if quiet:
        settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    process = CrawlerProcess(settings)
    if quiet:
        _show_progress()
    # Kept here: Scrapy forgets its crawlers once they finish, their stats with them.
    crawlers = []
    for name in names:
        crawler = process.create_crawler(name)
        crawlers.append(crawler)
        process.crawl(crawler, **common)
    if declared is not None:
        crawler = process.create_crawler("declarations")
        crawlers.append(crawler)
        process.crawl(crawler, path=args.declarations, documents=declared, **common)
    process.start()
    stats = [crawler_stats(c) for c in crawlers]
    for crawler, values in zip(crawlers, stats, strict=True):
        if line := summary_line(crawler.spidercls.name, values):
            print(line)
    if settings.getbool("ATLAS_NOTIFY_AFTER_CRAWL"):
        _deliver_alerts(args, settings)
    code, message = exit_status(stats, getattr(process, "bootstrap_failed", False), args.strict)
    if message:
        print(message, file=sys.stderr)
    return code


def _show_progress() -> None:
    """Quiet crawls still show their progress lines (logged at INFO under a WARNING log)."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    # The summary line is printed at the end, on stdout.
    handler.addFilter(lambda record: str(record.msg).startswith("progress:"))
    progress = logging.getLogger("atlas_crawl.crawl.progress")
    progress.setLevel(logging.INFO)
    progress.addHandler(handler)
    progress.propagate = False


def _deliver_alerts(args: argparse.Namespace, settings: Any) -> None:
    """The alerts of what this crawl recorded (and any still due): a failed delivery is
    retried by the next notify, and never fails the crawl."""
    from atlas_crawl.alerts.notify import deliver_pending
    from atlas_crawl.cli.alerts import delivery_setup, report_tally
    from atlas_crawl.storage.database import DatabaseUnavailable

    try:
        with connect(args, autocommit=True) as conn:
            tally = deliver_pending(conn, delivery_setup(settings))
    except (DatabaseUnavailable, psycopg.Error) as exc:
        print(f"atlas-crawl: alerts not delivered now ({exc}); `atlas-crawl notify` will",
              file=sys.stderr)  # fmt: skip
        return
    if tally.delivered or tally.failed or tally.dead:
        report_tally(tally)


def cmd_backfill(args: argparse.Namespace) -> int:
    from atlas_crawl.crawl.catalog import load_documents
    from atlas_crawl.declarations import DeclarationError
    from atlas_crawl.history.backfill import print_progress, run_backfill
    from atlas_crawl.history.sources import BackfillError, ota_captures, warc_captures

    settings = settings_of(args)
    try:
        folder = Path(args.declarations) if args.declarations else None
        documents = load_documents(settings, folder)
    except DeclarationError as exc:
        raise UsageError(str(exc)) from None
    ignored: dict[str, int] = {}
    if args.connections < 1:
        raise UsageError("--connections must be at least 1")
    if args.source == "ota" and len(args.inputs) != 1:
        raise UsageError("backfill ota takes one snapshots repository")
    db = database_of(args)
    try:
        with contextlib.ExitStack() as stack:
            conn = stack.enter_context(db.connect(autocommit=True))
            ensure_schema(conn)
            lanes = [
                stack.enter_context(db.connect(autocommit=True))
                for _ in range(args.connections - 1)
            ]
            if args.source == "ota":
                repo = Path(args.inputs[0])
                captures = ota_captures(repo, documents, ignored)
                source, prefix = f"backfill ota {repo.name}", "ota:"
            else:
                files = [Path(f) for f in args.inputs]
                captures = iter(warc_captures(files, documents, ignored))
                source, prefix = "backfill warc", "warc:"
            stats = run_backfill(
                conn, captures, source, prefix, args.workers, print_progress, lanes=lanes
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
    from atlas_crawl.crawl.catalog import load_documents
    from atlas_crawl.history.reextract import reextract

    settings = settings_of(args)
    folder = Path(args.declarations) if args.declarations else None
    documents = load_documents(settings, folder)
    with connect(args, autocommit=True) as conn:
        ensure_schema(conn)
        results = reextract(conn, documents, args.platform, args.document)
    if not results:
        raise UsageError("no declared document matches")
    for r in results:
        print(f"{r.platform} / {r.document_type}: {r.outcome}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from atlas_crawl.cli.serving import cmd_serve
    from atlas_crawl.demo.run import DEMO_DATABASE, run_demo

    done = run_demo(settings_of(args), color=use_color(args.color), command=command_name())
    if done != 0 or not args.serve:
        return done
    # The web view of what the demo recorded, as `serve` runs it on that database.
    served = argparse.Namespace(**vars(args))
    served.database_url = f"embedded:{DEMO_DATABASE}"
    served.host, served.connections, served.workers = "127.0.0.1", 4, 1
    print(f"\nThe web view of the demo's database: open http://127.0.0.1:{args.port}/ "
          "(the change, its provisions, their types; Ctrl-C stops it)", flush=True)  # fmt: skip
    return cmd_serve(served)
