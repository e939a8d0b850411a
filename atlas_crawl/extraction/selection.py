"""Cut a document out of a parsed page: ``remove`` first on the whole page, then ``select``.

CSS selectors and Open Terms Archive range selectors (``startBefore``/``startAfter`` to
``endBefore``/``endAfter``) are both supported. Ranges are applied by inserting two
marker elements and pruning the tree around them, so the result stays a tree that the
Markdown writer can walk.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from functools import lru_cache

from lxml import etree
from lxml.cssselect import CSSSelector

from atlas_crawl.declarations import Range, Selector
from atlas_crawl.extraction.errors import ExtractionError

_MARK = "atlas-range-mark"


@lru_cache(maxsize=4096)
def compiled(selector: str) -> CSSSelector:
    return CSSSelector(selector)


def _first(root: etree._Element, selector: str) -> etree._Element | None:
    found = compiled(selector)(root)
    return found[0] if found else None


def remove_keep_tail(el: etree._Element) -> None:
    """Remove ``el`` and its content, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _drop_with_tail(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is not None:
        parent.remove(el)


def _insert_marks(root: etree._Element, rng: Range) -> tuple[etree._Element, etree._Element]:
    start, end = _first(root, rng.start), _first(root, rng.end)
    if start is None or end is None:
        missing = rng.start if start is None else rng.end
        raise ExtractionError("selector matched nothing", f"range boundary {missing!r}")
    m1, m2 = etree.Element(_MARK), etree.Element(_MARK)
    _place(start, m1, before=rng.start_inclusive)
    _place(end, m2, before=not rng.end_inclusive)
    return m1, m2


def _place(anchor: etree._Element, mark: etree._Element, before: bool) -> None:
    if before:
        anchor.addprevious(mark)
    else:
        # lxml keeps a tail with its element: hand the anchor's tail to the mark so the
        # text that follows the anchor stays after the mark.
        mark.tail, anchor.tail = anchor.tail, None
        anchor.addnext(mark)


def _keep_between(m1: etree._Element, m2: etree._Element) -> None:
    node = m1
    while (parent := node.getparent()) is not None:
        for sib in list(node.itersiblings(preceding=True)):
            _drop_with_tail(sib)
        parent.text = None
        node = parent
    node = m2
    while (parent := node.getparent()) is not None:
        for sib in list(node.itersiblings()):
            _drop_with_tail(sib)
        node.tail = None
        node = parent
    remove_keep_tail(m1)
    _drop_with_tail(m2)


def _remove_between(m1: etree._Element, m2: etree._Element) -> None:
    ancestors1 = [m1, *m1.iterancestors()]
    ancestors2 = [m2, *m2.iterancestors()]
    common = next(a for a in ancestors1 if a in set(ancestors2))
    top1 = ancestors1[ancestors1.index(common) - 1]
    top2 = ancestors2[ancestors2.index(common) - 1]
    node = m1
    while node is not top1:
        for sib in list(node.itersiblings()):
            _drop_with_tail(sib)
        node.tail = None
        node = node.getparent()
    top1.tail = None
    node = m2
    while node is not top2:
        parent = node.getparent()
        for sib in list(node.itersiblings(preceding=True)):
            _drop_with_tail(sib)
        parent.text = None
        node = parent
    for sib in list(top1.itersiblings()):
        if sib is top2:
            break
        _drop_with_tail(sib)
    # The start branch loses everything after the mark, the end branch everything
    # before its mark; what remains of them is outside the range.
    _drop_with_tail(m1)
    remove_keep_tail(m2)


def apply_remove(root: etree._Element, selectors: Iterable[Selector]) -> None:
    for sel in selectors:
        if isinstance(sel, Range):
            try:
                m1, m2 = _insert_marks(root, sel)
            except ExtractionError:
                continue  # nothing to remove
            _remove_between(m1, m2)
        else:
            for el in compiled(sel)(root):
                remove_keep_tail(el)


def apply_select(root: etree._Element, selectors: Iterable[Selector]) -> list[etree._Element]:
    """The selected parts, in declaration order; fails when none matches."""
    selectors = list(selectors)
    if not selectors:
        body = _first(root, "body")
        return [body if body is not None else root]
    parts: list[etree._Element] = []
    for sel in selectors:
        if isinstance(sel, Range):
            try:
                clone = copy.deepcopy(root)
                m1, m2 = _insert_marks(clone, sel)
            except ExtractionError:
                continue
            _keep_between(m1, m2)
            parts.append(clone)
        else:
            parts.extend(compiled(sel)(root))
    if not parts:
        names = ", ".join(repr(s) if isinstance(s, str) else "a range" for s in selectors)
        raise ExtractionError("selector matched nothing", names)
    # A part inside another selected part would be written twice.
    chosen = set(parts)
    return [p for p in parts if not any(a in chosen for a in p.iterancestors())]
