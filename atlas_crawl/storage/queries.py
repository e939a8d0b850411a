"""The named queries of ``sql/queries.sql``."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import psycopg
from psycopg.rows import dict_row

from atlas_crawl.storage.migrate import SQL_DIR

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.M)


@cache
def named_queries() -> dict[str, str]:
    text = (SQL_DIR / "queries.sql").read_text(encoding="utf-8")
    parts = _NAME.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def run(conn: psycopg.Connection, name: str, **params: Any) -> list[dict[str, Any]]:
    query = named_queries()[name]
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query.encode(), params)  # type: ignore[call-overload]
        return cur.fetchall()
