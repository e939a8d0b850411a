"""Clause types for a person: the types of one provision with what they mean, the same
type across platforms ("how other platforms handle this"), a document's provisions with
their types."""

from __future__ import annotations

from typing import Any

import psycopg

from atlas_crawl.clauses.taxonomy import RANK, clause_type, taxonomy, type_id_of
from atlas_crawl.history.report import table
from atlas_crawl.not_found import NotFound
from atlas_crawl.storage.queries import run

OTHERS_SHOWN = 5  # "how other platforms handle this", per type


def provision_types(
    conn: psycopg.Connection, provision_id: int, platform: str
) -> list[dict[str, Any]]:
    """The types of a provision's latest text, each with the taxonomy's explanation and
    the same type's provisions at other platforms today (worst first)."""
    types = taxonomy()[1]
    out = []
    for row in run(conn, "provision_clause_types", provision=provision_id):
        known = types.get(row["type"])
        others = run(
            conn, "other_platforms", type=row["type"], platform=platform, limit=OTHERS_SHOWN
        )
        explained = known.explanation() if known else {"title": row["type"]}
        out.append({**row, **explained, "other_platforms": others})
    return out


def types_text(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["Clause types: none found"]
    lines = [f"Clause types ({rows[0]['classifier_version']}):"]
    for row in rows:
        lines += [
            "",
            f"  {row['title']} ({row['type']}): {row['severity'].upper()} severity, "
            f"confidence {row['confidence']:.2f}",
            f"    Found by: {row['evidence'] or '-'}",
        ]
        for label, key in (("What it is", "description"), ("Why it matters", "why_it_matters"),
                           ("Consumer impact", "consumer_impact"),
                           ("What you can do", "what_you_can_do")):  # fmt: skip
            if row.get(key):
                lines.append(f"    {label}: {row[key]}")
        for regulation in row.get("regulations", []):
            lines.append(
                f"    Regulation: {regulation['name']} ({regulation['jurisdiction']}), "
                f"{regulation['article']}"
            )
        others = "; ".join(
            f"{o['platform']} / {o['document_type']} {o['record_id']} ({o['severity']})"
            for o in row.get("other_platforms", [])
        )
        lines.append(f"    Other platforms: {others or 'none tracked with this type'}")
    return lines


def check_type(type_id: str) -> str:
    """The type's ID as the taxonomy spells it; NotFound with the closest else."""
    try:
        return type_id_of(type_id)
    except KeyError as exc:
        raise NotFound(exc.args[0]) from None


def compare_rows(
    conn: psycopg.Connection, type_id: str, min_severity: str = "low", limit: int | None = None
) -> list[dict[str, Any]]:
    """A type's provisions today, worst first: the first ``limit``, or every one."""
    return run(conn, "compare_type", type=check_type(type_id), min_rank=RANK[min_severity],
               limit=limit, offset=0)  # fmt: skip


def compare_count(
    conn: psycopg.Connection, type_id: str, min_severity: str = "low"
) -> tuple[int, int]:
    """How many provisions of a type today, at how many platforms."""
    row = run(conn, "compare_type_count", type=check_type(type_id), min_rank=RANK[min_severity])[0]
    return row["provisions"], row["platforms"]


COMPARE_COLUMNS = ("platform", "document_type", "record_id", "severity", "confidence", "heading",
                   "text")  # fmt: skip


def compare_text(
    rows: list[dict[str, Any]], type_id: str, total: tuple[int, int] | None = None
) -> str:
    """The table of a type's provisions; ``total`` (provisions, platforms) where ``rows``
    are only the first of them."""
    known = clause_type(type_id)
    head = f"{known.title} ({type_id_of(type_id)}): {known.description}"
    if not rows:
        return head + "\n\nno provision of this type in any tracked document today"
    shown = [
        {**r, "text": _excerpt(r["text"]), "heading": _excerpt(r["heading"], 40),
         "confidence": f"{r['confidence']:.2f}"}
        for r in rows
    ]  # fmt: skip
    provisions, platforms = total or (len(rows), len({r["platform"] for r in rows}))
    counted = f"{_count(provisions, 'provision')} at {_count(platforms, 'platform')}"
    if len(rows) < provisions:
        counted += f"; the {len(rows)} worst first (--all shows every one)"
    return f"{head}\n{counted}\n\n" + table(shown, COMPARE_COLUMNS)


def document_types(conn: psycopg.Connection, platform: str, document_type: str) -> dict[str, str]:
    """record_id -> "type:severity, ..." for a document's provisions today."""
    rows = run(conn, "document_clause_types", platform=platform, document_type=document_type)
    return {r["record_id"]: r["types"] for r in rows}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _excerpt(text: str, width: int = 70) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
