"""Evidence that holds up: verified changes, WARC, the ledger, archives, dates, citations."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import zipfile
from hashlib import sha256
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import zstandard

from tests.helpers import A, B, C, CrawlRunner, Site, cli, page, write_declarations


def outcomes(db_url: str) -> list[str]:
    with psycopg.connect(db_url) as conn:
        return [r[0] for r in conn.execute("SELECT outcome FROM checks ORDER BY check_id")]


def declare(site: Site, tmp_path: Path, path: str = "/p") -> Path:
    return write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": site.url(path), "select": "main"}}
    )


def track_a(
    crawl: CrawlRunner, site: Site, tmp_path: Path, env: dict[str, str] | None = None
) -> Path:
    """Example / Privacy Policy served with text A and crawled once: version 1."""
    site.serve("/p", page(A))
    decl = declare(site, tmp_path)
    crawl("declarations", path=decl, env=env)
    return decl


def test_flapping_text_is_not_a_change(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = track_a(crawl, site, tmp_path)
    # An A/B test: the new text is gone when the page is fetched again.
    for _ in range(2):
        site.alternate("/p", page(B), page(A))
        assert crawl("declarations", path=decl).returncode == 0
    assert outcomes(db_url) == ["first", "unconfirmed", "unchanged", "unconfirmed", "unchanged"]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM changes").fetchone() == (0,)
        flapping = conn.execute("SELECT platform, unconfirmed_checks FROM document_flapping")
        assert flapping.fetchall() == [("Example", 2)]


def test_a_third_text_becomes_the_candidate_and_is_confirmed_later(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = track_a(crawl, site, tmp_path)
    site.alternate("/p", page(B), page(C))
    crawl("declarations", path=decl)
    assert outcomes(db_url) == ["first", "unconfirmed", "candidate"]
    site.serve("/p", page(C))
    crawl("declarations", path=decl)
    assert outcomes(db_url)[2:] == ["changed", "unchanged"]
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """SELECT c.verified, c.detected_at < c.verified_at, k.outcome
               FROM document_changes c JOIN checks k ON k.check_id = c.check_id"""
        ).fetchone()
    assert row == (True, True, "changed")


def test_verification_waits_the_configured_delay(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    decl = track_a(crawl, site, tmp_path)
    site.serve("/p", page(B))
    result = crawl("declarations", path=decl, env={"ATLAS_VERIFY_DELAY": "2"})
    assert result.returncode == 0, result.output
    with psycopg.connect(db_url) as conn:
        gap = conn.execute(
            "SELECT extract(epoch FROM verified_at - detected_at) FROM document_changes"
        ).fetchone()
    assert gap is not None and gap[0] >= 2


def test_warc_records_tamper_evidence_and_verify(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    evidence = tmp_path / "evidence"
    decl = track_a(crawl, site, tmp_path)
    site.serve("/p", page(B))
    crawl("declarations", path=decl)
    crawl("declarations", path=decl)  # unchanged: no WARC for it

    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            """SELECT k.outcome, p.warc_file IS NOT NULL, k.evidence_hash IS NOT NULL
               FROM checks k JOIN all_check_pages p USING (check_id) ORDER BY check_id"""
        ).fetchall()
    # first, candidate (now changed), its confirming re-fetch: WARC; the last recheck: none.
    assert rows == [
        ("first", True, True),
        ("changed", True, True),
        ("unchanged", True, True),
        ("unchanged", False, True),
    ]
    files = sorted(evidence.glob("*.warc.gz"))
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", *map(str, files)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout
    records = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "index", "-f", "warc-type", *map(str, files)],
        capture_output=True,
        text=True,
    ).stdout
    assert records.count('"response"') == 3 and records.count('"request"') == 3
    with gzip.open(files[0], "rb") as fh:
        assert b"WARC-Payload-Digest: sha256:" in fh.read()

    clean = cli("verify", db_url=db_url, evidence=evidence)
    assert clean.returncode == 0 and "all hashes match" in clean.stdout, clean.stdout

    # Tamper with a stored body, a version's text, a WARC file and a check's evidence.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE captures SET body = %s"
            " WHERE raw_sha256 = (SELECT min(raw_sha256) FROM captures)",
            (zstandard.ZstdCompressor().compress(b"<html>forged</html>"),),
        )
        conn.execute("UPDATE versions SET text = text || 'forged' WHERE version_number = 1")
        conn.execute("UPDATE checks SET http_status = 203 WHERE check_id = 1")
        warc_file, offset = conn.execute(
            "SELECT warc_file, warc_offset FROM check_pages WHERE check_id = 2"
        ).fetchone()
    forged_warc = evidence / warc_file
    data = bytearray(forged_warc.read_bytes())
    member = gzip.decompress(bytes(data[offset:]))
    forged_member = gzip.compress(member.replace(b"phone number", b"phone numbex", 1))
    forged_warc.write_bytes(bytes(data[:offset]) + forged_member)

    tampered = cli("verify", db_url=db_url, evidence=evidence)
    assert tampered.returncode == 1
    out = tampered.stdout
    assert "MISMATCH capture" in out
    assert "MISMATCH version  version 1" in out
    assert "MISMATCH warc     check 2 page 0" in out
    assert "MISMATCH chain    check 1: its evidence no longer matches its hash" in out


def test_deleting_a_check_breaks_the_chain(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    site.serve("/p", page(A))
    decl = declare(site, tmp_path)
    for _ in range(3):
        crawl("declarations", path=decl)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM check_pages WHERE check_id = 2")
        conn.execute("DELETE FROM checks WHERE check_id = 2")
    result = cli("verify", db_url=db_url, evidence=tmp_path / "evidence")
    assert result.returncode == 1
    assert (
        "MISMATCH chain    check 3: does not follow the document's previous check" in result.stdout
    )


class _SavePageNow:
    """Speaks the Save Page Now 2 API on 127.0.0.1; 'busy' once, then pending once."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str, str]] = []
        spn = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict, **headers: str) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k.replace("_", "-"), v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = self.rfile.read(length).decode()
                spn.calls.append(("POST", self.path, self.headers.get("Authorization", "")))
                if fail:
                    self._answer(500, {"message": "down"})
                elif sum(1 for c in spn.calls if c[0] == "POST") == 1:
                    self._answer(429, {"message": "slow down"}, Retry_After="0")
                else:
                    assert form.startswith("url=")
                    self._answer(200, {"url": form[4:], "job_id": "spn2-abc"})

            def do_GET(self) -> None:
                spn.calls.append(("GET", self.path, self.headers.get("Authorization", "")))
                if sum(1 for c in spn.calls if c[0] == "GET") == 1:
                    self._answer(200, {"status": "pending"}, Retry_After="0")
                else:
                    self._answer(
                        200,
                        {
                            "status": "success",
                            "timestamp": "20261129120000",
                            "original_url": "https://example.com/privacy",
                        },
                    )

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def _wayback_env(spn: _SavePageNow) -> dict[str, str]:
    return {
        "ATLAS_WAYBACK_ENABLED": "1",
        "ATLAS_WAYBACK_ACCESS_KEY": "key",
        "ATLAS_WAYBACK_SECRET_KEY": "secret",
        "ATLAS_WAYBACK_BASE_URL": spn.base,
        "ATLAS_WAYBACK_POLL_INTERVAL": "0",
    }


def test_changed_documents_are_archived(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    spn = _SavePageNow()
    decl = track_a(crawl, site, tmp_path, _wayback_env(spn))
    site.serve("/p", page(B))
    result = crawl("declarations", path=decl, env=_wayback_env(spn))
    assert result.returncode == 0, result.output
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT archive_status, archive_url FROM versions WHERE version_number = 2"
        ).fetchone()
    assert row == ("archived", f"{spn.base}/web/20261129120000/https://example.com/privacy")
    assert all(auth == "LOW key:secret" for _, _, auth in spn.calls)
    assert [c[:2] for c in spn.calls] == [
        ("POST", "/save"),
        ("POST", "/save"),
        ("GET", "/save/status/spn2-abc"),
        ("GET", "/save/status/spn2-abc"),
    ]


def test_a_failing_archive_never_loses_the_change(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    spn = _SavePageNow(fail=True)
    decl = track_a(crawl, site, tmp_path)
    site.serve("/p", page(B))
    result = crawl("declarations", path=decl, env=_wayback_env(spn))
    assert result.returncode == 0, result.output
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """SELECT v.archive_status, v.archive_detail LIKE %s, c.verified
               FROM versions v JOIN changes c ON c.to_version_id = v.version_id""",
            ("%HTTP 500%",),
        ).fetchone()
    assert row == ("failed", True, True)


def test_stated_dates_silent_and_date_only_changes(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    site.serve("/p", page(A, "March 3, 2026"))
    decl = declare(site, tmp_path)
    crawl("declarations", path=decl)
    site.serve("/p", page(B, "March 3, 2026"))  # text changed, date did not: silent
    crawl("declarations", path=decl)
    site.serve("/p", page(B, "June 1, 2026"))  # only the date moved
    crawl("declarations", path=decl)
    with psycopg.connect(db_url) as conn:
        dates = conn.execute("SELECT stated_date::text FROM versions ORDER BY 1").fetchall()
        flags = conn.execute(
            "SELECT silent, date_only FROM document_changes ORDER BY change_id"
        ).fetchall()
    assert dates == [("2026-03-03",), ("2026-03-03",), ("2026-06-01",)]
    assert flags == [(True, False), (False, True)]


def test_cite_export_and_warc_on_demand(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    evidence = tmp_path / "evidence"
    decl = track_a(crawl, site, tmp_path)
    site.serve("/p", page(B))
    crawl("declarations", path=decl)

    cite = cli("cite", "AC-C-000001", db_url=db_url, evidence=evidence)
    assert cite.returncode == 0, cite.stderr
    assert 'Example, "Privacy Policy", version 2 (AC-V-000002)' in cite.stdout
    assert "verified" in cite.stdout and "Record ID: AC-C-000001" in cite.stdout
    as_json = json.loads(
        cli("cite", "AC-V-000002", "--json", db_url=db_url, evidence=evidence).stdout
    )
    assert as_json["record_id"] == "AC-V-000002" and as_json["document_record_id"] == "AC-D-00001"
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT text FROM versions WHERE version_id = 2").fetchone()
    assert stored is not None
    assert as_json["text_sha256"] == sha256(stored[0].encode()).hexdigest()
    assert cli("cite", "AC-V-999", db_url=db_url, evidence=evidence).returncode == 2

    bundle = tmp_path / "change.zip"
    result = cli("export", "AC-C-1", "--out", str(bundle), db_url=db_url, evidence=evidence)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(bundle) as z:
        manifest = json.loads(z.read("manifest.json"))
        for name, info in manifest["files"].items():
            assert sha256(z.read(name)).hexdigest() == info["sha256"], name
        assert sha256(z.read("after/text.md")).hexdigest() == manifest["citation"]["text_sha256"]
        assert "before/capture-0.html" in manifest["files"]
        assert "Files (SHA-256):" in z.read("MANIFEST.txt").decode()
        (tmp_path / "e.warc.gz").write_bytes(z.read("evidence.warc.gz"))

    out = tmp_path / "check1.warc.gz"
    assert cli("warc", "1", "--out", str(out), db_url=db_url, evidence=evidence).returncode == 0
    for warc in (out, tmp_path / "e.warc.gz"):
        check = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", str(warc)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout
    # Record IDs as the listings show them: a change's checks are its versions'.
    by_change = tmp_path / "change1.warc.gz"
    listed = cli("warc", "AC-C-000001", "--out", str(by_change), db_url=db_url)
    assert listed.returncode == 0, listed.stderr
    assert "wrote 3 captured page(s)" in listed.stdout  # before, after and its confirmation
    by_version = cli("warc", "ac-v-2", "--out", str(tmp_path / "v2.warc.gz"), db_url=db_url)
    assert by_version.returncode == 0 and "wrote 2 captured page(s)" in by_version.stdout
    history = [json.loads(line) for line in cli("history", "--json", db_url=db_url).stdout
               .splitlines()]  # fmt: skip
    assert history and history[0]["check_id"] and history[0]["verified_check_id"]
    status = json.loads(cli("status", "--json", db_url=db_url).stdout.splitlines()[0])
    assert status["last_check_id"] == 3
    wrong = cli("warc", "AC-P-000001", db_url=db_url)
    assert (
        wrong.returncode == 2
        and "a provision has no capture of its own; name a version" in wrong.stderr
    )


def _members(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each gzip member of a WARC file (one record each)."""
    import zlib

    spans, start = [], 0
    while start < len(data):
        inflater = zlib.decompressobj(31)
        inflater.decompress(data[start:])
        end = len(data) - len(inflater.unused_data)
        spans.append((start, end))
        start = end
    return spans


def test_verify_reads_every_record_of_a_capture_and_says_damage_in_one_line(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    evidence = tmp_path / "evidence"
    track_a(crawl, site, tmp_path)
    (warc_file,) = sorted(evidence.glob("*.warc.gz"))
    data = warc_file.read_bytes()
    spans = _members(data)
    request = next((s, e) for s, e in spans if b"WARC-Type: request" in gzip.decompress(data[s:e]))
    # A byte of the request's headers changed (same length): its block digest fails.
    record = gzip.decompress(data[request[0] : request[1]])
    forged = record.replace(b"atlas-crawl/", b"atlas-crawm/", 1)  # in the User-Agent
    assert forged != record and b"WARC-Type: request" in forged
    warc_file.write_bytes(data[: request[0]] + gzip.compress(forged) + data[request[1] :])
    result = cli("verify", db_url=db_url, evidence=evidence)
    assert result.returncode == 1
    assert "MISMATCH warc     check 1 page 0" in result.stdout
    assert "request record" in result.stdout and "digest" in result.stdout

    # A flipped byte inside the compressed response: one line, no raw zlib dump.
    data = bytearray(warc_file.read_bytes())
    start, end = _members(bytes(data))[0]
    data[(start + end) // 2] ^= 0xFF
    warc_file.write_bytes(bytes(data))
    damaged = cli("verify", db_url=db_url, evidence=evidence)
    assert damaged.returncode == 1
    lines = [line for line in damaged.stdout.splitlines() if line.startswith("MISMATCH warc")]
    assert lines and all(
        "unreadable (damaged bytes?)" in line or "digest" in line for line in lines
    )
    assert "Traceback" not in damaged.stdout + damaged.stderr
