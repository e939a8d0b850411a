"""Rules as JSON, to store with a version the exact declaration it was extracted with."""

from __future__ import annotations

from typing import Any

from atlas_crawl.declarations.model import Range, Rules, Selector


def _selector(sel: Selector) -> Any:
    if isinstance(sel, Range):
        start = "startBefore" if sel.start_inclusive else "startAfter"
        end = "endAfter" if sel.end_inclusive else "endBefore"
        return {start: sel.start, end: sel.end}
    return sel


def rules_to_json(rules: Rules) -> dict[str, Any]:
    pages = [
        {
            "fetch": s.url,
            "select": [_selector(x) for x in s.select],
            "remove": [_selector(x) for x in s.remove],
            "executeClientScripts": s.render,
            **({"filter": list(s.filters)} if s.filters else {}),
            **({"location": s.location} if s.location else {}),
        }
        for s in rules.sources
    ]
    out: dict[str, Any] = pages[0] if len(pages) == 1 else {"combine": pages}
    if rules.valid_until is not None:
        out["validUntil"] = rules.valid_until.isoformat()
    return out
