"""Clause types through ``scrapy crawl``: stored with each version, marked on the change
that raises them, compared across platforms, explained, and read again by a new
classifier without touching the history."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from atlas_crawl.clauses.classify import classifier_version
from tests.helpers import CrawlRunner, Site, cli, write_declarations

AI_DENIED = "We do not use your personal data or content to train generative AI models."
AI_USED = (
    "We may use your personal data and the content you post to develop and train "
    "generative AI models. You can opt out in Settings > Data Privacy."
)
EMAIL = "We collect your email address to run your account and keep it secure."
ARBITRATION = (
    "Any dispute arising out of these terms shall be resolved exclusively by final and "
    "binding arbitration, and you waive any right to participate in a class action."
)
SALE = "We never sell your personal information."


def _page(*paragraphs: str) -> str:
    body = "".join(f"<h2>Section {i}</h2><p>{p}</p>" for i, p in enumerate(paragraphs, 1))
    return f"<html><body><main><h1>Privacy Policy</h1>{body}</main></body></html>"


def _crawl_two_platforms(crawl: CrawlRunner, site: Site, tmp_path: Path) -> Path:
    first = site.serve("/a/privacy", _page(EMAIL, AI_DENIED, SALE))
    other = site.serve("/b/terms", _page(AI_USED, EMAIL))
    folder = tmp_path / "d"
    write_declarations(folder, "Alpha", {"Privacy Policy": {"fetch": first, "select": "main"}})
    write_declarations(folder, "Beta", {"Terms of Service": {"fetch": other, "select": "main"}})
    assert crawl("declarations", path=folder).returncode == 0
    # Alpha now trains AI on what you post, and adds an arbitration clause.
    site.serve("/a/privacy", _page(EMAIL, AI_USED, SALE, ARBITRATION))
    assert crawl("declarations", path=folder).returncode == 0
    return folder


def test_types_are_stored_marked_compared_and_explained(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _crawl_two_platforms(crawl, site, tmp_path)
    with psycopg.connect(db_url) as conn:
        # Every provision text of every version was read by this classifier.
        unread = conn.execute(
            """SELECT count(*) FROM version_provisions vp WHERE NOT EXISTS (
                 SELECT 1 FROM text_classifications c JOIN classifiers USING (classifier_id)
                 WHERE c.text_sha256 = vp.text_sha256 AND classifier_version = %s)""",
            (classifier_version(),),
        ).fetchone()
        assert unread == (0,)
        today = conn.execute(
            """SELECT platform, record_id, severity, classifier_version, evidence
               FROM provision_classifications WHERE type = 'ai-training' ORDER BY platform"""
        ).fetchall()
        ai_record = conn.execute(
            "SELECT record_id FROM provisions WHERE platform = 'Alpha' "
            "AND current_text LIKE 'We may use%'"
        ).fetchone()[0]
        marks = conn.execute(
            "SELECT record_id, type, mark, from_severity, to_severity, change_record_id "
            "FROM change_severity ORDER BY record_id, type"
        ).fetchall()
        arbitration = conn.execute(
            "SELECT record_id, type FROM provision_classifications "
            "WHERE platform = 'Alpha' AND text LIKE 'Any dispute%' AND type = 'arbitration'"
        ).fetchall()
    assert [(r[0], r[2], r[3]) for r in today] == [
        ("Alpha", "high", classifier_version()),
        ("Beta", "high", classifier_version()),
    ]
    assert today[0][1] == ai_record and "train" in today[0][4]
    # The denial was low; the rewrite raised it to high, on the change that made it.
    assert (ai_record, "ai-training", "raised", "low", "high", "AC-C-000001") in marks
    assert len(arbitration) == 1, "the new arbitration clause is classified"
    assert all(m[5] == "AC-C-000001" for m in marks)

    diff = cli("diff", "1", db_url=db_url)
    assert (
        f"Severity raised on {ai_record}: AI and machine-learning training on user data, "
        "low -> high" in diff.stdout
    )

    compared = cli("compare", "ai-training", db_url=db_url)
    assert compared.returncode == 0, compared.stderr
    lines = compared.stdout.splitlines()
    assert lines[0].startswith("AI and machine-learning training on user data (ai-training)")
    assert "2 provisions at 2 platforms" in compared.stdout
    assert any(line.startswith("Alpha ") and ai_record in line for line in lines)
    assert any(line.startswith("Beta ") and "high" in line for line in lines)
    as_json = cli("compare", "ai-training", "--min-severity", "high", "--json", db_url=db_url)
    assert {json.loads(line)["platform"] for line in as_json.stdout.splitlines()} == {
        "Alpha", "Beta",
    }  # fmt: skip
    # The worst first, as many as asked for; the count says how many there are in all.
    first = cli("compare", "ai-training", "--limit", "1", db_url=db_url)
    assert "2 provisions at 2 platforms; the 1 worst first (--all shows every one)" in (
        first.stdout
    )
    # both high: by platform
    first_lines = first.stdout.splitlines()
    assert any(line.startswith("Alpha ") and ai_record in line for line in first_lines)
    assert not any(line.startswith("Beta ") for line in first_lines)
    assert cli("compare", "ai-training", "--all", db_url=db_url).stdout == compared.stdout
    zero = cli("compare", "ai-training", "--limit", "0", db_url=db_url)
    assert zero.returncode == 2 and "must be at least 1, not 0" in zero.stderr
    # Any case, '_' or ' ' for '-'; a typo gets the closest types.
    for spelt in ("AI-Training", "ai_training", "AI training"):
        same = cli("compare", spelt, db_url=db_url)
        assert same.returncode == 0 and same.stdout == compared.stdout, (spelt, same.stderr)
    typo = cli("compare", "ai-trainig", db_url=db_url)
    assert typo.returncode == 2 and "(did you mean 'ai-training'?)" in typo.stderr
    unknown = cli("compare", "cookies-everywhere", db_url=db_url)
    assert unknown.returncode == 2
    assert "no clause type 'cookies-everywhere'; the types are: arbitration," in unknown.stderr

    shown = cli("provision", ai_record, db_url=db_url)
    assert "AI and machine-learning training on user data (ai-training): HIGH severity" in (
        shown.stdout
    )
    assert "What you can do:" in shown.stdout
    assert "Regulation: GDPR (EU) 2016/679 (EU), Art. 6(1)(f)" in shown.stdout
    assert "Other platforms: Beta / Terms of Service AC-P-" in shown.stdout  # high there
    life = json.loads(cli("provision", ai_record, "--json", db_url=db_url).stdout)
    assert life["clause_types"][0]["type"] == "ai-training"
    assert life["clause_types"][0]["regulations"]
    assert life["clause_types"][0]["other_platforms"][0]["platform"] == "Beta"
    listed = cli("provisions", "Alpha", "Privacy Policy", db_url=db_url).stdout
    assert any(ai_record in line and "ai-training:high" in line for line in listed.splitlines())


def test_a_new_classifier_reclassifies_without_changing_any_document(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    _crawl_two_platforms(crawl, site, tmp_path)
    history = "SELECT count(*) FROM versions UNION ALL SELECT count(*) FROM changes " \
        "UNION ALL SELECT count(*) FROM ledger"  # fmt: skip
    with psycopg.connect(db_url) as conn:
        # What this database holds was read by an older classifier that knew no AI
        # training: the shipped one is new to it.
        conn.execute(
            "UPDATE classifiers SET classifier_version = 'model 0 / taxonomy 0' "
            "WHERE classifier_version = %s",
            (classifier_version(),),
        )
        conn.execute("DELETE FROM text_clause_types WHERE clause_type = 'ai-training'")
        before = conn.execute(history).fetchall()
        texts = conn.execute("SELECT count(*) FROM provision_texts").fetchone()[0]
        assert conn.execute(
            "SELECT count(*) FROM provision_classifications WHERE type = 'ai-training'"
        ).fetchone() == (0,)
    done = cli("reclassify", db_url=db_url)
    assert done.returncode == 0, done.stderr
    assert f"by {classifier_version()}: {texts} provision texts read" in done.stdout
    with psycopg.connect(db_url) as conn:
        assert conn.execute(history).fetchall() == before, "no version, change or entry"
        found = conn.execute(
            "SELECT platform, type, from_severity, to_severity, from_classifier "
            "FROM reclassified_provisions ORDER BY platform"
        ).fetchall()
        today = conn.execute(
            "SELECT DISTINCT platform, classifier_version FROM provision_classifications "
            "WHERE type = 'ai-training' ORDER BY 1"
        ).fetchall()
    assert ("Alpha", "ai-training", None, "high", "model 0 / taxonomy 0") in found
    assert ("Beta", "ai-training", None, "high", "model 0 / taxonomy 0") in found
    assert today == [("Alpha", classifier_version()), ("Beta", classifier_version())]
    again = cli("reclassify", db_url=db_url)
    assert ": 0 provision texts read" in again.stdout
    verified = cli("verify", db_url=db_url, evidence=tmp_path / "evidence")
    assert verified.returncode == 0, verified.stdout


def test_a_version_whose_only_new_provision_has_no_words(
    crawl: CrawlRunner, site: Site, tmp_path: Path, db_url: str
) -> None:
    url = site.serve("/p", _page(EMAIL, ARBITRATION))
    folder = write_declarations(
        tmp_path / "d", "Gamma", {"Privacy Policy": {"fetch": url, "select": "main"}}
    )
    assert crawl("declarations", path=folder).returncode == 0
    # "* * *", a section break many policies print: a provision with no sentence.
    site.serve("/p", _page(EMAIL, ARBITRATION).replace("</main>", "<p>* * *</p></main>"))
    assert crawl("declarations", path=folder).returncode == 0
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM changes").fetchone() == (1,)
        unread = conn.execute(
            """SELECT count(*) FROM version_provisions vp WHERE NOT EXISTS (
                 SELECT 1 FROM text_classifications c WHERE c.text_sha256 = vp.text_sha256)"""
        ).fetchone()
    assert unread == (0,)
