"""How small the database of a full backfill could get if every row were narrowed as
far as each measure allows: the floor under the database size, measured rather than guessed.

    .venv/bin/python bench/size_floor.py postgresql://postgres@127.0.0.1/atlas_bf \
        [--recompress-level 19]

Takes a database holding the full demo backfill (see the backfill section of
docs/BENCHMARKS.md) and builds, in a scratch schema ``size_floor`` beside its tables,
narrowed copies of the four tables that hold the bulk:

- captures and checks with every hex hash as 32 bytes of ``bytea``, small codes
  (``"char"``, ``smallint``) for outcome, compression, fetcher and content type, the
  requested URL as a key into a table of URLs, the import's source reference as a
  commit (20 bytes) and a path key;
- the ledger (its runs of checks, as stored) with its kind as a ``"char"``;
- version texts zstd-compressed against the same document's previous version.

With ``--recompress-level`` every capture is also packed again (same chains, same
bases) at that zstd level, to see what the payload itself could lose.

The projected size is the database's size after ``VACUUM FULL``, minus those four
tables, plus their narrowed copies (also after ``VACUUM FULL``). Nothing in ``public``
is changed; the scratch schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import psycopg
import zstandard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas_crawl.storage.captures import CaptureCache, load_capture  # noqa: E402

# checks are kept in check_store, the ledger in ledger_store
REPLACED = ("captures", "check_store", "ledger_store", "versions")

NARROW = """
CREATE SCHEMA size_floor;
CREATE TABLE size_floor.urls AS
    SELECT row_number() OVER (ORDER BY url)::int AS url_id, url
    FROM (SELECT DISTINCT requested_url AS url FROM public.checks) u;
CREATE TABLE size_floor.source_paths AS
    SELECT row_number() OVER (ORDER BY path)::int AS path_id, path
    FROM (SELECT DISTINCT substr(source_ref, 46) AS path FROM public.checks
          WHERE source_ref LIKE 'ota:%') p;
CREATE TABLE size_floor.captures AS
    SELECT decode(raw_sha256, 'hex') AS raw_sha256, size::int AS size,
           (CASE compression WHEN 'zstd' THEN 'z' WHEN 'zstd-delta' THEN 'd' ELSE 'n' END)::"char"
               AS compression,
           1::smallint AS content_type, depth::smallint AS depth, first_stored_at,
           decode(base_sha256, 'hex') AS base_sha256, body
    FROM public.captures;
CREATE TABLE size_floor.checks AS
    SELECT check_id, document_id::int AS document_id, checked_at, captured_at,
           left(outcome, 1)::"char" AS outcome, http_status::smallint AS http_status,
           1::smallint AS fetcher, u.url_id AS requested_url, version_id,
           verifies_check_id, decode(raw_sha256, 'hex') AS raw_sha256,
           decode(text_sha256, 'hex') AS text_sha256,
           decode(evidence_hash, 'hex') AS evidence_hash,
           decode(previous_evidence_hash, 'hex') AS previous_evidence_hash,
           decode(substr(source_ref, 5, 40), 'hex') AS source_commit, p.path_id AS source_path,
           failure_reason, failure_detail, final_url, response_headers, user_agent, crawl_id,
           warc_digest
    FROM public.checks c
    JOIN size_floor.urls u ON u.url = c.requested_url
    LEFT JOIN size_floor.source_paths p ON c.source_ref LIKE 'ota:%'
        AND p.path = substr(c.source_ref, 46);
CREATE TABLE size_floor.ledger AS
    SELECT position, (CASE kind WHEN 'check' THEN 'k' WHEN 'change' THEN 'c' ELSE 'v' END)::"char"
               AS kind, record, leaf, entries
    FROM public.ledger_store;
ALTER TABLE size_floor.captures ADD PRIMARY KEY (raw_sha256);
ALTER TABLE size_floor.checks ADD PRIMARY KEY (check_id);
CREATE INDEX ON size_floor.checks (document_id, check_id);
CREATE UNIQUE INDEX ON size_floor.checks (source_commit, source_path)
    WHERE source_commit IS NOT NULL;
ALTER TABLE size_floor.ledger ADD PRIMARY KEY (position);
CREATE UNIQUE INDEX ON size_floor.ledger (kind, record);
"""


def table_bytes(conn: psycopg.Connection, schema: str, names: tuple[str, ...] | None) -> int:
    row = conn.execute(
        """SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = %s AND c.relkind = 'r'
             AND (%s::text[] IS NULL OR EXISTS (  -- a table named, or a partition of one
                 SELECT 1 FROM pg_partition_ancestors(c.oid) a JOIN pg_class t ON t.oid = a.relid
                 WHERE t.relname = ANY(%s::text[])))""",
        (schema, list(names) if names else None, list(names) if names else None),
    ).fetchone()
    return int(row[0])


def compressed_versions(conn: psycopg.Connection) -> None:
    """Version texts as zstd deltas against the document's previous version."""
    conn.execute(
        "CREATE TABLE size_floor.versions AS SELECT version_id, document_id, version_number,"
        " first_seen_at, last_seen_at, check_id, decode(raw_sha256, 'hex') AS raw_sha256,"
        " decode(text_sha256, 'hex') AS text_sha256, extractor_version, declaration,"
        " stated_date, archive_url, archive_status, archive_detail, NULL::bytea AS packed"
        " FROM public.versions"
    )
    previous: dict[int, bytes] = {}
    rows = conn.execute(
        "SELECT version_id, document_id, text FROM public.versions"
        " ORDER BY document_id, version_number"
    ).fetchall()
    for version_id, document_id, text in rows:
        body = text.encode()
        base = previous.get(document_id)
        dictionary = (
            zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            if base
            else None
        )
        packed = zstandard.ZstdCompressor(level=19, dict_data=dictionary).compress(body)
        conn.execute(
            "UPDATE size_floor.versions SET packed = %s WHERE version_id = %s",
            (packed, version_id),
        )
        previous[document_id] = body
    conn.execute("ALTER TABLE size_floor.versions ADD PRIMARY KEY (version_id)")
    conn.execute("CREATE UNIQUE INDEX ON size_floor.versions (document_id, version_number)")


def recompress(conn: psycopg.Connection, level: int) -> float:
    """Every capture packed again at ``level`` against the same base; seconds spent."""
    cache = CaptureCache(256)
    rows = conn.execute(
        "SELECT raw_sha256, base_sha256 FROM public.captures ORDER BY first_stored_at"
    ).fetchall()
    spent = 0.0
    for digest, base in rows:
        body = load_capture(conn, digest, cache)
        started = time.perf_counter()
        if base is None:
            packed = zstandard.ZstdCompressor(level=level).compress(body)
        else:
            dictionary = zstandard.ZstdCompressionDict(
                load_capture(conn, base, cache), dict_type=zstandard.DICT_TYPE_RAWCONTENT
            )
            packed = zstandard.ZstdCompressor(level=level, dict_data=dictionary).compress(body)
        spent += time.perf_counter() - started
        conn.execute(
            "UPDATE size_floor.captures SET body = %s WHERE raw_sha256 = decode(%s, 'hex')",
            (packed, digest),
        )
    return spent


def vacuum_full(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM FULL")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("--recompress-level", type=int)
    args = parser.parse_args()
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS size_floor CASCADE")
    vacuum_full(args.database_url)
    result: dict = {}
    with psycopg.connect(args.database_url) as conn:
        result["database_mb"] = round(
            conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6, 1
        )
        result["tables_mb"] = round(table_bytes(conn, "public", None) / 1e6, 1)
        result["replaced_mb"] = round(table_bytes(conn, "public", REPLACED) / 1e6, 1)
        result["payload_mb"] = round(
            conn.execute("SELECT sum(octet_length(body)) FROM captures").fetchone()[0] / 1e6, 1
        )
        conn.execute(NARROW)
        compressed_versions(conn)
        if args.recompress_level:
            seconds = recompress(conn, args.recompress_level)
            result["recompress_seconds"] = round(seconds, 1)
            result["recompressed_payload_mb"] = round(
                conn.execute("SELECT sum(octet_length(body)) FROM size_floor.captures")
                .fetchone()[0] / 1e6, 1,
            )  # fmt: skip
        conn.commit()
    vacuum_full(args.database_url)
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        narrow = table_bytes(conn, "size_floor", None)
        per_table = conn.execute(
            """SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'size_floor' AND c.relkind = 'r' ORDER BY 2 DESC"""
        ).fetchall()
        result["narrowed_mb"] = {name: round(size / 1e6, 2) for name, size in per_table}
        result["projected_database_mb"] = round(
            result["database_mb"] - result["replaced_mb"] + narrow / 1e6, 1
        )
        conn.execute("DROP SCHEMA size_floor CASCADE")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
