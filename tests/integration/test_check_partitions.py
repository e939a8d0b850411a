"""Routine checks in ranges of IDs (migration 021): old ranges archived out of the
database (detached, exported, dropped) while what stays verifies; the upgrade of a
history recorded before the partitions keeps every row and hash."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from atlas_crawl.storage import check_ranges
from bench.scale_build import build, more_rounds
from tests.helpers import cli

CHECK_COLUMNS = (
    "check_id, document_id, checked_at, captured_at, outcome, failure_reason, failure_detail, "
    "requested_url, final_url, http_status, response_headers, fetcher, user_agent, raw_sha256, "
    "text_sha256, version_id, crawl_id, evidence_hash, previous_evidence_hash, warc_digest, "
    "verifies_check_id, source_ref, review_reason, review_detail"
)


@pytest.fixture
def ranged(db: psycopg.Connection) -> psycopg.Connection:
    """600 checks of 12 documents (25 days, twice a day) in ranges of 100 IDs."""
    check_ranges.set_span(db, 100)
    build(db, checks=600, document_count=12, platforms=4, progress=False)
    return db


def _archive(db_url: str, before: str, folder: Path) -> str:
    done = cli("db", "archive-checks", "--before", before, "--to", str(folder), db_url=db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _cut(db: psycopg.Connection, days: int) -> str:
    first = db.execute("SELECT min(checked_at) FROM checks").fetchone()[0]
    return (first + timedelta(days=days)).date().isoformat()


def test_old_ranges_leave_and_what_stays_verifies(
    ranged: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    db = ranged
    tables = check_ranges.range_tables(db)
    assert [(first, end) for _, first, end in tables[:3]] == [(1, 101), (101, 201), (201, 301)]
    kept = db.execute("SELECT count(*) FROM checks WHERE kept").fetchone()[0]
    versions = db.execute("SELECT count(*) FROM versions").fetchone()[0]
    routine_before = {r.first: r for r in check_ranges.ranges(db) if r.checks}
    before = _cut(db, 12)

    dry = cli("db", "archive-checks", "--before", before, "--dry-run",
              "--to", str(tmp_path / "none"), db_url=db_url)  # fmt: skip
    assert dry.returncode == 0 and "would archive checks 1-100" in dry.stdout
    assert len(check_ranges.range_tables(db)) == len(tables)

    signed = cli("checkpoint", "--out", str(tmp_path / "before.json"), db_url=db_url,
                 env={"ATLAS_DATA_DIR": str(tmp_path)})  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    out = _archive(db_url, before, tmp_path / "archive")
    assert "archived checks 1-100: " in out
    archived = db.execute(
        "SELECT first_check_id, end_check_id, checks, files FROM check_archives ORDER BY 1"
    ).fetchall()
    assert archived and all(end <= 301 for _, end, _, _ in archived)
    # The ranges are gone from the database; the files hold their rows, as stored.
    left = {first for _, first, _ in check_ranges.range_tables(db)}
    for first, end, count, files in archived:
        assert first not in left and count == routine_before[first].checks
        name = f"checks-{first}-{end - 1}.csv.gz"
        data = (tmp_path / "archive" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == files[name]
        rows = list(csv.DictReader(io.StringIO(gzip.decompress(data).decode())))
        assert len(rows) == count
        assert {r["outcome"] for r in rows} <= {"unchanged", "failed"}
        assert all(first <= int(r["check_id"]) < end for r in rows)
        assert db.execute("SELECT count(*) FROM checks WHERE check_id >= %s AND check_id < %s "
                          "AND NOT kept", (first, end)).fetchone()[0] == 0  # fmt: skip
    # What other records cite stays: every kept check, every version.
    assert db.execute("SELECT count(*) FROM checks WHERE kept").fetchone()[0] == kept
    assert db.execute("SELECT count(*) FROM versions").fetchone()[0] == versions

    done = cli("verify", db_url=db_url)
    assert done.returncode == 0, done.stdout
    assert "archived checks" in done.stdout and "all hashes match" in done.stdout
    # The archived checks' leaves stay stored (no longer rebuilt from them), the rest of
    # their runs stay runs, and the tree is the one signed before the archive.
    unstored = db.execute("SELECT count(*) FROM ledger WHERE kind = 'check' AND leaf IS NULL "
                          "AND record NOT IN (SELECT check_id FROM checks)").fetchone()  # fmt: skip
    assert unstored == (0,)
    assert db.execute("SELECT count(*) FROM ledger_store WHERE entries > 1").fetchone()[0] > 0
    held = cli("verify", "--checkpoint", str(tmp_path / "before.json"), db_url=db_url)
    assert held.returncode == 0, held.stdout + held.stderr
    # An archived check asked for by number says where it went.
    moved = db.execute("SELECT min(record) FROM ledger WHERE kind = 'check' AND record NOT IN "
                       "(SELECT check_id FROM checks)").fetchone()[0]  # fmt: skip
    asked = cli("warc", str(moved), "--out", str(tmp_path / "w.warc.gz"), db_url=db_url)
    assert asked.returncode == 2
    assert f"check {moved} was archived out of the database with checks 1-100" in asked.stderr
    # Recording goes on, checkpoints sign the whole ledger, citations prove against it.
    more_rounds(db, 2)
    made = cli("checkpoint", "--out", str(tmp_path / "cp.json"), db_url=db_url,
               env={"ATLAS_DATA_DIR": str(tmp_path)})  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert cli("cite", "AC-C-000001", db_url=db_url).returncode == 0
    again = cli("verify", db_url=db_url)
    assert again.returncode == 0, again.stdout
    # A second archive later takes the next ranges; the chains still join.
    _archive(db_url, _cut(db, 20), tmp_path / "archive")
    assert db.execute("SELECT count(*) FROM check_archives").fetchone()[0] > len(archived)
    final = cli("verify", db_url=db_url)
    assert final.returncode == 0, final.stdout
    assert cli("verify", "--since", str(tmp_path / "cp.json"), db_url=db_url).returncode == 0


def test_tampering_around_an_archive_is_found(
    ranged: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    db = ranged
    _archive(db_url, _cut(db, 12), tmp_path)
    head, evidence = db.execute(
        "SELECT check_id, evidence_hash FROM archived_check_heads ORDER BY check_id LIMIT 1"
    ).fetchone()
    # An archived check's hash, on which a remaining check's chain hangs, rewritten.
    db.execute("UPDATE archived_check_heads SET evidence_hash = repeat('1', 64) "
               "WHERE check_id = %s", (head,))  # fmt: skip
    found = cli("verify", db_url=db_url)
    assert found.returncode == 1
    assert f"check {head} no longer matches it" in found.stdout
    db.execute("UPDATE archived_check_heads SET evidence_hash = %s WHERE check_id = %s",
               (evidence, head))  # fmt: skip
    assert cli("verify", db_url=db_url).returncode == 0
    # A remaining routine check deleted, and an archive row made up to cover it.
    gone, first = db.execute(
        """SELECT check_id, (check_id - 1) / 100 * 100 + 1 FROM checks
           WHERE NOT kept ORDER BY check_id LIMIT 1"""
    ).fetchone()
    db.execute("DELETE FROM checks WHERE check_id = %s", (gone,))
    db.execute("""INSERT INTO check_archives (first_check_id, end_check_id, checks, pages, files)
                  VALUES (%s, %s, 1, 0, '{}')""", (first, first + 100))  # fmt: skip
    caught = cli("verify", db_url=db_url)
    assert caught.returncode == 1
    assert "routine checks are still in its range" in caught.stdout
    assert "MISMATCH chain    check " in caught.stdout


def test_a_cited_check_never_enters_a_routine_range(ranged: psycopg.Connection) -> None:
    db = ranged
    routine = db.execute("SELECT check_id FROM checks WHERE NOT kept LIMIT 1").fetchone()[0]
    version = db.execute("SELECT version_id FROM versions LIMIT 1").fetchone()[0]
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        db.execute("UPDATE versions SET check_id = %s WHERE version_id = %s", (routine, version))
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("UPDATE checks SET outcome = 'changed' WHERE check_id = %s", (routine,))


def test_the_upgrade_to_ranges_keeps_every_row_and_hash(
    db: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    """A history recorded before migration 021, upgraded: the same rows, hashes, record
    IDs and citations; the checkpoint made before still extends; recording goes on."""
    build(db, checks=240, document_count=12, platforms=4, progress=False)
    made = cli("checkpoint", "--out", str(tmp_path / "cp.json"), db_url=db_url,
               env={"ATLAS_DATA_DIR": str(tmp_path)})  # fmt: skip
    assert made.returncode == 0, made.stderr
    rows = db.execute(f"SELECT {CHECK_COLUMNS} FROM checks ORDER BY check_id").fetchall()
    cited = cli("cite", "AC-C-000001", "--json", db_url=db_url).stdout
    _as_before_ranges(db)
    assert db.execute(f"SELECT {CHECK_COLUMNS} FROM checks ORDER BY check_id").fetchall() == rows
    upgraded = cli("db", "upgrade", db_url=db_url)
    assert upgraded.returncode == 0 and "021_check_partitions.sql" in upgraded.stdout
    assert db.execute(f"SELECT {CHECK_COLUMNS} FROM checks ORDER BY check_id").fetchall() == rows
    assert cli("cite", "AC-C-000001", "--json", db_url=db_url).stdout == cited
    routine = db.execute("SELECT count(*) FROM checks_routine").fetchone()[0]
    assert routine == sum(1 for r in rows if r[4] in ("unchanged", "failed") and r[20] is None)
    assert cli("verify", "--since", str(tmp_path / "cp.json"), db_url=db_url).returncode == 0
    more_rounds(db, 1)  # new checks take the IDs after the old ones
    new = db.execute("SELECT min(check_id), count(*) FROM checks WHERE check_id > %s",
                     (rows[-1][0],)).fetchone()  # fmt: skip
    assert new[0] == rows[-1][0] + 1 and new[1] >= 12
    done = cli("verify", db_url=db_url)
    assert done.returncode == 0, done.stdout


def _as_before_ranges(db: psycopg.Connection) -> None:
    """The schema as migration 020 left it: one table of checks, its identity, keys,
    indexes and triggers; migration 021 not applied."""
    db.execute(f"CREATE TABLE checks_flat AS SELECT {CHECK_COLUMNS} FROM checks ORDER BY check_id")
    # (with the views over them: the upgrade makes them again)
    db.execute("ALTER TABLE check_pages DROP COLUMN check_kept CASCADE")
    db.execute("ALTER TABLE versions DROP COLUMN check_kept CASCADE")
    db.execute("ALTER TABLE changes DROP COLUMN check_kept CASCADE, "
               "DROP COLUMN verified_check_kept CASCADE")  # fmt: skip
    db.execute("DROP TABLE archived_check_heads, check_archives, check_partitioning CASCADE")
    db.execute("DROP VIEW checks CASCADE")  # migration 026's view over check_store
    db.execute("DROP TABLE check_store CASCADE")
    db.execute("DROP FUNCTION extend_check_partitions(), checks_view_insert(), "
               "checks_view_update(), checks_view_delete(), check_hash(text, text), "
               "check_hash_text(bytea, text), hash_bytes(text), hash_text(bytea), "
               "check_label(text)")  # fmt: skip
    db.execute("DROP TABLE check_labels")  # migration 027's
    db.execute("DROP TYPE check_outcome")
    db.execute("ALTER TABLE checks_flat RENAME TO checks")
    db.execute("ALTER TABLE checks ALTER COLUMN check_id SET NOT NULL, "
               "ALTER COLUMN check_id ADD GENERATED ALWAYS AS IDENTITY")  # fmt: skip
    db.execute("SELECT setval(pg_get_serial_sequence('checks', 'check_id'), max(check_id)) "
               "FROM checks")  # fmt: skip
    for statement in (
        "ALTER TABLE checks ADD PRIMARY KEY (check_id)",
        "CREATE INDEX checks_document_check ON checks (document_id, check_id)",
        "CREATE UNIQUE INDEX checks_source_ref ON checks (source_ref) WHERE source_ref IS NOT NULL",
        "ALTER TABLE checks ADD FOREIGN KEY (document_id) REFERENCES documents",
        "ALTER TABLE checks ADD FOREIGN KEY (verifies_check_id) REFERENCES checks",
        "ALTER TABLE checks ADD FOREIGN KEY (version_id) REFERENCES versions "
        "DEFERRABLE INITIALLY DEFERRED",
        "ALTER TABLE versions ADD FOREIGN KEY (check_id) REFERENCES checks",
        "ALTER TABLE changes ADD FOREIGN KEY (check_id) REFERENCES checks",
        "ALTER TABLE changes ADD FOREIGN KEY (verified_check_id) REFERENCES checks",
        "ALTER TABLE check_pages ADD FOREIGN KEY (check_id) REFERENCES checks ON DELETE CASCADE",
        "CREATE TRIGGER document_heads_checks_added AFTER INSERT ON checks REFERENCING NEW "
        "TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION document_heads_checks_added()",
        "CREATE TRIGGER document_heads_outcome_set AFTER UPDATE OF outcome ON checks FOR EACH "
        "ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome) "
        "EXECUTE FUNCTION document_heads_outcome_set()",
        "DELETE FROM schema_migrations WHERE name IN ('021_check_partitions.sql', "
        "'026_check_hash_bytes.sql', '027_compact_check_rows.sql')",
    ):
        db.execute(statement)
