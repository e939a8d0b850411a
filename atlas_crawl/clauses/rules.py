"""Clause types the labelled corpus does not cover (the privacy practices), found by the
taxonomy's patterns; each finding carries the words that matched as its evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from atlas_crawl.clauses.taxonomy import ClauseType

# Low first: the taxonomy's low patterns are denials ("we never sell your data").
SEVERITY_ORDER = ("low", "high", "medium")
# A sentence that defines a term ("'Personal data' means any information ... such as
# location data") names practices without engaging in them: the patterns skip it. A
# definition opens with its term (at most five words, quoted or not) and a defining
# verb. Not a term: a pronoun ("this means we share" is a practice) or a phrase that
# makes "means" a noun ("by automated means", "any means").
_DEFINITION = re.compile(
    r"^\W*(?!(?:this|that|it|which|what|these|those|such|doing so|dies|das"
    r"|ciò|questo|quindi|to|co|cela|ce|by|with|through|via|using|in|any|all|other|no"
    r"|mit|durch|con|tramite|przez|za pomocą|par|avec)\b)"
    r"[^\W\d][\w'’-]*(?:\s+[\w'’-]+){0,4}[\"”’»“]?\s*[:,–-]?\s*"
    r"(?:means|shall mean|refers to|is defined as|has the meaning"
    r"|bezeichnet|bedeutet|meint|ist definiert als"
    r"|indica|significa|si intende|designa"
    r"|oznacza|rozumie się przez"
    r"|désigne|signifie|s'entend|s’entend)\b",
    re.IGNORECASE,
)


def is_definition(sentence: str) -> bool:
    return _DEFINITION.match(sentence) is not None


@dataclass(frozen=True)
class Finding:
    type: str
    severity: str
    confidence: float
    evidence: str


def _first(patterns: tuple[re.Pattern[str], ...], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        found = pattern.search(text)
        if found:
            return found
    return None


def _for(table: dict[str, tuple[re.Pattern[str], ...]], lang: str | None):
    if lang and lang in table:
        return table[lang]
    if lang and lang not in table:
        return ()
    return tuple(p for patterns in table.values() for p in patterns)  # language unknown


# How sure a pattern's finding is: found by the type's patterns, or graded by its
# severity patterns too.
_FOUND_CONFIDENCE, _GRADED_CONFIDENCE = 0.7, 0.85


def _severity_match(clause: ClauseType, level: str, lang: str | None, text: str):
    return _first(_for(clause.severity_patterns.get(level, {}), lang), text)


def _finding(type_id: str, severity: str, confidence: float, match: re.Match[str]) -> Finding:
    return Finding(type_id, severity, confidence, " ".join(match.group(0).split()))


def find_by_rules(text: str, lang: str | None, types: dict[str, ClauseType]) -> list[Finding]:
    out: list[Finding] = []
    if is_definition(text):
        return out
    for clause in types.values():
        if clause.source != "rules":
            continue
        found = _first(_for(clause.patterns, lang), text)
        if found is None:
            continue
        finding = _finding(clause.id, clause.default_severity, _FOUND_CONFIDENCE, found)
        for level in SEVERITY_ORDER:
            stronger = _severity_match(clause, level, lang, text)
            if stronger is not None:
                finding = _finding(clause.id, level, _GRADED_CONFIDENCE, stronger)
                break
        out.append(finding)
    return out


def fair_reading(finding: Finding, text: str, lang: str | None,
                 types: dict[str, ClauseType]) -> Finding:  # fmt: skip
    """A learned type's finding, at ``low`` where the type's own ``low`` patterns match
    the sentence (a user's own right to leave is no unilateral termination)."""
    clause = types.get(finding.type)
    if finding.severity == "low" or clause is None or clause.source != "claudette":
        return finding
    fair = _severity_match(clause, "low", lang, text)
    return finding if fair is None else _finding(finding.type, "low", _GRADED_CONFIDENCE, fair)
