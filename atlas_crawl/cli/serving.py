"""``serve``: the web view and JSON API of the database the settings name."""

from __future__ import annotations

import argparse

from atlas_crawl.cli.common import UsageError, database_of


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from atlas_crawl.storage.migrate import pending
    from atlas_crawl.web.app import create_app

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
    app = create_app(db.url, pool_size=args.connections)
    print(f"atlas-crawl: serving {db.source} at http://{args.host}:{args.port}/ (Ctrl-C stops)",
          flush=True)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
