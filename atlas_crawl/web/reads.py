"""What each page and API resource shows, read from the database with the named queries
the command line uses (``sql/*.sql``); every function takes a read-only connection and
raises ``NotFound`` for a record that does not exist."""

from __future__ import annotations

import re
from typing import Any

import psycopg

from atlas_crawl.audit.citation import citation, provision_citation
from atlas_crawl.clauses.taxonomy import SEVERITIES, ClauseType, taxonomy, type_id_of
from atlas_crawl.diff.patch import word_ops
from atlas_crawl.history.provision_report import provision_life
from atlas_crawl.history.summary import change_summary
from atlas_crawl.not_found import NotFound
from atlas_crawl.storage.queries import run

LISTED = 25
CHANGE_FILTERS = ("platform", "document", "provision", "type")


def slug(name: str) -> str:
    """A platform's name as its address: lower case, runs of other characters as '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "platform"


def severity_of(rank: int | None) -> str | None:
    return SEVERITIES[rank] if rank is not None else None


def changes(
    conn: psycopg.Connection,
    limit: int = LISTED,
    after: int | None = None,
    content_only: bool = False,
    **where: Any,
) -> list[dict[str, Any]]:
    """The newest changes first (``where``: of a platform, a document, a provision or a
    clause type), each with its severity; ``after`` a change ID: those that come after
    it in this order."""
    unknown = set(where) - set(CHANGE_FILTERS)
    assert not unknown, unknown
    rows = run(conn, "web_changes", limit=limit, after=after, content_only=content_only,
               **{k: where.get(k) for k in CHANGE_FILTERS})  # fmt: skip
    return [{**r, "severity": severity_of(r["rank"])} for r in rows]


def most_severe_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Content changes before technical ones, then the most severe, then the newest."""
    return sorted(rows, key=lambda r: (r["kind"] == "content", r["rank"] if r["rank"] is not
                                       None else -1, r["detected_at"], r["change_id"]),
                  reverse=True)  # fmt: skip


def _platform_rows(conn: psycopg.Connection, wanted: str | None = None,
                   limit: int | None = None, offset: int = 0,
                   recent: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    rows = run(conn, "web_platforms", slug=wanted, limit=limit, offset=offset, recent=recent)
    return [{**r, "slug": slug(r["name"])} for r in rows]


def platforms(conn: psycopg.Connection, wanted: str | None = None) -> list[dict[str, Any]]:
    """Every platform with a tracked document, or the one whose address is ``wanted``."""
    rows = [_without_total(r) for r in _platform_rows(conn, wanted)]
    return [r for r in rows if wanted is None or r["slug"] == wanted]


def _without_total(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "platforms_total"}


def platform_page(conn: psycopg.Connection, limit: int, offset: int = 0,
                  recent: bool = False) -> dict[str, Any]:  # fmt: skip
    """A page of the platforms (by name, or the last changed first) and how many there
    are: a service tracks a thousand, and a page lists a few of them."""
    rows = _platform_rows(conn, limit=limit, offset=offset, recent=recent)
    if not rows and offset:  # past the end: the count from the first page, by one rule
        rows_at_start = _platform_rows(conn, limit=1)
        total = rows_at_start[0]["platforms_total"] if rows_at_start else 0
    else:
        total = rows[0]["platforms_total"] if rows else 0
    return {
        "platforms": [_without_total(r) for r in rows],
        "total": total,
        "offset": offset,
        "more": offset + limit if offset + limit < total else None,
        "before": max(offset - limit, 0) if offset else None,
    }


def platform_named(conn: psycopg.Connection, wanted: str) -> dict[str, Any] | None:
    """The platform whose address is ``wanted``: looked up by the address in SQL, or, where
    the database lower-cases a name otherwise than Python, among every platform."""
    wanted = wanted.lower()
    found = platforms(conn, wanted) or [p for p in platforms(conn) if p["slug"] == wanted]
    return found[0] if found else None


def home(conn: psycopg.Connection) -> dict[str, Any]:
    return {
        "platforms": platform_page(conn, LISTED, recent=True),
        "changes": most_severe_first(changes(conn)),
        "failing": run(conn, "web_failing_documents", limit=LISTED),
        "failing_count": run(conn, "web_failing_count")[0]["documents"],
        "documents": run(conn, "web_tracked_count")[0]["documents"],
    }


def platform(conn: psycopg.Connection, wanted: str) -> dict[str, Any]:
    found = platform_named(conn, wanted)
    if found is None:
        raise NotFound(f"no platform {wanted!r}")
    status = run(conn, "web_platform_documents", platform=found["name"])
    return {
        **found,
        "documents": status,
        "by_month": run(conn, "web_changes_by_month", platform=found["name"]),
        "changes": most_severe_first(changes(conn, platform=found["name"])),
    }


def document_record(conn: psycopg.Connection, document_id: int) -> dict[str, Any]:
    """A document's record alone (platform, type, address)."""
    rows = run(conn, "web_document", document=document_id)
    if not rows:
        raise NotFound(f"no document AC-D-{document_id:05d}")
    return rows[0]


def document(conn: psycopg.Connection, document_id: int) -> dict[str, Any]:
    doc = document_record(conn, document_id)
    names = {"platform": doc["platform"], "document_type": doc["document_type"]}
    return {
        **doc,
        "slug": slug(doc["platform"]),
        "versions": run(conn, "document_history", **names),
        "provisions": current_provisions(conn, document_id),
        "checks": run(conn, "web_document_checks", document=document_id, limit=LISTED),
        "changes": changes(conn, document=document_id),
    }


def current_provisions(conn: psycopg.Connection, document_id: int) -> list[dict[str, Any]]:
    """A document's provisions today, each with its types, worst first."""
    return [{**p, "types": _types_of(p["types"])}
            for p in run(conn, "web_current_provisions", document=document_id)]  # fmt: skip


def _types_of(text: str | None) -> list[dict[str, str]]:
    """'ai-training:high, ...' as [{type, severity}], worst first."""
    if not text:
        return []
    return [dict(zip(("type", "severity"), t.split(":"), strict=True)) for t in text.split(", ")]


def version(conn: psycopg.Connection, version_id: int) -> dict[str, Any]:
    rows = run(conn, "web_version", version=version_id)
    if not rows:
        raise NotFound(f"no version AC-V-{version_id:06d}")
    found = rows[0]
    return {
        **found,
        "slug": slug(found["platform"]),
        "pages": run(conn, "web_capture_pages", check=found["check_id"]),
        "citation": citation(conn, f"AC-V-{version_id}"),
    }


def change(conn: psycopg.Connection, change_id: int) -> dict[str, Any]:
    summary = change_summary(conn, change_id)
    c = summary.change
    return {
        "summary": summary,
        "change": c,
        "slug": slug(c["platform"]),
        "ops": word_ops(c["old_text"], c["new_text"]),
        "citation": citation(conn, f"AC-C-{change_id}"),
        "versions": {
            "before": run(conn, "web_version", version=c["from_version_id"])[0],
            "after": run(conn, "web_version", version=c["to_version_id"])[0],
        },
    }


def provision(conn: psycopg.Connection, provision_id: int) -> dict[str, Any]:
    life = provision_life(conn, provision_id)
    cited = provision_citation(conn, provision_id)
    others = [p for p in current_provisions(conn, life["document_id"])
              if p["record_id"] != life["record_id"]]  # fmt: skip
    risks = [p for p in others if any(t["severity"] in ("medium", "high") for t in p["types"])]
    version_row = run(conn, "web_version", version=cited["version_id"])[0]
    made = conn.execute(
        "SELECT verified FROM changes WHERE to_version_id = %s", (cited["version_id"],)
    ).fetchone()
    return {
        "change_verified": None if made is None else bool(made[0]),
        **life,
        "citation": cited,
        "version": version_row,
        "slug": slug(life["platform"]),
        "other_risks": risks,
        "severity": life["clause_types"][0]["severity"] if life["clause_types"] else None,
    }


def clause_type_of(wanted: str) -> ClauseType:
    """The taxonomy's type for an address's name (any case, or the closest's hint)."""
    try:
        return taxonomy()[1][type_id_of(wanted)]
    except KeyError as exc:
        raise NotFound(exc.args[0]) from None


def clause_type(
    conn: psycopg.Connection, wanted: str, offset: int = 0, limit: int = LISTED
) -> dict[str, Any]:
    """A type's explanation and one page of its provisions today, most severe first;
    ``more``: the offset of the next page (None at the end)."""
    known = clause_type_of(wanted)
    rows = run(conn, "compare_type", type=known.id, min_rank=0, limit=limit + 1, offset=offset)
    more = offset + limit if len(rows) > limit else None
    return {**known.explanation(), "rows": rows[:limit], "more": more}


def search(conn: psycopg.Connection, q: str, offset: int = 0) -> list[dict[str, Any]]:
    return run(conn, "web_search", q=q, limit=LISTED, offset=offset)
