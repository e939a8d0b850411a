"""Verification over a long history: since a signed checkpoint (only what was appended
after it, and the proof that today's ledger extends it), or in full, window by window,
resuming where an interrupted run stopped."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from atlas_crawl.audit.scope import Scope
from atlas_crawl.audit.verify import (
    Mismatch,
    VerifyReport,
    entry_mismatch,
    verify_chains,
    verify_entries,
    verify_records,
)
from atlas_crawl.evidence import merkle
from atlas_crawl.evidence.checkpoint import BLOCK, Checkpoint, signature_problem
from atlas_crawl.evidence.merkle_blocks import BlockTree, whole_blocks
from atlas_crawl.storage import ledger

WINDOW = 250_000  # ledger entries verified between two saves of the progress


@dataclass
class SinceReport:
    problems: list[str]  # about the checkpoint and the ledger's growth from it
    report: VerifyReport | None  # the records appended since (None: not looked at)
    tree_size: int  # the ledger's size today
    root_hash: str  # today's root, hex


def verify_since(
    conn: psycopg.Connection, cp: Checkpoint, trusted_key: str | None, evidence_folder: Path
) -> SinceReport:
    """The checkpoint's signature; the entries of its last block it covered still give
    its root with the signed roots of the blocks before; a consistency proof from its tree
    to today's; and every record appended after it, verified."""
    size = ledger.size(conn)
    problem = signature_problem(cp, trusted_key)
    if problem:
        return SinceReport([problem], None, size, "")
    if size < cp.tree_size:
        deleted = (f"the ledger holds {size} entries, the checkpoint covered {cp.tree_size}: "
                   "entries were deleted")  # fmt: skip
        return SinceReport([deleted], None, size, "")
    problems: list[str] = []
    leaves: dict[int, bytes] = {}
    # One pass over the entries: the checkpoint's last block, then each entry since
    # (checked against its record here, not read again below).
    counts: dict[str, int] = {"ledger entries": 0, "chained checks": 0}
    found: list[Mismatch] = []
    with conn.transaction():  # read through a server-side cursor
        for row in ledger.rows(conn, size, cp.tree_size // BLOCK * BLOCK):
            leaves[row.position] = row.leaf
            if row.position >= cp.tree_size:
                if (mismatch := entry_mismatch(row, counts)) is not None:
                    found.append(mismatch)
            elif not row.intact and not problems:
                problems.append(f"history before the checkpoint was rewritten: ledger entry "
                                f"{row.position} ({row.kind} {row.record}) no longer matches "
                                "its record")  # fmt: skip
    blocks = whole_blocks(cp.block_roots, cp.tree_size)
    if cp.tree_size and BlockTree(cp.tree_size, blocks, leaves).root().hex() != cp.root_hash:
        first = cp.tree_size // BLOCK * BLOCK
        last = f"its last entries ({first}-{cp.tree_size - 1}) or " if first < cp.tree_size else ""
        problems.append(f"history before the checkpoint was rewritten: {last}its block roots "
                        "no longer give its root")  # fmt: skip
    today = BlockTree(size, blocks, leaves)
    root = today.root() if size else merkle.root([])
    if cp.tree_size and not problems:
        proof = today.consistency_proof(cp.tree_size)
        old = bytes.fromhex(cp.root_hash)
        if not merkle.verify_consistency(cp.tree_size, size, old, root, proof):
            problems.append("today's ledger does not extend the checkpoint's tree")
    scope = Scope(cp.tree_size)
    records, chains = verify_records(conn, evidence_folder, scope), verify_chains(conn, scope)
    report = VerifyReport(records.mismatches + found + chains.mismatches,
                          {**records.counts, **counts, **chains.counts})  # fmt: skip
    return SinceReport(problems, report, size, root.hex())


def _fingerprint(conn: psycopg.Connection) -> str:
    """Which database a saved progress belongs to: its name and first ledger leaf."""
    name = conn.execute("SELECT current_database()").fetchone()
    assert name is not None
    with conn.transaction():  # read through a server-side cursor
        first = list(ledger.rows(conn, 1))
    return f"{name[0]}:{first[0].leaf.hex() if first else ''}"


def _save(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state))
    os.replace(partial, path)  # a run killed while saving leaves the previous save


def _load(path: Path, fingerprint: str) -> dict | None:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if state.get("database") == fingerprint else None


def verify_all(
    conn: psycopg.Connection,
    evidence_folder: Path,
    progress: Path,
    resume: bool,
    on_window: Callable[[int, int], None] | None = None,
) -> tuple[VerifyReport, int | None]:
    """Everything, the ledger's entries window by window, the progress saved in
    ``progress`` after each (removed at the end): with ``resume``, a run interrupted
    (Ctrl-C, a killed process, a lost connection) goes on from its last save. The
    entries are those the ledger held when the run began. Returns the report and, when it
    resumed, the entry it resumed at."""
    fingerprint = _fingerprint(conn)
    state = _load(progress, fingerprint) if resume else None
    resumed = state["next"] if state is not None else None
    if state is None:
        records = verify_records(conn, evidence_folder)
        found = [[m.kind, m.record, m.detail] for m in records.mismatches]
        counts = {**records.counts, "ledger entries": 0, "chained checks": 0}
        state = {"database": fingerprint, "size": ledger.size(conn), "next": 0,
                 "counts": counts, "mismatches": found}  # fmt: skip
        _save(progress, state)
    while state["next"] < state["size"]:
        end = min(state["next"] + WINDOW, state["size"])
        window = verify_entries(conn, Scope(state["next"], end))
        for name, n in window.counts.items():
            state["counts"][name] = state["counts"].get(name, 0) + n
        state["mismatches"] += [[m.kind, m.record, m.detail] for m in window.mismatches]
        state["next"] = end
        _save(progress, state)
        if on_window is not None:
            on_window(end, state["size"])
    progress.unlink(missing_ok=True)
    mismatches = [Mismatch(*m) for m in state["mismatches"]]
    return VerifyReport(mismatches, state["counts"]), resumed
