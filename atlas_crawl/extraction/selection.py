"""Cut a document out of a parsed page: ``remove`` first on the whole page, then ``select``.

CSS selectors and Open Terms Archive range selectors (``startBefore``/``startAfter`` to
``endBefore``/``endAfter``) are both supported. Ranges are applied by inserting two
marker elements and pruning the tree around them, so the result stays a tree that the
Markdown writer can walk. Selectors are matched by lexbor, as a browser's
``querySelectorAll`` matches them.
"""

from __future__ import annotations

from collections.abc import Iterable

from selectolax.lexbor import LexborHTMLParser

from atlas_crawl.declarations import Range, Selector
from atlas_crawl.extraction.dom import Node, ancestors, root_of
from atlas_crawl.extraction.errors import ExtractionError

_MARK = "atlas-range-mark"


def _first(root: Node, selector: str) -> Node | None:
    return root.css_first(selector)


def detach(node: Node) -> None:
    """Take ``node`` and its content out of the tree. Detached, not destroyed: a node
    found by the same query inside it stays safe to touch."""
    node.remove()


def _drop_preceding(node: Node) -> None:
    while (sibling := node.prev) is not None:
        detach(sibling)


def _drop_following(node: Node) -> None:
    while (sibling := node.next) is not None:
        detach(sibling)


def _insert_marks(doc: LexborHTMLParser, rng: Range) -> tuple[Node, Node]:
    root = root_of(doc)
    start, end = _first(root, rng.start), _first(root, rng.end)
    if start is None or end is None:
        missing = rng.start if start is None else rng.end
        raise ExtractionError("selector matched nothing", f"range boundary {missing!r}")
    return (
        _place(doc, start, before=rng.start_inclusive),
        _place(doc, end, before=not rng.end_inclusive),
    )


def _place(doc: LexborHTMLParser, anchor: Node, before: bool) -> Node:
    """A mark right before or after ``anchor``; the mark in the tree is returned."""
    mark = doc.create_node(_MARK)
    if before:
        anchor.insert_before(mark, move=True)
        placed = anchor.prev
    else:
        anchor.insert_after(mark, move=True)
        placed = anchor.next
    assert placed is not None and placed.tag == _MARK
    return placed


def _same(a: Node, b: Node) -> bool:
    return a.mem_id == b.mem_id


def _keep_between(m1: Node, m2: Node) -> None:
    node = m1
    while (parent := node.parent) is not None:
        _drop_preceding(node)
        node = parent
    node = m2
    while (parent := node.parent) is not None:
        _drop_following(node)
        node = parent
    detach(m1)
    detach(m2)


def _remove_between(m1: Node, m2: Node) -> None:
    line1 = [m1, *ancestors(m1)]
    line2 = [m2, *ancestors(m2)]
    ids2 = {n.mem_id for n in line2}
    at = next(i for i, n in enumerate(line1) if n.mem_id in ids2)
    common = line1[at]
    top1 = line1[at - 1] if at else m1
    top2 = line2[next(i for i, n in enumerate(line2) if _same(n, common)) - 1]
    # The start branch loses everything after the mark, the end branch everything
    # before its mark, and the siblings between the two branches go whole.
    node: Node | None = m1
    while node is not None and not _same(node, top1):
        _drop_following(node)
        node = node.parent
    while (sibling := top1.next) is not None and not _same(sibling, top2):
        detach(sibling)
    node = m2
    while node is not None and not _same(node, top2):
        _drop_preceding(node)
        node = node.parent
    detach(m1)
    detach(m2)


def apply_remove(doc: LexborHTMLParser, selectors: Iterable[Selector]) -> None:
    for sel in selectors:
        if isinstance(sel, Range):
            try:
                m1, m2 = _insert_marks(doc, sel)
            except ExtractionError:
                continue  # nothing to remove
            _remove_between(m1, m2)
        else:
            for node in root_of(doc).css(sel):
                detach(node)


def apply_select(doc: LexborHTMLParser, selectors: Iterable[Selector]) -> list[Node]:
    """The selected parts, in declaration order; fails when none matches."""
    selectors = list(selectors)
    if not selectors:
        return [doc.body or root_of(doc)]
    parts: list[Node] = []
    for sel in selectors:
        if isinstance(sel, Range):
            clone = doc.clone()
            try:
                m1, m2 = _insert_marks(clone, sel)
            except ExtractionError:
                continue
            _keep_between(m1, m2)
            parts.append(root_of(clone))
        else:
            parts.extend(root_of(doc).css(sel))
    if not parts:
        names = ", ".join(repr(s) if isinstance(s, str) else "a range" for s in selectors)
        raise ExtractionError("selector matched nothing", names)
    # A part inside another selected part would be written twice.
    chosen = {p.mem_id for p in parts}
    return [p for p in parts if not any(a.mem_id in chosen for a in ancestors(p))]
