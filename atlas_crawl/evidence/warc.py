"""WARC 1.1 captures with SHA-256 digests, in size-rotated files (warcio).

A fetched page becomes a ``request`` and a ``response`` record; a browser-rendered
page adds a ``resource`` record of the rendered DOM and, where enabled, one of a
full-page PNG screenshot, all linked with ``WARC-Concurrent-To``.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
# Headers that described the body as it travelled, not as it is stored (decoded).
_TRANSPORT_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}


class _Sha256Writer(WARCWriter):
    """warcio computes SHA-1 digests by default; WARC 1.1 allows any algorithm."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


@dataclass(frozen=True)
class WarcPage:
    """One page to write: what was asked, what came back, and what the browser showed."""

    url: str
    status: int
    response_headers: dict[str, list[str]]
    body: bytes
    fetched_at: datetime
    request_headers: dict[str, list[str]] | None = None
    rendered: bool = False  # body is a browser's rendered DOM
    network_body: bytes | None = None  # for a rendered page: the document as served
    screenshot: bytes | None = None


@dataclass(frozen=True)
class WarcRef:
    file: str  # path relative to the evidence folder
    offset: int
    payload_digest: str


def _status_line(status: int) -> str:
    from http import HTTPStatus

    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{status} {phrase}"


def payload_digest(body: bytes) -> str:
    import base64

    return "sha256:" + base64.b32encode(hashlib.sha256(body).digest()).decode("ascii")


class WarcStore:
    """Appends records to ``atlas-<time>-<n>.warc.gz`` files under ``folder``."""

    def __init__(self, folder: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._current: Path | None = None
        self._serial = 0

    def _file(self) -> Path:
        if self._current is None or self._current.stat().st_size >= self.max_bytes:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._serial += 1
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
            self._current = self.folder / f"atlas-{stamp}-{os.getpid()}-{self._serial:03d}.warc.gz"
            with self._current.open("wb") as fh:
                write_warcinfo(fh, self._current.name)
        return self._current

    def write(self, page: WarcPage) -> WarcRef:
        """Write one page's records; returns where its response record starts."""
        with self._lock:
            path = self._file()
            with path.open("ab") as fh:
                offset = fh.tell()
                _write_records(_Sha256Writer(fh, gzip=True, warc_version="WARC/1.1"), page)
            return WarcRef(str(path.relative_to(self.folder)), offset, payload_digest(page.body))


def write_page(fh: BinaryIO, page: WarcPage) -> None:
    """Write one page's records to an open binary file (for exports and on demand)."""
    _write_records(_Sha256Writer(fh, gzip=True, warc_version="WARC/1.1"), page)


def write_warcinfo(fh: BinaryIO, filename: str) -> None:
    from atlas_crawl import __version__

    writer = _Sha256Writer(fh, gzip=True, warc_version="WARC/1.1")
    info = {"software": f"atlas-crawl {__version__}", "format": "WARC File Format 1.1",
            "description": "policy document captures"}  # fmt: skip
    writer.write_record(writer.create_warcinfo_record(filename, info))


def _headers(headers: dict[str, list[str]], body_length: int) -> list[tuple[str, str]]:
    out = [(k, v) for k, vs in headers.items() if k.lower() not in _TRANSPORT_HEADERS for v in vs]
    out.append(("Content-Length", str(body_length)))
    return out


def _write_records(writer: WARCWriter, page: WarcPage) -> None:
    """The capture's own record first (a check's offset points at it), then the rest."""
    date = datetime_to_iso_date(page.fetched_at.astimezone(UTC).replace(tzinfo=None), True)

    def response(body: bytes) -> Any:
        return writer.create_warc_record(
            page.url,
            "response",
            payload=io.BytesIO(body),
            http_headers=StatusAndHeaders(
                _status_line(page.status),
                _headers(page.response_headers, len(body)),
                protocol="HTTP/1.1",
            ),
            warc_headers_dict={"WARC-Date": date},
        )

    def resource(uri: str, content_type: str, data: bytes, to: str) -> Any:
        return writer.create_warc_record(
            uri,
            "resource",
            payload=io.BytesIO(data),
            warc_content_type=content_type,
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": to},
        )

    if page.rendered:
        main = writer.create_warc_record(
            page.url,
            "resource",
            payload=io.BytesIO(page.body),
            warc_content_type="text/html; charset=utf-8",
            warc_headers_dict={"WARC-Date": date},
        )
    else:
        main = response(page.body)
    main_id = main.rec_headers.get_header("WARC-Record-ID")
    records = [main]
    if page.rendered and page.network_body is not None:
        served = response(page.network_body)
        served.rec_headers.add_header("WARC-Concurrent-To", main_id)
        records.append(served)
    if page.request_headers is not None:
        parts = urlsplit(page.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = [(k, v) for k, vs in page.request_headers.items() for v in vs]
        if not any(k.lower() == "host" for k, _ in request_headers):
            request_headers.insert(0, ("Host", parts.netloc))
        records.append(
            writer.create_warc_record(
                page.url,
                "request",
                payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(
                    f"GET {target} HTTP/1.1", request_headers, is_http_request=True
                ),
                warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": main_id},
            )
        )
    if page.screenshot is not None:
        records.append(
            resource(
                f"urn:atlas-crawl:screenshot:{page.url}", "image/png", page.screenshot, main_id
            )
        )
    for record in records:
        writer.write_record(record)


@dataclass(frozen=True)
class CaptureRecords:
    """A capture's records as read back: the main record's payload and digests, and
    whatever failed to check in it and its concurrent records (request, served
    response, screenshot)."""

    payload: bytes
    recomputed_digest: str
    stored_digest: str
    problems: list[str]
    records: int


def read_capture(folder: Path, ref_file: str, offset: int) -> CaptureRecords:
    """The capture at ``offset`` and the records written with it, every block and payload
    digest checked. Raises ValueError (or a decoding error) when it cannot be read."""
    from warcio.archiveiterator import ArchiveIterator

    problems: list[str] = []
    main: tuple[bytes, str, str] | None = None
    main_id = None
    records = 0
    with (folder / ref_file).open("rb") as fh:
        fh.seek(offset)
        for record in ArchiveIterator(fh, check_digests=True):
            record_id = record.rec_headers.get_header("WARC-Record-ID")
            if main is None:
                if record.rec_type not in ("response", "resource"):
                    raise ValueError(f"record at {ref_file}:{offset} is a {record.rec_type}")
                main_id = record_id
            elif record.rec_headers.get_header("WARC-Concurrent-To") != main_id:
                break  # the next capture's records
            body = record.content_stream().read()
            records += 1
            if record.digest_checker.passed is False:
                problems += [
                    f"{record.rec_type} record: {p}" for p in record.digest_checker.problems
                ]
            if main is None:
                stored = record.rec_headers.get_header("WARC-Payload-Digest") or ""
                main = (body, payload_digest(body), stored)
    if main is None:
        raise ValueError(f"no record at {ref_file}:{offset}")
    return CaptureRecords(main[0], main[1], main[2], problems, records)
