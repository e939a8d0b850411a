"""The demo corpus replayed through ``scrapy crawl declarations``, one capture per round.

Every ``change`` sample must make a new version, and at most 1% of ``same`` samples
may. Samples whose label does not describe the page are listed in corpus_audit.json,
each with evidence that is checked here against the raw captures before it is left
out of the score.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import psycopg
import pytest

from bench.replay import Sample, load_samples, replay
from tests.helpers import ROOT, SHARED_CORPUS, cli

pytestmark = pytest.mark.corpus
DEMO = SHARED_CORPUS / "demo"
AUDIT = ROOT / "tests" / "corpus_audit.json"

# A link whose label is an e-mail address, or Cloudflare's "[email protected]" stand-in.
_EMAIL_LINK = re.compile(r"\[(?:\\\[email\s?protected\\\]|[\w.+-]+@[\w.-]+)\]\([^)]*\)")


def _presentation_free(text: str, kind: str) -> str:
    if kind == "cloudflare-email":
        text = _EMAIL_LINK.sub("<email>", text)
    return " ".join(text.split())


def _previous(samples: list[Sample], sample: Sample) -> Sample:
    same_doc = [
        s for s in samples if (s.service, s.terms_type) == (sample.service, sample.terms_type)
    ]
    return same_doc[same_doc.index(sample) - 1]


def _raw(sample: Sample) -> bytes:
    return gzip.decompress(sample.file.read_bytes())


def audited(samples: list[Sample]) -> set[tuple[str, str, int]]:
    """The audited samples, after checking each one's evidence."""
    keys = set()
    by_key = {(s.service, s.terms_type, s.index): s for s in samples}
    for entry in json.loads(AUDIT.read_text())["samples"]:
        key = (entry["service"], entry["terms_type"], entry["index"])
        sample = by_key[key]
        assert sample.label == entry["label"], key
        before, evidence = _previous(samples, sample), entry["evidence"]
        if "references_equal_after" in evidence:
            kind = evidence["references_equal_after"]
            a = _presentation_free(before.reference.read_text(), kind)
            b = _presentation_free(sample.reference.read_text(), kind)
            assert before.reference != sample.reference and a == b, key
        if "in_both" in evidence:
            phrase = evidence["in_both"].encode()
            assert phrase in _raw(before) and phrase in _raw(sample), key
        if "new_only" in evidence:
            phrase = evidence["new_only"].encode()
            assert phrase not in _raw(before) and phrase in _raw(sample), key
        if "old_only" in evidence:
            phrase = evidence["old_only"].encode()
            assert phrase in _raw(before) and phrase not in _raw(sample), key
        keys.add(key)
    return keys


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    if not (DEMO / "manifest.jsonl").exists():
        pytest.skip("../shared/corpus/demo is absent")
    return load_samples(DEMO)


def test_audit_evidence_holds(samples: list[Sample]) -> None:
    assert len(audited(samples)) == len(json.loads(AUDIT.read_text())["samples"])


def test_demo_corpus_replay(samples: list[Sample], db_url: str, tmp_path: Path) -> None:
    result = replay(DEMO, db_url, tmp_path)
    excluded = audited(samples)
    missed = []
    false_changes = []
    for s in samples:
        key = (s.service, s.terms_type, s.index)
        if key in excluded:
            continue
        outcome = result.outcomes[key][0]
        if s.label == "change" and outcome != "changed":
            missed.append((key, outcome))
        if s.label == "same" and outcome == "changed":
            false_changes.append(key)
        if s.label == "first":
            assert outcome == "first", key
    same = sum(
        1
        for s in samples
        if s.label == "same" and (s.service, s.terms_type, s.index) not in excluded
    )
    score = result.score(excluded)
    print(json.dumps(score, indent=2))
    assert missed == []
    assert len(false_changes) <= 0.01 * same, false_changes
    # The detection targets; Open Terms Archive's extractor fails 95 of these captures.
    assert score["recall"] >= 0.99 and score["precision"] >= 0.98, score
    assert score["failed_checks"] < 95, score
    # Every provision of the replayed real history has its clause types, by the shipped
    # classifier, and today's provisions of real policies can be compared across them.
    with psycopg.connect(db_url) as conn:
        unread = conn.execute(
            """SELECT count(*) FROM version_provisions vp WHERE NOT EXISTS (
                 SELECT 1 FROM text_classifications c WHERE c.text_sha256 = vp.text_sha256)"""
        ).fetchone()[0]
        found = conn.execute(
            "SELECT count(DISTINCT type), count(DISTINCT platform) FROM provision_classifications"
        ).fetchone()
    assert unread == 0
    assert found[0] >= 8 and found[1] >= 5, found
    compared = cli("compare", "user-rights", db_url=db_url)
    assert compared.returncode == 0 and " provisions at " in compared.stdout, compared.stdout
