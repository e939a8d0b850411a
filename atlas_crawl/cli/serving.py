"""``serve``: the web view and JSON API of the database the settings name; ``memo``: one
of its pages as a PDF."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from atlas_crawl.cli.common import UsageError, connect, database_of, settings_of


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from atlas_crawl.storage.migrate import pending
    from atlas_crawl.web.app import SERVED_CONNECTIONS, SERVED_URL, create_app

    db = database_of(args)
    with db.connect() as conn:  # a database that cannot be used is one line, before listening
        missing = pending(conn)
    if missing:
        raise UsageError(
            f"the database's schema is older than this atlas-crawl ({len(missing)} migration(s) "
            f"not applied, from {missing[0]}): run atlas-crawl db upgrade, then serve"
        )
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: expected 1 to 65535")
    if not 0 < args.workers <= 64 or not 0 < args.connections <= 200:
        raise UsageError(f"--workers {args.workers} --connections {args.connections}: "
                         "expected 1 to 64 workers of 1 to 200 connections")  # fmt: skip
    print(f"atlas-crawl: serving {db.source} at http://{args.host}:{args.port}/ (Ctrl-C stops)",
          flush=True)  # fmt: skip
    options = {"host": args.host, "port": args.port, "log_level": "warning", "access_log": False}
    if args.workers == 1:
        uvicorn.run(create_app(db.url, args.connections, settings_of(args)), **options)
    else:  # each worker process makes its application from the environment
        os.environ[SERVED_URL] = db.url
        os.environ[SERVED_CONNECTIONS] = str(args.connections)
        uvicorn.run(f"{create_app.__module__}:from_environment", factory=True,
                    workers=args.workers, **options)  # fmt: skip
    return 0


def cmd_memo(args: argparse.Namespace) -> int:
    from atlas_crawl.not_found import NotFound
    from atlas_crawl.record_ids import parse_record_id
    from atlas_crawl.web.memo import MemoUnavailable
    from atlas_crawl.web.pages import memo_pdf

    try:
        kind, number = parse_record_id(args.record)
        with connect(args) as conn:
            body, name = memo_pdf(conn, kind, number)
    except (NotFound, ValueError, MemoUnavailable) as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out or name)
    out.write_bytes(body)
    print(f"{out}: memo of {name.removesuffix('.pdf')} ({len(body):,} bytes)")
    return 0
