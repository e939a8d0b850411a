"""Record IDs keep every digit (migration 023): document 100,000 is AC-D-100000 and
provision 1,000,000 AC-P-1000000, each found again by the commands that take record IDs;
the upgrade leaves every shorter ID the same text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from atlas_crawl.storage.recorder import CheckRecord, record_check
from bench.scale_build import AGENT, DECLARATION, FETCHER, build, page_of
from tests.helpers import cli

TABLES = {  # table: (ID column, width before 023, prefix)
    "platforms": ("platform_id", 5, "AC-PL-"),
    "documents": ("document_id", 5, "AC-D-"),
    "versions": ("version_id", 6, "AC-V-"),
    "changes": ("change_id", 6, "AC-C-"),
    "provision_records": ("provision_id", 6, "AC-P-"),
}
IDS = " UNION ALL ".join(
    f"SELECT '{table}', {column}, record_id FROM {table}" for table, (column, *_) in TABLES.items()
)
VIEWS = """SELECT table_schema, table_name FROM information_schema.views
           WHERE table_schema IN ('public', 'atlas_read') ORDER BY 1, 2"""
TEXT = "# Terms\n\n## Disputes\n\n{}\n\n## Content\n\nWe may remove any content you post."
CLAUSE = "Any dispute shall be resolved by binding arbitration in Dublin."


def _record(db: psycopg.Connection, clause: str, when: datetime) -> None:
    url = "https://wide.example/terms"
    text = TEXT.format(clause)
    rec = CheckRecord("Wide Platform", "Terms of Service", url, DECLARATION, when, when,
                      FETCHER, AGENT, [page_of(url, text)], text=text, crawl_id="wide",
                      extractor_version="scale")  # fmt: skip
    assert record_check(db, rec).version_id is not None


def test_long_record_ids_keep_every_digit(db: psycopg.Connection, db_url: str) -> None:
    for table, (column, width, _) in TABLES.items():
        db.execute("SELECT setval(pg_get_serial_sequence(%s, %s), %s)",
                   (table, column, 10**width - 1))  # fmt: skip
    when = datetime(2026, 3, 1, tzinfo=UTC)
    _record(db, CLAUSE, when)
    _record(db, CLAUSE.replace("Dublin", "Berlin, and you waive any class action"),
            when + timedelta(hours=12))  # fmt: skip
    ids = {(t, r) for t, _, r in db.execute(IDS).fetchall()}
    long_ids = [("platforms", "AC-PL-100000"), ("documents", "AC-D-100000"),
                ("versions", "AC-V-1000000"), ("versions", "AC-V-1000001"),
                ("changes", "AC-C-1000000"), ("provision_records", "AC-P-1000000")]  # fmt: skip
    for expected in long_ids:
        assert expected in ids
    shown = cli("show", "AC-V-1000001", db_url=db_url)
    assert shown.returncode == 0 and "class action" in shown.stdout
    provision = cli("provision", "AC-P-1000000", db_url=db_url)
    assert provision.returncode == 0, provision.stderr
    assert "AC-P-1000000" in provision.stdout and "AC-P-100000 " not in provision.stdout
    cited = cli("cite", "AC-C-1000000", db_url=db_url)
    assert cited.returncode == 0 and "AC-C-1000000" in cited.stdout
    assert cli("verify", db_url=db_url).returncode == 0


def test_the_upgrade_leaves_every_shorter_id_as_it_was(db: psycopg.Connection, db_url: str) -> None:
    build(db, checks=60, document_count=6, platforms=3, progress=False)
    before, views = db.execute(IDS).fetchall(), db.execute(VIEWS).fetchall()
    assert len(before) > 6 * 4
    # the columns as they were before migration 023
    for table, (column, width, prefix) in TABLES.items():
        db.execute(f"ALTER TABLE {table} DROP COLUMN record_id CASCADE")
        db.execute(f"ALTER TABLE {table} ADD COLUMN record_id text GENERATED ALWAYS AS "
                   f"('{prefix}' || lpad({column}::text, {width}, '0')) STORED")  # fmt: skip
    db.execute("ALTER TABLE platforms DROP COLUMN former_record_id")
    db.execute("ALTER TABLE platforms ADD COLUMN former_record_id text GENERATED ALWAYS AS "
               "('AC-P-' || lpad(platform_id::text, 5, '0')) STORED")  # fmt: skip
    db.execute("DELETE FROM schema_migrations WHERE name = '023_record_id_digits.sql'")
    upgraded = cli("db", "upgrade", db_url=db_url)
    assert upgraded.returncode == 0 and "023_record_id_digits.sql" in upgraded.stdout
    assert db.execute(IDS).fetchall() == before
    assert db.execute(VIEWS).fetchall() == views  # every view over them made again
    assert db.execute("SELECT count(*) FROM document_versions").fetchone()[0] > 0
    assert cli("verify", db_url=db_url).returncode == 0
