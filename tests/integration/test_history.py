"""History from archives (OTA snapshots repositories, WARC/WACZ) and re-extraction."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from atlas_crawl.declarations import Rules, Source, rules_to_json
from atlas_crawl.evidence.warc import WarcPage, WarcStore
from atlas_crawl.extraction import EXTRACTOR_VERSION, extract_source
from atlas_crawl.extraction.extract import reextract_stored
from atlas_crawl.model import Page
from atlas_crawl.storage.recorder import CheckRecord, record_check
from tests.helpers import (
    FIXTURES,
    A,
    B,
    CrawlRunner,
    Site,
    cli,
    fixture_bytes,
    page,
    write_declarations,
)


def _commit(repo: Path, files: dict[str, str], when: str, url: str | None = None) -> None:
    for name, body in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(body)
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    message = "Record new changes" + (f"\n\nX-source-document-location: {url}" if url else "")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", message], check=True, env=env)


def test_backfill_from_an_ota_snapshots_repository(tmp_path: Path, db_url: str) -> None:
    repo = tmp_path / "snapshots"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    url = "https://example.com/privacy"
    name = "Example/Privacy Policy.html"
    _commit(repo, {"README.md": "snapshots"}, "2023-01-01T00:00:00Z")
    _commit(repo, {name: page(A) + "<!-- build 1 -->"}, "2023-02-01T12:00:00Z", url)
    _commit(repo, {name: page(A) + "<!-- build 2 -->"}, "2023-03-01T12:00:00Z", url)
    _commit(repo, {name: page(B)}, "2023-04-01T12:00:00Z", url)
    _commit(repo, {name: page(B) + "<!-- build 3 -->"}, "2023-05-01T12:00:00Z", url)
    _commit(repo, {"Other/Terms of Service.html": page(A)}, "2023-05-02T00:00:00Z")
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )
    evidence = tmp_path / "evidence"

    first = cli(
        "backfill",
        "ota",
        str(repo),
        "--declarations",
        str(decl),
        "--workers",
        "2",
        db_url=db_url,
        evidence=evidence,
    )
    assert first.returncode == 0, first.stderr
    assert "4 captures: 4 imported" in first.stdout
    assert "ignored (no declared document): 1 captures" in first.stdout
    with psycopg.connect(db_url) as conn:
        versions = conn.execute(
            "SELECT version_number, first_seen_at, last_seen_at FROM document_versions ORDER BY 1"
        ).fetchall()
        change = conn.execute("SELECT detected_at, verified FROM document_changes").fetchall()
        refs = conn.execute("SELECT count(*) FROM checks WHERE source_ref LIKE 'ota:%'")
        assert refs.fetchone() == (4,)
    t = lambda s: datetime.fromisoformat(s).replace(tzinfo=UTC)  # noqa: E731
    assert versions == [
        (1, t("2023-02-01T12:00:00"), t("2023-03-01T12:00:00")),
        (2, t("2023-04-01T12:00:00"), t("2023-05-01T12:00:00")),
    ]
    assert change == [(t("2023-04-01T12:00:00"), True)]
    # Imported captures carry no headers: their checks are stored without page rows,
    # and the evidence of the change still exports with both captures.
    bundle = tmp_path / "change.zip"
    export = cli("export", "AC-C-1", "--out", str(bundle), db_url=db_url, evidence=evidence)
    assert export.returncode == 0, export.stderr
    with zipfile.ZipFile(bundle) as z:
        assert b"build 1" in z.read("before/capture-0.html")  # version 1's capture
        assert page(B).encode() in z.read("after/capture-0.html")

    again = cli(
        "backfill", "ota", str(repo), "--declarations", str(decl), db_url=db_url, evidence=evidence
    )
    assert again.returncode == 0 and "0 imported" in again.stdout
    assert "4 imported before" in again.stdout

    missing = cli(
        "backfill",
        "ota",
        str(tmp_path / "nope"),
        "--declarations",
        str(decl),
        db_url=db_url,
        evidence=evidence,
    )
    assert missing.returncode == 2 and "not a readable git repository" in missing.stderr


def test_backfill_from_warc_and_wacz(tmp_path: Path, db_url: str) -> None:
    url = "https://www.example.com/privacy/"
    store = WarcStore(tmp_path / "w")
    for when, body in [("2024-01-01", page(A)), ("2024-02-01", page(B)), ("2024-03-01", page(B))]:
        store.write(
            WarcPage(
                url,
                200,
                {"Content-Type": ["text/html"]},
                body.encode(),
                datetime.fromisoformat(when).replace(tzinfo=UTC),
            )
        )
    store.write(
        WarcPage(
            "https://example.com/other",
            200,
            {},
            b"<html>x</html>",
            datetime(2024, 1, 5, tzinfo=UTC),
        )
    )
    store.write(WarcPage(url, 404, {}, b"gone", datetime(2024, 1, 6, tzinfo=UTC)))
    (warc,) = sorted((tmp_path / "w").glob("*.warc.gz"))
    wacz = tmp_path / "crawl.wacz"
    with zipfile.ZipFile(wacz, "w") as z:
        z.write(warc, "archive/data.warc.gz")
    decl = write_declarations(
        tmp_path / "d",
        "Example",
        {"Privacy Policy": {"fetch": "https://example.com/privacy", "select": "main"}},
    )

    result = cli(
        "backfill",
        "warc",
        str(wacz),
        "--declarations",
        str(decl),
        "--workers",
        "1",
        db_url=db_url,
        evidence=tmp_path / "e",
    )
    assert result.returncode == 0, result.stderr
    assert "3 captures: 3 imported" in result.stdout
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT version_number, first_seen_at::date::text FROM document_versions ORDER BY 1"
        ).fetchall()
    assert rows == [(1, "2024-01-01"), (2, "2024-02-01")]
    again = cli(
        "backfill",
        "warc",
        str(warc),
        "--declarations",
        str(decl),
        db_url=db_url,
        evidence=tmp_path / "e",
    )
    assert "3 imported before" in again.stdout

    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(b"not a warc at all")
    bad = cli(
        "backfill",
        "warc",
        str(broken),
        "--declarations",
        str(decl),
        db_url=db_url,
        evidence=tmp_path / "e",
    )
    assert bad.returncode == 2 and "not a readable WARC file" in bad.stderr


def test_reextraction_after_a_selector_change_is_technical(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    html = """<html><body><main><div class=promo>Try our app!</div><article>
    <h1>Terms</h1><p>You agree to these terms.</p></article></main></body></html>"""
    url = site.serve("/t", html)
    decl = write_declarations(
        tmp_path / "d", "Example", {"Terms of Service": {"fetch": url, "select": "main"}}
    )
    crawl("declarations", path=decl)
    write_declarations(decl, "Example", {"Terms of Service": {"fetch": url, "select": "article"}})
    evidence = tmp_path / "evidence"

    result = cli(
        "reextract", "Example", "--declarations", str(decl), db_url=db_url, evidence=evidence
    )
    assert result.returncode == 0, result.stderr
    assert "Example / Terms of Service: technical change" in result.stdout
    again = cli("reextract", "--declarations", str(decl), db_url=db_url, evidence=evidence)
    assert "Example / Terms of Service: same text" in again.stdout
    crawl("declarations", path=decl)  # the page itself did not change
    with psycopg.connect(db_url) as conn:
        kinds = conn.execute("SELECT kind FROM document_changes").fetchall()
        text = conn.execute("SELECT text FROM versions ORDER BY version_id DESC LIMIT 1")
        assert text.fetchone() == ("# Terms\n\nYou agree to these terms.\n",)
        versions = conn.execute(
            "SELECT version_number, extractor_version, declaration->'select' FROM versions"
            " ORDER BY 1"
        ).fetchall()
        last = conn.execute("SELECT outcome FROM checks ORDER BY check_id DESC LIMIT 1")
        assert last.fetchone() == ("unchanged",)
    assert kinds == [("technical",)]
    assert versions == [(1, EXTRACTOR_VERSION, ["main"]), (2, EXTRACTOR_VERSION, ["article"])]


# A database crawled before the HTML5 parser: UptimeRobot's terms as extractor 1
# (libxml2) read them, absolute links where the page has in-page ones.
UPTIME_URL = "https://uptimerobot.com/terms/"
UPTIME_PAGE = "spiders/uptimerobot/terms-of-service.html.gz"


def _old_database(db_url: str, tmp_path: Path) -> tuple[Path, CheckRecord]:
    decl = write_declarations(
        tmp_path / "d", "UptimeRobot", {"Terms of Service": {"fetch": UPTIME_URL, "select": "main"}}
    )
    body = fixture_bytes(UPTIME_PAGE)
    at = datetime(2025, 6, 1, tzinfo=UTC)
    old = CheckRecord(
        platform="UptimeRobot",
        document_type="Terms of Service",
        url=UPTIME_URL,
        declaration=rules_to_json(Rules((Source(UPTIME_URL, ("main",)),))),
        checked_at=at,
        captured_at=at,
        fetcher="http",
        user_agent="atlas-crawl/0.1",
        pages=[Page(UPTIME_URL, None, 200, {"Content-Type": ["text/html"]}, body, "text/html")],
        text=(FIXTURES / "extractor1/uptimerobot-terms.md").read_text(encoding="utf-8"),
        extractor_version="1",
    )
    cli("db", "upgrade", db_url=db_url)
    with psycopg.connect(db_url) as conn:
        assert record_check(conn, old).outcome == "first"
    return decl, old


def test_a_parser_upgrade_is_a_technical_change_on_an_old_database(
    tmp_path: Path, db_url: str
) -> None:
    decl, _ = _old_database(db_url, tmp_path)
    evidence = tmp_path / "evidence"
    result = cli("reextract", "--declarations", str(decl), db_url=db_url, evidence=evidence)
    assert result.returncode == 0, result.stderr
    assert "UptimeRobot / Terms of Service: technical change" in result.stdout
    with psycopg.connect(db_url) as conn:
        changes = conn.execute("SELECT kind, kind_reason FROM changes").fetchall()
        versions = conn.execute(
            "SELECT version_number, extractor_version FROM versions ORDER BY 1"
        ).fetchall()
        text = conn.execute("SELECT text FROM versions WHERE version_number = 2").fetchone()
    assert changes == [("technical", "reextract")]
    assert versions == [(1, "1"), (2, EXTRACTOR_VERSION)]
    assert "[Services Provided](#services-provided)" in text[0]
    assert cli("verify", db_url=db_url).returncode == 0


def test_a_crawl_after_a_parser_upgrade_records_a_technical_change(
    tmp_path: Path, db_url: str
) -> None:
    # The same bytes fetched again and read by today's extractor, as the crawl's
    # pipelines record them: the old capture read today gives the same text.
    _, old = _old_database(db_url, tmp_path)
    at = datetime(2025, 6, 2, tzinfo=UTC)
    body = fixture_bytes(UPTIME_PAGE)
    new = replace(
        old,
        checked_at=at,
        captured_at=at,
        pages=[Page(UPTIME_URL, None, 200, {"Content-Type": ["text/html"]}, body, "text/html")],
        text=extract_source(body, Source(UPTIME_URL, ("main",))),
        extractor_version=EXTRACTOR_VERSION,
    )
    with psycopg.connect(db_url) as conn:
        result = record_check(conn, new, reextract=reextract_stored)
    assert result.outcome == "changed"
    with psycopg.connect(db_url) as conn:
        changes = conn.execute("SELECT kind, kind_reason FROM document_changes").fetchall()
    assert changes == [("technical", "reread")]
    assert cli("verify", db_url=db_url).returncode == 0


def test_backfill_without_declarations_uses_the_platform_spiders(
    tmp_path: Path, db_url: str
) -> None:
    """A snapshots repository whose folders are named after the platform, or whose
    commits name the declared URL, imports into the shipped spiders' documents; each
    check is dated by its capture, so a citation's "last verified" is the archive's."""
    repo = tmp_path / "snapshots"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    github = (
        "https://docs.github.com/en/site-policy/privacy-policies/github-general-privacy-statement"
    )
    body = fixture_bytes("spiders/github/privacy-policy.html.gz").decode("utf-8")
    _commit(repo, {"GitHub/Privacy Policy.html": body}, "2024-05-01T00:00:00Z", github)
    npm = "https://docs.npmjs.com/policies/privacy"
    npm_body = fixture_bytes("spiders/npm/privacy-policy.html.gz").decode("utf-8")
    # Open Terms Archive names this service "npm Public Registry": found by its URL.
    _commit(
        repo, {"npm Public Registry/Privacy Policy.html": npm_body}, "2024-06-01T00:00:00Z", npm
    )

    result = cli("backfill", "ota", str(repo), db_url=db_url, evidence=tmp_path / "ev")
    assert result.returncode == 0, result.stderr
    assert "2 captures: 2 imported (first 2)" in result.stdout
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT platform, checked_at FROM document_checks ORDER BY checked_at"
        ).fetchall()
    t = lambda s: datetime.fromisoformat(s).replace(tzinfo=UTC)  # noqa: E731
    assert rows == [
        ("GitHub", t("2024-05-01T00:00:00")),
        ("npm Public Registry", t("2024-06-01T00:00:00")),
    ]
    with psycopg.connect(db_url) as conn:
        github_version = conn.execute(
            "SELECT record_id FROM document_versions WHERE platform = 'GitHub'"
        ).fetchone()[0]
    cite = cli("cite", github_version, "--json", db_url=db_url)
    assert json.loads(cite.stdout)["last_verified_at"].startswith("2024-05-01")


def test_an_older_capture_imported_late_goes_to_the_past(tmp_path: Path, db_url: str) -> None:
    """WARC files imported newest first: an older capture with a known text is seen
    earlier by that version; one with a text the history lacks is a failed check that
    says so. Neither becomes a candidate or a version after the newer ones."""
    url = "https://example.com/privacy"
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )

    def warc(name: str, body: str, when: datetime) -> Path:
        store = WarcStore(tmp_path / name)
        store.write(WarcPage(url, 200, {"Content-Type": ["text/html"]}, body.encode(), when))
        return next((tmp_path / name).glob("*.warc.gz"))

    newer = warc("newer", page(A), datetime(2024, 6, 1, tzinfo=UTC))
    older_same = warc("older-same", page(A) + "<!-- build 0 -->", datetime(2024, 1, 1, tzinfo=UTC))
    older_other = warc("older-other", page(B), datetime(2023, 1, 1, tzinfo=UTC))
    for file in (newer, older_same, older_other):
        result = cli("backfill", "warc", str(file), "--declarations", str(decl), db_url=db_url)
        assert result.returncode == 0, result.stderr
    with psycopg.connect(db_url) as conn:
        checks = conn.execute(
            "SELECT outcome, failure_reason FROM checks ORDER BY check_id"
        ).fetchall()
        versions = conn.execute("SELECT version_number, first_seen_at FROM versions").fetchall()
    assert checks == [("first", None), ("unchanged", None), ("failed", "out of order")]
    assert versions == [(1, datetime(2024, 1, 1, tzinfo=UTC))]
