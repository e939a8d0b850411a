"""Write a cleaned element tree as Markdown that keeps the document's structure.

Headings, paragraphs, lists, tables, quotes and preformatted blocks keep their shape;
links keep their target, made absolute against the declared URL (not the URL a capture
came from, which differs between mirrors and replays) and stripped of tracking
parameters, since where a policy points is part of what it says; images, forms and
media are dropped. Inline emphasis is dropped: it is presentation, and flips with
redesigns.
"""

from __future__ import annotations

import re

from atlas_crawl.extraction.dom import Node, ancestors, children, elements
from atlas_crawl.extraction.normalize import clean_url

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
        "caption",
        "legend",
        "option",
    }
)
# Elements whose content is never document text.
SKIP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "math",
        "iframe",
        "object",
        "embed",
        "canvas",
        "video",
        "audio",
        "img",
        "picture",
        "source",
        "track",
        "map",
        "link",
        "meta",
        "head",
        "title",
        "button",
        "input",
        "select",
        "textarea",
        "base",
    }
)

# <br> while a block is being written; source newlines are plain white space.
_BREAK = "\u2028"
_SPACE = re.compile(r"[^\S\u2028]+")
_SPACED_BREAKS = re.compile(r" *\u2028 *")


_BLOCK_SELECTOR = ", ".join(sorted(BLOCKS))


def _tag(el: Node) -> str:
    """An element's lower-case name; "" for text, comments and the document."""
    return (el.tag or "") if el.is_element_node else ""


def _holding_blocks(part: Node) -> set[int]:
    """The elements of ``part`` that have a block element inside them (by ``mem_id``):
    one selector query per part, not one per inline element."""
    holding: set[int] = set()
    top = part.mem_id
    for block in part.css(_BLOCK_SELECTOR):
        node = block.parent
        while node is not None and node.mem_id not in holding:
            holding.add(node.mem_id)
            if node.mem_id == top:
                break
            node = node.parent
    return holding


def _inline(text: str) -> str:
    """Collapse white space inside a block; explicit line breaks (<br>) survive."""
    if _BREAK not in text:
        return " ".join(text.split())  # the same, without regular expressions
    text = _SPACE.sub(" ", text)
    text = _SPACED_BREAKS.sub("\n", text)
    return text.strip()


class _Writer:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.holding_blocks: set[int] = set()

    def blocks(self, el: Node) -> list[str]:
        """The Markdown blocks of ``el``'s content."""
        out: list[str] = []
        buf: list[str] = []

        def flush() -> None:
            if buf:
                text = _inline("".join(buf))
                buf.clear()
                if text:
                    out.append(text)

        for child in children(el):
            if child.is_text_node:
                buf.append(child.text_content or "")
                continue
            tag = _tag(child)
            if not tag or tag in SKIP:
                continue
            if tag in BLOCKS:
                flush()
                out.extend(self.block(child, tag))
            elif tag == "br":
                buf.append(_BREAK)
            elif tag == "wbr":
                pass
            elif child.mem_id in self.holding_blocks:
                # An inline element wrapping blocks (a link around cards, say).
                flush()
                out.extend(self.blocks(child))
            else:
                buf.append(self.inline_text(child))
        flush()
        return out

    def inline_text(self, el: Node) -> str:
        parts: list[str] = []
        for child in children(el):
            if child.is_text_node:
                parts.append(child.text_content or "")
                continue
            tag = _tag(child)
            if tag == "br":
                parts.append(_BREAK)
            elif tag and tag not in SKIP:
                parts.append(self.inline_text(child))
        text = "".join(parts)
        if el.tag == "a" and (href := el.attributes.get("href")):
            target = clean_url(href, self.base_url)
            label = _inline(text).replace("\n", " ")
            if target and label:
                # Keep the white space around the label outside the brackets.
                lead = text[: len(text) - len(text.lstrip())]
                trail = text[len(text.rstrip()) :]
                return f"{lead}[{label}]({target}){trail}"
        return text

    def block(self, el: Node, tag: str) -> list[str]:
        if tag in HEADINGS:
            text = " ".join(b.replace("\n", " ") for b in self.blocks(el))
            return [f"{'#' * HEADINGS[tag]} {text}"] if text else []
        if tag in ("ul", "ol", "menu", "dir"):
            return self.list_block(el, ordered=tag == "ol")
        if tag == "table":
            return self.table(el)
        if tag == "pre":
            text = el.text(deep=True).strip("\n")
            return [f"```\n{text}\n```"] if text.strip() else []
        if tag == "blockquote":
            inner = self.blocks(el)
            return (
                ["\n".join("> " + line for b in inner for line in b.split("\n"))] if inner else []
            )
        if tag == "hr":
            return []
        return self.blocks(el)

    def list_block(self, el: Node, ordered: bool) -> list[str]:
        lines: list[str] = []
        number = 0
        for child in elements(el):
            tag = _tag(child)
            if tag in SKIP:
                continue
            if tag == "li":
                number += 1
                marker = f"{number}. " if ordered else "- "
                item = self.blocks(child)
            elif tag in ("ul", "ol"):
                # A list nested directly in a list, as some sites write it.
                marker = ""
                item = self.list_block(child, ordered=tag == "ol")
            else:
                item = self.blocks(child) if tag in BLOCKS else [_inline(self.inline_text(child))]
                marker = ""
            item = [b for b in item if b]
            if not item:
                continue
            pad = " " * len(marker) if marker else "  "
            first = True
            for block in item:
                for line in block.split("\n"):
                    if first:
                        lines.append(marker + line if marker else pad + line)
                        first = False
                    else:
                        lines.append(pad + line if line else "")
        return ["\n".join(lines)] if lines else []

    def table(self, el: Node) -> list[str]:
        rows: list[list[str]] = []
        header = False
        me = el.mem_id
        for tr in el.css("tr"):
            # Only rows of this table, not of tables nested in its cells.
            owner = next((a for a in ancestors(tr) if a.tag == "table"), None)
            if owner is None or owner.mem_id != me:
                continue
            cells = [c for c in elements(tr) if c.tag in ("td", "th")]
            if not rows and cells and all(c.tag == "th" for c in cells):
                header = True
            rows.append(
                [" ".join(self.blocks(c)).replace("\n", " ").replace("|", "\\|") for c in cells]
            )
        rows = [r for r in rows if any(r)]
        if not rows:
            return []
        width = max(len(r) for r in rows)
        lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
        if header:
            lines.insert(1, "|" + " --- |" * width)
        caption = next((c for c in elements(el) if c.tag == "caption"), None)
        out = self.blocks(caption) if caption is not None else []
        return [*out, "\n".join(lines)]


def to_markdown(parts: list[Node], base_url: str = "") -> str:
    """Markdown of the selected parts, one blank line between blocks."""
    writer = _Writer(base_url)
    blocks: list[str] = []
    for part in parts:
        writer.holding_blocks = _holding_blocks(part)
        tag = _tag(part)
        blocks.extend(writer.block(part, tag) if tag in BLOCKS else writer.blocks(part))
    return "\n\n".join(blocks)
