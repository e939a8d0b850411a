"""The web view and JSON API (``atlas-crawl serve``) over a database filled by real
crawls of pages served from 127.0.0.1, one of them hostile; read over HTTP as any client
reads it. The browser tests are in test_web_browser.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.helpers import ROOT, CrawlRunner, Site, cli, write_declarations

HOSTILE = (
    "&lt;script&gt;window.atlasPwned = 1&lt;/script&gt; We may use your posts to train "
    'AI models. &lt;img src=x onerror="window.atlasPwned = 2"&gt; '
    '<a href="javascript:window.atlasPwned=3">Read more</a>'
)
AI_TRAINING = "We use your posts and activity to train generative AI models."
EMAIL = "We collect your email address to run your account and keep it secure."


def policy(*paragraphs: str, heading: str = "Privacy Policy") -> str:
    body = "".join(f"<h2>{i + 1}. Section</h2><p>{p}</p>" for i, p in enumerate(paragraphs))
    return f"<html><body><main><h1>{heading}</h1>{body}</main></body></html>"


@dataclass
class Served:
    base: str
    db_url: str
    process: subprocess.Popen[str]

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _lower(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, _lower(error.headers), error.read()

    def json(self, path: str) -> dict:
        status, _, body = self.get(path)
        assert status == 200, (path, status, body[:500])
        return json.loads(body)


def _lower(headers: object) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill(crawl: CrawlRunner, site: Site, tmp_path: Path) -> None:
    """Two platforms crawled twice: a change raising AI training to high at Alpha, and a
    hostile policy at Beta."""
    site.serve("/alpha/privacy", policy(EMAIL, "We do not use your data to train AI."))
    site.serve("/beta/terms", policy(EMAIL, HOSTILE, heading="Terms <of> Service"))
    for name, kind, path in (("Alpha", "Privacy Policy", "/alpha/privacy"),
                             ("Beta", "Terms of Service", "/beta/terms")):  # fmt: skip
        decl = write_declarations(tmp_path / name, name, {kind: {"fetch": site.url(path),
                                                                 "select": "main"}})  # fmt: skip
        assert crawl("declarations", path=decl).returncode == 0
    site.serve("/alpha/privacy", policy(EMAIL, AI_TRAINING))
    assert crawl("declarations", path=tmp_path / "Alpha").returncode == 0


def start_server(db_url: str, *args: str, port: int = 0,
                 env: dict[str, str] | None = None) -> Served:  # fmt: skip
    port = port or _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "atlas_crawl.cli", "serve", "--port", str(port), *args],
        cwd=ROOT, env={**os.environ, "ATLAS_DATABASE_URL": db_url, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=2).close()
            return Served(base, db_url, process)
        except OSError:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)


def stop_server(served: Served) -> None:
    served.process.terminate()
    served.process.wait(timeout=30)


@pytest.fixture
def served(crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str) -> Iterator[Served]:
    fill(crawl, site, tmp_path)
    server = start_server(db_url)
    yield server
    stop_server(server)


def _record(db_url: str, sql: str) -> str:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None, sql
    return str(row[0])


def test_every_page_shows_its_content(served: Served) -> None:
    change = _record(served.db_url, "SELECT record_id FROM changes")
    ai = _record(served.db_url, "SELECT record_id FROM provisions WHERE current_text LIKE "
                                "'We use your posts%'")  # fmt: skip
    document = _record(served.db_url, "SELECT record_id FROM documents ORDER BY 1 LIMIT 1")
    pages = {
        "/": ["Policy changes of 2 platform(s)", change, "Alpha"],
        "/platforms/alpha": ["Privacy Policy", change, "<svg"],
        f"/documents/{document}": ["Versions", "Provisions today", "<svg"],
        "/versions/AC-V-000001": ["Capture SHA-256", "Text SHA-256", "download"],
        f"/changes/{change}": ["Severity raised", "High", "Copy the citation", "<ins>"],
        f"/provisions/{ai}": ["AI and machine-learning training", "What you can do",
                              "Regulations it engages", "How to cite", "Capture SHA-256",
                              "Federal Trade Commission", "File a complaint",
                              "independent of the platforms", "Other risks"],
        "/types/ai-training": ["Alpha / Privacy Policy"],
        "/search?q=email": ["We collect your email address"],
        # in the text's language: "addresses" and "collecting" stem as "address", "collect"
        "/search?q=collecting+addresses": ["We collect your email address"],
    }  # fmt: skip
    for path, expected in pages.items():
        status, headers, body = served.get(path)
        assert status == 200, (path, body[:300])
        text = body.decode()
        for phrase in expected:
            assert phrase in text, (path, phrase)
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]


def test_hostile_policy_text_is_shown_as_text(served: Served) -> None:
    hostile = _record(served.db_url, "SELECT record_id FROM provisions WHERE current_text "
                                     "LIKE '%atlasPwned = 1%'")  # fmt: skip
    for path in (f"/provisions/{hostile}", "/documents/AC-D-00002", "/search?q=posts+models"):
        status, _, body = served.get(path)
        assert status == 200, path
        text = body.decode()
        assert "<script>window.atlasPwned" not in text and "&lt;script&gt;" in text, path
        assert "<img src=x" not in text, path
        assert 'href="javascript:' not in text, path
    status, _, body = served.get("/platforms/beta")
    assert "Terms &lt;of&gt; Service" in body.decode() or "Terms of Service" in body.decode()


def test_bad_and_unknown_addresses_are_400_and_404_never_500(served: Served) -> None:
    cases = {
        "/changes/AC-C-999999": 404, "/changes/AC-V-000001": 400, "/changes/%3Cscript%3E": 400,
        "/provisions/AC-P-00001": 400, "/platforms/nowhere": 404, "/types/nothing": 404,
        "/nowhere": 404, "/search?q=" + "x" * 500: 400, "/search?q=a&cursor=-1": 400,
        "/api/v1/changes/AC-C-999999": 404, "/api/v1/versions/banana": 400,
        "/api/v1/platforms?limit=0": 400, "/api/v1/search": 400,
        "/versions/AC-V-000001/captures/9": 400,
    }  # fmt: skip
    for path, expected in cases.items():
        status, _headers, body = served.get(path)
        assert status == expected, (path, status, body[:300])
        assert b"Traceback" not in body and b"SELECT" not in body
        if path.startswith("/api/"):
            assert json.loads(body)["status"] == expected


def test_the_api_serves_every_resource_with_cursors_etags_and_cors(served: Served) -> None:
    spec = served.json("/api/v1/openapi.json")
    assert spec["openapi"].startswith("3.") and "/api/v1/provisions/{record}" in spec["paths"]
    first = served.json("/api/v1/platforms?limit=1")
    assert len(first["items"]) == 1 and first["next_cursor"] == "1"
    second = served.json(f"/api/v1/platforms?limit=1&cursor={first['next_cursor']}")
    assert second["items"][0]["name"] != first["items"][0]["name"]
    assert second["next_cursor"] is None
    change = _record(served.db_url, "SELECT record_id FROM changes")
    found = served.json(f"/api/v1/changes/{change}")
    assert found["severity"] == "high" and found["change"]["record_id"] == change
    assert served.json("/api/v1/versions/AC-V-000001")["record_id"] == "AC-V-000001"
    assert served.json("/api/v1/documents/AC-D-00001")["document_type"]
    assert served.json("/api/v1/platforms/alpha")["name"] == "Alpha"
    typed = served.json("/api/v1/types/AI-Training?limit=5")
    assert typed["type"] == "ai-training" and typed["items"]
    assert served.json("/api/v1/search?q=email")["items"]
    assert served.json("/api/v1/changes")["items"][0]["record_id"] == change
    _status, headers, _ = served.get(f"/api/v1/changes/{change}")
    assert headers["access-control-allow-origin"] == "*" and headers["etag"]
    assert headers["last-modified"].endswith(" GMT")
    again, _, body = served.get(f"/api/v1/changes/{change}", **{"If-None-Match": headers["etag"]})
    assert again == 304 and body == b""


def test_a_raw_capture_is_a_download_in_a_sandbox_never_a_page(served: Served) -> None:
    status, headers, body = served.get("/versions/AC-V-000001/captures/0")
    assert status == 200 and body.startswith(b"<html>")
    assert headers["content-disposition"].startswith("attachment;")
    assert headers["content-type"] == "application/octet-stream"
    assert headers["content-security-policy"].startswith("sandbox")


def test_the_server_only_reads(served: Served) -> None:
    with psycopg.connect(served.db_url) as conn:
        before = conn.execute("SELECT count(*) FROM checks").fetchone()
    for path in ("/", "/api/v1/changes", "/search?q=ai"):
        served.get(path)
    with psycopg.connect(served.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM checks").fetchone() == before
        sessions = conn.execute(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND application_name = ''
                 AND pid <> pg_backend_pid() AND state = 'idle in transaction'"""
        ).fetchone()
    assert sessions == (0,), "no transaction left open between requests"


def test_the_atom_feeds_of_changes(served: Served) -> None:
    from xml.etree import ElementTree as ET

    atom = "{http://www.w3.org/2005/Atom}"
    change = _record(served.db_url, "SELECT record_id FROM changes")
    ai = _record(served.db_url, "SELECT record_id FROM provisions WHERE current_text LIKE "
                                "'We use your posts%'")  # fmt: skip

    def entries(path: str) -> list[str | None]:
        status, headers, body = served.get(path)
        assert status == 200 and headers["content-type"].startswith("application/atom+xml")
        return [e.findtext(f"{atom}id") for e in ET.fromstring(body).findall(f"{atom}entry")]

    for path in ("/feeds/changes.xml", "/feeds/platforms/alpha.xml",
                 "/feeds/documents/AC-D-00001.xml", f"/feeds/provisions/{ai}.xml",
                 "/feeds/types/ai-training.xml", "/feeds/types/AI-Training.xml"):  # fmt: skip
        assert entries(path) == [f"urn:atlas-crawl:change:{change}"], path
    assert entries("/feeds/platforms/beta.xml") == []
    assert entries("/feeds/types/arbitration.xml") == []
    for missing in ("/feeds/platforms/nowhere.xml", "/feeds/types/nothing.xml",
                    "/feeds/provisions/AC-P-999999.xml"):  # fmt: skip
        assert served.get(missing)[0] == 404, missing
    # every page names its feed, for feed readers and people
    _, _, body = served.get(f"/provisions/{ai}")
    assert f'href="/feeds/provisions/{ai}.xml"'.encode() in body


def test_what_a_crawl_records_shows_at_once_and_unchanged_pages_answer_304(
    served: Served, crawl: CrawlRunner, site: Site, tmp_path: Path
) -> None:
    first = served.json("/api/v1/changes?limit=1")
    assert len(first["items"]) == 1 and first["next_cursor"] is None
    status, headers, home = served.get("/")
    assert status == 200
    since = {"If-Modified-Since": headers["last-modified"]}
    assert served.get("/", **since)[0] == 304
    assert served.get("/", **{"If-None-Match": headers["etag"]})[0] == 304
    # A new change at Alpha: kept answers are stale the moment it is recorded.
    site.serve("/alpha/privacy", policy(EMAIL, AI_TRAINING, "You may close your account."))
    assert crawl("declarations", path=tmp_path / "Alpha").returncode == 0
    newest = _record(served.db_url, "SELECT record_id FROM changes ORDER BY change_id DESC")
    status, headers, again = served.get("/", **since)
    assert status == 200 and newest.encode() in again and again != home
    listed = served.json("/api/v1/changes?limit=1")
    assert listed["items"][0]["record_id"] == newest and listed["next_cursor"] == newest
    older = served.json(f"/api/v1/changes?limit=1&cursor={listed['next_cursor']}")
    assert [i["record_id"] for i in older["items"]] == [first["items"][0]["record_id"]]
    assert older["next_cursor"] is None


def _readme_role_sql() -> str:
    """The SQL the README gives for the web view's own role."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("psql -d atlas <<'SQL'\n") + len("psql -d atlas <<'SQL'\n")
    return text[start : text.index("\nSQL\n", start)]


def test_the_readme_role_reads_every_page_through_the_readers_views_only(
    served: Served,
) -> None:
    database = conninfo_to_dict(served.db_url)["dbname"]
    role = f"web_{database}"[:60]
    sql = _readme_role_sql().replace("atlas_web", role)
    sql = sql.replace("DATABASE atlas ", f'DATABASE "{database}" ')
    with psycopg.connect(served.db_url, autocommit=True) as owner:
        owner.execute(f'DROP ROLE IF EXISTS "{role}"')
        owner.execute(sql.encode())
    reader_url = make_conninfo(served.db_url, user=role, password="choose-one")
    reader = start_server(reader_url)
    try:
        change = _record(served.db_url, "SELECT record_id FROM changes")
        provision = _record(served.db_url, "SELECT record_id FROM provision_records")
        paths = [
            "/",
            "/platforms/alpha",
            "/documents/AC-D-00001",
            "/versions/AC-V-000001",
            f"/changes/{change}",
            f"/provisions/{provision}",
            "/types/ai-training",
            "/search?q=email",
            "/feeds/changes.xml",
            "/api/v1/changes",
            f"/api/v1/provisions/{provision}",
            "/versions/AC-V-000001/captures/0",
        ]
        for path in paths:
            status, _, body = reader.get(path)
            assert status == 200, (path, body[:300])
        with psycopg.connect(reader_url, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM checks").fetchone()[0] > 0
            denied_statements = (
                "SELECT * FROM watches",
                "SELECT * FROM public.checks",
                "DELETE FROM checks",
                "INSERT INTO platforms (name) VALUES ('x')",
            )
            for denied in denied_statements:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(denied)
    finally:
        stop_server(reader)
        with psycopg.connect(served.db_url, autocommit=True) as owner:
            owner.execute(f'DROP OWNED BY "{role}"')
            owner.execute(f'DROP ROLE "{role}"')


def _pdf_text(body: bytes) -> str:
    """A PDF's text with every space and line break taken out (long hashes and record
    IDs are wrapped where the line ends)."""
    import io

    from pypdf import PdfReader

    assert body.startswith(b"%PDF-")
    return "".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages).split())


def test_pdf_memos_of_a_provision_and_a_change(served: Served, tmp_path: Path) -> None:
    import re

    ai = _record(served.db_url, "SELECT record_id FROM provisions WHERE current_text LIKE "
                                "'We use your posts%'")  # fmt: skip
    change = _record(served.db_url, "SELECT record_id FROM changes")
    _, _, page = served.get(f"/provisions/{ai}")
    capture = re.search(rb"Capture SHA-256</dt><dd><code>([0-9a-f]{64})<", page)
    assert capture, "the provision page names its capture"
    assert f'href="/provisions/{ai}.pdf"'.encode() in page
    status, headers, body = served.get(f"/provisions/{ai}.pdf")
    assert status == 200 and headers["content-type"] == "application/pdf"
    text = _pdf_text(body)
    facts = (f"Memoof{ai}", capture.group(1).decode(), "Howtocite", "Whatyoucando",
             "FederalTradeCommission", "Regulationsitengages", "AC-D-00001")  # fmt: skip
    for fact in facts:
        assert fact in text, fact
    # hostile text stays text in the PDF: the markup is printed, not read
    hostile = _record(served.db_url, "SELECT record_id FROM provisions WHERE current_text "
                                     "LIKE '%atlasPwned = 1%'")  # fmt: skip
    status, _, body = served.get(f"/provisions/{hostile}.pdf")
    assert status == 200 and "<script>window.atlasPwned=1</script>" in _pdf_text(body)
    status, _, body = served.get(f"/changes/{change}.pdf")
    text = _pdf_text(body)
    assert status == 200 and f"Memoof{change}" in text and "Severityraised" in text
    # the diff: the old sentence struck out and the new one, both in the memo
    assert "WedonotuseyourdatatotrainAI." in text and "generativeAImodels" in text
    assert served.get("/changes/AC-C-999999.pdf")[0] == 404
    assert served.get("/provisions/AC-P-1.pdf.pdf")[0] == 400
    # the command line makes the same memo
    out = tmp_path / "memo.pdf"
    command = [sys.executable, "-m", "atlas_crawl.cli", "memo", change, "--out", str(out)]
    env = {**os.environ, "ATLAS_DATABASE_URL": served.db_url}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"Memoof{change}" in _pdf_text(out.read_bytes())
    refused = subprocess.run([*command[:4], "AC-V-000001"], cwd=ROOT, env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert refused.returncode == 2 and "a memo is made of a provision" in refused.stderr


def test_a_change_page_downloads_its_evidence_bundle_which_checks_itself(
    served: Served, tmp_path: Path
) -> None:
    import io
    import zipfile

    change = _record(served.db_url, "SELECT record_id FROM changes")
    _, _, page = served.get(f"/changes/{change}")
    assert f'href="/changes/{change}.zip"'.encode() in page
    # signed, so that the bundle's ledger proofs end at a checkpoint
    signed = cli("checkpoint", db_url=served.db_url, env={"ATLAS_DATA_DIR": str(tmp_path / "d")})
    assert signed.returncode == 0, signed.stderr
    status, headers, body = served.get(f"/changes/{change}.zip")
    assert status == 200 and headers["content-type"] == "application/zip"
    assert headers["content-disposition"] == f'attachment; filename="atlas-change-{change}.zip"'
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        assert "verify_bundle.py" in bundle.namelist()
        bundle.extractall(tmp_path / "bundle")
    checked = subprocess.run([sys.executable, "-I", "verify_bundle.py"], cwd=tmp_path / "bundle",
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert served.get("/changes/AC-C-999999.zip")[0] == 404


def test_the_web_view_of_a_history_not_yet_crawled_says_so(db_url: str) -> None:
    """A new user may start the server before the first crawl: every list is empty, and
    says so, rather than failing."""
    served = start_server(db_url)
    try:
        status, _, home = served.get("/")
        assert status == 200 and b"Policy changes of 0 platform(s)" in home
        assert b"No change in the last 90 days." in home and b"All 0" not in home
        status, _, page = served.get("/platforms")
        assert status == 200 and b"0 platform(s) tracked" in page and b"<nav" not in page
        assert served.json("/api/v1/platforms") == {"items": [], "next_cursor": None}
    finally:
        stop_server(served)
