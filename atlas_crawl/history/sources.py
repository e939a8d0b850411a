"""Past captures from archives, oldest first: an Open Terms Archive snapshots
repository (one commit per capture) or WARC/WACZ files (their 2xx responses)."""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO
from urllib.parse import urlsplit

from atlas_crawl.declarations import TrackedDocument
from atlas_crawl.model import sha256_hex


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
    documents = list(documents)
    by_path: dict[tuple[str, str], TrackedDocument] = {}
    for doc in documents:
        # An OTA declaration's service is its file's name; a platform spider's, its platform.
        from_file = doc.origin.endswith(".json")
        service = Path(doc.origin).name.removesuffix(".json") if from_file else doc.platform
        by_path[(service, doc.document_type)] = doc
    by_url = {_url_key(d.url): d for d in documents if len(d.rules.sources) == 1}
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
                if document is None and trailer.strip():
                    # Named otherwise here (a platform spider's document): same URL.
                    document = by_url.get(_url_key(trailer.strip()))
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
