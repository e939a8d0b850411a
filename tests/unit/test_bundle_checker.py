"""The bundle checker's own reading of a diff (standard library only) agrees with the
diff library that wrote it, on real policy texts edited at random."""

from __future__ import annotations

import random

import pytest

from atlas_crawl.audit.verify_bundle import apply_strictly
from atlas_crawl.diff.patch import make_diff
from tests.helpers import FIXTURES

TEXTS = sorted((FIXTURES / "spiders").glob("*/*.md"))


def _edited(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for _ in range(rng.randint(1, 12)):
        at = rng.randrange(len(words))
        choice = rng.random()
        if choice < 0.3:
            del words[at]
        elif choice < 0.6:
            words.insert(at, rng.choice(["AI", "données", "🙂", "%20", "@@", "\n\n## New\n", "+"]))
        else:
            words[at] = words[at].upper()
    return " ".join(words)


@pytest.mark.parametrize("path", TEXTS[:12], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_patch_applied_strictly_gives_the_new_text(path) -> None:  # type: ignore[no-untyped-def]
    old = path.read_text(encoding="utf-8")
    rng = random.Random(path.name)
    for _ in range(5):
        new = _edited(old, rng)
        diff = make_diff(old, new)
        applied, added, removed = apply_strictly(old, diff.patch)
        assert applied == new
        assert (added, removed) == (diff.chars_added, diff.chars_removed)


def test_a_patch_that_does_not_fit_is_refused() -> None:
    diff = make_diff("We collect your email.\n", "We collect your phone number.\n")
    with pytest.raises(ValueError, match="does not match"):
        apply_strictly("We keep your email.\n", diff.patch)


def test_the_bundle_checker_hashes_evidence_as_the_crawler_does() -> None:
    """verify_bundle.py is standalone (stdlib only), so it keeps its own copy of the
    evidence hash: both must agree on every field, in order, and on the result."""
    from datetime import UTC, datetime

    from atlas_crawl.audit import verify_bundle
    from atlas_crawl.evidence import ledger

    assert verify_bundle.FIELDS == ledger.FIELDS
    fields = {
        "document_id": 7, "checked_at": datetime(2026, 3, 1, 12, 30, 5, 12, tzinfo=UTC),
        "captured_at": datetime(2026, 3, 1, 12, 30, 4, tzinfo=UTC),
        "requested_url": "https://example.com/privacy", "final_url": "https://example.com/p",
        "http_status": 200, "fetcher": "http", "raw_sha256": "ab" * 32,
        "text_sha256": "cd" * 32, "warc_digest": None,
    }  # fmt: skip
    as_bundled = {k: ledger.canonical(v) for k, v in fields.items()}  # entries.json's form
    for previous in (None, "ef" * 32):
        assert verify_bundle.evidence_hash(as_bundled, previous) == ledger.evidence_hash(
            fields, previous
        )
