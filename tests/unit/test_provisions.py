"""Provisions: cutting a version text and following each provision across versions."""

from __future__ import annotations

from atlas_crawl.provisions import match_provisions, segment
from bench.provision_identity import real_texts, score
from tests.helpers import FIXTURES

TEXT = """Intro before any heading.

# 1. How we use your data

## 1.1 [Generative AI](#ai)

We use your posts to train AI models.

We share your data with:

- processors
  - hosting
- advertisers

| Data | Kept for |
| --- | --- |
| Email | 30 days |
| Logs | 90 days |

```
code block

with a blank line
```

# 2. Contact

- Write to us.
- Or call us.
"""


def test_a_text_is_cut_into_provisions_with_their_heading_paths() -> None:
    found = [(p.position, p.heading, p.text) for p in segment(TEXT)]
    path = "1. How we use your data > 1.1 Generative AI"
    assert found == [
        (1, "", "Intro before any heading."),
        (2, path, "We use your posts to train AI models."),
        (3, path, "We share your data with:\n\n- processors\n  - hosting\n- advertisers"),
        (4, path, "| Email | 30 days |"),
        (5, path, "| Logs | 90 days |"),
        (6, path, "```\ncode block\n\nwith a blank line\n```"),
        (7, "2. Contact", "- Write to us."),
        (8, "2. Contact", "- Or call us."),
    ]
    assert segment(TEXT) == segment(TEXT)  # deterministic
    assert segment("# Only a heading\n") == []


def test_text_without_markup_as_pdf_extraction_gives_it() -> None:
    pdf_like = "Terms of Use\n\n1. You must be 18.\nSecond line of it.\n\nGoverning law: Italy.\n"
    assert [p.text for p in segment(pdf_like)] == [
        "Terms of Use",
        "1. You must be 18.\nSecond line of it.",
        "Governing law: Italy.",
    ]


def test_identical_text_keeps_its_identity_wherever_it_moves() -> None:
    old = segment(TEXT)
    moved = TEXT.replace("Intro before any heading.\n\n", "") + "\nIntro before any heading.\n"
    found = match_provisions(old, segment(moved))
    assert found.continues[-1] == 0
    assert [c.kind for c in found.changes] == ["moved"]


def test_edits_splits_and_merges() -> None:
    a = "We keep your data for as long as your account exists and then delete it."
    b = "Backups go after ninety days."
    c = "You may ask for a copy of your data at any time and we will send it."
    d = "We answer within a month."
    old = segment(f"{a} {b}\n\n{c}\n\n{d}\n\nGone for good now.\n")
    new = segment(f"{a}\n\n{b}\n\n{c} {d}\n\nBrand new clause on arbitration.\n")
    found = match_provisions(old, new)
    assert found.continues == [0, None, 1, None]
    kinds = {(c.kind, c.old, c.new, c.related) for c in found.changes}
    assert ("split", None, 1, 0) in kinds
    assert ("merged", 2, None, 2) in kinds
    assert ("modified", 0, 0, None) in kinds and ("modified", 1, 2, None) in kinds
    assert ("added", None, 3, None) in kinds and ("removed", 3, None, None) in kinds


def test_identity_on_scripted_edits_of_the_recorded_policies() -> None:
    texts = {k: v for k, v in real_texts(FIXTURES / "no-corpus").items() if k.startswith("fixture")}
    assert len(texts) >= 20
    result = score(texts, trials=1, seed=5)
    assert result["correct"] >= 0.99, result
    assert result["unchanged_kept"] == result["unchanged"], result
