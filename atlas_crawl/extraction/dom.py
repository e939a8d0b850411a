"""Pages as a browser reads them: the HTML5 tree construction, by lexbor.

The HTML standard defines one tree for every input, however malformed: an unclosed
container ends where the standard says, so a site's footer never lands inside its
policy. Chromium builds that tree for rendered pages; lexbor builds the same tree for
fetched bytes, so both paths read the same document. lexbor nodes have no ``tail``:
text is a node of its own, a sibling of the elements around it.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom

from atlas_crawl.extraction.errors import ExtractionError

Node = LexborNode

__all__ = [
    "Node",
    "SelectolaxError",
    "ancestors",
    "children",
    "elements",
    "parse_html",
    "root_of",
]


def _encoding(body: bytes, content_type: str) -> str:
    """The byte-order mark, then the HTTP header, then the page's own declaration."""
    bom, _ = read_bom(body)
    found = (
        bom
        or http_content_type_encoding(content_type)
        or html_body_declared_encoding(body[:4096])
        or "utf-8"
    )
    try:
        return codecs.lookup(found).name
    except LookupError:
        return "utf-8"


def parse_html(body: bytes, content_type: str = "") -> LexborHTMLParser:
    """The document tree of a page. Scripting on, as in the browser that renders pages:
    a ``<noscript>`` is then one text node and cannot end the ``<head>`` early."""
    encoding = _encoding(body, content_type)
    source: bytes | str
    if encoding == "utf-8":
        # lexbor reads bytes as UTF-8 itself: no decoding to str and encoding back.
        source = body[3:] if body.startswith(codecs.BOM_UTF8) else body
    else:
        source = body.decode(encoding, errors="replace").removeprefix("\ufeff")
    try:
        return LexborHTMLParser(source, scripting=True)
    except (SelectolaxError, RuntimeError, ValueError) as exc:
        raise ExtractionError("unparsable page", str(exc)) from None


def root_of(doc: LexborHTMLParser) -> Node:
    """The ``<html>`` element, which HTML5 tree construction always makes."""
    root = doc.root
    if root is None:
        raise ExtractionError("unparsable page", "no document element")
    return root


def children(node: Node) -> Iterator[Node]:
    """Every child, text nodes included, in order."""
    return node.iter(include_text=True)


def elements(node: Node) -> Iterator[Node]:
    """The child elements, in order (no text, no comments)."""
    return (child for child in node.iter() if child.is_element_node)


def ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None and parent.is_element_node:
        yield parent
        parent = parent.parent
