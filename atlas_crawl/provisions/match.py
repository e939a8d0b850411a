"""Which provision of the previous version each provision of a new version continues.

1. Identical text keeps its provision wherever it moved (pairs among equal texts go by
   heading, then by nearest relative place), so an unchanged provision never gets a new
   identity.
2. An edited provision keeps its identity: the rest are paired one to one by word
   overlap (Dice coefficient of word multisets), helped by the same heading and by
   sitting between the same matched neighbours; best pairs first.
3. A provision split in two keeps its identity in the part most like it (the larger, as
   a rule); the other part is new, ``split`` from it. Two merged keep the identity of
   the one most like the result; the other ends, ``merged`` into it.
4. What is left is ``added`` (new) or ``removed`` (ended).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from atlas_crawl.provisions.segment import Provision

_WORD = re.compile(r"\w+")
# A pair this alike is the same provision edited; less alike needs its neighbours' word.
SAME_PROVISION = 0.5
SAME_PLACE = 0.3
HEADING_BONUS = 0.1
PLACE_BONUS = 0.15
# Share of a part's words found in the provision it was split from (or merged into).
CONTAINED = 0.7


@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, modified, moved, split, merged
    old: int | None  # index into the old provisions
    new: int | None  # index into the new provisions
    related: int | None = None  # split: the old index it came from; merged: the new index


@dataclass(frozen=True)
class Match:
    continues: list[int | None]  # per new provision: the old index it continues
    changes: list[Change]


def words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text.lower()))


def dice(a: Counter[str], b: Counter[str], size_a: int, size_b: int) -> float:
    if not size_a or not size_b:
        return 0.0
    return 2 * sum((a & b).values()) / (size_a + size_b)


def _relative(index: int, count: int) -> float:
    return index / max(count - 1, 1)


def _pair_identical(old: Sequence[Provision], new: Sequence[Provision], link: list) -> None:
    by_text: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(old):
        by_text[p.text].append(i)
    wanting: dict[str, list[int]] = defaultdict(list)
    for j, p in enumerate(new):
        if p.text in by_text:
            wanting[p.text].append(j)
    taken: set[int] = set()
    for text, news in wanting.items():
        olds = by_text[text]
        pairs = sorted(
            (
                old[i].heading != new[j].heading,
                abs(_relative(i, len(old)) - _relative(j, len(new))),
                j,
                i,
            )
            for j in news
            for i in olds
        )
        for _, _, j, i in pairs:
            if link[j] is None and i not in taken:
                link[j] = i
                taken.add(i)


def _neighbours(link: list[int | None], j: int) -> tuple[int, int]:
    """The old indices of the nearest matched provisions before and after new ``j``."""
    before = next((i for i in reversed(link[:j]) if i is not None), -1)
    after = next((i for i in link[j + 1 :] if i is not None), 1 << 30)
    return before, after


def _pair_edited(
    old: Sequence[Provision],
    new: Sequence[Provision],
    link: list[int | None],
    old_words: list[Counter[str]],
    new_words: list[Counter[str]],
) -> None:
    taken = {i for i in link if i is not None}
    free_old = [i for i in range(len(old)) if i not in taken]
    free_new = [j for j in range(len(new)) if link[j] is None]
    if not free_old or not free_new:
        return
    index: dict[str, list[int]] = defaultdict(list)
    for i in free_old:
        for word in old_words[i]:
            index[word].append(i)
    sizes_old = [sum(c.values()) for c in old_words]
    scored = []
    for j in free_new:
        size_new = sum(new_words[j].values())
        before, after = _neighbours(link, j)
        seen: set[int] = set()
        for word in new_words[j]:
            seen.update(index.get(word, ()))
        for i in seen:
            alike = dice(old_words[i], new_words[j], sizes_old[i], size_new)
            in_place = before < i < after
            if alike < SAME_PLACE or (alike < SAME_PROVISION and not in_place):
                continue
            score = alike + HEADING_BONUS * (old[i].heading == new[j].heading)
            score += PLACE_BONUS * in_place
            scored.append((-score, j, i))
    scored.sort()
    used: set[int] = set()
    for _, j, i in scored:
        if link[j] is None and i not in used:
            link[j] = i
            used.add(i)


def _containing(
    part: Counter[str], size: int, wholes: Sequence[tuple[int, Counter[str]]]
) -> int | None:
    """The index of the whole that holds most of ``part``'s words, if one holds enough."""
    if size < 3:
        return None
    best, best_share = None, CONTAINED
    for index, whole in wholes:
        share = sum((part & whole).values()) / size
        if share >= best_share and (best is None or share > best_share):
            best, best_share = index, share
    return best


def _in_order(link: list[int | None]) -> set[int]:
    """New indices whose old indices form a longest increasing run (not moved)."""
    seq = [(j, i) for j, i in enumerate(link) if i is not None]
    tails: list[int] = []
    tail_at: list[int] = []
    parent: list[int] = [-1] * len(seq)
    for k, (_, i) in enumerate(seq):
        at = bisect_left(tails, i)
        if at == len(tails):
            tails.append(i)
            tail_at.append(k)
        else:
            tails[at] = i
            tail_at[at] = k
        parent[k] = tail_at[at - 1] if at else -1
    keep: set[int] = set()
    k = tail_at[-1] if tail_at else -1
    while k >= 0:
        keep.add(seq[k][0])
        k = parent[k]
    return keep


def match_provisions(old: Sequence[Provision], new: Sequence[Provision]) -> Match:
    link: list[int | None] = [None] * len(new)
    _pair_identical(old, new, link)
    old_words = [words(p.text) for p in old]
    new_words = [words(p.text) for p in new]
    _pair_edited(old, new, link, old_words, new_words)

    changes: list[Change] = []
    in_order = _in_order(link)
    for j, i in enumerate(link):
        if i is None:
            continue
        if old[i].text != new[j].text:
            changes.append(Change("modified", i, j))
        elif old[i].heading != new[j].heading or j not in in_order:
            changes.append(Change("moved", i, j))
    continued = {i for i in link if i is not None}
    kept_old = [(i, old_words[i]) for i in sorted(continued)]
    kept_new = [(j, new_words[j]) for j, i in enumerate(link) if i is not None]
    for j, i in enumerate(link):
        if i is None:
            source = _containing(new_words[j], sum(new_words[j].values()), kept_old)
            kind = "split" if source is not None else "added"
            changes.append(Change(kind, None, j, source))
    for i in range(len(old)):
        if i not in continued:
            target = _containing(old_words[i], sum(old_words[i].values()), kept_new)
            kind = "merged" if target is not None else "removed"
            changes.append(Change(kind, i, None, target))
    return Match(continues=link, changes=changes)
