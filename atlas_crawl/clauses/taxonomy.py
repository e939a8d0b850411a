"""The clause types of ``taxonomy.toml``: data a policy analyst edits, read once."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

SEVERITIES = ("low", "medium", "high")
RANK = {s: i for i, s in enumerate(SEVERITIES)}  # low 0 < medium 1 < high 2


class TaxonomyError(ValueError):
    """The taxonomy file says something it may not; the message names where."""


@dataclass(frozen=True)
class Regulation:
    name: str
    jurisdiction: str
    article: str


@dataclass(frozen=True)
class ClauseType:
    id: str
    title: str
    source: str  # "claudette" (learned) or "rules" (patterns)
    default_severity: str
    description: str
    why_it_matters: str
    consumer_impact: str
    what_you_can_do: str
    regulations: tuple[Regulation, ...]
    # Per language: patterns that find the type, and patterns that set its severity.
    patterns: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    severity_patterns: dict[str, dict[str, tuple[re.Pattern[str], ...]]] = field(
        default_factory=dict
    )

    def explanation(self) -> dict[str, Any]:
        return {
            "type": self.id,
            "title": self.title,
            "description": self.description,
            "why_it_matters": self.why_it_matters,
            "consumer_impact": self.consumer_impact,
            "what_you_can_do": self.what_you_can_do,
            "regulations": [r.__dict__ for r in self.regulations],
        }


def _patterns(raw: Any, where: str) -> dict[str, tuple[re.Pattern[str], ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{where}: expected a table of languages")
    out = {}
    for lang, items in raw.items():
        try:
            out[lang] = tuple(re.compile(p, re.I) for p in items)
        except re.error as exc:
            raise TaxonomyError(f"{where}.{lang}: bad pattern: {exc}") from None
    return out


def parse_taxonomy(data: dict[str, Any]) -> tuple[str, dict[str, ClauseType]]:
    version = str(data.get("version", ""))
    if not version:
        raise TaxonomyError("taxonomy: needs a version")
    types = {}
    for type_id, raw in data.get("types", {}).items():
        where = f"types.{type_id}"
        missing = [k for k in ("title", "source", "default_severity", "description",
                               "why_it_matters", "consumer_impact", "what_you_can_do")
                   if not raw.get(k)]  # fmt: skip
        if missing:
            raise TaxonomyError(f"{where}: missing {', '.join(missing)}")
        if raw["default_severity"] not in SEVERITIES:
            raise TaxonomyError(f"{where}.default_severity: one of {', '.join(SEVERITIES)}")
        if raw["source"] not in ("claudette", "rules"):
            raise TaxonomyError(f"{where}.source: 'claudette' or 'rules'")
        regulations = tuple(
            Regulation(r["name"], r["jurisdiction"], r["article"])
            for r in raw.get("regulations", [])
        )
        patterns = _patterns(raw.get("patterns"), f"{where}.patterns")
        if raw["source"] == "rules" and not patterns:
            raise TaxonomyError(f"{where}: a rules type needs patterns")
        types[type_id] = ClauseType(
            type_id, raw["title"], raw["source"], raw["default_severity"], raw["description"],
            raw["why_it_matters"], raw["consumer_impact"], raw["what_you_can_do"], regulations,
            patterns,
            {s: _patterns(raw.get(s), f"{where}.{s}") for s in SEVERITIES if s in raw},
        )  # fmt: skip
    return version, types


@cache
def taxonomy() -> tuple[str, dict[str, ClauseType]]:
    """(version, clause types by id) of the shipped taxonomy."""
    text = resources.files("atlas_crawl.clauses").joinpath("taxonomy.toml").read_text("utf-8")
    return parse_taxonomy(tomllib.loads(text))


@cache
def agencies() -> dict[str, list[dict[str, str]]]:
    """The agencies that enforce the taxonomy's regulations, by jurisdiction
    (``agencies.toml``): name, what it handles, where to file a complaint."""
    text = resources.files("atlas_crawl.clauses").joinpath("agencies.toml").read_text("utf-8")
    found = tomllib.loads(text).get("agencies", {})
    for jurisdiction, listed in found.items():
        for i, agency in enumerate(listed):
            missing = {"name", "handles", "complaint"} - set(agency)
            if missing:
                raise ValueError(f"agencies.toml: agencies.{jurisdiction}[{i}] lacks {missing}")
    return found


def type_id_of(name: str) -> str:
    """The type a reader means: its ID in any case, with spaces or '_' for '-'; a
    ``KeyError`` with the closest IDs (or every one) else."""
    import difflib

    types = taxonomy()[1]
    wanted = re.sub(r"[\s_]+", "-", name.strip().lower())
    if wanted in types:
        return wanted
    close = difflib.get_close_matches(wanted, list(types), n=2, cutoff=0.8)
    if close:
        raise KeyError(f"no clause type {name!r} (did you mean {' or '.join(map(repr, close))}?)")
    raise KeyError(f"no clause type {name!r}; the types are: {', '.join(types)}")


def clause_type(type_id: str) -> ClauseType:
    """The shipped taxonomy's type ``type_id`` (read as ``type_id_of`` reads it)."""
    return taxonomy()[1][type_id_of(type_id)]
