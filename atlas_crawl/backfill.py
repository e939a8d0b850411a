"""History from real archives: an Open Terms Archive snapshots repository, or WARC/WACZ.

Every capture goes, oldest first, through the same extraction, comparison and storage
as a crawl, with its original capture time. Each imported capture is a check whose
``source_ref`` names where it came from (``ota:<commit>:<path>``, ``warc:<record id>``),
so a second run skips what the first imported: backfills are resumable.
Extraction, the costly part, runs on a pool of processes; recording stays in order.
"""

from __future__ import annotations

import itertools
import multiprocessing
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import urlsplit

import psycopg

from atlas_crawl.declarations import TrackedDocument
from atlas_crawl.extraction import EXTRACTOR_VERSION, ExtractionError, extract_at
from atlas_crawl.extraction.extract import reextract_stored
from atlas_crawl.rules_json import rules_to_json
from atlas_crawl.storage.recorder import CheckRecord, Page, record_check, sha256_hex


class BackfillError(RuntimeError):
    pass


@dataclass
class Capture:
    """One archived capture of one document."""

    document: TrackedDocument
    captured_at: datetime
    body: bytes
    source_ref: str
    url: str
    content_type: str = ""
    status: int | None = None
    headers: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class BackfillStats:
    seen: int = 0
    skipped: int = 0  # imported by an earlier run
    imported: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)  # files with no declared document
    seconds: float = 0.0


# -- Open Terms Archive snapshots repositories ---------------------------------------


def _git(repo: Path, *args: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
        ).stdout
    except FileNotFoundError:
        raise BackfillError("git is not installed") from None
    except subprocess.CalledProcessError as exc:
        raise BackfillError(
            f"{repo}: not a readable git repository: {exc.stderr.strip()}"
        ) from None


def ota_captures(
    repo: Path, documents: Iterable[TrackedDocument], ignored: dict[str, int]
) -> Iterator[Capture]:
    """Every capture of a declared document in a snapshots repository, oldest first."""
    by_path: dict[tuple[str, str], TrackedDocument] = {}
    for doc in documents:
        service = Path(doc.origin).name.removesuffix(".json") if doc.origin else doc.platform
        by_path[(service, doc.document_type)] = doc
    log = _git(
        repo,
        "log",
        "--reverse",
        "--no-renames",
        "--diff-filter=AM",
        "--name-only",
        "--format=%x02%H%x00%cI%x00%(trailers:key=X-source-document-location,valueonly)%x00",
    )
    cat = subprocess.Popen(
        ["git", "-C", str(repo), "cat-file", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert cat.stdin is not None and cat.stdout is not None
    try:
        for entry in log.split("\x02")[1:]:
            commit, date, trailer, names = entry.split("\x00", 3)
            captured_at = datetime.fromisoformat(date).astimezone(UTC)
            for name in filter(None, (n.strip() for n in names.splitlines())):
                path = Path(name)
                if len(path.parts) != 2 or path.suffix not in (".html", ".pdf"):
                    continue
                document = by_path.get((path.parts[0], path.stem))
                if document is None or len(document.rules.sources) != 1:
                    key = f"{path.parts[0]}/{path.stem}"
                    ignored[key] = ignored.get(key, 0) + 1
                    continue
                body = _blob(cat.stdin, cat.stdout, f"{commit}:{name}")
                yield Capture(
                    document,
                    captured_at,
                    body,
                    f"ota:{commit}:{name}",
                    trailer.strip() or document.url,
                    "application/pdf" if path.suffix == ".pdf" else "text/html",
                )
    finally:
        cat.stdin.close()
        cat.wait()


def _blob(stdin: IO[bytes], stdout: IO[bytes], spec: str) -> bytes:
    stdin.write(spec.encode() + b"\n")
    stdin.flush()
    header = stdout.readline().split()
    if len(header) != 3:
        raise BackfillError(f"git cannot read {spec}")
    size = int(header[2])
    data = stdout.read(size)
    stdout.read(1)  # the newline after the object
    return data


# -- WARC and WACZ files ---------------------------------------------------------------


def _url_key(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def _warc_streams(path: Path) -> Iterator[tuple[str, BinaryIO]]:
    if path.suffix == ".wacz":
        with zipfile.ZipFile(path) as wacz:
            for name in wacz.namelist():
                if name.endswith((".warc", ".warc.gz")):
                    with wacz.open(name) as fh:
                        yield f"{path}!{name}", fh  # type: ignore[misc]
    else:
        with path.open("rb") as fh:
            yield str(path), fh


def warc_captures(
    files: Iterable[Path], documents: Iterable[TrackedDocument], ignored: dict[str, int]
) -> list[Capture]:
    """The 2xx responses for declared documents' URLs in WARC/WACZ files, oldest first."""
    from warcio.archiveiterator import ArchiveIterator

    by_url = {_url_key(s.url): d for d in documents for s in d.rules.sources[:1]}
    found: list[Capture] = []
    for file in files:
        if not file.exists():
            raise BackfillError(f"{file}: no such file")
        for name, stream in _warc_streams(file):
            records = 0
            try:
                for record in ArchiveIterator(stream):
                    uri = (
                        record.rec_headers.get_header("WARC-Target-URI")
                        or record.rec_headers.get_header("uri")
                        or ""
                    )
                    # warcio reads anything as an old ARC file; count only real records.
                    records += record.format.startswith("warc") or uri.startswith("http")
                    if record.rec_type != "response" or record.http_headers is None:
                        continue
                    url = record.rec_headers.get_header("WARC-Target-URI") or ""
                    document = by_url.get(_url_key(url))
                    status = int(record.http_headers.get_statuscode() or 0)
                    if document is None:
                        ignored[url] = ignored.get(url, 0) + 1
                        continue
                    if not 200 <= status < 300:
                        continue
                    date = record.rec_headers.get_header("WARC-Date")
                    body = record.content_stream().read()
                    headers: dict[str, list[str]] = {}
                    for key, value in record.http_headers.headers:
                        headers.setdefault(key, []).append(value)
                    record_id = record.rec_headers.get_header("WARC-Record-ID") or sha256_hex(body)
                    found.append(
                        Capture(
                            document,
                            datetime.fromisoformat(date.replace("Z", "+00:00")).astimezone(UTC),
                            body,
                            f"warc:{record_id}",
                            url,
                            record.http_headers.get_header("Content-Type") or "",
                            status,
                            headers,
                        )
                    )
            except Exception as exc:  # warcio raises several kinds on damaged files
                raise BackfillError(f"{name}: not a readable WARC file: {exc}") from exc
            if records == 0:
                raise BackfillError(f"{name}: not a readable WARC file: no WARC records")
    found.sort(key=lambda c: c.captured_at)
    return found


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
        rules = rules or capture.document.rules_at(capture.captured_at)
        record = CheckRecord(
            platform=capture.document.platform,
            document_type=capture.document.document_type,
            url=capture.document.url,
            declaration=rules_to_json(rules),
            checked_at=datetime.now(UTC),
            captured_at=capture.captured_at,
            fetcher=source,
            user_agent=None,
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
