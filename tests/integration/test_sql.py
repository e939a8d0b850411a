"""The public SQL interface: view columns are a contract, and the README's queries run."""

from __future__ import annotations

import re

import psycopg
import pytest

from atlas_crawl.storage.queries import named_queries, run
from atlas_crawl.storage.recorder import record_check
from tests.helpers import ROOT, TEXT_1, TEXT_2, make

CONTRACT = {
    "document_versions": [
        "platform",
        "document_type",
        "url",
        "version_id",
        "version_number",
        "text_sha256",
        "first_seen_at",
        "last_seen_at",
    ],
    "document_changes": [
        "change_id",
        "platform",
        "document_type",
        "url",
        "detected_at",
        "from_version_id",
        "to_version_id",
        "chars_added",
        "chars_removed",
        "diff",
    ],
    "document_checks": [
        "check_id",
        "platform",
        "document_type",
        "url",
        "checked_at",
        "outcome",
        "failure_reason",
        "http_status",
        "raw_sha256",
        "text_sha256",
    ],
}


@pytest.mark.parametrize("view", sorted(CONTRACT))
def test_views_keep_their_contract(db: psycopg.Connection, view: str) -> None:
    columns = [
        r[0]
        for r in db.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_name = %s AND table_schema = 'public' ORDER BY ordinal_position""",
            (view,),
        )
    ]
    assert columns[: len(CONTRACT[view])] == CONTRACT[view]


def test_named_queries_run(db: psycopg.Connection) -> None:
    record_check(db, make(TEXT_1))
    second = record_check(db, make(TEXT_2, body=b"<html>2</html>", minutes=5))
    doc = {"platform": "Example", "document_type": "Privacy Policy"}
    assert len(run(db, "document_history", **doc)) == 2
    assert run(db, "change_detail", change_id=second.change_id)[0]["new_text"] == TEXT_2
    assert run(db, "version_text", version_id=second.version_id)[0]["text"] == TEXT_2
    assert len(run(db, "tracked_documents")) == 1
    from datetime import UTC, datetime

    assert len(run(db, "recent_changes", since=datetime(2000, 1, 1, tzinfo=UTC))) == 1
    assert set(named_queries()) >= {
        "recent_changes",
        "document_history",
        "version_text",
        "change_detail",
    }


def test_readme_sql_examples_run(db: psycopg.Connection) -> None:
    record_check(db, make(TEXT_1))
    record_check(db, make(TEXT_2, body=b"<html>2</html>", minutes=5))
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", readme, re.S)
    assert len(blocks) >= 4
    for block in blocks:
        for statement in [s for s in block.split(";") if s.strip()]:
            db.execute(statement.encode())  # every example is valid against the schema
