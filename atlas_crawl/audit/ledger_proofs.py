"""Checkpoints made and checked against the database, and inclusion proofs of records.

Every leaf is rebuilt from its record as it stands now: a record rewritten, even with
every hash in the database recomputed to match, gives another leaf, and the tree no
longer has the root a published checkpoint signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from atlas_crawl.evidence import merkle
from atlas_crawl.evidence.checkpoint import (
    BLOCK,
    Checkpoint,
    as_dict,
    public_hex,
    sign,
    signature_problem,
)
from atlas_crawl.evidence.merkle_blocks import BlockTree, whole_blocks
from atlas_crawl.storage import ledger


class LedgerMismatch(Exception):
    """The ledger no longer matches its records; the message names the first entry."""


def _describe(row: ledger.LedgerRow) -> str:
    what = (
        f"{row.kind} {row.record}" if row.entry is not None else f"{row.kind} {row.record} (gone)"
    )
    return f"ledger entry {row.position}: {what}"


def _first_tampered(rows: list[ledger.LedgerRow]) -> ledger.LedgerRow | None:
    return next((r for r in rows if not r.intact), None)


def _block_roots(leaves: list[bytes]) -> list[str]:
    return [merkle.root(leaves[i : i + BLOCK]).hex() for i in range(0, len(leaves), BLOCK)]


def _continued(conn: psycopg.Connection, key: Ed25519PrivateKey, size: int) -> list[bytes]:
    """The whole blocks' roots of the latest checkpoint this key signed, which the next
    one carries over: only the entries after them are read again (``verify`` reads
    every entry). None of them (an empty list) when the latest checkpoint is another
    key's or unsigned."""
    previous = ledger.latest_checkpoint(conn)
    if previous is None or signature_problem(previous, public_hex(key)) is not None:
        return []
    if previous.tree_size > size:
        raise LedgerMismatch(
            f"the ledger holds {size} entries, the last checkpoint covered "
            f"{previous.tree_size}: entries were deleted; not signed"
        )
    return whole_blocks(previous.block_roots, previous.tree_size)


def make_checkpoint(conn: psycopg.Connection, key: Ed25519PrivateKey) -> Checkpoint:
    """Sign the ledger as it stands, after checking each entry since the previous
    checkpoint against its record."""
    with conn.transaction():
        size = ledger.size(conn)
        blocks = _continued(conn, key, size)
        start = len(blocks) * BLOCK
        rows = list(ledger.rows(conn, size, start))
        tampered = _first_tampered(rows)
        if tampered is not None:
            raise LedgerMismatch(f"{_describe(tampered)} no longer matches its record: not signed")
        tree = BlockTree(size, blocks, {r.position: r.leaf for r in rows})
        root = tree.root() if size else merkle.root([])
        made_at = datetime.now(UTC).isoformat(timespec="seconds")
        block_roots = [b.hex() for b in blocks] + _block_roots([r.leaf for r in rows])
        cp = sign(key, size, root.hex(), made_at, block_roots)
        ledger.save_checkpoint(conn, cp)
    return cp


@dataclass(frozen=True)
class CheckpointReport:
    problems: list[str]
    tree_size: int  # the ledger's size today


def verify_checkpoint(
    conn: psycopg.Connection, cp: Checkpoint, trusted_key: str | None
) -> CheckpointReport:
    """Whether the database still holds exactly the history ``cp`` covered: a valid
    signature, and a consistency proof from its tree to today's, with every leaf rebuilt
    from its record. A failure names the first entry that differs, as closely as the
    evidence allows."""
    problem = signature_problem(cp, trusted_key)
    rows = list(ledger.rows(conn))
    if problem:
        return CheckpointReport([problem], len(rows))
    if len(rows) < cp.tree_size:
        return CheckpointReport(
            [f"the ledger holds {len(rows)} entries, the checkpoint covered {cp.tree_size}: "
             "entries were deleted"], len(rows))  # fmt: skip
    leaves = [r.leaf for r in rows]
    today = merkle.root(leaves).hex()
    proof = merkle.consistency_proof(cp.tree_size, leaves) if cp.tree_size else []
    if cp.tree_size and merkle.verify_consistency(
        cp.tree_size, len(leaves), bytes.fromhex(cp.root_hash), bytes.fromhex(today), proof
    ):
        return CheckpointReport([], len(rows))
    covered = rows[: cp.tree_size]
    tampered = _first_tampered(covered)
    if tampered is not None:
        return CheckpointReport(
            [f"history before the checkpoint was rewritten: {_describe(tampered)} "
             "no longer matches its record"], len(rows))  # fmt: skip
    blocks = _block_roots([r.leaf for r in covered])
    for i, (was, now) in enumerate(zip(cp.block_roots, blocks, strict=False)):
        if was != now:
            first = covered[i * BLOCK]
            last = covered[min(len(covered), (i + 1) * BLOCK) - 1]
            return CheckpointReport(
                [f"history before the checkpoint was rewritten, every hash recomputed, "
                 f"between {_describe(first)} and {_describe(last)}"], len(rows))  # fmt: skip
    return CheckpointReport(
        ["history before the checkpoint was rewritten (its root does not match)"], len(rows)
    )


def _covered_tree(
    conn: psycopg.Connection, stored: Checkpoint, positions: list[int]
) -> tuple[BlockTree, dict[int, ledger.LedgerRow]]:
    """The tree ``stored`` signed, known by its whole blocks' roots and the entries
    (rebuilt from their records) of the blocks that hold ``positions`` and of its last,
    partial block: what the proofs of those positions need."""
    covered = stored.tree_size
    starts = {p // BLOCK * BLOCK for p in positions} | {covered // BLOCK * BLOCK}
    rows: dict[int, ledger.LedgerRow] = {}
    for start in sorted(starts):
        rows.update((r.position, r) for r in ledger.rows(conn, min(covered, start + BLOCK),
                                                           start))  # fmt: skip
    # A proof takes the signed roots of the other blocks; within the entry's own block,
    # the path is made of entries rebuilt from their records.
    tree = BlockTree(covered, whole_blocks(stored.block_roots, covered),
                     {p: r.leaf for p, r in rows.items()})  # fmt: skip
    return tree, rows


def inclusion(conn: psycopg.Connection, kind: str, record: int) -> dict[str, Any] | None:
    """The proof that a record is in the ledger under the latest checkpoint, for a
    citation: its entry, position, the audit path and the checkpoint (None when the
    database has no ledger entry for it)."""
    position = ledger.position_of(conn, kind, record)
    if position is None:
        return None
    stored = ledger.latest_checkpoint(conn)
    if stored is None or position >= stored.tree_size:
        (row,) = ledger.rows(conn, position + 1, position)
        waiting = "not yet covered by a checkpoint (run atlas-crawl checkpoint)"
        return {"position": position, "entry": row.entry, "status": waiting}
    tree, rows = _covered_tree(conn, stored, [position])
    return {
        "position": position,
        "entry": rows[position].entry,
        "status": "covered",
        "leaf": rows[position].leaf.hex(),
        "proof": [h.hex() for h in tree.inclusion_proof(position)],
        "checkpoint": as_dict(stored),
    }


def inclusions(conn: psycopg.Connection, wanted: list[tuple[str, str, int]]) -> dict[str, Any]:
    """Proofs that several records (``(role, kind, record)``) are in the ledger under
    the latest checkpoint: for an evidence bundle."""
    positions = [(role, kind, record, ledger.position_of(conn, kind, record))
                 for role, kind, record in wanted]  # fmt: skip
    missing = [f"{kind} {record}" for _, kind, record, at in positions if at is None]
    if missing:
        return {"status": f"no ledger entry for {', '.join(missing)}"}
    stored = ledger.latest_checkpoint(conn)
    covered = stored.tree_size if stored else 0
    last = max(at for *_, at in positions if at is not None)
    if stored is None or last >= covered:
        return {"status": "not yet covered by a checkpoint (run atlas-crawl checkpoint, then "
                "export again)"}  # fmt: skip
    tree, rows = _covered_tree(conn, stored, [at for *_, at in positions if at is not None])
    entries = []
    for role, kind, record, at in positions:
        assert at is not None
        entries.append({
            "role": role, "kind": kind, "record": record, "position": at,
            "entry": rows[at].entry, "leaf": rows[at].leaf.hex(),
            "proof": [h.hex() for h in tree.inclusion_proof(at)],
        })  # fmt: skip
    return {"status": "covered", "checkpoint": as_dict(stored), "entries": entries}
