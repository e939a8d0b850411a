"""Record IDs in URLs: a malformed one is a 400, an unknown one a 404 (``NotFound``)."""

from __future__ import annotations

from atlas_crawl.record_ids import parse_record_id


class BadRequest(ValueError):
    """What a URL or a query string asked for cannot be read; the message says why."""


def number_of(value: str, kind: str) -> int:
    """The number of a record ID of ``kind`` in a URL (AC-V-000012, or 12)."""
    try:
        return parse_record_id(value, kind)[1]
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def offset_of(value: str | None, limit: int = 100_000) -> int:
    """A page's cursor: a whole number of rows to skip."""
    if value is None or value == "":
        return 0
    if not value.isdigit() or int(value) > limit:
        raise BadRequest(f"cursor {value!r}: expected a whole number up to {limit}")
    return int(value)
