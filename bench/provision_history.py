"""Provision histories on a real database (the full demo backfill, say): provisions per
document, provision changes per content change, and how many document changes their
provision changes fully account for.

    ATLAS_DATABASE_URL=postgresql://... .venv/bin/python bench/provision_history.py

A document change is "covered" when every non-blank character its diff inserts or
deletes lies in a provision that the change records (added, removed, modified, moved,
split, merged) or in a heading line (headings are context: a renamed heading shows as
moved provisions, a heading's level alone changes no provision): no provision's text
changed without a provision change saying so, and nothing changed outside provisions
and headings.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from bisect import bisect_right
from pathlib import Path

import psycopg
from diff_match_patch import diff_match_patch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas_crawl.provisions import segment  # noqa: E402


def spans(text: str) -> list[tuple[int, int, int | None]]:
    """(start, end, provision position or None for a heading line) over ``text``."""
    out: list[tuple[int, int, int | None]] = []
    cursor = 0
    for p in segment(text):
        at = text.find(p.text, cursor)
        if at < 0:
            continue
        # Heading lines between the previous provision and this one.
        for line_start in range(cursor, at):
            if (line_start == 0 or text[line_start - 1] == "\n") and text.startswith(
                "#", line_start
            ):
                end = text.find("\n", line_start)
                out.append((line_start, end if end >= 0 else len(text), None))
        out.append((at, at + len(p.text), p.position))
        cursor = at + len(p.text)
    return out


def touched(text: str, offsets: list[int]) -> tuple[set[int], bool, bool]:
    """Provision positions the offsets fall in; whether any fell in a heading; whether
    any fell outside every provision and heading (blank lines between blocks excepted)."""
    found: set[int] = set()
    heading = outside = False
    offsets = [o for o in offsets if not text[o : o + 1].isspace()]
    table = spans(text)
    starts = [s[0] for s in table]
    for offset in offsets:
        k = bisect_right(starts, offset) - 1
        hit = table[k] if k >= 0 and offset < table[k][1] else None
        if hit is None:
            outside = True
        elif hit[2] is None:
            heading = True
        else:
            found.add(hit[2])
    return found, heading, outside


def main() -> int:
    url = os.environ.get("ATLAS_DATABASE_URL")
    if not url:
        print("set ATLAS_DATABASE_URL", file=sys.stderr)
        return 2
    dmp = diff_match_patch()
    dmp.Diff_Timeout = 5
    with psycopg.connect(url) as conn:
        per_document = [
            r[0]
            for r in conn.execute(
                """SELECT count(*) FROM provisions WHERE ended_at IS NULL
                   GROUP BY document_id"""
            )
        ]
        changes = conn.execute(
            """SELECT c.change_id, c.kind, o.text, n.text, c.from_version_id, c.to_version_id
               FROM changes c JOIN versions o ON o.version_id = c.from_version_id
               JOIN versions n ON n.version_id = c.to_version_id ORDER BY c.change_id"""
        ).fetchall()
        counts, covered, content = [], 0, 0
        for change_id, kind, old, new, from_v, to_v in changes:
            edits = conn.execute(
                """SELECT e.kind, (SELECT position FROM version_provisions
                                   WHERE version_id = %s AND provision_id = e.provision_id),
                          (SELECT position FROM version_provisions
                           WHERE version_id = %s AND provision_id = e.provision_id)
                   FROM provision_edits e WHERE change_id = %s""",
                (from_v, to_v, change_id),
            ).fetchall()
            if kind == "content":
                content += 1
                counts.append(len(edits))
            old_at, new_at, moved = set(), set(), False
            for edit_kind, old_pos, new_pos in edits:
                if old_pos:
                    old_at.add(old_pos)
                if new_pos:
                    new_at.add(new_pos)
                moved |= edit_kind == "moved"
            deleted, inserted, o, n = [], [], 0, 0
            for op, chunk in dmp.diff_main(old, new):
                if op == 0:
                    o, n = o + len(chunk), n + len(chunk)
                elif op == -1:
                    deleted += range(o, o + len(chunk))
                    o += len(chunk)
                else:
                    inserted += range(n, n + len(chunk))
                    n += len(chunk)
            in_old, _, out_old = touched(old, deleted)
            in_new, _, out_new = touched(new, inserted)
            ok = in_old <= old_at and in_new <= new_at and not (out_old or out_new)
            covered += ok
            if not ok and "--show" in sys.argv:
                print(f"change {change_id}: provisions changed without a record "
                      f"{sorted(in_old - old_at)} / {sorted(in_new - new_at)}, outside "
                      f"{out_old or out_new}", file=sys.stderr)  # fmt: skip
    print(json.dumps({
        "documents": len(per_document),
        "provisions_per_document": {"median": statistics.median(per_document),
                                    "min": min(per_document), "max": max(per_document),
                                    "total": sum(per_document)},
        "content_changes": content,
        "provision_changes_per_content_change": {
            "median": statistics.median(counts), "worst": max(counts),
            "mean": round(statistics.mean(counts), 1)},
        "document_changes": len(changes),
        "covered_by_their_provision_changes": f"{covered}/{len(changes)}",
    }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
