"""Document heads (migration 020) checked against the history they are derived from."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg


def check_heads(conn: psycopg.Connection) -> Iterator[tuple[str, str]]:
    """Each document's head row (derived, what the status and the web view show) says
    what its history says: its last check and success, failing streak, latest version
    and last change. Where routine checks were archived, the last check may be an
    archived one (its head row says so), and a failing streak that reaches back into
    archived history is not counted again."""
    rows = conn.execute(
        """WITH archived AS (SELECT max(end_check_id) AS end_id FROM check_archives)
           SELECT d.document_id FROM documents d CROSS JOIN archived
           LEFT JOIN document_heads h USING (document_id)
           LEFT JOIN LATERAL (
               SELECT check_id FROM checks WHERE document_id = d.document_id
               ORDER BY check_id DESC LIMIT 1) k ON true
           LEFT JOIN LATERAL (
               SELECT check_id FROM checks
               WHERE document_id = d.document_id AND outcome <> 'failed'
               ORDER BY check_id DESC LIMIT 1) ok ON true
           LEFT JOIN LATERAL (
               SELECT count(*) AS n FROM checks f
               WHERE f.document_id = d.document_id AND f.outcome = 'failed'
                 AND f.check_id > coalesce(ok.check_id, 0)) s ON true
           LEFT JOIN LATERAL (
               SELECT version_id FROM versions WHERE document_id = d.document_id
               ORDER BY version_number DESC LIMIT 1) v ON true
           LEFT JOIN LATERAL (
               SELECT change_id FROM changes WHERE document_id = d.document_id
               ORDER BY change_id DESC LIMIT 1) c ON true
           LEFT JOIN LATERAL (
               SELECT max(check_id) AS check_id FROM archived_check_heads
               WHERE document_id = d.document_id) a ON true
           WHERE greatest(k.check_id, a.check_id) IS NOT NULL AND (
               h.document_id IS NULL
               OR (h.last_check_id, h.last_version_id, h.last_change_id)
                  IS DISTINCT FROM (greatest(k.check_id, a.check_id), v.version_id,
                                    c.change_id)
               OR (archived.end_id IS NULL OR ok.check_id >= archived.end_id)
                  AND (h.last_success_check_id, h.failing_checks)
                      IS DISTINCT FROM (ok.check_id, s.n::integer))
           ORDER BY d.document_id"""
    ).fetchall()
    for (document_id,) in rows:
        yield f"document {document_id}", "its status row (document_heads) differs from its history"


def check_current_provisions(conn: psycopg.Connection) -> Iterator[tuple[str, str]]:
    """Today's provisions (derived, what the type pages, compare and search start from)
    are exactly those of each document's latest version: none missing, none left over
    from a former version, none altered."""
    rows = conn.execute(
        """WITH today AS (
               SELECT vp.version_id, vp.position, vp.text_sha256, vp.provision_id,
                      h.document_id
               FROM document_heads h
               JOIN version_provisions vp ON vp.version_id = h.last_version_id)
           SELECT DISTINCT v.document_id, v.record_id
           FROM ((SELECT * FROM today EXCEPT ALL SELECT * FROM current_provisions)
                 UNION ALL
                 (SELECT * FROM current_provisions EXCEPT ALL SELECT * FROM today)) odd
           LEFT JOIN versions v USING (version_id)
           ORDER BY 1"""
    ).fetchall()
    for document_id, version_record in rows:
        if document_id is None:
            yield "today's provisions", "current_provisions holds a version never recorded"
        else:
            yield (f"document {document_id}",
                   f"today's provisions (current_provisions) differ from "
                   f"{version_record}")  # fmt: skip


def check_current_clause_types(conn: psycopg.Connection) -> Iterator[tuple[str, str]]:
    """Today's provisions by clause type (derived, the order compare, the type pages and
    "other platforms" read) are exactly today's provisions with the types the latest
    classifier of each text found, under their platform's and document's names."""
    rows = conn.execute(
        """WITH today AS (
               SELECT cp.version_id, cp.position, lt.clause_type,
                      severity_rank(lt.severity)::smallint, lt.severity, p.name,
                      d.document_type, cp.provision_id, cp.document_id, cp.text_sha256
               FROM current_provisions cp
               JOIN latest_clause_types lt ON lt.text_sha256 = cp.text_sha256
               JOIN documents d ON d.document_id = cp.document_id
               JOIN platforms p USING (platform_id))
           SELECT DISTINCT odd.document_id
           FROM ((SELECT * FROM today EXCEPT ALL SELECT * FROM current_clause_types)
                 UNION ALL
                 (SELECT * FROM current_clause_types EXCEPT ALL SELECT * FROM today)) odd
           ORDER BY 1"""
    ).fetchall()
    for (document_id,) in rows:
        yield (f"document {document_id}",
               "today's provisions by clause type (current_clause_types) differ from its "
               "provisions' latest classifications")  # fmt: skip
