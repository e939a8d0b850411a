"""Names a user types (platforms, document types, record IDs) resolved the forgiving way:
case does not matter, and a name that matches nothing gets the closest ones suggested."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import psycopg

from atlas_crawl.cli.common import UsageError
from atlas_crawl.record_ids import parse_record_id
from atlas_crawl.storage.queries import run


def suggest(name: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' or ' (known: A, B, ...)' for a name that matched nothing."""
    options = sorted(set(known))
    by_lower = {o.lower(): o for o in options}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    if close:
        return f" (did you mean {' or '.join(repr(by_lower[c]) for c in close)}?)"
    shown = ", ".join(options[:20]) + (", ..." if len(options) > 20 else "")
    return f" (known: {shown})" if options else " (nothing is recorded yet)"


def match_one(name: str, known: Iterable[str], what: str) -> str:
    """The known name equal to ``name`` but for case."""
    options = list(known)
    for option in options:
        if option.lower() == name.strip().lower():
            return option
    raise UsageError(f"no {what} {name!r}{suggest(name, options)}")


def documents_named(
    conn: psycopg.Connection, platform: str | None, document: str | None
) -> list[tuple[str, str]]:
    """The recorded (platform, document type) pairs a platform and/or document name
    designate; a name that matches nothing is a UsageError with suggestions."""
    if platform and platform.strip().upper().startswith("AC-"):
        # A platform's record ID (AC-PL-00001, or its former AC-P-00001).
        number = record_number(platform, "platform")
        found = conn.execute(
            "SELECT name FROM platforms WHERE platform_id = %s", (number,)
        ).fetchone()
        if found is None:
            raise UsageError(f"no platform {platform}")
        platform = str(found[0])
    found_rows = run(conn, "document_names_matching", platform=platform or None,
                     document=document or None)  # fmt: skip
    if found_rows:
        # names that differ only by case: the first of each, as the full list would give
        rows = [(r["platform"], r["document_type"]) for r in found_rows]
        rows = [r for r in rows if not platform or r[0] == rows[0][0]]
        return [r for r in rows if not document or r[1] == rows[0][1]]
    # Nothing matched: every name, to say what was wrong and suggest the closest.
    rows = [(r["platform"], r["document_type"]) for r in run(conn, "document_names")]
    if platform:
        platform = match_one(platform, {p for p, _ in rows}, "platform")
        rows = [r for r in rows if r[0] == platform]
    if document:
        where = f" of {platform}" if platform else ""
        document = match_one(document, {d for _, d in rows}, f"document{where}")
        rows = [r for r in rows if r[1] == document]
    return rows


def record_number(value: str, kind: str) -> int:
    """The number of a record ID of ``kind`` ('change', 'version', 'provision'), or of a
    plain id."""
    try:
        return parse_record_id(value, kind)[1]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
