"""A check's hashes stored as bytes (migration 026): every reader still sees the same
hex text through the view `checks`, an upgraded history keeps every hash, citation and
checkpoint, and SQL written against `checks` (an update, a delete) still works."""

from __future__ import annotations

from pathlib import Path

import psycopg

from bench.scale_build import build, more_rounds
from tests.helpers import cli
from tests.integration.test_check_partitions import CHECK_COLUMNS
from tests.integration.test_compact_check_rows import (
    _as_before_compact_rows,
    built_and_cited,
    drop_views_over_checks,
)

HASHES = ("raw_sha256", "text_sha256", "evidence_hash", "previous_evidence_hash")


def _as_before_hash_bytes(db: psycopg.Connection) -> None:
    """The schema as migration 025 left it: `checks` the table, hashes as hex text."""
    _as_before_compact_rows(db)
    drop_views_over_checks(db)
    db.execute("ALTER TABLE check_store RENAME TO checks")
    db.execute(
        "ALTER TABLE checks "
        + ", ".join(f"ALTER COLUMN {c} TYPE text USING hash_text({c})" for c in HASHES)
    )
    db.execute("DROP FUNCTION checks_view_insert(), checks_view_update(), "
               "hash_bytes(text), hash_text(bytea)")  # fmt: skip
    db.execute("DELETE FROM schema_migrations WHERE name = '026_check_hash_bytes.sql'")


def test_the_upgrade_keeps_every_hash_as_the_same_text(
    db: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    cited = built_and_cited(db, db_url, tmp_path)
    _as_before_hash_bytes(db)
    # A value of an older format (not 64 lowercase hex digits) is kept as it was written.
    db.execute("UPDATE checks SET previous_evidence_hash = 'Legacy:ABC' WHERE check_id = 1")
    rows = db.execute(f"SELECT {CHECK_COLUMNS} FROM checks ORDER BY check_id").fetchall()
    assert db.execute("SELECT pg_typeof(evidence_hash)::text FROM checks LIMIT 1").fetchone() == (
        "text",
    )
    upgraded = cli("db", "upgrade", db_url=db_url)
    assert upgraded.returncode == 0 and "026_check_hash_bytes.sql" in upgraded.stdout
    assert db.execute(f"SELECT {CHECK_COLUMNS} FROM checks ORDER BY check_id").fetchall() == rows
    assert cli("cite", "AC-C-000001", "--json", db_url=db_url).stdout == cited
    # Stored as 32 bytes each, no longer as 64 hex digits (a raw or text hash is stored
    # only where it is not its version's: migration 027).
    sizes = db.execute(
        """SELECT min(octet_length(evidence_hash)), max(octet_length(evidence_hash)),
                  max(octet_length(raw_sha256)), max(octet_length(text_sha256))
           FROM check_store WHERE check_id > 1"""
    ).fetchone()
    assert sizes[:2] == (32, 32) and sizes[2] <= 32 and sizes[3] <= 32
    db.execute("UPDATE check_store SET previous_evidence_hash = NULL WHERE check_id = 1")
    assert cli("verify", "--since", str(tmp_path / "cp.json"), db_url=db_url).returncode == 0
    more_rounds(db, 1)  # recording goes on, into the bytes
    done = cli("verify", db_url=db_url)
    assert done.returncode == 0, done.stdout


def test_sql_written_against_checks_still_updates_and_verify_judges_it(
    db: psycopg.Connection, db_url: str
) -> None:
    build(db, checks=60, document_count=4, platforms=2, progress=False)
    check_id, kept_hash = db.execute(
        "SELECT check_id, evidence_hash FROM checks WHERE NOT kept ORDER BY check_id LIMIT 1"
    ).fetchone()
    # Not a hash at all: stored and read back as written, and verify names the check.
    db.execute("UPDATE checks SET evidence_hash = 'edited by hand' WHERE check_id = %s",
               (check_id,))  # fmt: skip
    assert db.execute("SELECT evidence_hash FROM checks WHERE check_id = %s",
                      (check_id,)).fetchone() == ("edited by hand",)  # fmt: skip
    tampered = cli("verify", db_url=db_url)
    assert tampered.returncode != 0 and str(check_id) in tampered.stdout + tampered.stderr
    db.execute("UPDATE checks SET evidence_hash = %s WHERE check_id = %s", (kept_hash, check_id))
    assert cli("verify", db_url=db_url).returncode == 0
    # An update of another column through the view keeps the hashes' bytes as they were.
    db.execute("UPDATE checks SET http_status = 200 WHERE check_id = %s", (check_id,))
    assert db.execute("SELECT octet_length(evidence_hash) FROM check_store WHERE check_id = %s",
                      (check_id,)).fetchone() == (32,)  # fmt: skip
    # A routine check deleted through the view is gone, and verify says so.
    db.execute("DELETE FROM checks WHERE check_id = %s", (check_id,))
    assert db.execute("SELECT count(*) FROM check_store WHERE check_id = %s",
                      (check_id,)).fetchone() == (0,)  # fmt: skip
    assert cli("verify", db_url=db_url).returncode != 0
