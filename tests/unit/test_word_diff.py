"""The diff a reader sees (web view, memos): whole words marked, and both texts read
back from it exactly, on real policy texts edited at random."""

from __future__ import annotations

import random

from atlas_crawl.diff.patch import word_ops
from tests.helpers import FIXTURES

TEXTS = sorted((FIXTURES / "spiders").glob("*/*.md"))


def _sides(ops: list[tuple[int, str]]) -> tuple[str, str]:
    return "".join(t for op, t in ops if op <= 0), "".join(t for op, t in ops if op >= 0)


def test_whole_words_are_marked() -> None:
    ops = word_ops(
        "We share your color settings.\nKeep this.", "We sell your colour settings.\nKeep this."
    )
    assert (-1, "share") in ops and (1, "sell") in ops
    assert (-1, "color") in ops and (1, "colour") in ops


def test_both_texts_read_back_from_the_marks() -> None:
    rng = random.Random(7)
    assert TEXTS
    for path in TEXTS[:12]:
        old = path.read_text(encoding="utf-8")
        words = old.split(" ")
        for _ in range(20):
            at = rng.randrange(len(words))
            words[at] = rng.choice(["", "données", "AI", "🙂", words[at].upper(), "\n\n## New\n"])
        new = " ".join(words)
        assert _sides(word_ops(old, new)) == (old, new), path.name
        assert _sides(word_ops(new, "")) == (new, "")
