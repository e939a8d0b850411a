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
