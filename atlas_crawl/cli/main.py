"""``atlas-crawl``: the command line. Each command lives in the module of what it is
about (``crawling``, ``reading``, ``audit``); this one only parses and dispatches."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import psycopg

from atlas_crawl import __version__
from atlas_crawl.clauses.taxonomy import SEVERITIES
from atlas_crawl.cli.alerts import cmd_feeds, cmd_notify, cmd_watch
from atlas_crawl.cli.archiving import add_range_commands
from atlas_crawl.cli.audit import cmd_archive, cmd_cite, cmd_export, cmd_verify, cmd_warc
from atlas_crawl.cli.clauses import cmd_classify, cmd_compare, cmd_reclassify
from atlas_crawl.cli.common import UsageError, positive_int
from atlas_crawl.cli.crawling import (
    cmd_backfill,
    cmd_crawl,
    cmd_db_shell,
    cmd_db_stop,
    cmd_db_upgrade,
    cmd_demo,
    cmd_reextract,
)
from atlas_crawl.cli.declarations import cmd_declarations_check
from atlas_crawl.cli.ledger import cmd_checkpoint, cmd_keygen
from atlas_crawl.cli.provisions import cmd_provision, cmd_provisions
from atlas_crawl.cli.reading import cmd_diff, cmd_history, cmd_show
from atlas_crawl.cli.serving import cmd_memo, cmd_serve
from atlas_crawl.cli.status import cmd_status, cmd_track, cmd_untrack
from atlas_crawl.config import ConfigError
from atlas_crawl.storage.database import DatabaseUnavailable, one_line
from atlas_crawl.storage.migrate import MigrationError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atlas-crawl",
        description="Watch platforms' policy documents; keep and read their change history.",
    )
    parser.add_argument("--version", action="version", version=f"atlas-crawl {__version__}")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="the PostgreSQL to use (default: ATLAS_DATABASE_URL, else the embedded one)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database administration")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations and recreate views").set_defaults(
        func=cmd_db_upgrade
    )
    db_sub.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(func=cmd_db_stop)
    add_range_commands(db_sub)
    db_sub.add_parser(
        "shell", help="psql on the database the settings name (the embedded one included)"
    ).set_defaults(func=cmd_db_shell)

    crawl = sub.add_parser("crawl", help="check platforms' documents (all, or those named)")
    crawl.add_argument(
        "platforms", nargs="*", help="spider or platform names, any case (default: every platform)"
    )
    crawl.add_argument(
        "--declarations",
        metavar="DIR",
        help="crawl an OTA declarations folder (with platforms named, those too)",
    )
    crawl.add_argument("--services", help="with --declarations: only these services (A,B)")
    crawl.add_argument("--strict", action="store_true", help="exit 3 when any check failed")
    crawl.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="Scrapy's full log (default: progress, warnings and the summary only)",
    )
    crawl.add_argument(
        "--due",
        type=float,
        metavar="HOURS",
        help="only documents not checked successfully in the last HOURS",
    )
    crawl.add_argument(
        "--redis",
        metavar="URL",
        help="share the round's queue with other processes at this Redis (ATLAS_REDIS_URL)",
    )
    crawl.add_argument(
        "--round",
        help="the round to join: each document is checked once per round "
        "(default with --redis: the current UTC hour)",
    )
    crawl.set_defaults(func=cmd_crawl)

    history = sub.add_parser(
        "history", help="recent changes, or the versions of a platform's documents"
    )
    history.add_argument("--platform", help="a platform (any case); alone: all its documents")
    history.add_argument("--document", help="document type, e.g. 'Privacy Policy'")
    history.add_argument("--days", type=int, default=7, help="window for recent changes")
    history.add_argument("--json", action="store_true", help="one JSON object per line")
    history.add_argument(
        "--provisions", action="store_true", help="provision-level changes instead of documents'"
    )
    history.add_argument(
        "--summaries", action="store_true", help="each change's summary, as alerts say it"
    )
    history.set_defaults(func=cmd_history)

    provisions = sub.add_parser(
        "provisions",
        help="a document's provisions today (PLATFORM DOCUMENT), or `provisions rebuild`",
    )
    provisions.add_argument("platform", help="a platform (any case), or: rebuild")
    provisions.add_argument("document", nargs="?", help="document type, e.g. 'Privacy Policy'")
    provisions.add_argument("--json", action="store_true", help="one JSON object per line")
    provisions.set_defaults(func=cmd_provisions)

    classify = sub.add_parser(
        "classify",
        help='clause types of texts: JSON lines {"text": ..., "lang": "en"} on stdin',
    )
    classify.set_defaults(func=cmd_classify)

    compare = sub.add_parser(
        "compare", help="every platform's provisions of a clause type today, worst first"
    )
    compare.add_argument("type", help="a clause type, e.g. ai-training or arbitration")
    compare.add_argument("--min-severity", choices=SEVERITIES, default="low")
    compare.add_argument("--json", action="store_true", help="one JSON object per line")
    shown = compare.add_mutually_exclusive_group()
    shown.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="the N worst (default 50 in the terminal, every one with --json)",
    )
    shown.add_argument("--all", action="store_true", help="every provision of the type")
    compare.set_defaults(func=cmd_compare)

    reclassify = sub.add_parser(
        "reclassify",
        help="read every stored provision again with this version's classifier",
    )
    reclassify.set_defaults(func=cmd_reclassify)

    serve = sub.add_parser("serve", help="the web view and JSON API of the database")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (8000)")
    serve.add_argument("--connections", type=int, default=8,
                       help="database connections of each worker (8)")  # fmt: skip
    serve.add_argument("--workers", type=int, default=1,
                       help="server processes (1); each keeps its own pages in memory")  # fmt: skip
    serve.set_defaults(func=cmd_serve)

    declarations = sub.add_parser("declarations", help="check a folder of declarations")
    declarations_sub = declarations.add_subparsers(dest="declarations_command", required=True)
    check = declarations_sub.add_parser(
        "check",
        help="validate a folder and show what each declaration cuts out of its page",
        description="Validates every declaration of DIR (Open Terms Archive's format), "
        "then fetches each page (no JavaScript) and shows the start of the text its "
        "selectors cut out, or why they cut nothing. Exit 1 when a page gives no text.",
    )
    check.add_argument("folder", metavar="DIR")
    check.add_argument("--services", help="only these services (A,B)")
    check.add_argument("--document", help="only this document type")
    check.add_argument("--page", metavar="FILE", help="read this saved page instead of fetching")
    check.add_argument("--offline", action="store_true", help="validate only, fetch nothing")
    check.set_defaults(func=cmd_declarations_check)

    watch = sub.add_parser(
        "watch",
        help="alerts: watch add TARGET DESTINATION | list | remove ID | test ID",
        description="TARGET: platform:NAME, document:PLATFORM/DOCUMENT TYPE, "
        "provision:AC-P-000123 or type:CLAUSE_TYPE. DESTINATION: an http(s):// webhook URL, "
        "mailto:ADDRESS, an Apprise URL (slack://, discord://, ntfy://, json://, ...) or "
        "atom:FEED NAME.",
    )
    watch.add_argument("action", choices=("add", "list", "remove", "test"))
    watch.add_argument("values", nargs="*", help="add: TARGET DESTINATION; remove, test: WATCH_ID")
    watch.add_argument("--secret", help="webhooks: the HMAC-SHA256 key (default: a new one)")
    watch.add_argument(
        "--min-severity",
        choices=SEVERITIES,
        help="only changes of at least this severity (type watches: medium)",
    )
    watch.add_argument("--technical", action="store_true", help="technical changes count too")
    watch.add_argument(
        "--lowered",
        action="store_true",
        help="a clause lowered in severity or no longer of the type counts too, at the "
        "severity it had (a removed clause always counts)",
    )
    watch.add_argument("--json", action="store_true", help="list: one JSON object per line")
    watch.set_defaults(func=cmd_watch)

    notify = sub.add_parser("notify", help="deliver pending alerts (the outbox)")
    notify.add_argument(
        "--follow", action="store_true", help="keep delivering, woken by each recorded change"
    )
    notify.add_argument(
        "--retry-dead", metavar="ID|all", help="queue dead alerts again (one by id, or all) first"
    )
    notify.set_defaults(func=cmd_notify)

    feeds = sub.add_parser("feeds", help="write Atom feeds of changes")
    feeds.add_argument("--out", required=True, help="folder to write the feeds in")
    feeds.set_defaults(func=cmd_feeds)

    provision = sub.add_parser("provision", help="one provision's whole history")
    provision.add_argument("record", help="AC-P-000123 or a provision id")
    provision.add_argument("--json", action="store_true", help="as one JSON object")
    provision.set_defaults(func=cmd_provision)

    status = sub.add_parser(
        "status", help="where every tracked document stands; what needs a look comes first"
    )
    status.add_argument("--json", action="store_true", help="one JSON object per line")
    status.add_argument("--all", action="store_true", help="untracked documents too")
    status.add_argument(
        "--fail-on",
        type=int,
        metavar="CHECKS",
        help="exit 1 when a document's last CHECKS checks or more all failed (monitoring)",
    )
    status.set_defaults(func=cmd_status)

    for name, func, verb in (("untrack", cmd_untrack, "stop"), ("track", cmd_track, "resume")):
        tracking = sub.add_parser(
            name, help=f"{verb} checking a document, or every document of a platform"
        )
        tracking.add_argument("platform")
        tracking.add_argument("document", nargs="?", help="document type (default: all)")
        tracking.set_defaults(func=func)

    diff = sub.add_parser("diff", help="show a change")
    diff.add_argument("change", help="AC-C-000003 or a change id")
    diff.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    diff.set_defaults(func=cmd_diff)

    show = sub.add_parser("show", help="print a version's text")
    show.add_argument("version", help="AC-V-000012 or a version id")
    show.add_argument("--text-only", action="store_true", help="only the text, no header")
    show.set_defaults(func=cmd_show)

    verify = sub.add_parser("verify", help="recompute every stored hash and chain")
    verify.add_argument("--evidence-dir", help="WARC folder (default: ATLAS_EVIDENCE_DIR)")
    verify.add_argument(
        "--checkpoint",
        nargs="+",
        metavar="FILE",
        help="prove the database still holds exactly the history these checkpoints covered",
    )
    verify.add_argument(
        "--since",
        metavar="FILE",
        help="only what was appended after this checkpoint, and the proof that today's "
        "ledger extends it",
    )
    verify.add_argument(
        "--resume",
        action="store_true",
        help="go on with an interrupted full verify from its last saved window",
    )
    verify.add_argument(
        "--public-key", metavar="HEX|FILE", help="the operator's published key, to trust"
    )
    verify.set_defaults(func=cmd_verify)

    keygen = sub.add_parser("keygen", help="make the Ed25519 key that signs checkpoints")
    keygen.add_argument("--key", metavar="FILE", help="where (default: ATLAS_SIGNING_KEY)")
    keygen.set_defaults(func=cmd_keygen)

    checkpoint = sub.add_parser(
        "checkpoint", help="sign the ledger's Merkle root, to publish outside the database"
    )
    checkpoint.add_argument("--key", metavar="FILE", help="signing key (ATLAS_SIGNING_KEY)")
    checkpoint.add_argument("--out", metavar="FILE", help="write here (default: stdout)")
    checkpoint.set_defaults(func=cmd_checkpoint)

    warc = sub.add_parser("warc", help="write stored captures of checks as WARC")
    warc.add_argument(
        "records",
        nargs="+",
        metavar="RECORD",
        help="a version (AC-V-...), a change (AC-C-...) or a check number (status --json)",
    )
    warc.add_argument("--out", help="output file (.warc.gz)")
    warc.set_defaults(func=cmd_warc)

    cite = sub.add_parser("cite", help="a citation of a version or change")
    cite.add_argument(
        "record",
        help="AC-V-000012 (version), AC-C-000003 (change), AC-P-000123 (provision), "
        "or a version id",
    )
    cite.add_argument("--json", action="store_true")
    cite.set_defaults(func=cmd_cite)

    memo = sub.add_parser("memo", help="a provision's or a change's page as a PDF memo")
    memo.add_argument("record", help="AC-P-000123 (provision) or AC-C-000003 (change)")
    memo.add_argument("--out", help="the PDF to write (default: RECORD.pdf)")
    memo.set_defaults(func=cmd_memo)

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
    demo.add_argument(
        "--serve",
        action="store_true",
        help="then serve the web view of the demo's database (Ctrl-C stops it)",
    )
    demo.add_argument("--port", type=int, default=8000, help="the web view's port (8000)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (DatabaseUnavailable, MigrationError, ConfigError, UsageError) as exc:
        return _say(str(exc))
    except (
        psycopg.errors.UndefinedTable,
        psycopg.errors.UndefinedColumn,
        psycopg.errors.UndefinedFunction,
    ):
        return _say(
            "the database has no atlas-crawl history yet, or an older schema: "
            "run `atlas-crawl db upgrade` (a crawl does it too)"
        )
    except psycopg.OperationalError as exc:
        return _say(f"the database stopped answering: {one_line(exc)}")
    except KeyboardInterrupt:
        # Ctrl-C: stop quietly, with the status a shell gives an interrupted command.
        print("atlas-crawl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`atlas-crawl history | head`): nothing more to say.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # as a process killed by SIGPIPE


def _say(message: str) -> int:
    print(f"atlas-crawl: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
