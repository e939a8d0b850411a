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
from atlas_crawl.evidence.checkpoint import BLOCK, Checkpoint, as_dict, sign, signature_problem
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


def make_checkpoint(conn: psycopg.Connection, key: Ed25519PrivateKey) -> Checkpoint:
    """Sign the ledger as it stands, after checking every entry against its record."""
    with conn.transaction():
        rows = list(ledger.rows(conn))
        tampered = _first_tampered(rows)
        if tampered is not None:
            raise LedgerMismatch(f"{_describe(tampered)} no longer matches its record: not signed")
        leaves = [r.leaf for r in rows]
        made_at = datetime.now(UTC).isoformat(timespec="seconds")
        cp = sign(key, len(leaves), merkle.root(leaves).hex(), made_at, _block_roots(leaves))
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


def inclusion(conn: psycopg.Connection, kind: str, record: int) -> dict[str, Any] | None:
    """The proof that a record is in the ledger under the latest checkpoint, for a
    citation: its entry, position, the audit path and the checkpoint (None when the
    database has no ledger entry for it)."""
    position = ledger.position_of(conn, kind, record)
    if position is None:
        return None
    stored = ledger.latest_checkpoint(conn)
    covered = stored.tree_size if stored else 0
    # One read: the covered tree, and the entry itself when it lies past it.
    rows = list(ledger.rows(conn, max(covered, position + 1)))
    out: dict[str, Any] = {"position": position, "entry": rows[position].entry}
    if stored is None or position >= covered:
        out["status"] = "not yet covered by a checkpoint (run atlas-crawl checkpoint)"
        return out
    leaves = [r.leaf for r in rows[:covered]]
    out.update(
        status="covered",
        leaf=leaves[position].hex(),
        proof=[h.hex() for h in merkle.inclusion_proof(position, leaves)],
        checkpoint=as_dict(stored),
    )
    return out


def inclusions(conn: psycopg.Connection, wanted: list[tuple[str, str, int]]) -> dict[str, Any]:
    """Proofs that several records (``(role, kind, record)``) are in the ledger under
    the latest checkpoint, from one read of the ledger: for an evidence bundle."""
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
    rows = list(ledger.rows(conn, covered))
    leaves = [r.leaf for r in rows]
    entries = []
    for role, kind, record, at in positions:
        assert at is not None
        entries.append({
            "role": role, "kind": kind, "record": record, "position": at,
            "entry": rows[at].entry, "leaf": leaves[at].hex(),
            "proof": [h.hex() for h in merkle.inclusion_proof(at, leaves)],
        })  # fmt: skip
    return {"status": "covered", "checkpoint": as_dict(stored), "entries": entries}
