"""Declarations checked field by field as they are read: Open Terms Archive terms entries
and platform spiders' ``Document``s become the same ``Rules``, or a ``DeclarationError``
naming the file and the field."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from atlas_crawl.declarations.model import (
    DOCUMENT_TYPES,
    RANGE_KEYS,
    DeclarationError,
    Document,
    Range,
    Rules,
    Selector,
    Source,
    TrackedDocument,
)


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


# Selectors are checked by compiling them against an empty document.
_EMPTY = LexborHTMLParser("")


def _check_css(selector: str, where: str) -> str:
    selector = selector.strip()
    if not selector:
        raise DeclarationError(f"{where}: empty CSS selector")
    try:
        _EMPTY.css(selector)  # lexbor, which extraction matches with, must read it
    except (SelectolaxError, ValueError) as exc:
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


# "location" is atlas-crawl's own: where the document lives when "fetch" is a mirror.
_OTA_KEYS = {"fetch", "select", "remove", "executeClientScripts", "combine", "filter", "location"}


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
            _check_url(decl["fetch"], f"{where}.fetch"), select, remove, render, filters,
            _check_url(decl["location"], f"{where}.location") if "location" in decl else "",
        )  # fmt: skip
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
                _check_url(part["location"], f"{here}.location") if "location" in part else "",
            )
        )
    return Rules(tuple(sources), valid_until)


def check_document_type(document_type: str, where: str) -> str:
    """``document_type`` if Open Terms Archive knows it, else an error with the closest."""
    if document_type in DOCUMENT_TYPES:
        return document_type
    close = difflib.get_close_matches(document_type, sorted(DOCUMENT_TYPES), n=2, cutoff=0.6)
    hint = (
        f"did you mean {' or '.join(map(repr, close))}?"
        if close
        else f"known: {', '.join(sorted(DOCUMENT_TYPES))}"
    )
    raise DeclarationError(f"{where}: unknown document type {document_type!r} ({hint})")


def from_spider_document(platform: str, doc: Document, where: str) -> TrackedDocument:
    """A platform spider's ``Document`` as a tracked document, checked field by field."""
    check_document_type(doc.document_type, f"{where}.document_type")
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
