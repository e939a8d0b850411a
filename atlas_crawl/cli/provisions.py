"""Commands about provisions: ``provisions`` (a document's provisions today, or
``provisions rebuild``) and ``provision`` (one provision's whole history)."""

from __future__ import annotations

import argparse
import json

from atlas_crawl.cli.common import UsageError, connect
from atlas_crawl.cli.names import documents_named, record_number
from atlas_crawl.cli.reading import json_line
from atlas_crawl.history.provision_report import (
    current_provisions,
    provision_life,
    provision_text,
    provisions_text,
)
from atlas_crawl.not_found import NotFound
from atlas_crawl.storage.provisions import rebuild


def cmd_provisions(args: argparse.Namespace) -> int:
    if args.platform == "rebuild":
        with connect(args) as conn:
            for name, count in rebuild(conn):
                print(f"{name}: {count} version(s) cut")
        return 0
    if not args.document:
        raise UsageError("name a document: atlas-crawl provisions PLATFORM DOCUMENT")
    with connect(args) as conn:
        found = documents_named(conn, args.platform, args.document)
        if not found:
            raise UsageError(f"no document {args.document!r} of {args.platform}")
        platform, document_type = found[0]
        if args.json:
            for row in current_provisions(conn, platform, document_type):
                print(json_line({"platform": platform, "document_type": document_type, **row}))
            return 0
        try:
            print(provisions_text(conn, platform, document_type))
        except NotFound as exc:
            raise UsageError(str(exc)) from None
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    number = record_number(args.record, "provision")
    with connect(args) as conn:
        try:
            if args.json:
                print(json.dumps(provision_life(conn, number), indent=2, default=str,
                                 ensure_ascii=False))  # fmt: skip
            else:
                print(provision_text(conn, number))
        except NotFound as exc:
            raise UsageError(str(exc)) from None
    return 0
