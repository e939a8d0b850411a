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
