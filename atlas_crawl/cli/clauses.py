"""``classify``: clause types of texts, JSON lines in, JSON lines out."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

from atlas_crawl.cli.common import UsageError

BATCH = 512  # lines classified together: the model's matrix product is per batch


def _requests(lines: list[str], first: int = 1) -> Iterator[tuple[str, str | None]]:
    """(text, lang) of each JSON line; a bad line is a UsageError naming its number."""
    from atlas_crawl.clauses.classify import LANGUAGES

    for number, line in enumerate(lines, start=first):
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
        if lang is not None and lang.lower() not in LANGUAGES:
            raise UsageError(
                f"stdin line {number}: unknown lang {lang!r} (known: {', '.join(LANGUAGES)}; "
                "leave it out to have the language guessed)"
            )
        yield item["text"], lang.lower() if lang else None


def _lines_as_they_come(stream: Iterator[str]) -> Iterator[list[str]]:
    """The input in batches of what has arrived: each line answered as soon as it is
    read when typed or trickled in, up to BATCH lines at once from a fast pipe."""
    import queue
    import threading

    lines: queue.Queue[str | None] = queue.Queue(maxsize=4 * BATCH)

    def read() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        batch = [lines.get()]  # waits for the next line
        while batch[-1] is not None and len(batch) < BATCH:
            try:
                batch.append(lines.get_nowait())
            except queue.Empty:
                break
        arrived = [line for line in batch if line is not None]
        if arrived:
            yield arrived
        if batch[-1] is None:
            return


def cmd_classify(args: argparse.Namespace) -> int:
    from atlas_crawl.clauses.classify import as_json, classify

    def answer(requests: list[tuple[str, str | None]]) -> None:
        for findings in classify([t for t, _ in requests], [lang for _, lang in requests]):
            sys.stdout.write(json.dumps(as_json(findings), ensure_ascii=False) + "\n")
        sys.stdout.flush()

    first = 1
    for lines in _lines_as_they_come(sys.stdin):
        requests: list[tuple[str, str | None]] = []
        try:
            for request in _requests(lines, first):
                requests.append(request)
        finally:  # the lines before a bad one are answered before the error is said
            answer(requests)
        first += len(lines)
    return 0


COMPARE_SHOWN = 50  # provisions a terminal shows unless --all or --limit


def cmd_compare(args: argparse.Namespace) -> int:
    from atlas_crawl.cli.common import connect
    from atlas_crawl.cli.reading import json_line
    from atlas_crawl.history.clause_report import compare_count, compare_rows, compare_text
    from atlas_crawl.not_found import NotFound

    # A terminal shows the worst first; scripts (--json) take every one unless limited.
    limit = None if args.all or (args.json and args.limit is None) else args.limit or COMPARE_SHOWN
    with connect(args) as conn:
        try:
            rows = compare_rows(conn, args.type, args.min_severity, limit)
            total = None
            if limit is not None and len(rows) == limit and not args.json:
                total = compare_count(conn, args.type, args.min_severity)
        except NotFound as exc:
            raise UsageError(str(exc)) from None
    if args.json:
        from atlas_crawl.history.clause_report import check_type

        for row in rows:
            print(json_line({"type": check_type(args.type), **row}))
    else:
        print(compare_text(rows, args.type, total))
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
