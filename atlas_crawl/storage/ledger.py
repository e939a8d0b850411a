"""The ledger in the database: entries appended with each recording transaction, read
back in order for checkpoints, verification and proofs; the checkpoints made."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from functools import cached_property

import psycopg

from atlas_crawl.evidence.checkpoint import Checkpoint
from atlas_crawl.evidence.ledger_entries import (
    change_entry,
    check_entry,
    entry_leaf,
    version_entry,
)
from atlas_crawl.storage.queries import query

# (kind, record id, entry text) of what one transaction wrote, in order.
Entry = tuple[str, int, str]


def append(conn: psycopg.Connection, entries: list[Entry]) -> None:
    """Append these entries, last thing in the transaction: the lock taken here is held
    until commit, so positions follow commit order with no gaps."""
    if not entries:
        return
    conn.execute(query("lock_ledger"))
    conn.execute(
        query("append_ledger"),
        {
            "kinds": [kind for kind, _, _ in entries],
            "records": [record for _, record, _ in entries],
            # a check's leaf is not stored (migration 028): rebuilt from the check
            "leaves": [
                None if kind == "check" else entry_leaf(entry) for kind, _, entry in entries
            ],
        },
    )


@dataclass(frozen=True)
class LedgerRow:
    position: int
    kind: str
    record: int
    stored_leaf: bytes | None  # None: a check's, not stored (rebuilt from the check)
    entry: str | None  # rebuilt from the record as it is now (None: the record is gone)
    archived: bool = False  # a routine check moved out of the database, no head row kept

    @cached_property
    def leaf(self) -> bytes:
        """The leaf of the record as it is now (what a checkpoint must match); an
        archived check's is the stored one (its range is counted by ``verify``)."""
        if self.entry is None:
            return self.stored_leaf if self.archived and self.stored_leaf else b""
        return entry_leaf(self.entry)

    @property
    def intact(self) -> bool:
        """The record is there and gives the leaf stored when it was written, if one
        was (a check's is not: the checkpoints bind it)."""
        if self.stored_leaf is None:
            return self.entry is not None
        return self.leaf == self.stored_leaf


def rows(conn: psycopg.Connection, size: int | None = None, start: int = 0) -> Iterator[LedgerRow]:
    """The ledger in order (entries ``start`` to ``size``), each entry rebuilt from its
    record as it stands now."""
    limit = size if size is not None else 2**62
    with conn.cursor(name="ledger_rows") as cur:
        cur.itersize = 2000
        cur.execute(query("ledger_rows"), {"size": limit, "start": start})
        for r in cur:
            position, kind, record, stored, evidence = r[:5]
            exists, archived = r[14], r[15]
            entry: str | None = None
            if exists and kind == "check":
                entry = check_entry(record, evidence)
            elif exists and kind == "version":
                entry = version_entry(record, r[5], r[6], r[7], r[8])
            elif exists and kind == "change":
                entry = change_entry(record, r[9], r[10], r[11], r[12], r[13])
            yield LedgerRow(position, kind, record, None if stored is None else bytes(stored),
                            entry,
                            bool(archived) and entry is None)  # fmt: skip


def size(conn: psycopg.Connection) -> int:
    """How many entries the ledger holds (positions have no gaps)."""
    return int(conn.execute(query("ledger_size")).fetchone()[0])  # type: ignore[index]


def position_of(conn: psycopg.Connection, kind: str, record: int) -> int | None:
    row = conn.execute(query("ledger_position"), {"kind": kind, "record": record}).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def save_checkpoint(conn: psycopg.Connection, cp: Checkpoint) -> None:
    conn.execute(
        query("save_checkpoint"),
        {
            "size": cp.tree_size,
            "root": cp.root_hash,
            "made_at": cp.made_at,
            "key": cp.public_key,
            "signature": cp.signature,
            "blocks": ",".join(cp.block_roots),
        },
    )


def latest_checkpoint(conn: psycopg.Connection) -> Checkpoint | None:
    row = conn.execute(query("latest_checkpoint")).fetchone()
    if row is None:
        return None
    size, root, made_at, key, signature, blocks = row
    made = made_at.astimezone(UTC).isoformat(timespec="seconds")
    return Checkpoint(size, root, made, key, signature, blocks.split(",") if blocks else [])
