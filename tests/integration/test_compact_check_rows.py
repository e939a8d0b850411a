"""A check's outcome, requested URL, fetcher, crawl and capture time stored narrowly
(migration 027): every reader still sees the same row through the view `checks`, an
upgraded history keeps every row, citation and checkpoint, SQL written against `checks`
still works, and a label two recorders write at once gets one key."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg

from atlas_crawl.storage.migrate import sql_dir
from bench.scale_build import build, more_rounds
from tests.helpers import cli
from tests.integration.test_check_partitions import CHECK_COLUMNS

LABELS = {"requested_url_label": "requested_url", "fetcher_label": "fetcher",
          "crawl_label": "crawl_id"}  # fmt: skip


def drop_views_over_checks(db: psycopg.Connection) -> None:
    """The view `checks` and the readers' views over it (views.sql makes them again)."""
    for view in ("all_check_pages", "document_status", "document_checks",
                 "document_flapping", "document_changes", "checks"):  # fmt: skip
        db.execute(f"DROP VIEW IF EXISTS atlas_read.{view}")
    db.execute("DROP VIEW all_check_pages, document_status, document_checks, "
               "document_flapping, document_changes, checks")  # fmt: skip


def _as_before_compact_rows(db: psycopg.Connection) -> None:
    """The schema as migration 026 left it: outcome, URL, fetcher and crawl as text in
    check_store, captured_at always written."""
    drop_views_over_checks(db)
    db.execute("DROP FUNCTION checks_view_insert(), checks_view_update(), checks_view_delete()")
    db.execute("DROP TRIGGER document_heads_outcome_set ON check_store")
    for name in ("failure", "review", "routine", *(f"{c}_fkey" for c in LABELS)):
        db.execute(f"ALTER TABLE check_store DROP CONSTRAINT check_store_{name}")
    db.execute("CREATE FUNCTION pg_temp.label_text(key integer) RETURNS text LANGUAGE sql "
               "STABLE RETURN (SELECT label FROM check_labels WHERE label_id = key)")  # fmt: skip
    for column in ("raw_sha256", "text_sha256"):
        db.execute(f"CREATE FUNCTION pg_temp.version_{column}(version bigint) RETURNS text "
                   f"LANGUAGE sql STABLE RETURN (SELECT {column} FROM versions "
                   "WHERE version_id = version)")  # fmt: skip
    db.execute(
        "ALTER TABLE check_store ALTER COLUMN outcome TYPE text USING outcome::text, "
        "ALTER COLUMN captured_at TYPE timestamptz USING coalesce(captured_at, checked_at), "
        "ALTER COLUMN captured_at SET NOT NULL, "
        + ", ".join(f"ALTER COLUMN {c} TYPE text USING pg_temp.label_text({c})" for c in LABELS)
        + ", "
        + ", ".join(
            f"ALTER COLUMN {c} TYPE bytea USING hash_bytes(check_hash_text({c}, "
            f"pg_temp.version_{c}(version_id)))"
            for c in ("raw_sha256", "text_sha256")
        )
    )
    db.execute("DROP FUNCTION check_hash(text, text), check_hash_text(bytea, text)")
    for column, name in LABELS.items():
        db.execute(f"ALTER TABLE check_store RENAME COLUMN {column} TO {name}")
    db.execute("ALTER TABLE check_store ALTER COLUMN requested_url SET NOT NULL, "
               "ALTER COLUMN fetcher SET NOT NULL")  # fmt: skip
    for check in (
        "outcome IN ('first', 'unchanged', 'changed', 'failed', 'candidate', 'unconfirmed')",
        "(outcome = 'failed') = (failure_reason IS NOT NULL)",
        "review_reason IS NULL OR outcome IN ('candidate', 'changed', 'unconfirmed')",
        "kept OR (outcome IN ('unchanged', 'failed') AND verifies_check_id IS NULL)",
    ):
        db.execute(f"ALTER TABLE check_store ADD CHECK ({check})")
    db.execute("CREATE TRIGGER document_heads_outcome_set AFTER UPDATE OF outcome ON check_store "
               "FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome) "
               "EXECUTE FUNCTION document_heads_outcome_set()")  # fmt: skip
    db.execute("DROP FUNCTION pg_temp.label_text(integer), pg_temp.version_raw_sha256(bigint), "
               "pg_temp.version_text_sha256(bigint)")  # fmt: skip
    db.execute("DROP TABLE check_labels")
    db.execute("DROP FUNCTION check_label(text)")
    db.execute("DROP TYPE check_outcome")
    # migration 026's view and its triggers, then the readers' views over it
    hash_bytes = (sql_dir() / "migrations" / "026_check_hash_bytes.sql").read_text()
    db.execute(hash_bytes[hash_bytes.index("CREATE VIEW checks AS") :].encode())
    db.execute((sql_dir() / "views.sql").read_text().encode())
    db.execute("DELETE FROM schema_migrations WHERE name = '027_compact_check_rows.sql'")


def _stored(db: psycopg.Connection, check_id: int) -> tuple:
    return db.execute(
        """SELECT captured_at, pg_typeof(outcome)::text, pg_typeof(requested_url_label)::text,
                  pg_typeof(fetcher_label)::text, pg_typeof(crawl_label)::text, raw_sha256,
                  text_sha256
           FROM check_store WHERE check_id = %s""",
        (check_id,),
    ).fetchone()


def _routine(db: psycopg.Connection, outcome: str) -> int:
    return db.execute("SELECT min(check_id) FROM checks WHERE outcome = %s AND NOT kept",
                      (outcome,)).fetchone()[0]  # fmt: skip


def built_and_cited(db: psycopg.Connection, db_url: str, tmp_path: Path) -> str:
    """A small history, checkpointed into tmp_path/cp.json; its first change's citation."""
    build(db, checks=240, document_count=12, platforms=4, progress=False)
    made = cli("checkpoint", "--out", str(tmp_path / "cp.json"), db_url=db_url,
               env={"ATLAS_DATA_DIR": str(tmp_path)})  # fmt: skip
    assert made.returncode == 0, made.stderr
    return cli("cite", "AC-C-000001", "--json", db_url=db_url).stdout


def test_the_upgrade_keeps_every_row_as_it_reads(
    db: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    cited = built_and_cited(db, db_url, tmp_path)
    _as_before_compact_rows(db)
    # A capture time of its own (a backfilled capture) is kept where it differs.
    db.execute("UPDATE checks SET captured_at = checked_at - interval '1 day' WHERE check_id = 2")
    rows = db.execute(f"SELECT {CHECK_COLUMNS} FROM checks ORDER BY check_id").fetchall()
    status = db.execute("SELECT * FROM document_status ORDER BY document_id").fetchall()
    assert db.execute("SELECT pg_typeof(requested_url)::text FROM check_store LIMIT 1"
                      ).fetchone() == ("text",)  # fmt: skip
    upgraded = cli("db", "upgrade", db_url=db_url)
    assert upgraded.returncode == 0 and "027_compact_check_rows.sql" in upgraded.stdout
    assert db.execute(f"SELECT {CHECK_COLUMNS} FROM checks ORDER BY check_id").fetchall() == rows
    assert db.execute("SELECT * FROM document_status ORDER BY document_id").fetchall() == status
    assert cli("cite", "AC-C-000001", "--json", db_url=db_url).stdout == cited
    # Stored as keys and codes; a capture time only where it is not the check's; a
    # routine recheck's hashes are its version's, a failure has none.
    keyed = (None, "check_outcome", "integer", "integer", "integer")
    assert _stored(db, _routine(db, "unchanged")) == (*keyed, None, None)
    assert _stored(db, _routine(db, "failed")) == (*keyed, b"\x00", b"\x00")
    # A kept check keeps its own hashes: the witness verify holds its version against.
    first = _stored(db, 2)
    assert first[0] is not None and len(first[5]) == len(first[6]) == 32
    labels = db.execute("SELECT count(*) FROM check_labels").fetchone()[0]
    assert (
        labels
        == db.execute(
            "SELECT count(DISTINCT requested_url) + count(DISTINCT fetcher) "
            "+ count(DISTINCT crawl_id) FROM checks"
        ).fetchone()[0]
    )
    db.execute("UPDATE checks SET captured_at = checked_at WHERE check_id = 2")
    assert cli("verify", "--since", str(tmp_path / "cp.json"), db_url=db_url).returncode == 0
    more_rounds(db, 1)  # recording goes on, into the keys
    assert db.execute("SELECT count(*) FROM check_labels").fetchone()[0] > labels
    done = cli("verify", db_url=db_url)
    assert done.returncode == 0, done.stdout


def test_sql_written_against_checks_still_writes_and_verify_judges_it(
    db: psycopg.Connection, db_url: str
) -> None:
    build(db, checks=120, document_count=6, platforms=2, progress=False)
    last = db.execute("SELECT max(check_id) FROM checks").fetchone()[0]
    row = db.execute(f"SELECT {CHECK_COLUMNS} FROM checks WHERE check_id = %s", (last,)).fetchone()
    # An insert through the view, with a URL and crawl never seen: labels made for them;
    # then deleted through the view (all undone: the ledger holds no entry for it).
    with db.transaction(force_rollback=True):
        copy = db.execute(
            "INSERT INTO checks (document_id, checked_at, captured_at, outcome, requested_url, "
            "http_status, fetcher, crawl_id, kept) SELECT document_id, checked_at, captured_at, "
            "'unchanged', 'https://elsewhere.example/terms', 200, 'http', 'a-new-crawl', false "
            "FROM checks WHERE check_id = %s RETURNING check_id",
            (last,),
        ).fetchone()[0]
        assert db.execute(
            "SELECT requested_url, crawl_id, outcome FROM checks WHERE check_id = %s", (copy,)
        ).fetchone() == ("https://elsewhere.example/terms", "a-new-crawl", "unchanged")
        assert db.execute("DELETE FROM checks WHERE check_id = %s", (copy,)).rowcount == 1
        assert not db.execute("SELECT 1 FROM check_store WHERE check_id = %s", (copy,)).fetchone()
    assert db.execute(f"SELECT {CHECK_COLUMNS} FROM checks WHERE check_id = %s",
                      (last,)).fetchone() == row  # fmt: skip
    assert cli("verify", db_url=db_url).returncode == 0
    # A tampered URL, written as SQL against checks: verify names the check.
    db.execute("UPDATE checks SET requested_url = 'https://forged.example/' WHERE check_id = %s",
               (last,))  # fmt: skip
    tampered = cli("verify", db_url=db_url)
    assert tampered.returncode != 0 and str(last) in tampered.stdout + tampered.stderr


def test_a_label_two_recorders_write_at_once_gets_one_key(
    db: psycopg.Connection, db_url: str
) -> None:
    first = psycopg.connect(db_url)
    second = psycopg.connect(db_url, autocommit=True)
    try:
        made = first.execute("SELECT check_label('crawl-raced')").fetchone()[0]  # not committed
        keys: list[int] = []
        waiting = threading.Thread(
            target=lambda: keys.append(
                second.execute("SELECT check_label('crawl-raced')").fetchone()[0]
            )
        )
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # waits on the first's uncommitted row
        first.commit()
        waiting.join(10)
        assert keys == [made]
    finally:
        first.close()
        second.close()
    assert db.execute("SELECT count(*) FROM check_labels WHERE label = 'crawl-raced'"
                      ).fetchone() == (1,)  # fmt: skip
