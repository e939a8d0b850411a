"""Provision histories as text for a person: a document's provisions today, one
provision's whole life, recent provision changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from atlas_crawl.diff.render import render_diff
from atlas_crawl.history.clause_report import document_types, provision_types, types_text
from atlas_crawl.history.report import table, utc_text
from atlas_crawl.not_found import NotFound
from atlas_crawl.storage.queries import run


def _first_line(text: str, width: int = 90) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def current_provisions(
    conn: psycopg.Connection, platform: str, document_type: str
) -> list[dict[str, Any]]:
    return run(conn, "current_provisions", platform=platform, document_type=document_type)


def provisions_text(conn: psycopg.Connection, platform: str, document_type: str) -> str:
    rows = current_provisions(conn, platform, document_type)
    if not rows:
        raise NotFound(
            f"no provisions of {platform} / {document_type} "
            "(not crawled yet, or run `atlas-crawl provisions rebuild`)"
        )
    types = document_types(conn, platform, document_type)
    for row in rows:
        row["text"] = _first_line(row["text"], 70)
        row["heading"] = _first_line(row["heading"], 40)
        row["types"] = types.get(row["record_id"], "")
    head = f"{platform} / {document_type}: {len(rows)} provisions\n\n"
    return head + table(rows, ["record_id", "heading", "types", "text", "last_changed_at"])


def provision_record(conn: psycopg.Connection, provision_id: int) -> dict[str, Any]:
    """A provision's record alone (platform, document, record ID, today's text)."""
    found = run(conn, "provision_record", provision=provision_id)
    if not found:
        raise NotFound(f"no provision AC-P-{provision_id:06d}")
    return found[0]


def provision_life(conn: psycopg.Connection, provision_id: int) -> dict[str, Any]:
    """Everything recorded of one provision: the record, its texts over time (each with
    the version, check and capture it rests on) and the changes between them."""
    record = provision_record(conn, provision_id)
    return {
        **record,
        "texts": _runs(run(conn, "provision_texts_over_time", provision=provision_id)),
        "changes": run(conn, "provision_history", provision=provision_id),
        "clause_types": provision_types(conn, provision_id, record["platform"]),
    }


def _runs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive versions with one text become one entry (from/to version, first and
    last seen); each entry rests on the version where that text first appeared."""
    runs: list[dict[str, Any]] = []
    for row in rows:
        if runs and runs[-1]["text_sha256"] == row["text_sha256"]:
            runs[-1]["to_version"] = row["version_number"]
            runs[-1]["last_seen_at"] = row["last_seen_at"]
            continue
        runs.append({**row, "from_version": row["version_number"],
                     "to_version": row["version_number"]})  # fmt: skip
    for entry in runs:
        del entry["version_number"]
    return runs


def _utc(value: datetime | None) -> str:
    return utc_text(value) if value else "-"


def provision_text(conn: psycopg.Connection, provision_id: int) -> str:
    life = provision_life(conn, provision_id)
    lines = [
        f"{life['record_id']}  {life['platform']} / {life['document_type']}",
        f"Heading: {life['heading'] or '(none)'}",
        f"First seen {_utc(life['first_seen_at'])}, last changed "
        f"{_utc(life['last_changed_at'])}"
        + (f", ended {_utc(life['ended_at'])}" if life["ended_at"] else ", in force"),
    ]
    if life["split_from_record_id"]:
        lines.append(f"Split from {life['split_from_record_id']}")
    lines += ["", *types_text(life["clause_types"])]
    for n, text in enumerate(life["texts"], start=1):
        versions = (
            f"version {text['from_version']}"
            if text["from_version"] == text["to_version"]
            else f"versions {text['from_version']}-{text['to_version']}"
        )
        lines += [
            "",
            f"Text {n} ({versions}, {_utc(text['first_seen_at'])} to "
            f"{_utc(text['last_seen_at'])}), SHA-256 {text['text_sha256']}",
            f"  rests on {text['version_record_id']}, check {text['check_id']}, "
            f"capture SHA-256 {text['capture_sha256']}",
            *("  | " + line for line in text["text"].split("\n")),
        ]
    if life["changes"]:
        lines += ["", "Changes:"]
    for change in life["changes"]:
        related = f" ({change['related_record_id']})" if change["related_record_id"] else ""
        technical = " [technical]" if change["technical"] else ""
        lines.append(
            f"  {_utc(change['detected_at'])}  {change['change_record_id']}  "
            f"{change['kind']}{related}{technical}"
        )
        before, after = change["from_text"], change["to_text"]
        if before and after and before != after:
            # Word by word, as `diff` shows a change: [-removed-] {+added+}.
            lines += ["    " + line for line in render_diff(before, after).split("\n")]
    return "\n".join(lines)


def recent_provision_rows(
    conn: psycopg.Connection, days: int, platform: str | None, document_type: str | None
) -> list[dict[str, Any]]:
    since = datetime.now(UTC) - timedelta(days=days)
    if platform or document_type:
        since = datetime(1970, 1, 1, tzinfo=UTC)  # a named document: its whole history
    return run(conn, "recent_provision_changes", since=since, platform=platform,
               document_type=document_type)  # fmt: skip


def recent_provisions_text(rows: list[dict[str, Any]], days: int) -> str:
    if not rows:
        return f"no provision changes in the last {days} days"
    for row in rows:
        row["kind"] = row["kind"] + (" (technical)" if row["technical"] else "")
        row["text"] = _first_line(row["to_text"] or row["from_text"] or "", 70)
    return table(
        rows,
        ["detected_at", "platform", "document_type", "record_id", "kind", "change_record_id",
         "text"],
    )  # fmt: skip
