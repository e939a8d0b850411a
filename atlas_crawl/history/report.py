"""The change history as text for a person: tables of versions and changes, a change's
diff. Shared by the CLI and the demo."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from atlas_crawl.diff.render import render_diff
from atlas_crawl.history.summary import change_summary
from atlas_crawl.not_found import NotFound
from atlas_crawl.storage.queries import run


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    def fmt(value: Any) -> str:
        if isinstance(value, datetime):
            return utc_text(value)
        return "" if value is None else str(value)

    cells = [[fmt(r[c]) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def kind_label(row: dict[str, Any]) -> str:
    """'content', 'technical (redesign)', ...: what kind of change made a version."""
    if row["kind"] is None:
        return ""
    return f"{row['kind']} ({row['kind_reason']})" if row["kind_reason"] else row["kind"]


def document_history_rows(
    conn: psycopg.Connection, platform: str, document_type: str
) -> list[dict[str, Any]]:
    """One document's versions, oldest first, with the change that made each one."""
    rows = run(conn, "document_history", platform=platform, document_type=document_type)
    for row in rows:
        row["change"] = kind_label(row)
    return rows


def document_history(conn: psycopg.Connection, platform: str, document_type: str) -> str:
    rows = document_history_rows(conn, platform, document_type)
    if not rows:
        raise NotFound(f"no versions of {platform} / {document_type}")
    columns = [
        "version_number",
        "record_id",
        "first_seen_at",
        "last_seen_at",
        "change_record_id",
        "change",
        "chars_added",
        "chars_removed",
        "text_sha256",
    ]
    params = {"platform": platform, "document_type": document_type}
    counts = run(conn, "document_check_counts", **params)
    checks = ", ".join(f"{r['outcome']} {r['checks']}" for r in counts)
    return f"{platform} / {document_type}\n{table(rows, columns)}\n\nchecks: {checks}"


def recent_rows(conn: psycopg.Connection, days: int) -> list[dict[str, Any]]:
    """The changes of the last ``days`` days, newest first."""
    since = datetime.now(UTC) - timedelta(days=days)
    rows = run(conn, "recent_changes", since=since)
    for row in rows:
        row["change"] = kind_label(row)
        row["versions"] = f"{row['from_number']} -> {row['to_number']}"
    return rows


DOCUMENTS_LISTED = 50  # tracked documents `history` lists after the changes


def recent_history(conn: psycopg.Connection, days: int) -> str:
    rows = recent_rows(conn, days)
    out = [f"changes in the last {days} days: {len(rows)}"]
    if rows:
        columns = [
            "record_id",
            "detected_at",
            "platform",
            "document_type",
            "versions",
            "change",
            "chars_added",
            "chars_removed",
        ]
        out.append(table(rows, columns))
    # A collection of a few dozen documents is listed; a larger one is counted (status
    # lists every document, where each stands).
    checked = run(conn, "checked_document_count")[0]["documents"]
    if checked > DOCUMENTS_LISTED:
        out.append(f"\ntracked documents: {checked} (atlas-crawl status lists each)")
        return "\n".join(out)
    docs = run(conn, "tracked_documents")
    out.append(f"\ntracked documents: {len(docs)}")
    if docs:
        out.append(table(docs, ["platform", "document_type", "versions", "last_checked_at"]))
    return "\n".join(out)


def change_text(conn: psycopg.Connection, change_id: int, color: bool) -> str:
    rows = run(conn, "change_detail", change_id=change_id)
    if not rows:
        raise NotFound(f"no change with id {change_id}")
    c = rows[0]
    return "\n".join(
        [
            f"change {c['change_id']} ({c['record_id']}): {c['platform']} / {c['document_type']}",
            f"version {c['from_number']} -> {c['to_number']}, detected "
            f"{c['detected_at'].astimezone(UTC):%Y-%m-%d %H:%M:%SZ}, "
            f"+{c['chars_added']} -{c['chars_removed']} characters, {kind_label(c)} change",
            c["url"],
            "",
            *change_summary(conn, change_id).text().splitlines()[1:],
            "",
            render_diff(c["old_text"], c["new_text"], color=color),
        ]
    )


def version_text(conn: psycopg.Connection, version_id: int, header: bool) -> str:
    rows = run(conn, "version_text", version_id=version_id)
    if not rows:
        raise NotFound(f"no version with id {version_id}")
    v = rows[0]
    if not header:
        return str(v["text"])
    return (
        f"# {v['platform']} / {v['document_type']}, version {v['version_number']} "
        f"({v['record_id']})\n"
        f"# first seen {v['first_seen_at'].astimezone(UTC):%Y-%m-%d %H:%M:%SZ}, {v['url']}\n"
        f"# text sha256 {v['text_sha256']}, capture sha256 {v['raw_sha256']}\n\n" + v["text"]
    )
