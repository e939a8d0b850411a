"""A long history, small: the scale bench's bulk rows are the recorder's rows; `verify
--since` looks only at what came after a checkpoint yet catches what was changed there;
a full verify resumes; a checkpoint made from the previous one's blocks signs the root
of every entry."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from atlas_crawl.audit import verify_run
from atlas_crawl.audit.ledger_proofs import inclusion
from atlas_crawl.audit.verify import verify
from atlas_crawl.evidence import merkle
from atlas_crawl.storage import ledger
from atlas_crawl.storage.recorder import CheckRecord, record_check
from bench.scale_build import AGENT, DECLARATION, FETCHER, Doc, build, bulk_row, page_of
from tests.helpers import cli
from tests.integration.test_check_hash_bytes import _as_before_hash_bytes
from tests.integration.test_web import start_server, stop_server

COLUMNS = ("document_id, checked_at, captured_at, outcome, failure_reason, failure_detail, "
           "requested_url, http_status, fetcher, raw_sha256, text_sha256, version_id, "
           "crawl_id, evidence_hash, kept")  # fmt: skip


@pytest.fixture
def history(db: psycopg.Connection) -> psycopg.Connection:
    build(db, checks=240, document_count=12, platforms=4, progress=False)
    return db


def _checkpoint(db_url: str, tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    # The first checkpoint makes the key in the data folder.
    made = cli("checkpoint", "--out", str(out), db_url=db_url,
               env={"ATLAS_DATA_DIR": str(tmp_path)})  # fmt: skip
    assert made.returncode == 0, made.stderr
    return out


def _more(db: psycopg.Connection, rounds: int) -> None:
    """More rechecks of every document, through the recorder."""
    docs = db.execute(
        """SELECT p.name, d.document_type, d.url, v.text, k.checked_at
           FROM documents d JOIN platforms p USING (platform_id)
           JOIN LATERAL (SELECT text FROM versions WHERE document_id = d.document_id
                         ORDER BY version_number DESC LIMIT 1) v ON true
           JOIN LATERAL (SELECT checked_at FROM checks WHERE document_id = d.document_id
                         ORDER BY check_id DESC LIMIT 1) k ON true"""
    ).fetchall()
    for r in range(1, rounds + 1):
        for platform, kind, url, text, last in docs:
            when = last + timedelta(hours=12 * r)
            rec = CheckRecord(platform, kind, url, DECLARATION, when, when, FETCHER, AGENT,
                              [page_of(url, text)], text=text, crawl_id=f"more-{r}",
                              extractor_version="scale")  # fmt: skip
            record_check(db, rec)


def test_the_bulk_rows_are_the_recorders(history: psycopg.Connection) -> None:
    db = history
    platform, kind, url, document_id, version_id, text, evidence, last = db.execute(
        """SELECT p.name, d.document_type, d.url, d.document_id, v.version_id, v.text,
                  k.evidence_hash, k.checked_at
           FROM documents d JOIN platforms p USING (platform_id)
           JOIN LATERAL (SELECT * FROM versions WHERE document_id = d.document_id
                         ORDER BY version_number DESC LIMIT 1) v ON true
           JOIN LATERAL (SELECT * FROM checks WHERE document_id = d.document_id
                         ORDER BY check_id DESC LIMIT 1) k ON true
           ORDER BY d.document_id LIMIT 1"""
    ).fetchone()
    when = last + timedelta(hours=12)
    db.execute("INSERT INTO crawls VALUES ('same', %s)", (AGENT,))
    page = page_of(url, text)
    doc = Doc(platform, kind, url, document_id=document_id, evidence=evidence,
              version_id=version_id, text_sha256=hashlib.sha256(text.encode()).hexdigest(),
              raw_sha256=page.raw_sha256 or "")  # fmt: skip
    # as checks reads them: the bytes of check_store (migration 026) in hex
    bulk = bulk_row(doc, when, "same", failed=False)
    expected = tuple(v.hex() if isinstance(v, bytes) else v for v in bulk)
    rec = CheckRecord(platform, kind, url, DECLARATION, when, when, FETCHER, AGENT, [page],
                      text=text, crawl_id="same", extractor_version="scale")  # fmt: skip
    result = record_check(db, rec)
    assert result.outcome == "unchanged"
    row = db.execute(f"SELECT {COLUMNS} FROM checks WHERE check_id = %s",
                     (result.check_id,)).fetchone()  # fmt: skip
    assert row == expected
    # Nothing else of its own: no page row, the user agent is the crawl's.
    assert db.execute("SELECT user_agent FROM checks WHERE check_id = %s",
                      (result.check_id,)).fetchone() == (None,)  # fmt: skip
    assert not db.execute("SELECT 1 FROM check_pages WHERE check_id = %s",
                          (result.check_id,)).fetchone()  # fmt: skip
    # A failure as the recorder writes one, for comparison of the failed rows' shape.
    failed = bulk_row(doc, when + timedelta(hours=12), "same", failed=True)
    assert failed[3:6] == ("failed", "http error", "HTTP 503") and failed[9:12] == (None,) * 3


def test_a_built_history_verifies(history: psycopg.Connection, db_url: str) -> None:
    counts = dict(history.execute("SELECT outcome, count(*) FROM checks GROUP BY 1").fetchall())
    assert sum(counts.values()) == 240 and counts["first"] == 12 and counts["unchanged"] > 150
    assert history.execute("SELECT count(*) FROM alert_notifications").fetchone()[0] >= 0
    done = cli("verify", db_url=db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all hashes match" in done.stdout and "ledger entries/s" in done.stdout


@pytest.fixture
def checkpointed(
    history: psycopg.Connection, db_url: str, tmp_path: Path
) -> tuple[psycopg.Connection, Path, int]:
    """The built history, a checkpoint of it, and the number of entries it covers."""
    return history, _checkpoint(db_url, tmp_path, "cp.json"), ledger.size(history)


def test_verify_since_looks_only_after_the_checkpoint(
    checkpointed: tuple[psycopg.Connection, Path, int], db_url: str
) -> None:
    db, cp, covered = checkpointed
    _more(db, 2)
    ok = cli("verify", "--since", str(cp), db_url=db_url)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    grown = ledger.size(db)
    assert f"today's ledger of {grown} entries" in ok.stdout
    assert f"extends the {covered} it covered" in ok.stdout
    assert f"{grown - covered} ledger entries, 24 chained checks appended since" in ok.stdout
    # Older history is not looked at again (the full verify is for that)...
    db.execute("UPDATE checks SET http_status = 299 WHERE check_id = 3")
    assert cli("verify", "--since", str(cp), db_url=db_url).returncode == 0
    assert cli("verify", db_url=db_url).returncode == 1
    db.execute("UPDATE checks SET http_status = 200 WHERE check_id = 3")
    # ...but a check appended since, changed, is caught.
    last = db.execute("SELECT max(check_id) FROM checks").fetchone()[0]
    db.execute("UPDATE checks SET http_status = 500 WHERE check_id = %s", (last,))
    caught = cli("verify", "--since", str(cp), db_url=db_url)
    assert caught.returncode == 1, caught.stdout
    assert f"MISMATCH chain    check {last}: " in caught.stdout


def test_verify_since_catches_the_checkpoints_own_entries_and_deletions(
    checkpointed: tuple[psycopg.Connection, Path, int], db_url: str
) -> None:
    db, cp, covered = checkpointed
    # The last entry the checkpoint covered: its check rewritten.
    kind, record = db.execute("SELECT kind, record FROM ledger WHERE position = %s",
                              (covered - 1,)).fetchone()  # fmt: skip
    assert kind == "check"
    db.execute("UPDATE checks SET evidence_hash = repeat('0', 64) WHERE check_id = %s",
               (record,))  # fmt: skip
    rewritten = cli("verify", "--since", str(cp), db_url=db_url)
    assert rewritten.returncode == 1
    # A check's leaf is not stored: the signed root places the rewrite in the last block.
    first = (covered - 1) // 256 * 256
    assert f"its last entries ({first}-{covered - 1})" in rewritten.stdout, rewritten.stdout
    # The last entry deleted (the end of the last run of checks).
    db.execute("""UPDATE ledger_store SET entries = entries - 1
                  WHERE position = (SELECT max(position) FROM ledger_store)""")
    deleted = cli("verify", "--since", str(cp), db_url=db_url)
    assert deleted.returncode == 1 and "entries were deleted" in deleted.stdout


def test_a_full_verify_resumes_after_an_interruption(
    history: psycopg.Connection, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = history
    monkeypatch.setattr(verify_run, "WINDOW", 50)
    progress = tmp_path / "verify-progress.json"
    seen: list[int] = []

    def stop_after_two(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        verify_run.verify_all(db, tmp_path, progress, resume=False, on_window=stop_after_two)
    assert progress.exists()
    windows: list[int] = []
    report, resumed = verify_run.verify_all(db, tmp_path, progress, resume=True,
                                            on_window=lambda d, t: windows.append(d))  # fmt: skip
    assert resumed == 100 and windows[0] == 150 and not progress.exists()
    whole = verify(db, tmp_path)
    assert report.counts == whole.counts and report.mismatches == whole.mismatches == []
    # A progress file of another database is not taken up.
    progress.write_text('{"database": "elsewhere", "next": 99}')
    _, resumed = verify_run.verify_all(db, tmp_path, progress, resume=True)
    assert resumed is None
    # The command takes up what an interrupted run of it saved in the data folder.
    seen.clear()
    with pytest.raises(KeyboardInterrupt):
        verify_run.verify_all(db, tmp_path, progress, resume=False, on_window=stop_after_two)
    resumed_run = cli("verify", "--resume", db_url=db_url, env={"ATLAS_DATA_DIR": str(tmp_path)})
    assert resumed_run.returncode == 0, resumed_run.stdout + resumed_run.stderr
    assert f"(resumed from {progress}, at ledger entry 100)" in resumed_run.stdout
    assert not progress.exists()


def test_a_checkpoint_from_the_previous_ones_blocks_signs_every_entry(
    history: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    db = history
    _checkpoint(db_url, tmp_path, "cp1.json")
    _more(db, 30)  # past a block of 256 entries
    second = json.loads(_checkpoint(db_url, tmp_path, "cp2.json").read_text())
    with db.transaction():
        leaves = [row.leaf for row in ledger.rows(db)]
    assert len(leaves) > 512
    assert second["root_hash"] == merkle.root(leaves).hex()
    # Inclusion proofs from the blocks check against that root.
    for position in random.Random(3).sample(range(len(leaves)), 5):
        kind, record = db.execute("SELECT kind, record FROM ledger WHERE position = %s",
                                  (position,)).fetchone()  # fmt: skip
        with db.transaction():
            proof = inclusion(db, kind, record)
        assert proof is not None and proof["status"] == "covered"
        path = [bytes.fromhex(h) for h in proof["proof"]]
        assert merkle.verify_inclusion(leaves[position], position, len(leaves), path,
                                       bytes.fromhex(second["root_hash"]))  # fmt: skip


def test_the_upgrade_keeps_an_existing_history_and_its_hashes(
    history: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    """A database as it stood before document heads (migration 020): upgraded, it reads
    the same, verifies, and extends the checkpoint made before."""
    db = history
    cp = _checkpoint(db_url, tmp_path, "cp.json")
    status = db.execute("SELECT * FROM document_status ORDER BY document_id").fetchall()
    cited = cli("cite", "AC-C-000001", "--json", db_url=db_url)
    assert cited.returncode == 0, cited.stderr
    # Back to the schema before: no heads, no triggers, the migration not applied (and
    # checks the table they were made on, migration 026 not applied either).
    _as_before_hash_bytes(db)
    db.execute("DROP TABLE document_heads CASCADE")
    for name in ("checks_added", "outcome_set", "version_added", "change_added"):
        db.execute(f"DROP FUNCTION document_heads_{name}() CASCADE")
    db.execute("DELETE FROM schema_migrations WHERE name = '020_document_heads.sql'")
    upgraded = cli("db", "upgrade", db_url=db_url)
    assert upgraded.returncode == 0 and "020_document_heads.sql" in upgraded.stdout
    assert db.execute("SELECT * FROM document_status ORDER BY document_id").fetchall() == status
    assert cli("cite", "AC-C-000001", "--json", db_url=db_url).stdout == cited.stdout
    assert cli("verify", "--since", str(cp), db_url=db_url).returncode == 0
    _more(db, 1)  # and the heads follow what is recorded next
    again = cli("verify", db_url=db_url)
    assert again.returncode == 0, again.stdout
    last = db.execute("SELECT max(check_id) FROM checks").fetchone()[0]
    assert db.execute("SELECT count(*) FROM document_status WHERE last_check_id = %s",
                      (last,)).fetchone()[0] == 1  # fmt: skip


def test_a_status_row_rewritten_is_found(history: psycopg.Connection, db_url: str) -> None:
    history.execute("UPDATE document_heads SET failing_checks = 0, last_check_id = 1 "
                    "WHERE document_id = 2")  # fmt: skip
    found = cli("verify", db_url=db_url)
    assert found.returncode == 1
    assert "MISMATCH status   document 2: its status row (document_heads) differs" in found.stdout


def test_the_web_view_of_a_long_history_pages_its_lists(
    history: psycopg.Connection, db_url: str
) -> None:
    """A type held by many documents is shown a page at a time; home and platform pages
    read where each document stands from its head row."""
    db = history
    kind, total = db.execute(
        """SELECT type, count(*) FROM provision_classifications GROUP BY type
           ORDER BY count(*) DESC LIMIT 1"""
    ).fetchone()
    assert total > 3
    served = start_server(db_url)
    try:
        first = served.json(f"/api/v1/types/{kind}?limit=3")
        second = served.json(f"/api/v1/types/{kind}?limit=3&cursor={first['next_cursor']}")
        assert len(first["items"]) == 3 and first["next_cursor"] == "3"
        shown = {i["record_id"] for i in first["items"]}
        assert second["items"] and not shown & {i["record_id"] for i in second["items"]}
        status, _, page = served.get(f"/types/{kind}")
        assert status == 200
        assert page.count(b'<li><a href="/provisions/') == min(total, 25)
        assert (b"More provisions" in page) == (total > 25)
        failing = db.execute("SELECT count(*) FROM document_heads WHERE failing_checks > 0"
                             ).fetchone()[0]  # fmt: skip
        status, _, home = served.get("/")
        assert status == 200 and b"12 document(s) tracked." in home
        assert home.count(b": failing, ") == failing
        platform = served.json("/api/v1/platforms")["items"][0]
        assert platform["documents"] == 3
        assert sum(p["failing"] for p in served.json("/api/v1/platforms")["items"]) == failing
    finally:
        stop_server(served)


def test_the_home_page_shows_the_longest_failing_streaks_first(
    history: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Home lists the first of the failing documents, longest streaks first, and says how
    many fail in all (a service of thousands of documents has hundreds failing)."""
    from atlas_crawl.web import pages, reads

    db = history
    docs = db.execute(
        """SELECT p.name, d.document_type, d.url, h.last_checked_at FROM documents d
           JOIN platforms p USING (platform_id) JOIN document_heads h USING (document_id)
           ORDER BY d.document_id LIMIT 4"""
    ).fetchall()
    for streak, (platform, kind, url, last) in enumerate(docs, start=1):
        for n in range(streak):  # document i fails i times in a row
            when = last + timedelta(hours=1 + n)
            failed = CheckRecord(platform, kind, url, DECLARATION, when, when, FETCHER, AGENT,
                                 [], failure_reason="http error", failure_detail="HTTP 503",
                                 crawl_id="failing")  # fmt: skip
            record_check(db, failed)
    failing = db.execute("SELECT count(*) FROM document_heads WHERE failing_checks > 0"
                         ).fetchone()[0]  # fmt: skip
    monkeypatch.setattr(reads, "LISTED", 2)
    shown = reads.home(db)
    assert shown["failing_count"] == failing >= 4
    assert [d["failing_checks"] for d in shown["failing"]] == [4, 3]
    page = pages.render("home.html", **shown).body.decode()
    assert f"{failing} documents are failing; the 2 longest streaks" in page
    assert page.count(": failing, ") == 2


def test_home_lists_the_last_changed_platforms_and_links_to_all_by_name(
    history: psycopg.Connection, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service tracks a thousand platforms: home names the last changed few, and
    /platforms lists every one by name a page at a time (and the API pages in SQL)."""
    from atlas_crawl.web import pages, reads

    db = history
    names = [r[0] for r in db.execute("SELECT name FROM platforms ORDER BY name")]
    by_change = [r[0] for r in db.execute(
        """SELECT p.name FROM platforms p JOIN documents d USING (platform_id)
           JOIN document_heads h USING (document_id) GROUP BY p.name
           ORDER BY max(h.last_changed_at) DESC NULLS LAST, p.name""")]  # fmt: skip
    assert len(names) == 4
    monkeypatch.setattr(reads, "LISTED", 2)
    home = pages.render("home.html", **reads.home(db)).body.decode()
    assert "Policy changes of 4 platform(s)" in home
    assert "the last changed first" in home and '<a href="/platforms">All 4 platforms' in home
    listed = home.split('id="platforms"')[1]
    assert [n for n in names if f">{n}</a>" in listed] == sorted(by_change[:2])
    assert listed.index(f">{by_change[0]}<") < listed.index(f">{by_change[1]}<")
    first, last = reads.platform_page(db, 3), reads.platform_page(db, 3, 3)
    assert [p["name"] for p in first["platforms"] + last["platforms"]] == names
    assert (first["more"], first["before"], last["more"], last["before"]) == (3, None, None, 0)
    assert reads.platform_page(db, 3, 9) == {"platforms": [], "total": 4, "offset": 9,
                                             "more": None, "before": 6}  # fmt: skip
    page = pages.render("platforms.html", page=last).body.decode()
    assert "4 platform(s) tracked" in page and "4 to 4" in page
    assert '<a href="/platforms" rel="prev">' in page and 'rel="next"' not in page
    served = start_server(db_url)
    try:
        status, _, body = served.get("/platforms")
        assert status == 200 and all(f">{n}</a>" in body.decode() for n in names)
        assert b"<nav" not in body  # one page
        status, _, body = served.get("/platforms?cursor=2")
        assert status == 200 and b"3 to 4" in body and b'rel="prev"' in body
        assert served.get("/platforms?cursor=x")[0] == 400
        assert served.get("/platforms?cursor=400")[0] == 200
        one = served.json("/api/v1/platforms?limit=3")
        rest = served.json(f"/api/v1/platforms?limit=3&cursor={one['next_cursor']}")
        assert [p["name"] for p in one["items"] + rest["items"]] == names
        assert one["next_cursor"] == "3" and rest["next_cursor"] is None
        assert "platforms_total" not in one["items"][0]
    finally:
        stop_server(served)


def test_history_counts_a_large_collection_instead_of_listing_it(
    history: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlas_crawl.history import report

    listed = report.recent_history(history, 7)
    assert "tracked documents: 12\n" in listed and listed.count("Platform 0") >= 12
    monkeypatch.setattr(report, "DOCUMENTS_LISTED", 5)
    counted = report.recent_history(history, 7)
    assert counted.endswith("tracked documents: 12 (atlas-crawl status lists each)")
