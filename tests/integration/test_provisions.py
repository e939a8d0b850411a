"""Provisions through ``scrapy crawl``: each kind of provision change, with the right
identities, in the views, the CLI, citations, exports and ``verify``."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import psycopg

from tests.helpers import CrawlRunner, Site, cli, write_declarations

KEPT = "We collect your email address to run your account and to keep it secure for you."
LEAD_IN = "We share your data with:"
AI_OLD = "We use your posts and activity to train AI models. You can opt out in your settings."
AI_NEW = (
    "We use your posts and activity to train AI and generative AI models. "
    "You can opt out in your settings."
)
SPLIT_BIG = (
    "We keep your data for as long as your account exists and then delete it within thirty "
    "days, unless the law of your country requires us to keep it for longer"
)
SPLIT_SMALL = "Backups are deleted after ninety days"
MERGE_BIG = "You may ask us for a copy of the personal data we hold about you at any time"
MERGE_SMALL = "We answer within one month"
MOVED = "Write to our data protection officer at dpo@example.com about any of this."
GONE = "This policy was last reviewed by our legal team in the spring of this year."
NEW = "Any dispute about this policy is settled by binding arbitration in Delaware."

V1 = f"""<html><body><main><h1>Privacy Policy</h1>
<h2>1. Data</h2><p>{KEPT}</p><p>{LEAD_IN}</p><ul><li>processors</li><li>advertisers</li></ul>
<h2>2. AI</h2><p>{AI_OLD}</p>
<h2>3. Retention</h2><p>{SPLIT_BIG}. {SPLIT_SMALL}.</p>
<h2>4. Rights</h2><p>{MERGE_BIG}.</p><p>{MERGE_SMALL}.</p>
<h2>5. Contact</h2><p>{MOVED}</p><p>{GONE}</p>
</main></body></html>"""

V2 = f"""<html><body><main><h1>Privacy Policy</h1>
<h2>0. Who we are</h2><p>{MOVED}</p>
<h2>1. Data</h2><p>{KEPT}</p><p>{LEAD_IN}</p><ul><li>processors</li><li>advertisers</li></ul>
<h2>2. AI</h2><p>{AI_NEW}</p>
<h2>3. Retention</h2><p>{SPLIT_BIG}.</p><p>{SPLIT_SMALL}.</p>
<h2>4. Rights</h2><p>{MERGE_BIG}. {MERGE_SMALL}.</p>
<h2>6. Disputes</h2><p>{NEW}</p>
</main></body></html>"""


def _ids(conn: psycopg.Connection, version: int) -> dict[str, str]:
    """Record ID per provision text (first 20 characters) in one version."""
    rows = conn.execute(
        "SELECT left(text, 20), record_id FROM provision_versions WHERE version_number = %s",
        (version,),
    ).fetchall()
    return dict(rows)


VERSIONS_QUERY = (
    "SELECT version_number, position, text, heading FROM provision_versions ORDER BY 1, 2"
)


def _crawled_twice(crawl: CrawlRunner, site: Site, tmp_path: Path) -> Path:
    url = site.serve("/privacy", V1)
    decl = write_declarations(
        tmp_path / "d", "Example", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )
    assert crawl("declarations", path=decl).returncode == 0
    site.serve("/privacy", V2)
    assert crawl("declarations", path=decl).returncode == 0
    return decl


def test_each_kind_of_provision_change_keeps_the_right_identities(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _crawled_twice(crawl, site, tmp_path)
    with psycopg.connect(db_url) as conn:
        before, after = _ids(conn, 1), _ids(conn, 2)
        changes = {
            (r[0][:20] if r[0] else None, r[1], r[2]): r[3]
            for r in conn.execute(
                """SELECT CASE WHEN kind IN ('removed', 'merged') THEN from_text
                          ELSE to_text END, kind, technical, record_id
                   FROM provision_changes"""
            ).fetchall()
        }
    assert len(before) == 8 and len(after) == 8
    # Unchanged, modified, moved: the same record ID as before.
    for text in (KEPT, LEAD_IN, MOVED, SPLIT_BIG, MERGE_BIG):
        assert after[text[:20]] == before[text[:20]], text
    assert after[AI_NEW[:20]] == before[AI_OLD[:20]]
    assert changes[(AI_NEW[:20], "modified", False)] == before[AI_OLD[:20]]
    assert changes[(MOVED[:20], "moved", False)] == before[MOVED[:20]]
    # Split: the larger part keeps the identity, the other is new. Merged: the result
    # keeps the larger one's identity, the other ends.
    assert (SPLIT_BIG[:20], "modified", False) in changes
    assert after[SPLIT_SMALL[:20]] not in before.values()
    assert (SPLIT_SMALL[:20], "split", False) in changes
    assert changes[(MERGE_BIG[:20], "modified", False)] == before[MERGE_BIG[:20]]
    assert changes[(MERGE_SMALL[:20], "merged", False)] == before[MERGE_SMALL[:20]]
    assert changes[(GONE[:20], "removed", False)] == before[GONE[:20]]
    assert after[NEW[:20]] not in before.values()
    assert (NEW[:20], "added", False) in changes
    assert not any(text == KEPT[:20] or text == LEAD_IN[:20] for text, _, _ in changes)
    verified = cli("verify", db_url=db_url, evidence=tmp_path / "evidence")
    assert verified.returncode == 0, verified.stdout


def test_provisions_in_the_cli_citations_and_exports(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _crawled_twice(crawl, site, tmp_path)
    with psycopg.connect(db_url) as conn:
        ai = conn.execute(
            "SELECT record_id FROM provisions WHERE current_text LIKE 'We use your posts%'"
        ).fetchone()[0]
        change = conn.execute("SELECT record_id FROM changes").fetchone()[0]
        gone = conn.execute(
            "SELECT ended_at IS NOT NULL FROM provisions WHERE current_text = %s", (GONE,)
        ).fetchone()
    assert gone == (True,)

    listing = cli("provisions", "example", "privacy policy", db_url=db_url)
    assert listing.returncode == 0, listing.stderr
    assert ai in listing.stdout and "Privacy Policy > 2. AI" in listing.stdout
    assert GONE[:20] not in listing.stdout  # ended: not among today's provisions

    life = cli("provision", ai, db_url=db_url)
    assert life.returncode == 0, life.stderr
    assert AI_OLD in life.stdout and AI_NEW in life.stdout
    assert f"{change}  modified" in life.stdout
    assert "capture SHA-256" in life.stdout
    # The change word by word, as `diff` shows it, never the stored patch's hunks.
    assert "{+" in life.stdout and "@@ -" not in life.stdout and "%0A" not in life.stdout

    history = cli("history", "--provisions", db_url=db_url)
    assert ai in history.stdout and "merged" in history.stdout and "split" in history.stdout

    cited = cli("cite", ai, "--json", db_url=db_url)
    assert cited.returncode == 0, cited.stderr
    found = json.loads(cited.stdout)
    assert found["record_id"] == ai and found["text"] == AI_NEW
    assert found["platform"] == "Example" and found["document"] == "Privacy Policy"
    assert len(found["capture_sha256"]) == 64 and found["source_url"].endswith("/privacy")
    assert found["captured_at"].endswith("UTC") and found["accessed_at"]
    assert found["ledger"]["entry"].startswith("version|")
    text = cli("cite", ai, db_url=db_url).stdout
    assert f"({ai})" in text and "Capture SHA-256" in text

    out = tmp_path / "change.zip"
    assert cli("export", change, "--out", str(out), db_url=db_url).returncode == 0
    with zipfile.ZipFile(out) as bundle:
        provisions = json.loads(bundle.read("provisions.json"))
    assert {p["kind"] for p in provisions} == {
        "added", "removed", "modified", "moved", "split", "merged"
    }  # fmt: skip

    bad = cli("provision", "AC-C-000001", db_url=db_url)
    assert bad.returncode == 2 and "not a provision" in bad.stderr


def test_a_technical_change_makes_technical_provision_changes(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    html = f"""<html><body><main><div class=promo>Try our new app today, it is free!</div>
    <article><h1>Terms</h1><p>{KEPT}</p><p>{GONE}</p></article></main></body></html>"""
    url = site.serve("/t", html)
    decl = write_declarations(
        tmp_path / "d", "Example", {"Terms of Service": {"fetch": url, "select": "main"}}
    )
    crawl("declarations", path=decl)
    write_declarations(decl, "Example", {"Terms of Service": {"fetch": url, "select": "article"}})
    result = cli("reextract", "--declarations", str(decl), db_url=db_url)
    assert "technical change" in result.stdout, result.stderr
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT kind, technical FROM provision_changes").fetchall()
        last_changed = conn.execute(
            "SELECT last_changed_at = first_seen_at FROM provisions WHERE current_text = %s",
            (KEPT,),
        ).fetchone()
    assert rows == [("removed", True)]
    assert last_changed == (True,)  # a re-extraction changes nothing a provision says


def test_provisions_rebuild_for_a_database_from_before_them(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _crawled_twice(crawl, site, tmp_path)
    with psycopg.connect(db_url) as conn:
        expected = conn.execute(VERSIONS_QUERY).fetchall()
        edits = conn.execute("SELECT kind FROM provision_changes ORDER BY 1").fetchall()
        # As a database upgraded to migration 011 has it: versions, no provisions.
        for table in ("change_severity_marks", "text_clause_types", "text_classifications",
                      "provision_edits", "version_provisions", "version_segmentations",
                      "provision_records", "provision_texts"):  # fmt: skip
            conn.execute(f"DELETE FROM {table}")
    rebuilt = cli("provisions", "rebuild", db_url=db_url)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Example / Privacy Policy: 2 version(s) cut" in rebuilt.stdout
    again = cli("provisions", "rebuild", db_url=db_url)
    assert "Example / Privacy Policy: 0 version(s) cut" in again.stdout
    with psycopg.connect(db_url) as conn:
        assert conn.execute(VERSIONS_QUERY).fetchall() == expected
        assert conn.execute("SELECT kind FROM provision_changes ORDER BY 1").fetchall() == edits
    assert cli("verify", db_url=db_url, evidence=tmp_path / "evidence").returncode == 0


def test_verify_finds_a_rewritten_provision(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _crawled_twice(crawl, site, tmp_path)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE provision_texts SET text = replace(text, 'opt out', 'not opt out')"
            " WHERE text LIKE 'We use your posts%'"
        )
        # A provision's identity handed to another one.
        conn.execute(
            """UPDATE version_provisions SET provision_id = (
                   SELECT provision_id FROM provision_records ORDER BY 1 DESC LIMIT 1)
               WHERE version_id = 2 AND position = 1"""
        )
    result = cli("verify", db_url=db_url, evidence=tmp_path / "evidence")
    assert result.returncode == 1
    assert "its text no longer matches its hash" in result.stdout
    assert "version 2" in result.stdout
