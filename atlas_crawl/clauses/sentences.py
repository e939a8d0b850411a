"""Provisions cut into the sentences the classifier was trained on: a paragraph is read
sentence by sentence, and a type found in any of them is the provision's."""

from __future__ import annotations

import re

# Markdown the text carries that is not words: list marks, emphasis, link targets.
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|#{1,6}\s+|>\s*)+|[*_`|]{1,3}")
# A sentence ends at . ! ? (or their full-width forms) before a capital, digit or quote.
_END = re.compile(r"(?<=[.!?。！？])([\"”’)\]]*)\s+(?=[\"“‘(\[]?[^\W_a-zà-ÿ])")
# Words whose dot is not an end: "e.g. Google", "Art. 6", "U.S. law", "Inc. and".
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|inc|ltd|co|corp|no|nr|art|sec|para|vs|mr|mrs|ms|dr|st|cf|"
    r"z\.b|bzw|ggf|usw|np|tj|itp|ecc|es|pag|ca|approx|u\.s|u\.k|e\.u)\.|\b[A-Za-z]\.)$",
    re.IGNORECASE,
)
MAX_SENTENCE = 2_000  # characters; a longer run without an end is cut (tables, lists)
# A Markdown table row: each cell is a statement of its own (a heading beside its clause,
# a clause beside its plain-language summary), not one run-on sentence.
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_RULE_CELL = re.compile(r"^\s*:?-+:?\s*$")  # the |---|:--| line under a table's head


def _cells(text: str) -> str:
    lines: list[str] = []
    for line in text.splitlines():
        if _TABLE_ROW.match(line):
            lines += [c for c in line.strip()[1:-1].split("|") if not _RULE_CELL.match(c)]
        else:
            lines.append(line)
    return "\n".join(lines)


def plain(text: str) -> str:
    """Markdown to its words: links keep their text, marks go."""
    return "\n".join(_MARKS.sub("", line) for line in _LINK.sub(r"\1", text).splitlines())


def sentences(text: str) -> list[str]:
    """The sentences of a provision, in order; never empty for a text with words."""
    out: list[str] = []
    for line in plain(_cells(text)).splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        start = 0
        for end in _END.finditer(line):
            head = line[start : end.end(1)]
            if _ABBREVIATION.search(line[start : end.start()]):
                continue
            out.append(head)
            start = end.end()
        out.append(line[start:])
    return [s[i : i + MAX_SENTENCE] for s in out if s for i in range(0, len(s), MAX_SENTENCE)]
