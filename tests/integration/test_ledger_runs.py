"""The ledger keeps a run of checks as one row (migration 028): every entry reads as
before through the view `ledger`, an upgraded history keeps its positions, leaves,
citations and checkpoints, recording extends the last run, a stored leaf the checks no
longer match survives the upgrade and is named, and archived checks keep their leaves.
A check's leaf in SQL (check_leaf, migration 029) is the one Python makes."""

from __future__ import annotations

from pathlib import Path

import psycopg

from atlas_crawl.evidence.ledger_entries import check_entry, entry_leaf
from atlas_crawl.storage import ledger
from atlas_crawl.storage.migrate import sql_dir
from tests.helpers import cli
from tests.integration.test_compact_check_rows import built_and_cited
from tests.integration.test_scale import _more

CHECK_LEAF = "check_leaf(k.check_id, k.evidence_hash)"  # migration 029


def as_before_ledger_runs(db: psycopg.Connection) -> None:
    """The schema as migration 027 left it: one ledger row per entry, every leaf stored."""
    db.execute("DROP VIEW IF EXISTS atlas_read.ledger")
    db.execute(
        f"""CREATE TABLE ledger_before AS
            SELECT l.position, l.kind, l.record, coalesce(l.leaf, {CHECK_LEAF}) AS leaf
            FROM ledger l LEFT JOIN check_store k ON l.kind = 'check' AND k.check_id = l.record"""
    )
    db.execute("DROP VIEW ledger")
    db.execute("DROP TABLE ledger_store")
    db.execute(
        "DROP FUNCTION ledger_entries(bigint, bigint), ledger_position(text, bigint), "
        "ledger_size(), ledger_append(text[], bigint[], bytea[]), "
        "ledger_write_run(bigint, bigint, integer, integer), "
        "ledger_keep_check_leaves(bigint, bigint)"
    )
    db.execute("ALTER TABLE ledger_before RENAME TO ledger")
    db.execute("ALTER TABLE ledger ALTER COLUMN kind SET NOT NULL, "
               "ALTER COLUMN record SET NOT NULL, ALTER COLUMN leaf SET NOT NULL, "
               "ADD PRIMARY KEY (position), ADD UNIQUE (kind, record), "
               "ADD CHECK (kind IN ('check', 'version', 'change'))")  # fmt: skip
    db.execute((sql_dir() / "views.sql").read_text().encode())
    # 029 runs again after 028 (it replaces what 028 makes; it is written to run twice).
    db.execute(
        "DELETE FROM schema_migrations WHERE name IN ('028_ledger_runs.sql', '029_check_leaf.sql')"
    )


def _entries(db: psycopg.Connection) -> list[tuple]:
    return db.execute(
        f"""SELECT l.position, l.kind, l.record, coalesce(l.leaf, {CHECK_LEAF})
            FROM ledger l LEFT JOIN check_store k ON l.kind = 'check' AND k.check_id = l.record
            ORDER BY l.position"""
    ).fetchall()


def test_the_upgrade_keeps_every_entry_and_leaf(
    db: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    cited = built_and_cited(db, db_url, tmp_path)
    as_before_ledger_runs(db)
    before = db.execute("SELECT position, kind, record, leaf FROM ledger ORDER BY position"
                        ).fetchall()  # fmt: skip
    # A check's stored leaf its record no longer gives (rewritten before the upgrade).
    forged = db.execute("SELECT position, record FROM ledger WHERE kind = 'check' "
                        "ORDER BY position OFFSET 100 LIMIT 1").fetchone()  # fmt: skip
    db.execute("UPDATE ledger SET leaf = sha256('forged') WHERE position = %s", (forged[0],))

    upgraded = cli("db", "upgrade", db_url=db_url)
    assert upgraded.returncode == 0 and "028_ledger_runs.sql" in upgraded.stdout, upgraded.stderr
    after = _entries(db)
    assert [r[:3] for r in after] == [r[:3] for r in before]
    # Every leaf the same but the forged one, which stays stored, as it was.
    assert [r[3] for r in after if r[0] != forged[0]] == [
        bytes(r[3]) for r in before if r[0] != forged[0]
    ]
    kept = db.execute("SELECT leaf, entries FROM ledger_store WHERE position = %s",
                      (forged[0],)).fetchone()  # fmt: skip
    assert kept[1] == 1 and bytes(kept[0]) == db.execute("SELECT sha256('forged')").fetchone()[0]
    # Runs: far fewer rows than entries; versions and changes keep their leaves.
    rows, entries = db.execute("SELECT count(*), sum(entries) FROM ledger_store").fetchone()
    assert entries == len(before) and rows < len(before) / 3
    assert db.execute("SELECT count(*) FROM ledger_store WHERE kind <> 'check' AND leaf IS NULL"
                      ).fetchone() == (0,)  # fmt: skip
    assert ledger.size(db) == len(before)
    assert ledger.position_of(db, "check", forged[1]) == forged[0]
    assert ledger.position_of(db, "check", 10**9) is None

    caught = cli("verify", db_url=db_url, evidence=tmp_path / "evidence")
    assert caught.returncode == 1
    assert f"entry {forged[0]}: check {forged[1]} no longer matches" in caught.stdout
    # The checkpoint made before the upgrade does not hold the forged leaf's tree: put
    # back, everything holds as before.
    db.execute("UPDATE ledger_store SET leaf = NULL WHERE position = %s", (forged[0],))
    ok = cli("verify", "--checkpoint", str(tmp_path / "cp.json"), db_url=db_url,
             evidence=tmp_path / "evidence")  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert cli("cite", "AC-C-000001", "--json", db_url=db_url).stdout == cited


def test_recording_extends_the_last_run_and_verifies(
    db: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    built_and_cited(db, db_url, tmp_path)
    rows = db.execute("SELECT count(*) FROM ledger_store").fetchone()[0]
    size = ledger.size(db)
    _more(db, 2)  # 24 routine rechecks, one transaction each
    assert ledger.size(db) == size + 24
    assert db.execute("SELECT count(*) FROM ledger_store").fetchone()[0] <= rows + 1
    last = db.execute("SELECT kind, leaf, entries FROM ledger_store "
                      "ORDER BY position DESC LIMIT 1").fetchone()  # fmt: skip
    assert last[0] == "check" and last[1] is None and last[2] >= 24
    since = cli("verify", "--since", str(tmp_path / "cp.json"), db_url=db_url,
                evidence=tmp_path / "evidence")  # fmt: skip
    assert since.returncode == 0, since.stdout + since.stderr
    # A routine check inside a run rewritten: the next checkpoint refuses to sign.
    record = db.execute("SELECT record FROM ledger WHERE position = %s", (size + 10,)).fetchone()
    db.execute("UPDATE checks SET evidence_hash = repeat('0', 64) WHERE check_id = %s", record)
    refused = cli("verify", "--since", str(tmp_path / "cp.json"), db_url=db_url,
                  evidence=tmp_path / "evidence")  # fmt: skip
    assert refused.returncode == 1 and f"check {record[0]}" in refused.stdout, refused.stdout


def test_check_leaf_in_sql_is_the_python_leaf(
    db: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    built_and_cited(db, db_url, tmp_path)
    recorded = db.execute(
        """SELECT k.check_id, v.evidence_hash, check_leaf(k.check_id, k.evidence_hash)
           FROM check_store k JOIN checks v USING (check_id) ORDER BY k.check_id"""
    ).fetchall()
    assert len(recorded) > 10
    for check_id, evidence_hash, leaf in recorded:
        assert bytes(leaf) == entry_leaf(check_entry(check_id, evidence_hash)), check_id
    # No evidence hash (a check older than the evidence chain), and one stored as text.
    assert bytes(db.execute("SELECT check_leaf(7, NULL)").fetchone()[0]) == entry_leaf(
        check_entry(7, None)
    )
    legacy = db.execute("SELECT check_leaf(8, convert_to('legacy-hash', 'UTF8'))").fetchone()
    assert bytes(legacy[0]) == entry_leaf(check_entry(8, "legacy-hash"))
