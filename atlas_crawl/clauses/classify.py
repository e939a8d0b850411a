"""A provision's clause types: the learned CLAUDETTE types and the privacy types of the
taxonomy's patterns, each with a severity, a confidence and the words behind it.

The model reads sentences (it was trained on them), and so do the patterns (a denial
in one sentence says nothing of the next): a provision is cut into its sentences and a
type found in any of them is the provision's, at the worst severity found."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict

from atlas_crawl.clauses.model import ClauseModel, shipped_model
from atlas_crawl.clauses.rules import Finding, fair_reading, find_by_rules
from atlas_crawl.clauses.sentences import plain, sentences
from atlas_crawl.clauses.taxonomy import RANK, taxonomy

# Frequent short words per language: enough to tell the corpus's languages apart.
_STOPWORDS = {
    "en": "the of and to in is you your we our or for that with by this be are",
    "de": "der die und das zu den von mit sie ist nicht ein eine für auf oder wir ihre",
    "it": "il di e la che per un una non dei delle con del della sono le gli alle al nel "
    "da è si ai agli sua suo questi questo",
    "pl": "i w na z do się że nie jest lub oraz przez dla od jak te ich a prawa wszelkie",
    "fr": "le la les de des et un une du en pour que vous nous est dans sur",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
# The languages a text may be declared in.
LANGUAGES = tuple(sorted(_STOPWORDS))
_TOKEN = re.compile(r"\w+")
# What the learned model reads must read as prose: an address, a heading or a list of
# names ("San Francisco", "GitHub, Inc.") is no clause, and the model, trained on
# sentences, finds jurisdiction in a city's name alone. Prose has at least two words of
# three letters or more written in lower case (or all in capitals, as clauses that
# shout); web addresses do not count. In the labelled corpus this leaves out 5 of its
# 4,024 unfair sentences and 10,304 of the others.
_PROSE_WORD = re.compile(r"[^\W\d_]{3,}")
# Searched in each whitespace-separated token (a pattern spanning the token, \S* on
# both sides, took quadratic time on a megabyte without spaces).
_WEB_ADDRESS = re.compile(r"://|www\.|\.(?:com|org|net|io|eu)\b", re.IGNORECASE)
PROSE_WORDS = 2


# Characters per matrix product: a hostile page of megabytes is read in batches, in
# bounded memory (about 4 character n-grams per character).
BATCH_CHARACTERS = 400_000


def guess_language(text: str) -> str | None:
    tokens = _TOKEN.findall(text.lower())
    scores = {lang: sum(t in words for t in tokens) for lang, words in _WORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    runner_up = max(v for lang, v in scores.items() if lang != best)
    return best if scores[best] >= 1 and scores[best] > runner_up else None


def reads_as_prose(sentence: str) -> bool:
    kept = " ".join(t for t in sentence.split() if not _WEB_ADDRESS.search(t))
    words = _PROSE_WORD.findall(kept)
    return sum(w.islower() or w.isupper() for w in words) >= PROSE_WORDS


def _batches(pieces: list[str]) -> list[list[str]]:
    batches: list[list[str]] = [[]] if pieces else []
    size = 0
    for piece in pieces:
        if size + len(piece) > BATCH_CHARACTERS and batches[-1]:
            batches.append([])
            size = 0
        batches[-1].append(piece)
        size += len(piece)
    return batches


def classifier_version(model: ClauseModel | None = None) -> str:
    """Model and taxonomy together: a change of either reclassifies. A change in how a
    provision is read (its sentences, the prose guard, the patterns' definitions) must
    ship with a new model or taxonomy version, or stored classifications go stale."""
    model = model or shipped_model()
    return f"model {model.version} / taxonomy {taxonomy()[0]}"


def classify(
    texts: Sequence[str], langs: Sequence[str | None] | None = None,
    model: ClauseModel | None = None,
) -> list[list[Finding]]:  # fmt: skip
    """Every text's clause types, one finding per type, strongest severity first."""
    model = model or shipped_model()
    types = taxonomy()[1]
    pieces: list[str] = []
    owners: list[int] = []
    for i, text in enumerate(texts):
        cut = sentences(text)
        pieces += cut
        owners += [i] * len(cut)
    best: list[dict[str, Finding]] = [{} for _ in texts]
    text_langs = [(langs[i] if langs else None) or guess_language(plain(t))
                  for i, t in enumerate(texts)]  # fmt: skip
    is_prose = [reads_as_prose(p) for p in pieces]
    prose = [p for p, keep in zip(pieces, is_prose, strict=True) if keep]
    found_in_prose = iter([f for batch in _batches(prose) for f in model.find(batch)])
    learned = [next(found_in_prose) if keep else [] for keep in is_prose]
    for owner, piece, found in zip(owners, pieces, learned, strict=True):
        lang = text_langs[owner]
        read = [fair_reading(f, piece, lang, types) for f in found]
        for finding in read + find_by_rules(piece, lang, types):
            _keep_worst(best[owner], finding)
    return [sorted(kept.values(), key=_order) for kept in best]


def _order(f: Finding) -> tuple[int, float, str]:
    return (-RANK[f.severity], -f.confidence, f.type)


def _keep_worst(kept: dict[str, Finding], finding: Finding) -> None:
    held = kept.get(finding.type)
    if held is None or _order(finding) < _order(held):
        kept[finding.type] = finding


def as_json(findings: list[Finding]) -> dict:
    return {"clause_types": [asdict(f) for f in findings]}
