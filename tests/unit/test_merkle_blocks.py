"""The tree known by block roots gives the roots and proofs of the tree of all leaves."""

from __future__ import annotations

import hashlib
import random

from atlas_crawl.evidence import merkle
from atlas_crawl.evidence.checkpoint import BLOCK
from atlas_crawl.evidence.merkle_blocks import BlockTree


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(str(i).encode()) for i in range(n)]


def _blocks(leaves: list[bytes]) -> list[bytes]:
    return [merkle.root(leaves[i : i + BLOCK]) for i in range(0, len(leaves) - BLOCK + 1, BLOCK)]


def test_roots_and_proofs_match_the_tree_of_every_leaf() -> None:
    rng = random.Random(7)
    for n in [1, 2, 255, 256, 257, 511, 512, 513, 1000, 2048, 3333]:
        leaves = _leaves(n)
        blocks = _blocks(leaves)
        # Only the last (partial) block's leaves and one other block are known.
        known = {i: leaves[i] for i in range((n // BLOCK) * BLOCK, n)}
        tree = BlockTree(n, blocks, known)
        assert tree.root() == merkle.root(leaves)
        for index in {n - 1, *(rng.randrange(n) for _ in range(5))}:
            if index >= (n // BLOCK) * BLOCK:
                assert tree.inclusion_proof(index) == merkle.inclusion_proof(index, leaves)
            else:  # a leaf inside a whole block: that block's leaves are read for it
                first = index // BLOCK * BLOCK
                with_block = BlockTree(n, blocks, {**known, **{
                    i: leaves[i] for i in range(first, first + BLOCK)}})  # fmt: skip
                proof = with_block.inclusion_proof(index)
                assert proof == merkle.inclusion_proof(index, leaves)
                assert merkle.verify_inclusion(leaves[index], index, n, proof, merkle.root(leaves))
        for m in {1, n, *(rng.randrange(1, n + 1) for _ in range(5))}:
            first = m // BLOCK * BLOCK
            tree_m = BlockTree(n, blocks, {**known, **{
                i: leaves[i] for i in range(first, min(n, first + BLOCK))}})  # fmt: skip
            proof = tree_m.consistency_proof(m)
            assert proof == merkle.consistency_proof(m, leaves)
            old = merkle.root(leaves[:m])
            assert merkle.verify_consistency(m, n, old, merkle.root(leaves), proof)


def test_a_missing_leaf_is_named() -> None:
    tree = BlockTree(300, [hashlib.sha256(b"x").digest()], {})
    try:
        tree.root()
    except KeyError as exc:
        assert exc.args[0] == 256
    else:
        raise AssertionError("a root without its leaves")
