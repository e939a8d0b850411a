"""Record IDs and citations of versions and changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from atlas_crawl.not_found import NotFound
from atlas_crawl.record_ids import parse_record_id


def _utc(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else None


def citation(conn: psycopg.Connection, record: str) -> dict[str, Any]:
    kind, number = parse_record_id(record)
    if kind == "provision":
        return provision_citation(conn, number)
    if kind not in ("version", "change"):
        raise NotFound(f"{record} is a {kind}: cite a version, a change or a provision")
    with conn.cursor(row_factory=dict_row) as cur:
        if kind == "change":
            change = cur.execute(
                """SELECT change_id, record_id, to_version_id, from_version_id, detected_at,
                          verified, verified_at, kind, chars_added, chars_removed, silent
                   FROM document_changes WHERE change_id = %s""",
                (number,),
            ).fetchone()
            if change is None:
                raise NotFound(f"no change {record}")
            version_id = change["to_version_id"]
        else:
            change, version_id = None, number
        v = cur.execute(
            """SELECT v.version_id, v.record_id, v.version_number, v.platform, v.document_type,
                      v.url, v.first_seen_at, v.last_seen_at, v.text_sha256, v.raw_sha256,
                      v.stated_date, v.archive_url, v.document_record_id,
                      (SELECT min(first_seen_at) FROM versions w
                        WHERE w.document_id = v.document_id) AS tracked_since,
                      (SELECT max(checked_at) FROM checks k WHERE k.document_id = v.document_id
                        AND k.outcome IN ('first', 'unchanged', 'changed')) AS last_verified_at
               FROM document_versions v WHERE v.version_id = %s""",
            (version_id,),
        ).fetchone()
    if v is None:
        raise NotFound(f"no version {record}")
    out: dict[str, Any] = {
        "record_id": change["record_id"] if change else v["record_id"],
        "platform": v["platform"],
        "document": v["document_type"],
        "document_record_id": v["document_record_id"],
        "version": v["version_number"],
        "version_record_id": v["record_id"],
        "captured_at": _utc(v["first_seen_at"]),
        "last_seen_at": _utc(v["last_seen_at"]),
        "tracked_since": _utc(v["tracked_since"]),
        "last_verified_at": _utc(v["last_verified_at"]),
        "stated_date": v["stated_date"].isoformat() if v["stated_date"] else None,
        "text_sha256": v["text_sha256"],
        "capture_sha256": v["raw_sha256"],
        "source_url": v["url"],
        "archive_url": v["archive_url"],
        "snapshot_stored": v["raw_sha256"] is not None,
    }
    if change:
        out.update(
            change_detected_at=_utc(change["detected_at"]),
            change_verified=change["verified"],
            change_verified_at=_utc(change["verified_at"]),
            change_kind=change["kind"],
            change_silent=change["silent"],
            chars_added=change["chars_added"],
            chars_removed=change["chars_removed"],
        )
    return out


def provision_citation(conn: psycopg.Connection, provision_id: int) -> dict[str, Any]:
    """A provision as it stands in the latest version that holds it, resting on that
    version's capture."""
    with conn.cursor(row_factory=dict_row) as cur:
        p = cur.execute(
            """SELECT p.record_id, p.platform, p.document_type, p.heading, p.current_text,
                      p.first_seen_at, p.last_changed_at, p.ended_at, p.current_version_id,
                      pv.text_sha256
               FROM provisions p JOIN provision_versions pv
                 ON pv.provision_id = p.provision_id AND pv.version_id = p.current_version_id
               WHERE p.provision_id = %s""",
            (provision_id,),
        ).fetchone()
    if p is None:
        raise NotFound(f"no provision AC-P-{provision_id:06d}")
    version = citation(conn, f"AC-V-{p['current_version_id']}")
    return {
        "record_id": p["record_id"],
        "kind": "provision",
        "platform": version["platform"],
        "document": version["document"],
        "document_record_id": version["document_record_id"],
        "heading": p["heading"],
        "text": p["current_text"],
        "provision_sha256": p["text_sha256"],
        "first_tracked_at": _utc(p["first_seen_at"]),
        "last_changed_at": _utc(p["last_changed_at"]),
        "ended_at": _utc(p["ended_at"]),
        "version_id": p["current_version_id"],
        **{k: version[k] for k in (
            "version", "version_record_id", "captured_at", "last_seen_at", "tracked_since",
            "last_verified_at", "stated_date", "text_sha256", "capture_sha256", "source_url",
            "archive_url", "snapshot_stored")},
        "accessed_at": version["last_verified_at"],
    }  # fmt: skip


def provision_citation_text(c: dict[str, Any]) -> str:
    status = f"ended {c['ended_at']}" if c["ended_at"] else "in force"
    return "\n".join(
        [
            f'{c["platform"]}, "{c["document"]}", provision "{c["heading"] or "(no heading)"}" '
            f"({c['record_id']}), {status}.",
            f"Text: {c['text']}",
            f"Captured {c['captured_at']} in version {c['version']} ({c['version_record_id']}); "
            f"first tracked {c['first_tracked_at']}, last changed {c['last_changed_at']}.",
            f"Source: {c['source_url']} (accessed {c['accessed_at']})",
            f"Archived copy: {c['archive_url'] or 'none'}",
            f"Capture SHA-256: {c['capture_sha256']} (snapshot stored)",
            f"Provision text SHA-256: {c['provision_sha256']}",
            f"Record ID: {c['record_id']} (atlas-crawl)",
        ]
    )


def citation_text(c: dict[str, Any]) -> str:
    if c.get("kind") == "provision":
        return provision_citation_text(c)
    lines = [
        f'{c["platform"]}, "{c["document"]}", version {c["version"]} '
        f"({c['version_record_id']}), captured {c['captured_at']}.",
    ]
    if "change_detected_at" in c:
        verified = (
            f", verified {c['change_verified_at']}" if c["change_verified"] else ", not verified"
        )
        lines.append(
            f"Change {c['record_id']} ({c['change_kind']}) detected "
            f"{c['change_detected_at']}{verified}."
        )
    lines += [
        f"Source: {c['source_url']}",
        f"Archived copy: {c['archive_url'] or 'none'}",
        f"Text SHA-256: {c['text_sha256']}",
        f"Capture SHA-256: {c['capture_sha256']} (snapshot stored)",
        f"Stated date: {c['stated_date'] or 'none found'}",
        f"Document record {c['document_record_id']}: tracked since {c['tracked_since']}, "
        f"last verified {c['last_verified_at']}.",
        f"Record ID: {c['record_id']} (atlas-crawl)",
    ]
    return "\n".join(lines)
