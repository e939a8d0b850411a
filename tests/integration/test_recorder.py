"""Recording checks in PostgreSQL: versions, changes, failures, evidence, atomicity."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import zstandard

from atlas_crawl.audit.verify import verify
from atlas_crawl.diff.patch import apply_patch
from atlas_crawl.model import Page, sha256_hex
from atlas_crawl.storage.recorder import record_check
from tests.helpers import T0, TEXT_1, TEXT_2, make


def test_first_unchanged_changed(db: psycopg.Connection) -> None:
    first = record_check(db, make(TEXT_1))
    assert (first.outcome, first.version_number) == ("first", 1)
    same = record_check(db, make(TEXT_1, body=b"<html>v1 other nonce</html>", minutes=5))
    assert (same.outcome, same.version_id) == ("unchanged", first.version_id)
    changed = record_check(db, make(TEXT_2, body=b"<html>v2</html>", minutes=10))
    assert (changed.outcome, changed.version_number) == ("changed", 2)

    versions = db.execute("""SELECT version_number, first_seen_at, last_seen_at, text_sha256
                             FROM document_versions ORDER BY 1""").fetchall()
    assert versions[0][1:3] == (T0, T0 + timedelta(minutes=5))  # last seen moved
    assert versions[1][3] == sha256_hex(TEXT_2)
    change = db.execute("""SELECT from_version_id, to_version_id, chars_added, chars_removed,
                                  diff FROM document_changes""").fetchone()
    assert change is not None
    assert change[:4] == (first.version_id, changed.version_id, len(" and phone number"), 0)
    assert apply_patch(TEXT_1, change[4]) == TEXT_2
    outcomes = [r[0] for r in db.execute("SELECT outcome FROM document_checks ORDER BY 1")]
    assert sorted(outcomes) == ["changed", "first", "unchanged"]


def test_evidence_is_complete_and_captures_content_addressed(db: psycopg.Connection) -> None:
    body = b"<html>same bytes</html>"
    record_check(db, make(TEXT_1, body=body))
    record_check(db, make(TEXT_1, body=body, minutes=1))
    assert db.execute("SELECT count(*) FROM captures").fetchone() == (1,)
    row = db.execute("SELECT body, compression, size FROM captures").fetchone()
    assert row is not None
    assert zstandard.ZstdDecompressor().decompress(row[0]) == body and row[2] == len(body)
    check = db.execute(
        """SELECT requested_url, final_url, http_status, checked_at, fetcher, user_agent,
                  raw_sha256, text_sha256 FROM document_checks ORDER BY check_id LIMIT 1"""
    ).fetchone()
    assert check == (
        "https://x.test/privacy",
        "https://x.test/privacy",
        200,
        T0,
        "http",
        "test-agent",
        sha256_hex(body),
        sha256_hex(TEXT_1),
    )
    headers = db.execute("SELECT response_headers FROM check_pages LIMIT 1").fetchone()
    assert headers == ({"Content-Type": ["text/html"]},)
    # Every version points at the capture it was extracted from.
    assert db.execute("""SELECT count(*) FROM versions v JOIN captures c USING (raw_sha256)
                         JOIN checks k USING (check_id)""").fetchone() == (1,)


def test_routine_checks_keep_validators_and_pages_without_a_row(db: psycopg.Connection) -> None:
    """Full headers for checks that make a version or fail; a routine recheck keeps its
    validators only, and a one-page check with nothing of its own no check_pages row."""
    first = make(TEXT_1)
    first.pages[0].headers = {"Content-Type": ["text/html"], "ETag": ['"v1"'], "Date": ["x"]}
    record_check(db, first)
    validated = make(TEXT_1, minutes=1)
    validated.pages[0].headers = {"Content-Type": ["text/html"], "ETag": ['"v1"'], "Date": ["y"]}
    record_check(db, validated)
    failed = make(None, body=b"Not found", reason="http error", status=404, minutes=2)
    record_check(db, failed)
    plain = make(TEXT_1, minutes=3)
    plain.pages[0].headers = {"Content-Type": ["text/html"], "Date": ["z"]}
    record_check(db, plain)

    stored = db.execute(
        "SELECT check_id, response_headers FROM check_pages ORDER BY check_id"
    ).fetchall()
    assert stored == [
        (1, {"Content-Type": ["text/html"], "ETag": ['"v1"'], "Date": ["x"]}),
        (2, {"ETag": ['"v1"']}),
        (3, {"Content-Type": ["text/html"]}),
    ]
    pages = db.execute(
        """SELECT check_id, position, requested_url, http_status, raw_sha256
           FROM all_check_pages ORDER BY check_id"""
    ).fetchall()
    assert [p[:4] for p in pages] == [
        (k, 0, "https://x.test/privacy", status)
        for k, status in ((1, 200), (2, 200), (3, 404), (4, 200))
    ]
    assert pages[3][4] == sha256_hex(b"<html>v1</html>")
    # The next capture still finds its delta base through the row-less check.
    record_check(db, make(TEXT_1, body=b"<html>v1, again</html>", minutes=4))
    base = db.execute(
        "SELECT base_sha256 FROM captures WHERE raw_sha256 = %s",
        (sha256_hex(b"<html>v1, again</html>"),),
    ).fetchone()
    assert base == (sha256_hex(b"<html>v1</html>"),)


def test_a_crawl_keeps_its_user_agent_once(db: psycopg.Connection) -> None:
    record_check(db, make(TEXT_1))
    record_check(db, make(TEXT_1, minutes=1))
    browser = make(TEXT_1, minutes=2)
    browser.user_agent = "Mozilla/5.0 HeadlessChrome/156"
    record_check(db, browser)
    other_crawl = make(TEXT_1, minutes=3)
    other_crawl.crawl_id = "c2"
    other_crawl.user_agent = None
    record_check(db, other_crawl)

    stored = db.execute("SELECT user_agent FROM checks ORDER BY check_id").fetchall()
    assert stored == [(None,), (None,), ("Mozilla/5.0 HeadlessChrome/156",), (None,)]
    assert db.execute("SELECT crawl_id, user_agent FROM crawls ORDER BY 1").fetchall() == [
        ("c1", "test-agent"),
        ("c2", None),
    ]
    shown = db.execute(
        """SELECT user_agent, evidence_hash, previous_evidence_hash
           FROM document_checks ORDER BY check_id"""
    ).fetchall()
    assert [r[0] for r in shown] == [
        "test-agent",
        "test-agent",
        "Mozilla/5.0 HeadlessChrome/156",
        None,
    ]
    # Each check's predecessor in the ledger, as the view shows it (not stored twice).
    assert [r[2] for r in shown] == [None, shown[0][1], shown[1][1], shown[2][1]]
    assert db.execute("SELECT count(previous_evidence_hash) FROM checks").fetchone() == (0,)


def test_a_final_url_is_stored_only_after_a_redirect(db: psycopg.Connection) -> None:
    record_check(db, make(TEXT_1))
    moved = make(TEXT_1, minutes=1)
    moved.pages[0].final_url = "https://x.test/legal/privacy"
    record_check(db, moved)
    unreachable = make(None, reason="fetch error", minutes=2)
    unreachable.pages = [Page("https://x.test/privacy")]
    record_check(db, unreachable)

    stored = db.execute("SELECT final_url FROM checks ORDER BY check_id").fetchall()
    assert stored == [(None,), ("https://x.test/legal/privacy",), (None,)]
    shown = db.execute("SELECT final_url FROM document_checks ORDER BY check_id").fetchall()
    assert shown == [("https://x.test/privacy",), ("https://x.test/legal/privacy",), (None,)]
    report = verify(db, Path("/nonexistent"))
    assert report.mismatches == []


def test_failures_make_no_version(db: psycopg.Connection) -> None:
    record_check(db, make(TEXT_1))
    failed = record_check(
        db, make(None, body=b"Not found", reason="http error", status=404, minutes=1)
    )
    assert failed.outcome == "failed"
    assert db.execute("SELECT count(*) FROM versions").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM changes").fetchone() == (0,)
    reasons = db.execute("""SELECT failure_reason, http_status FROM document_checks
                            WHERE outcome = 'failed' ORDER BY check_id""").fetchall()
    assert reasons == [("http error", 404)]


def test_a_much_shorter_text_waits_for_a_second_fetch_and_is_flagged(
    db: psycopg.Connection,
) -> None:
    """Without ``verify`` too: a text under a quarter of the current one is a candidate;
    found again it is a version, its change flagged for review; not found, no change."""
    record_check(db, make(TEXT_1))
    short = record_check(db, make("# Privacy\n\nSee our new notice.\n", minutes=1))
    assert short.outcome == "candidate"
    back = record_check(db, make(TEXT_1, minutes=2))
    assert back.unconfirmed_check_id == short.check_id
    again = record_check(db, make("# Privacy\n\nSee our new notice.\n", minutes=3))
    assert again.outcome == "candidate"
    confirmed = record_check(db, make("# Privacy\n\nSee our new notice.\n", minutes=4))
    assert confirmed.change_id is not None and confirmed.verified
    row = db.execute(
        "SELECT review_reason, review_detail FROM document_changes WHERE change_id = %s",
        (confirmed.change_id,),
    ).fetchone()
    assert row[0] == "too short" and "under 25%" in row[1]


def test_bad_records_are_refused_and_write_nothing(db: psycopg.Connection) -> None:
    with pytest.raises(ValueError, match="text or a failure"):
        record_check(db, make(None))
    with pytest.raises(ValueError, match="empty text"):
        record_check(db, make("  \n"))
    assert db.execute("SELECT count(*) FROM checks").fetchone() == (0,)


def test_a_failing_write_leaves_nothing_half_done(db: psycopg.Connection) -> None:
    record_check(db, make(TEXT_1))
    db.execute("ALTER TABLE changes ADD CONSTRAINT no_changes CHECK (false)")
    with pytest.raises(psycopg.errors.CheckViolation):
        record_check(db, make(TEXT_2, body=b"<html>v2</html>", minutes=1))
    # Neither the check, the version nor the capture of the failed write remains.
    assert db.execute("SELECT count(*) FROM checks").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM versions").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM captures").fetchone() == (1,)


def test_concurrent_checks_never_make_two_versions_of_one_text(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        record_check(conn, make(TEXT_1))
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                barrier.wait()
                record_check(conn, make(TEXT_2, body=f"<html>v2 {i}</html>".encode(), minutes=1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM versions").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM changes").fetchone() == (1,)
        outcomes = conn.execute("SELECT outcome, count(*) FROM checks GROUP BY 1 ORDER BY 1")
        assert outcomes.fetchall() == [("changed", 1), ("first", 1), ("unchanged", 5)]


def test_captures_are_delta_compressed_against_the_previous_one(db: psycopg.Connection) -> None:
    from atlas_crawl.storage.captures import MAX_DEPTH, CaptureCache, load_capture

    page = "".join(f"<p>Clause {i}: we keep data for {i} days.</p>" for i in range(3000))
    bodies = [f"<html><script>nonce='{i:08x}'</script>{page}</html>".encode() for i in range(40)]
    # Then the page is rewritten: a delta against the last capture is no smaller.
    redesigned = "".join(f"<div>Section {i}: kept {i * 7} weeks.</div>" for i in range(3000))
    bodies += [f"<html><i>{i:08x}</i>{redesigned}</html>".encode() for i in range(5)]
    for i, body in enumerate(bodies):
        record_check(db, make(TEXT_1, body=body, minutes=i))
    rows = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT raw_sha256, compression, octet_length(body), depth, base_sha256 FROM captures"
        )
    }
    stored = [rows[sha256_hex(b)] for b in bodies]
    assert [i for i, r in enumerate(stored) if r[0] == "zstd"] == [0, 40]
    assert max(r[1] for r in stored if r[0] == "zstd-delta") < 200
    assert max(r[2] for r in stored) == MAX_DEPTH - 1
    # The next chain starts with a checkpoint against the full copy, not a new copy.
    assert stored[MAX_DEPTH][2:] == (1, sha256_hex(bodies[0]))
    assert stored[MAX_DEPTH + 1][2:] == (2, sha256_hex(bodies[MAX_DEPTH]))
    for body in (bodies[0], bodies[MAX_DEPTH // 2], bodies[39], bodies[-1]):
        assert load_capture(db, sha256_hex(body), CaptureCache(1)) == body


def test_a_document_that_drifted_from_its_full_copy_gets_a_new_one(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlas_crawl.storage import captures

    monkeypatch.setattr(captures, "MAX_DEPTH", 2)
    clauses = [f"<p>Clause {i}: we keep data for {i} days.</p>" for i in range(3000)]
    reworded = [f"<p>Term {i}: {sha256_hex(str(i).encode())[:24]}</p>" for i in range(1200)]
    bodies = [
        "".join(clauses).encode(),
        "".join(reworded + clauses[1200:]).encode(),  # a delta against the first
        "".join(reworded + clauses[1200:] + ["<p>x</p>"]).encode(),  # checkpoint: too far
    ]
    for i, body in enumerate(bodies):
        record_check(db, make(TEXT_1, body=body, minutes=i))
    stored = [
        db.execute(
            "SELECT compression, depth FROM captures WHERE raw_sha256 = %s", (sha256_hex(b),)
        ).fetchone()
        for b in bodies
    ]
    assert stored == [("zstd", 0), ("zstd-delta", 1), ("zstd", 0)]


def test_delta_chains_of_older_databases_are_still_read(db: psycopg.Connection) -> None:
    """A chain written by an earlier release is read link by link and grown."""
    from itertools import pairwise

    from atlas_crawl.storage.captures import CaptureCache, load_capture

    bodies = [f"<html><p>Clause {i}</p>{'<p>same</p>' * 500}</html>".encode() for i in range(4)]
    record_check(db, make(TEXT_1, body=bodies[0]))
    for depth, (base, body) in enumerate(pairwise(bodies[:3]), start=1):
        packed = zstandard.ZstdCompressor(
            dict_data=zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        ).compress(body)
        db.execute(
            """INSERT INTO captures (raw_sha256, size, compression, body, base_sha256, depth)
               VALUES (%s, %s, 'zstd-delta', %s, %s, %s)""",
            (sha256_hex(body), len(body), packed, sha256_hex(base), depth),
        )
    record_check(db, make(TEXT_1, body=bodies[2], minutes=1))
    assert load_capture(db, sha256_hex(bodies[2]), CaptureCache(1)) == bodies[2]
    record_check(db, make(TEXT_1, body=bodies[3], minutes=2))
    row = db.execute(
        "SELECT compression, depth FROM captures WHERE raw_sha256 = %s", (sha256_hex(bodies[3]),)
    ).fetchone()
    assert row == ("zstd-delta", 3)
    assert load_capture(db, sha256_hex(bodies[3]), CaptureCache(1)) == bodies[3]


def test_a_capture_with_a_known_source_is_recorded_once(db: psycopg.Connection) -> None:
    """A round's document checked by a second process, or an import resumed: the
    database keeps the first record and adds nothing."""
    first = make(TEXT_1)
    first.source_ref = "round:declarations:r1:Example/Privacy Policy"
    recorded = record_check(db, first)
    again = make(TEXT_2, body=b"<html>v2</html>", minutes=1)
    again.source_ref = first.source_ref
    duplicate = record_check(db, again)
    assert (duplicate.outcome, duplicate.check_id) == ("duplicate", recorded.check_id)
    assert db.execute("SELECT count(*) FROM checks").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM captures").fetchone() == (1,)


def test_a_skipped_extraction_is_refused_when_the_database_moved_on(
    db: psycopg.Connection,
) -> None:
    """A crawl read its plan, then another process recorded a new text: the pages it
    took for the settled capture must be extracted after all."""
    from atlas_crawl.storage.recorder import StalePlan

    record_check(db, make(TEXT_1))
    record_check(db, make(TEXT_2, body=b"<html>v2</html>", minutes=1))
    stale = make(None, minutes=2)
    stale.same_capture_text_sha256 = sha256_hex(TEXT_1)
    with pytest.raises(StalePlan):
        record_check(db, stale)
    assert db.execute("SELECT count(*) FROM checks").fetchone() == (2,)
    current = make(None, body=b"<html>v2</html>", minutes=3)
    current.same_capture_text_sha256 = sha256_hex(TEXT_2)
    assert record_check(db, current).outcome == "unchanged"
