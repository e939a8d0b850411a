"""Diffs between two versions' texts, with diff-match-patch.

Diffs are computed line by line first (fast on long policies, and deterministic: no
time limit cuts them short), then cleaned up semantically so a reworded sentence
reads as one edit. The stored form is diff-match-patch patch text, which applies to
the old text to give the new one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from diff_match_patch import diff_match_patch


@dataclass(frozen=True)
class Diff:
    patch: str
    chars_added: int
    chars_removed: int


# Replaced blocks up to this size (old + new characters) are refined word by word.
REFINE_LIMIT = 20_000


def _engine() -> diff_match_patch:
    dmp = diff_match_patch()
    dmp.Diff_Timeout = 0  # no deadline: the same texts always give the same diff
    return dmp


def _by_lines(
    old: str,
    new: str,
    refine: Callable[[diff_match_patch, str, str], list[tuple[int, str]] | None],
) -> list[tuple[int, str]]:
    """A line diff whose replaced blocks (lines removed, then lines added) ``refine``
    diffs finer, where it gives a result."""
    dmp = _engine()
    a, b, lines = dmp.diff_linesToChars(old, new)
    line_diffs = dmp.diff_main(a, b, False)
    dmp.diff_charsToLines(line_diffs, lines)
    out: list[tuple[int, str]] = []
    i = 0
    while i < len(line_diffs):
        op, text = line_diffs[i]
        if op == dmp.DIFF_DELETE and i + 1 < len(line_diffs) and line_diffs[i + 1][0] == 1:
            finer = refine(dmp, text, line_diffs[i + 1][1])
            if finer is not None:
                out.extend(finer)
                i += 2
                continue
        out.append((op, text))
        i += 1
    return out


def _characters(dmp: diff_match_patch, old: str, new: str) -> list[tuple[int, str]] | None:
    # Character diffs are quadratic: a rewritten page stays a line diff.
    if len(old) + len(new) > REFINE_LIMIT:
        return None
    inner = dmp.diff_main(old, new, False)
    dmp.diff_cleanupSemantic(inner)
    return inner


def diff_ops(old: str, new: str) -> list[tuple[int, str]]:
    """(op, text) pairs: -1 removed, 0 kept, 1 added; character by character inside
    changed lines, so a one-word edit stays small (the stored patches)."""
    out = _by_lines(old, new, _characters)
    _engine().diff_cleanupMerge(out)
    return out


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def word_ops(old: str, new: str) -> list[tuple[int, str]]:
    """(op, text) pairs for reading: lines first, then each replaced block of lines word
    by word (whole words added and removed, as a reader marks them). Words are diffed as
    single symbols, so a rewritten page of 20,000 characters is a diff of a few thousand
    symbols, not of 20,000 characters (what ``diff_ops`` does, for stored patches)."""
    merged: list[tuple[int, str]] = []
    for op, text in _by_lines(old, new, _words):
        # adjacent runs of one kind as one (no common ends taken out: words stay whole)
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        elif text:
            merged.append((op, text))
    return merged


def _words(dmp: diff_match_patch, old: str, new: str) -> list[tuple[int, str]]:
    symbols: dict[str, str] = {}
    tokens: list[str] = []

    def encode(text: str) -> str:
        out = []
        for token in _TOKEN.findall(text):
            if token not in symbols:
                symbols[token] = chr(len(tokens) + 0x100)  # above Latin-1: never a surrogate
                tokens.append(token)
            out.append(symbols[token])
        return "".join(out)

    # More distinct words than characters available without surrogates: as lines.
    if len(set(_TOKEN.findall(old)) | set(_TOKEN.findall(new))) > 0xD800 - 0x100:
        return [(-1, old), (1, new)]
    coded = dmp.diff_main(encode(old), encode(new), False)
    dmp.diff_cleanupSemantic(coded)  # on words: what it merges or splits is whole words
    return [(op, "".join(tokens[ord(c) - 0x100] for c in text)) for op, text in coded]


def make_diff(old: str, new: str) -> Diff:
    ops = diff_ops(old, new)
    dmp = _engine()
    patches = dmp.patch_make(old, ops)
    added = sum(len(t) for op, t in ops if op == 1)
    removed = sum(len(t) for op, t in ops if op == -1)
    return Diff(dmp.patch_toText(patches), added, removed)


def apply_patch(old: str, patch: str) -> str:
    """The new text from the old one and a stored patch; raises if it does not apply."""
    dmp = _engine()
    new, results = dmp.patch_apply(dmp.patch_fromText(patch), old)
    if not all(results):
        raise ValueError("the patch does not apply to this text")
    return new


def patch_holds(old: str, new: str, patch: str) -> tuple[bool, int, int]:
    """Whether ``patch`` turns ``old`` into exactly ``new`` when applied strictly (its
    context must match where it says, no fuzzy search), with the characters it adds and
    removes: how a stored diff is checked without computing it again."""
    dmp = _engine()
    dmp.Match_Threshold = 0.0
    dmp.Patch_DeleteThreshold = 0.0
    try:
        patches = dmp.patch_fromText(patch)
    except ValueError:
        return False, 0, 0
    added = sum(len(t) for p in patches for op, t in p.diffs if op == dmp.DIFF_INSERT)
    removed = sum(len(t) for p in patches for op, t in p.diffs if op == dmp.DIFF_DELETE)
    result, applied = dmp.patch_apply(patches, old)
    return all(applied) and result == new, added, removed
