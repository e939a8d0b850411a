"""The named queries of ``sql/*.sql`` (``-- name: NAME`` blocks, ``%(param)s``
parameters): ``queries.sql`` for reading the history, ``recording.sql`` for the
recorder, ``provisions.sql`` for the provision tracker, ``classifications.sql`` for
the clause-type store."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import psycopg
from psycopg.rows import dict_row

from atlas_crawl.storage.migrate import sql_dir

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.M)


QUERY_FILES = (
    "queries.sql",
    "recording.sql",
    "provisions.sql",
    "classifications.sql",
    "alerts.sql",
    "web.sql",
    "subscriptions.sql",
)


@cache
def named_queries() -> dict[str, bytes]:
    queries: dict[str, bytes] = {}
    for file in QUERY_FILES:
        parts = _NAME.split((sql_dir() / file).read_text(encoding="utf-8"))
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in queries:
                raise ValueError(f"query {name} is named twice in sql/")
            queries[name] = body.strip().encode()
    return queries


def query(name: str) -> bytes:
    """The text of one named query, to execute with its parameters."""
    return named_queries()[name]


def run(conn: psycopg.Connection, name: str, **params: Any) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(named_queries()[name], params)  # type: ignore[call-overload]
        return cur.fetchall()
