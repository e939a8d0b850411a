"""Helpers the tests share: paths, recorded pages, declarations and spiders written as a
user writes them, and sample texts and checks."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from atlas_crawl.demo.localsite import LocalSite
from atlas_crawl.model import Page
from atlas_crawl.storage.records import CheckRecord

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"


def write_declarations(
    folder: Path, name: str, terms: dict[str, Any], history: dict[str, Any] | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps({"name": name, "terms": terms}))
    if history is not None:
        (folder / f"{name}.history.json").write_text(json.dumps(history))
    return folder


def fixture_bytes(relative: str) -> bytes:
    import gzip

    data = (FIXTURES / relative).read_bytes()
    return gzip.decompress(data) if relative.endswith(".gz") else data


def make_pdf(text: str) -> bytes:
    """A one-page PDF whose text layer is ``text`` (ASCII)."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=400, height=200)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 20 150 Td ({text}) Tj ET".encode("ascii"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_spider(tmp_path: Path, package: str, module: str, class_source: str) -> str:
    """A platform spider module in ``tmp_path/package`` (one file, as a user adds one);
    returns the PYTHONPATH under which Scrapy finds it and the project."""
    folder = tmp_path / package
    folder.mkdir(exist_ok=True)
    (folder / "__init__.py").touch()
    header = (
        "from atlas_crawl.declarations import Document\n"
        "from atlas_crawl.crawl.spider import PolicySpider\n\n"
    )
    (folder / f"{module}.py").write_text(header + textwrap.dedent(class_source))
    return f"{tmp_path}{os.pathsep}{ROOT}"


# Sample checks for the recorder.
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TEXT_1 = "# Privacy\n\nWe collect your email.\n" * 20
TEXT_2 = TEXT_1.replace("email", "email and phone number", 1)


def make(
    text: str | None,
    body: bytes = b"<html>v1</html>",
    minutes: int = 0,
    reason: str | None = None,
    status: int = 200,
) -> CheckRecord:
    at = T0 + timedelta(minutes=minutes)
    return CheckRecord(
        platform="Example",
        document_type="Privacy Policy",
        url="https://x.test/privacy",
        declaration={"fetch": "https://x.test/privacy", "select": ["main"]},
        checked_at=at,
        captured_at=at,
        fetcher="http",
        user_agent="test-agent",
        pages=[
            Page(
                "https://x.test/privacy",
                "https://x.test/privacy",
                status,
                {"Content-Type": ["text/html"]},
                body,
                "text/html",
            )
        ],
        text=text,
        failure_reason=reason,
        crawl_id="c1",
        extractor_version="1",
    )


# Sample pages for crawls.
A = "We collect your email address to run your account and to keep it safe. " * 3
B = "We collect your email address and your phone number to run your account. " * 3
C = "We collect your email address, phone number and location to run your account. " * 3


def page(clause: str, updated: str = "March 3, 2026") -> str:
    return (
        f"<html><body><main><h1>Privacy Policy</h1><p>Last updated: {updated}</p>"
        f"<p>{clause}</p></main></body></html>"
    )


# Running the project as a user does.
# The tests' web server is the project's own local site.
Site = LocalSite


@dataclass
class CrawlResult:
    returncode: int
    output: str


CrawlRunner = Callable[..., CrawlResult]


def run_scrapy(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> CrawlResult:
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return CrawlResult(proc.returncode, proc.stdout + proc.stderr)


def cli(
    *args: str,
    db_url: str | None,
    evidence: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: int = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``atlas-crawl`` as a user does, against ``db_url`` (None: none configured)."""
    full_env = {**os.environ, **(env or {})}
    if db_url is not None:
        full_env["ATLAS_DATABASE_URL"] = db_url
    if evidence is not None:
        full_env["ATLAS_EVIDENCE_DIR"] = str(evidence)
    return subprocess.run(
        [sys.executable, "-m", "atlas_crawl.cli", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class TcpProxy:
    """A TCP relay on 127.0.0.1 to another local port that a test can cut (every
    connection dropped, new ones refused) and restore: a database that goes away."""

    def __init__(self, target_port: int) -> None:
        import socket
        import threading

        self._socket, self._threading = socket, threading
        self.target_port = target_port
        self.port = 0
        self._open: set[Any] = set()
        self._lock = threading.Lock()
        self._listener: Any = None
        self.restore()

    def restore(self) -> None:
        listener = self._socket.socket()
        listener.setsockopt(self._socket.SOL_SOCKET, self._socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            # Shut down first: on Linux, close() alone does not wake a thread blocked in
            # accept(), and that thread kept the old socket alive, connections queued
            # on it answered by nobody (a client then waited on them forever).
            with contextlib.suppress(OSError):
                listener.shutdown(self._socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(self._socket.SHUT_RDWR)
                conn.close()
            self._open.clear()

    def _accept(self, listener: Any) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = self._socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile: drop this one too
                    client.close()
                    upstream.close()
                    continue
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: Any, sink: Any) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # Shut down, not only close: the other direction's thread is blocked in
            # recv() on one of these, and close() alone neither wakes it nor sends the
            # FIN, so the client went on waiting for an answer from nobody.
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(self._socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    end.close()


class Receiver:
    """An HTTP server on 127.0.0.1 that takes POSTs (webhooks, Apprise's json://) and
    keeps them; ``answers[path]`` lists the statuses to give first (then 200), ``delay``
    slows every answer down. A receiver that deduplicates counts ``unique_keys``."""

    def __init__(self, delay: float = 0.0) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[tuple[str, dict[str, str], bytes, int]] = []
        self.answers: dict[str, list[int]] = {}
        self.delay = delay
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                with receiver._lock:
                    queued = receiver.answers.get(self.path, [])
                    status = queued.pop(0) if queued else 200
                    receiver.received.append((self.path, dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # many senders at once, as notify is
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[tuple[dict[str, str], bytes, int]]:
        with self._lock:
            return [(h, b, s) for p, h, b, s in self.received if p == path]

    def unique_keys(self, path: str) -> set[str]:
        return {h["Idempotency-Key"] for h, _, s in self.at(path) if s == 200}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
