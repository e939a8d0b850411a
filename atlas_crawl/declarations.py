"""What a tracked document is: where its pages are and how its text is cut out of them.

Two ways in produce the same objects: a platform spider's ``documents`` list of
``Document`` and an Open Terms Archive declaration file (``load_ota_folder``). Every
declaration is checked when it is built, so a wrong one fails at load time with the
file and the field named.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cssselect import SelectorError
from lxml.cssselect import CSSSelector

# Document types as Open Terms Archive names them; a platform spider must use one.
DOCUMENT_TYPES: frozenset[str] = frozenset(
    {
        "Acceptable Use Policy",
        "Accessibility Statement",
        "Advertising Content Policy",
        "Brand Guidelines",
        "Business Mediation Policy",
        "Business Privacy Policy",
        "Business Terms of Service",
        "Closed Captioning Policy",
        "Commercial Terms",
        "Community Guidelines",
        "Conditions of Carriage",
        "Content Monetisation Policy",
        "Cookies Policy",
        "Copyright Claims Policy",
        "Data Controller Agreement",
        "Data Processor Agreement",
        "Deceased Users",
        "Developer Terms",
        "Editorial Policy",
        "Financial Information",
        "Imprint",
        "In-App Purchases Policy",
        "Law Enforcement Guidelines",
        "Live Policy",
        "Privacy Policy",
        "Review Guidelines",
        "Seller Warranty",
        "Service Level Agreement",
        "Single Sign-On Policy",
        "Trackers Policy",
        "Terms of Service",
        "User Consent Policy",
        "Vulnerability Disclosure Policy",
        "Warranty Terms",
    }
)

RANGE_KEYS = ("startBefore", "startAfter", "endBefore", "endAfter")


class DeclarationError(ValueError):
    """A declaration that cannot be used; the message names where and which field."""


@dataclass(frozen=True)
class Range:
    """Content between two elements, as Open Terms Archive's range selectors."""

    start: str
    start_inclusive: bool  # startBefore: the start element is part of the range
    end: str
    end_inclusive: bool  # endAfter: the end element is part of the range


Selector = str | Range


@dataclass(frozen=True)
class Source:
    """One page to fetch and how to cut the document out of it."""

    url: str
    select: tuple[Selector, ...] = ()
    remove: tuple[Selector, ...] = ()
    render: bool = False
    filters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    """The pages of a document (several when combined) and until when these rules held."""

    sources: tuple[Source, ...]
    valid_until: datetime | None = None


@dataclass(frozen=True)
class TrackedDocument:
    """A document the crawler checks: current rules plus older ones for old captures."""

    platform: str
    document_type: str
    rules: Rules
    history: tuple[Rules, ...] = ()
    origin: str = ""  # the file that declared it, for messages

    @property
    def url(self) -> str:
        return self.rules.sources[0].url

    @property
    def key(self) -> str:
        """``platform/document type``: names the document in queues and round records."""
        return f"{self.platform}/{self.document_type}"

    def rules_at(self, captured_at: datetime) -> Rules:
        """The rules in force for a capture taken at ``captured_at``."""
        return self.rules_from(captured_at)[0]

    def rules_from(self, captured_at: datetime) -> list[Rules]:
        """The rules in force at ``captured_at``, then every later set, newest last.

        A page redesigned a little before its declaration was updated is read by the
        next rules; ``validUntil`` is when the fix was made, not when the page changed.
        """
        dated = sorted(
            (r for r in self.history if r.valid_until is not None),
            key=lambda r: r.valid_until or datetime.max,
        )
        return [r for r in dated if captured_at < (r.valid_until or datetime.max)] + [self.rules]


@dataclass(frozen=True)
class Document:
    """A document as a platform spider declares it (see ``PolicySpider``)."""

    document_type: str
    url: str | None = None
    select: Any = None
    remove: Any = None
    render: bool = False
    combine: list[Mapping[str, Any]] = field(default_factory=list)


def _parse_selectors(value: Any, where: str) -> tuple[Selector, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else [value]
    out: list[Selector] = []
    for i, item in enumerate(items):
        here = f"{where}[{i}]" if isinstance(value, list | tuple) else where
        if isinstance(item, str):
            out.append(_check_css(item, here))
        elif isinstance(item, Mapping):
            out.append(_parse_range(item, here))
        else:
            raise DeclarationError(f"{here}: expected a CSS selector or a range, got {item!r}")
    return tuple(out)


def _check_css(selector: str, where: str) -> str:
    selector = selector.strip()
    if not selector:
        raise DeclarationError(f"{where}: empty CSS selector")
    try:
        CSSSelector(selector)
    except (SelectorError, ValueError, SyntaxError) as exc:
        raise DeclarationError(f"{where}: invalid CSS selector {selector!r}: {exc}") from None
    return selector


def _parse_range(item: Mapping[str, Any], where: str) -> Range:
    unknown = set(item) - set(RANGE_KEYS)
    if unknown:
        raise DeclarationError(f"{where}: unknown range keys {sorted(unknown)}")
    starts = [k for k in ("startBefore", "startAfter") if k in item]
    ends = [k for k in ("endBefore", "endAfter") if k in item]
    if len(starts) != 1 or len(ends) != 1:
        raise DeclarationError(
            f"{where}: a range needs exactly one of startBefore/startAfter "
            f"and one of endBefore/endAfter, got {sorted(item)}"
        )
    return Range(
        start=_check_css(item[starts[0]], f"{where}.{starts[0]}"),
        start_inclusive=starts[0] == "startBefore",
        end=_check_css(item[ends[0]], f"{where}.{ends[0]}"),
        end_inclusive=ends[0] == "endAfter",
    )


def _check_url(url: Any, where: str) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise DeclarationError(f"{where}: expected an http(s) URL, got {url!r}")
    return url


def _parse_filters(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DeclarationError(f"{where}: expected a list of filter names, got {value!r}")
    return tuple(value)


def _parse_time(value: Any, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DeclarationError(f"{where}: not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_OTA_KEYS = {"fetch", "select", "remove", "executeClientScripts", "combine", "filter"}


def parse_ota_rules(decl: Mapping[str, Any], where: str) -> Rules:
    """One terms entry of an Open Terms Archive declaration (or history entry)."""
    if not isinstance(decl, Mapping):
        raise DeclarationError(f"{where}: expected an object, got {decl!r}")
    unknown = set(decl) - _OTA_KEYS - {"validUntil"}
    if unknown:
        raise DeclarationError(f"{where}: unknown fields {sorted(unknown)}")
    select = _parse_selectors(decl.get("select"), f"{where}.select")
    remove = _parse_selectors(decl.get("remove"), f"{where}.remove")
    render = decl.get("executeClientScripts", False)
    if not isinstance(render, bool):
        raise DeclarationError(f"{where}.executeClientScripts: expected true or false")
    filters = _parse_filters(decl.get("filter"), f"{where}.filter")
    valid_until = (
        _parse_time(decl["validUntil"], f"{where}.validUntil") if "validUntil" in decl else None
    )
    combine = decl.get("combine")
    if combine is None:
        if "fetch" not in decl:
            raise DeclarationError(f"{where}: needs 'fetch' (or 'combine')")
        source = Source(
            _check_url(decl["fetch"], f"{where}.fetch"), select, remove, render, filters
        )
        return Rules((source,), valid_until)
    if not isinstance(combine, list) or not combine:
        raise DeclarationError(f"{where}.combine: expected a non-empty list of pages")
    sources = []
    for i, part in enumerate(combine):
        here = f"{where}.combine[{i}]"
        if not isinstance(part, Mapping) or "fetch" not in part:
            raise DeclarationError(f"{here}: needs 'fetch'")
        unknown = set(part) - _OTA_KEYS
        if unknown:
            raise DeclarationError(f"{here}: unknown fields {sorted(unknown)}")
        # A combined page inherits every rule it does not set itself.
        sources.append(
            Source(
                _check_url(part["fetch"], f"{here}.fetch"),
                _parse_selectors(part["select"], f"{here}.select") if "select" in part else select,
                _parse_selectors(part["remove"], f"{here}.remove") if "remove" in part else remove,
                bool(part.get("executeClientScripts", render)),
                _parse_filters(part["filter"], f"{here}.filter") if "filter" in part else filters,
            )
        )
    return Rules(tuple(sources), valid_until)


def load_ota_file(path: Path) -> list[TrackedDocument]:
    """The documents of one ``<service>.json`` declaration, with its history file if any."""
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeclarationError(f"{where}: cannot read declaration: {exc}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise DeclarationError(f"{where}: needs a string 'name'")
    terms = data.get("terms")
    if not isinstance(terms, Mapping):
        # Empty is valid: a retired service keeps only its history file.
        raise DeclarationError(f"{where}: needs a 'terms' object")
    history: Mapping[str, Any] = {}
    history_path = path.with_name(path.name[: -len(".json")] + ".history.json")
    if history_path.exists():
        try:
            history = json.loads(history_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DeclarationError(f"{history_path}: cannot read history: {exc}") from None
    documents = []
    for doc_type, decl in terms.items():
        rules = parse_ota_rules(decl, f"{where}: terms[{doc_type!r}]")
        old = []
        for i, entry in enumerate(history.get(doc_type, [])):
            here = f"{history_path}: [{doc_type!r}][{i}]"
            entry_rules = parse_ota_rules(entry, here)
            if entry_rules.valid_until is None:
                raise DeclarationError(f"{here}: history entries need 'validUntil'")
            old.append(entry_rules)
        documents.append(TrackedDocument(data["name"], doc_type, rules, tuple(old), where))
    return documents


def service_names(text: str | None) -> list[str] | None:
    """The services of an ``A,B`` argument (None: every service)."""
    return [s for s in text.split(",") if s.strip()] if text else None


def load_ota_folder(path: Path, services: Iterable[str] | None = None) -> list[TrackedDocument]:
    """Every document declared in a folder of Open Terms Archive declarations."""
    if not path.is_dir():
        raise DeclarationError(f"{path}: not a folder of declarations")
    wanted = {s.strip() for s in services} if services is not None else None
    documents = []
    found: set[str] = set()
    for file in sorted(path.glob("*.json")):
        if file.name.endswith(".history.json") or file.name.endswith(".filters.json"):
            continue
        service = file.name[: -len(".json")]
        if wanted is not None and service not in wanted:
            continue
        found.add(service)
        documents.extend(load_ota_file(file))
    if wanted is not None and wanted - found:
        raise DeclarationError(f"{path}: no declaration for services {sorted(wanted - found)}")
    return documents


def from_spider_document(platform: str, doc: Document, where: str) -> TrackedDocument:
    """A platform spider's ``Document`` as a tracked document, checked field by field."""
    if doc.document_type not in DOCUMENT_TYPES:
        raise DeclarationError(
            f"{where}.document_type: unknown document type {doc.document_type!r} "
            f"(known: {', '.join(sorted(DOCUMENT_TYPES))})"
        )
    decl: dict[str, Any] = {"executeClientScripts": bool(doc.render)}
    if doc.url is not None:
        decl["fetch"] = doc.url
    if doc.select is not None:
        decl["select"] = doc.select
    if doc.remove is not None:
        decl["remove"] = doc.remove
    if doc.combine:
        decl["combine"] = list(doc.combine)
    rules = parse_ota_rules(decl, where)
    return TrackedDocument(platform, doc.document_type, rules, (), where)
