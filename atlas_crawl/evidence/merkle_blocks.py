"""The ledger's Merkle tree (RFC 6962, as ``merkle``) known by the roots of its whole
blocks of ``BLOCK`` entries and the leaves of only the entries read: a signed
checkpoint carries every block's root, so a root, an inclusion proof or a consistency
proof over ten million entries needs the leaves of one or two blocks, not all of them.

A whole block aligned on ``BLOCK`` is a node of the tree of any size that holds it, so
its root stands for its leaves; every other node is computed from the leaves given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from atlas_crawl.evidence.checkpoint import BLOCK
from atlas_crawl.evidence.merkle import node_hash, split


class BlockTree:
    """The tree of the first ``size`` leaves, from ``blocks`` (roots of whole blocks, in
    order, the first ones at least) and ``leaves`` (position -> leaf hash) for the
    rest. Asking for a node neither gives is a KeyError naming the position."""

    def __init__(self, size: int, blocks: Sequence[bytes], leaves: Mapping[int, bytes]):
        self.size = size
        self.blocks = blocks
        self.leaves = leaves

    def root(self, start: int = 0, end: int | None = None) -> bytes:
        end = self.size if end is None else end
        n = end - start
        if n == 1:
            return self.leaves[start]
        if n == BLOCK and start % BLOCK == 0 and start // BLOCK < len(self.blocks):
            return self.blocks[start // BLOCK]
        k = split(n)
        return node_hash(self.root(start, start + k), self.root(start + k, end))

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index`` (RFC 6962 PATH)."""
        if not 0 <= index < self.size:
            raise ValueError(f"leaf {index} is not in a tree of {self.size}")
        proof: list[bytes] = []
        start, end = 0, self.size
        while end - start > 1:
            k = split(end - start)
            if index < start + k:
                proof.append(self.root(start + k, end))
                end = start + k
            else:
                proof.append(self.root(start, start + k))
                start += k
        return proof[::-1]

    def consistency_proof(self, m: int) -> list[bytes]:
        """The proof that the first ``m`` leaves are a prefix of this tree (RFC 6962
        PROOF)."""
        if not 0 < m <= self.size:
            raise ValueError(f"no consistency proof from {m} to {self.size} leaves")
        proof: list[bytes] = []
        start, end, complete = 0, self.size, True
        while True:
            n = end - start
            if m == n:
                if not complete:
                    proof.append(self.root(start, end))
                return proof[::-1]
            k = split(n)
            if m <= k:
                proof.append(self.root(start + k, end))
                end = start + k
            else:
                proof.append(self.root(start, start + k))
                start, m, complete = start + k, m - k, False


def whole_blocks(block_roots: Sequence[str], tree_size: int) -> list[bytes]:
    """The roots of a checkpoint's whole blocks (its last one may be partial)."""
    return [bytes.fromhex(h) for h in block_roots[: tree_size // BLOCK]]
