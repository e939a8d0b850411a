"""Pages that would hold a round: a gzip bomb, a page of tens of megabytes, a text far
beyond any policy's. Each is a failed check "too large", decided while the body is read,
and the rest of the round is recorded as usual. Through ``scrapy crawl``."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import psycopg

from tests.helpers import A, B, CrawlRunner, Site, page, write_declarations


def _gzip_bomb(size: int) -> bytes:
    """``size`` bytes of one letter, gzip-compressed (about 1/1000 of it on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip stream
    chunk = b"a" * (1 << 20)
    parts = [compressor.compress(chunk) for _ in range(size >> 20)]
    return b"".join([*parts, compressor.flush()])


def _outcomes(db_url: str) -> dict[str, tuple[str, str | None, str | None]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            """SELECT d.document_type, c.outcome, c.failure_reason, c.failure_detail
               FROM checks c JOIN documents d USING (document_id) ORDER BY c.check_id"""
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_a_gzip_bomb_and_a_huge_page_fail_as_too_large_and_the_round_goes_on(
    site: Site, tmp_path: Path, db_url: str, crawl: CrawlRunner
) -> None:
    bomb = _gzip_bomb(300 << 20)
    assert len(bomb) < 1 << 20
    site.serve("/bomb", bomb, Content_Encoding="gzip")
    huge = page(A).replace("</main>", "<p>" + "x" * (50 << 20) + "</p></main>")
    site.serve("/huge", huge)
    site.serve("/privacy", page(A))
    site.serve("/terms", page(B))
    decl = write_declarations(
        tmp_path / "decl",
        "Example",
        {
            "Cookies Policy": {"fetch": site.url("/bomb"), "select": "main"},
            "Complaints Policy": {"fetch": site.url("/huge"), "select": "main"},
            "Privacy Policy": {"fetch": site.url("/privacy"), "select": "main"},
            "Terms of Service": {"fetch": site.url("/terms"), "select": "main"},
        },
    )
    result = crawl("declarations", path=decl, settings={"ATLAS_AUTOTHROTTLE": "0"})
    assert result.returncode == 0, result.output[-3000:]
    outcomes = _outcomes(db_url)
    assert outcomes["Privacy Policy"][0] == "first"
    assert outcomes["Terms of Service"][0] == "first"
    bomb_row, huge_row = outcomes["Cookies Policy"], outcomes["Complaints Policy"]
    assert bomb_row[:2] == ("failed", "too large"), bomb_row
    assert "once decompressed" in (bomb_row[2] or "")
    assert huge_row[:2] == ("failed", "too large"), huge_row
    assert "ATLAS_MAX_PAGE_BYTES" in (huge_row[2] or "")
    assert "too large 2" in result.output  # the summary line
    with psycopg.connect(db_url) as conn:
        assert (
            conn.execute("SELECT count(*) FROM checks WHERE outcome = 'candidate'").fetchone()[0]
            == 0
        )
        assert conn.execute("SELECT count(*) FROM versions").fetchone()[0] == 2


def test_the_bomb_is_refused_again_on_the_next_round_without_a_candidate(
    site: Site, tmp_path: Path, db_url: str, crawl: CrawlRunner
) -> None:
    """A document whose page turns into a bomb keeps its version; nothing is proposed."""
    site.serve("/privacy", page(A))
    decl = write_declarations(
        tmp_path / "decl",
        "Example",
        {"Privacy Policy": {"fetch": site.url("/privacy"), "select": "main"}},
    )
    assert crawl("declarations", path=decl).returncode == 0
    site.serve("/privacy", gzip.compress(b"<html>" + b"b" * (40 << 20)), Content_Encoding="gzip")
    again = crawl("declarations", path=decl, settings={"ATLAS_MAX_PAGE_BYTES": str(8 << 20)})
    assert again.returncode == 4, again.output[-2000:]  # its only check failed
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT outcome, failure_reason FROM checks ORDER BY check_id")
        assert rows.fetchall() == [("first", None), ("failed", "too large")]


def test_a_text_beyond_the_text_limit_is_too_large(
    site: Site, tmp_path: Path, db_url: str, crawl: CrawlRunner
) -> None:
    words = " ".join(f"clause {i} of a very long policy." for i in range(20_000))
    site.serve("/long", page(words))
    decl = write_declarations(
        tmp_path / "decl",
        "Example",
        {"Privacy Policy": {"fetch": site.url("/long"), "select": "main"}},
    )
    result = crawl("declarations", path=decl, settings={"ATLAS_MAX_TEXT_CHARS": "100000"})
    assert _outcomes(db_url)["Privacy Policy"][:2] == ("failed", "too large"), result.output[-2000:]
    assert "ATLAS_MAX_TEXT_CHARS" in (_outcomes(db_url)["Privacy Policy"][2] or "")
