"""History from real archives (``history.sources``), imported as checks.

Every capture goes, oldest first, through the same extraction, comparison and storage
as a crawl, with its original capture time. Each imported capture is a check whose
``source_ref`` names where it came from (``ota:<commit>:<path>``, ``warc:<record id>``),
so a second run skips what the first imported: backfills are resumable.
Extraction, the costly part, runs on a pool of processes; recording stays in order.
"""

from __future__ import annotations

import itertools
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from atlas_crawl.declarations import TrackedDocument, rules_to_json
from atlas_crawl.extraction import EXTRACTOR_VERSION, ExtractionError, extract_at
from atlas_crawl.extraction.extract import reextract_stored
from atlas_crawl.history.sources import Capture
from atlas_crawl.model import Page
from atlas_crawl.storage.recorder import CheckRecord, record_check


@dataclass
class BackfillStats:
    seen: int = 0
    skipped: int = 0  # imported by an earlier run
    imported: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)  # files with no declared document
    seconds: float = 0.0


# -- importing -------------------------------------------------------------------------


def _extract(job: tuple[TrackedDocument, bytes, str, datetime]) -> tuple[Any, ...]:
    document, body, content_type, captured_at = job
    try:
        rules, text = extract_at(document, [(body, content_type)], captured_at)
    except ExtractionError as exc:
        return None, None, exc.reason, exc.detail
    return rules, text, None, None


def imported_refs(conn: psycopg.Connection, prefix: str) -> set[str]:
    rows = conn.execute(
        "SELECT source_ref FROM checks WHERE source_ref LIKE %s",
        (prefix.replace("%", r"\%") + "%",),
    )
    return {r[0] for r in rows}


def run_backfill(
    conn: psycopg.Connection,
    captures: Iterable[Capture],
    source: str,
    ref_prefix: str,
    workers: int = 2,
    progress: Callable[[BackfillStats], None] | None = None,
    verify: bool = True,
    lanes: Sequence[psycopg.Connection] = (),
) -> BackfillStats:
    """Import captures in order; each is one check, recorded like a crawl's.

    ``lanes``: more connections, so several documents are recorded at once (each
    document's captures stay in order, on one connection).
    """
    stats = BackfillStats()
    started = time.perf_counter()
    connections = [conn, *lanes]
    for each in connections:
        # An interrupted backfill loses at most its last commits and is resumable, so
        # it need not wait for each commit to reach the disk.
        each.execute("SET synchronous_commit TO off")
    recorders = ThreadPoolExecutor(len(connections)) if lanes else None
    done = imported_refs(conn, ref_prefix)
    pending = (c for c in captures if not _count_skip(c, done, stats))
    # forkserver: forked workers would inherit the pipes of `git cat-file` and keep it
    # waiting for an end of input that never comes.
    context = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(workers, mp_context=context) if workers > 1 else None
    try:
        # The next batch is extracted by the pool while this one is recorded here.
        waiting: tuple[list[Capture], list[Any]] | None = None
        while batch := list(itertools.islice(pending, 64)):
            extracting = (batch, _start_extraction(batch, pool))
            if waiting is not None:
                _record_batch(connections, recorders, *waiting, source, stats, verify)
                if progress:
                    progress(stats)
            waiting = extracting
        if waiting is not None:
            _record_batch(connections, recorders, *waiting, source, stats, verify)
    finally:
        if pool is not None:
            pool.shutdown()
        if recorders is not None:
            recorders.shutdown()
    stats.seconds = time.perf_counter() - started
    if progress:
        progress(stats)
    return stats


def _count_skip(capture: Capture, done: set[str], stats: BackfillStats) -> bool:
    stats.seen += 1
    if capture.source_ref in done:
        stats.skipped += 1
        return True
    return False


def _start_extraction(batch: list[Capture], pool: ProcessPoolExecutor | None) -> list[Any]:
    """Futures (or, without a pool, results) of the batch's extractions, in order."""
    jobs = [(c.document, c.body, c.content_type, c.captured_at) for c in batch]
    if pool is None:
        return [_extract(j) for j in jobs]
    # Chunks of 8: fewer round trips to the workers than one job at a time.
    chunks = [jobs[i : i + 8] for i in range(0, len(jobs), 8)]
    return [pool.submit(_extract_chunk, chunk) for chunk in chunks]


def _extract_chunk(jobs: list[tuple[TrackedDocument, bytes, str, datetime]]) -> list[Any]:
    return [_extract(j) for j in jobs]


def _record_batch(
    connections: list[psycopg.Connection],
    recorders: ThreadPoolExecutor | None,
    batch: list[Capture],
    extracting: list[Any],
    source: str,
    stats: BackfillStats,
    verify: bool,
) -> None:
    if extracting and isinstance(extracting[0], Future):
        results = [r for future in extracting for r in future.result()]
    else:
        results = extracting
    # Each document's captures on one connection, in order; the busiest documents of
    # the batch spread first, so the connections get about as much to do.
    by_document: dict[str, list[tuple[Capture, Any]]] = {}
    for capture, result in zip(batch, results, strict=True):
        by_document.setdefault(capture.document.key, []).append((capture, result))
    shares: list[list[tuple[Capture, Any]]] = [[] for _ in connections]
    for items in sorted(by_document.values(), key=len, reverse=True):
        min(shares, key=len).extend(items)
    if recorders is None:
        outcomes = [_record_all(connections[0], shares[0], source, verify)]
    else:
        futures = [
            recorders.submit(_record_all, conn, share, source, verify)
            for conn, share in zip(connections, shares, strict=True)
            if share
        ]
        outcomes = [f.result() for f in futures]
    for outcome in (o for lane in outcomes for o in lane):
        stats.imported += 1
        stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + 1


def _record_all(
    conn: psycopg.Connection, items: list[tuple[Capture, Any]], source: str, verify: bool
) -> list[str]:
    """Record these captures in order on ``conn``; their outcomes."""
    outcomes = []
    for capture, (rules, text, reason, detail) in items:
        rules = rules or capture.document.rules_in_force(capture.captured_at)
        record = CheckRecord(
            platform=capture.document.platform,
            document_type=capture.document.document_type,
            url=capture.document.url,
            declaration=rules_to_json(rules),
            # The check was made when the archive captured the page: a citation's
            # "last verified" is then the archive's time, not the import's.
            checked_at=capture.captured_at,
            captured_at=capture.captured_at,
            fetcher=source,
            user_agent=None,
            imported=True,
            pages=[
                Page(
                    capture.url,
                    capture.url,
                    capture.status,
                    capture.headers,
                    capture.body,
                    capture.content_type,
                )
            ],
            text=text,
            failure_reason=reason,
            failure_detail=detail,
            extractor_version=EXTRACTOR_VERSION,
            source_ref=capture.source_ref,
        )
        outcomes.append(
            record_check(conn, record, reextract=reextract_stored, verify=verify).outcome
        )
    return outcomes


def print_progress(stats: BackfillStats) -> None:
    print(
        f"\r{stats.seen} captures read, {stats.imported} imported, {stats.skipped} already there",
        end="",
        file=sys.stderr,
        flush=True,
    )
