"""Today's provisions (current_provisions, migration 022) follow each document's latest
version as the recorder writes it, are what compare, the type pages and search read,
and `verify` finds them altered."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from atlas_crawl.storage.queries import query
from atlas_crawl.storage.recorder import CheckRecord, record_check
from bench.scale_build import AGENT, DECLARATION, FETCHER, build, page_of
from tests.helpers import cli
from tests.integration.test_scale import _more

TODAY = """SELECT vp.version_id, vp.position, vp.text_sha256, vp.provision_id, h.document_id
           FROM document_heads h JOIN version_provisions vp ON vp.version_id = h.last_version_id
           ORDER BY 1, 2"""
KEPT = "SELECT * FROM current_provisions ORDER BY 1, 2"
BY_TYPE = "SELECT * FROM current_clause_types ORDER BY 1, 2, 3"
TYPED_TODAY = """SELECT cp.version_id, cp.position, lt.clause_type,
                        severity_rank(lt.severity)::smallint, lt.severity, p.name,
                        d.document_type, cp.provision_id, cp.document_id, cp.text_sha256
                 FROM current_provisions cp
                 JOIN latest_clause_types lt ON lt.text_sha256 = cp.text_sha256
                 JOIN documents d ON d.document_id = cp.document_id
                 JOIN platforms p USING (platform_id)
                 ORDER BY 1, 2, 3"""
CLAUSE = ("Any dispute shall be resolved by binding arbitration, and you waive any right to "
          "take part in a class action.")  # fmt: skip


def _more_with_new_text(db: psycopg.Connection, document_id: int) -> None:
    """The document's next check finds its text with an arbitration clause added."""
    platform, kind, url, text, last = db.execute(
        """SELECT p.name, d.document_type, d.url, v.text, h.last_checked_at
           FROM documents d JOIN platforms p USING (platform_id)
           JOIN document_heads h USING (document_id)
           JOIN versions v ON v.version_id = h.last_version_id
           WHERE d.document_id = %s""",
        (document_id,),
    ).fetchone()
    text = f"{text}\n\n## Disputes\n\n{CLAUSE}"
    when = last + timedelta(hours=1)
    rec = CheckRecord(platform, kind, url, DECLARATION, when, when, FETCHER, AGENT,
                      [page_of(url, text)], text=text, crawl_id="new-text",
                      extractor_version="scale")  # fmt: skip
    assert record_check(db, rec).version_id is not None


def test_todays_provisions_follow_new_versions_and_are_verified(
    db: psycopg.Connection, db_url: str
) -> None:
    build(db, checks=240, document_count=12, platforms=4, progress=False)
    kept = db.execute(KEPT).fetchall()
    assert kept and kept == db.execute(TODAY).fetchall()
    # a new text for one document: its former version's provisions leave, the new come
    document_id, former = db.execute(
        "SELECT document_id, last_version_id FROM document_heads ORDER BY 1 LIMIT 1"
    ).fetchone()
    _more_with_new_text(db, document_id)
    latest = db.execute(
        "SELECT last_version_id FROM document_heads WHERE document_id = %s", (document_id,)
    ).fetchone()[0]
    assert latest != former
    assert db.execute(KEPT).fetchall() == db.execute(TODAY).fetchall()
    held = {r[0] for r in db.execute("SELECT version_id FROM current_provisions")}
    assert former not in held and latest in held
    # what compare and the type page read: the new clause, from today's version
    assert (
        db.execute(
            """SELECT count(*) FROM provision_classifications
           WHERE type = 'arbitration' AND document_id = %s AND text LIKE '%%class action%%'""",
            (document_id,),
        ).fetchone()[0]
        == 1
    )
    assert cli("verify", db_url=db_url).returncode == 0
    _more(db, 1)  # routine rechecks leave today's provisions as they are
    assert db.execute(KEPT).fetchall() == db.execute(TODAY).fetchall()

    named = (f"MISMATCH status   document {document_id}: today's provisions "
             "(current_provisions) differ from AC-V-")  # fmt: skip
    # a provision said to be another document's (what the type pages order by)
    db.execute("UPDATE current_provisions SET document_id = document_id + 1 "
               "WHERE version_id = %s AND position = 2", (latest,))  # fmt: skip
    found = cli("verify", db_url=db_url)
    assert found.returncode == 1 and named in found.stdout
    db.execute("UPDATE current_provisions SET document_id = document_id - 1 "
               "WHERE version_id = %s AND position = 2", (latest,))  # fmt: skip
    db.execute("DELETE FROM current_provisions WHERE version_id = %s AND position = 1",
               (latest,))  # fmt: skip
    found = cli("verify", db_url=db_url)
    assert found.returncode == 1 and named in found.stdout


def test_the_upgrade_fills_todays_provisions_from_an_existing_history(
    db: psycopg.Connection, db_url: str
) -> None:
    """A history recorded before migration 022, upgraded: today's provisions are those
    of each document's latest version, compare reads the same, and it verifies."""
    build(db, checks=120, document_count=8, platforms=4, progress=False)
    compared = cli("compare", "arbitration", "--json", db_url=db_url).stdout
    db.execute("DROP TABLE current_provisions CASCADE")  # with the views over it
    db.execute("DROP FUNCTION current_provisions_head_moved, current_provisions_added, "
               "current_provisions_removed CASCADE")  # fmt: skip
    db.execute("DROP INDEX changes_document")
    db.execute("DROP TABLE current_clause_types CASCADE")
    db.execute("DROP FUNCTION latest_types_of, current_clause_types_refresh, "
               "current_clause_types_provisions, current_clause_types_classified, "
               "current_clause_types_renamed CASCADE")  # fmt: skip
    again = ["022_current_provisions.sql", "024_current_provisions_document.sql",
             "025_current_clause_types.sql"]  # fmt: skip
    db.execute("DELETE FROM schema_migrations WHERE name = ANY(%s)", (again,))
    upgraded = cli("db", "upgrade", db_url=db_url)
    assert upgraded.returncode == 0 and "022_current_provisions.sql" in upgraded.stdout
    kept = db.execute(KEPT).fetchall()
    assert kept and kept == db.execute(TODAY).fetchall()
    assert db.execute(BY_TYPE).fetchall() == db.execute(TYPED_TODAY).fetchall()
    assert cli("compare", "arbitration", "--json", db_url=db_url).stdout == compared
    assert cli("verify", db_url=db_url).returncode == 0


VIEW_PAGE = """SELECT platform, document_type, record_id, severity, confidence, heading, text,
                      evidence, classifier_version
               FROM provision_classifications
               WHERE type = %(type)s AND severity_rank(severity) >= %(min_rank)s
               ORDER BY severity_rank(severity) DESC, platform, document_type, record_id
               LIMIT %(limit)s OFFSET %(offset)s"""


def test_type_pages_give_the_rows_of_provision_classifications(db: psycopg.Connection) -> None:
    """compare, the type page and "other platforms" take their page on the order's keys
    before joining the texts: the same rows, in the same order, as the public view."""
    build(db, checks=160, document_count=16, platforms=6, progress=False)
    db.execute("UPDATE documents SET untracked_at = now() WHERE document_id = "
               "(SELECT min(document_id) FROM documents)")  # fmt: skip
    types = [r[0] for r in db.execute("SELECT DISTINCT type FROM provision_classifications")]
    assert len(types) >= 3
    for clause_type in types:
        for limit, offset, min_rank in ((5, 0, 0), (5, 3, 0), (None, 0, 0), (None, 0, 2)):
            p = {"type": clause_type, "limit": limit, "offset": offset, "min_rank": min_rank}
            expected = db.execute(VIEW_PAGE, p).fetchall()
            assert run_rows(db, "compare_type", p) == expected
        elsewhere = db.execute(
            """SELECT platform, document_type, record_id, severity
               FROM provision_classifications WHERE type = %s AND platform <> %s
               ORDER BY severity_rank(severity) DESC, platform, document_type, record_id
               LIMIT 5""",
            (clause_type, expected[0][0] if expected else ""),
        ).fetchall()
        other = {"type": clause_type, "platform": expected[0][0] if expected else "", "limit": 5}
        assert run_rows(db, "other_platforms", other) == elsewhere
        counted = run_rows(db, "compare_type_count", {"type": clause_type, "min_rank": 0})
        assert (
            counted
            == db.execute(
                """SELECT count(*), count(DISTINCT platform) FROM provision_classifications
               WHERE type = %s""",
                (clause_type,),
            ).fetchall()
        )


def run_rows(db: psycopg.Connection, name: str, params: dict) -> list[tuple]:
    return db.execute(query(name), params).fetchall()


def test_todays_clause_types_follow_versions_classifiers_and_names(
    db: psycopg.Connection, db_url: str
) -> None:
    """current_clause_types (migration 025) is today's provisions with their latest
    types, whatever changed: a new text, a text classified again, a renamed platform, a
    document moved; verify names a document whose rows were altered."""
    build(db, checks=120, document_count=8, platforms=4, progress=False)
    by_type = db.execute(BY_TYPE).fetchall()
    assert by_type and by_type == db.execute(TYPED_TODAY).fetchall()
    document_id = db.execute("SELECT min(document_id) FROM documents").fetchone()[0]
    _more_with_new_text(db, document_id)
    assert db.execute(BY_TYPE).fetchall() == db.execute(TYPED_TODAY).fetchall()
    assert (
        db.execute(
            "SELECT count(*) FROM current_clause_types WHERE document_id = %s "
            "AND clause_type = 'arbitration'",
            (document_id,),
        ).fetchone()[0]
        >= 1
    )
    # a later classifier reads one text again and finds only one type in it, low
    text = db.execute("SELECT text_sha256 FROM current_clause_types ORDER BY 1 LIMIT 1").fetchone()[
        0
    ]
    later = db.execute("INSERT INTO classifiers (classifier_version) VALUES ('later') "
                       "RETURNING classifier_id").fetchone()[0]  # fmt: skip
    db.execute("INSERT INTO text_classifications (text_sha256, classifier_id) VALUES (%s, %s)",
               (text, later))  # fmt: skip
    assert db.execute("SELECT count(*) FROM current_clause_types WHERE text_sha256 = %s",
                      (text,)).fetchone()[0] == 0  # fmt: skip
    db.execute("INSERT INTO text_clause_types VALUES (%s, %s, 'jurisdiction', 'low', 0.9, 'x')",
               (text, later))  # fmt: skip
    found = db.execute("SELECT DISTINCT clause_type, severity FROM current_clause_types "
                       "WHERE text_sha256 = %s", (text,)).fetchall()  # fmt: skip
    assert found == [("jurisdiction", "low")]
    db.execute("UPDATE platforms SET name = 'Renamed' WHERE platform_id = "
               "(SELECT max(platform_id) FROM platforms)")  # fmt: skip
    db.execute("UPDATE documents SET document_type = 'Moved Policy', "
               "platform_id = (SELECT min(platform_id) FROM platforms) "
               "WHERE document_id = (SELECT max(document_id) FROM documents)")  # fmt: skip
    assert db.execute(BY_TYPE).fetchall() == db.execute(TYPED_TODAY).fetchall()
    assert cli("verify", db_url=db_url).returncode == 0

    db.execute("UPDATE current_clause_types SET severity_rank = 2, severity = 'high' "
               "WHERE document_id = %s AND clause_type = 'arbitration'",
               (document_id,))  # fmt: skip
    verified = cli("verify", db_url=db_url)
    assert verified.returncode == 1
    assert (f"MISMATCH status   document {document_id}: today's provisions by clause type "
            "(current_clause_types) differ") in verified.stdout  # fmt: skip
