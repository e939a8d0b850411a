"""``classify``: clause types of texts, JSON lines in, JSON lines out."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

from atlas_crawl.cli.common import UsageError

BATCH = 512  # lines classified together: the model's matrix product is per batch


def _requests(stream: Iterator[str]) -> Iterator[tuple[str, str | None]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"stdin line {number}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise UsageError(f'stdin line {number}: expected {{"text": "...", "lang": "en"}}')
        lang = item.get("lang")
        if lang is not None and not isinstance(lang, str):
            raise UsageError(f"stdin line {number}: lang must be a language code like 'en'")
        yield item["text"], lang


def cmd_classify(args: argparse.Namespace) -> int:
    from atlas_crawl.clauses.classify import as_json, classify

    batch: list[tuple[str, str | None]] = []

    def flush() -> None:
        for findings in classify([t for t, _ in batch], [lang for _, lang in batch]):
            sys.stdout.write(json.dumps(as_json(findings), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        batch.clear()

    for request in _requests(sys.stdin):
        batch.append(request)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from atlas_crawl.cli.common import connect
    from atlas_crawl.cli.reading import json_line
    from atlas_crawl.history.clause_report import compare_rows, compare_text
    from atlas_crawl.not_found import NotFound

    with connect(args) as conn:
        try:
            rows = compare_rows(conn, args.type, args.min_severity)
        except NotFound as exc:
            raise UsageError(str(exc)) from None
    if args.json:
        for row in rows:
            print(json_line({"type": args.type, **row}))
    else:
        print(compare_text(rows, args.type))
    return 0


def cmd_reclassify(args: argparse.Namespace) -> int:
    from atlas_crawl.cli.common import connect
    from atlas_crawl.storage.classifications import reclassify

    def progress(done: int) -> None:
        print(f"  {done} texts read", file=sys.stderr, flush=True)

    with connect(args) as conn:
        run = reclassify(conn, progress=progress)
    print(
        f"reclassification {run.reclassification_id} by {run.classifier_version}: "
        f"{run.texts} provision texts read, {run.differing} with other types or severities "
        "than the classifier before (view reclassified_provisions); no document changed"
    )
    return 0
