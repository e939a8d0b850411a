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

from lxml import etree

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


def _tag(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""  # comment or processing instruction
    if "}" in tag:
        tag = tag.rsplit("}", 1)[1]
    return tag.lower()


def _has_block(el: etree._Element) -> bool:
    return any(isinstance(d.tag, str) and _tag(d) in BLOCKS for d in el.iterdescendants())


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

    def blocks(self, el: etree._Element) -> list[str]:
        """The Markdown blocks of ``el``'s content."""
        out: list[str] = []
        buf: list[str] = []

        def flush() -> None:
            if buf:
                text = _inline("".join(buf))
                buf.clear()
                if text:
                    out.append(text)

        if el.text:
            buf.append(el.text)
        for child in el:
            tag = _tag(child)
            if tag and tag not in SKIP:
                if tag in BLOCKS:
                    flush()
                    out.extend(self.block(child, tag))
                elif tag == "br":
                    buf.append(_BREAK)
                elif tag == "wbr":
                    pass
                elif _has_block(child):
                    # An inline element wrapping blocks (a link around cards, say).
                    flush()
                    out.extend(self.blocks(child))
                else:
                    buf.append(self.inline_text(child))
            if child.tail:
                buf.append(child.tail)
        flush()
        return out

    def inline_text(self, el: etree._Element) -> str:
        parts: list[str] = [el.text or ""]
        for child in el:
            tag = _tag(child)
            if tag == "br":
                parts.append(_BREAK)
            elif tag and tag not in SKIP:
                parts.append(self.inline_text(child))
            if child.tail:
                parts.append(child.tail)
        text = "".join(parts)
        if _tag(el) == "a" and (href := el.get("href")):
            target = clean_url(href, self.base_url)
            label = _inline(text).replace("\n", " ")
            if target and label:
                # Keep the white space around the label outside the brackets.
                lead = text[: len(text) - len(text.lstrip())]
                trail = text[len(text.rstrip()) :]
                return f"{lead}[{label}]({target}){trail}"
        return text

    def block(self, el: etree._Element, tag: str) -> list[str]:
        if tag in HEADINGS:
            text = " ".join(b.replace("\n", " ") for b in self.blocks(el))
            return [f"{'#' * HEADINGS[tag]} {text}"] if text else []
        if tag in ("ul", "ol", "menu", "dir"):
            return self.list_block(el, ordered=tag == "ol")
        if tag == "table":
            return self.table(el)
        if tag == "pre":
            text = "".join(el.itertext()).strip("\n")
            return [f"```\n{text}\n```"] if text.strip() else []
        if tag == "blockquote":
            inner = self.blocks(el)
            return (
                ["\n".join("> " + line for b in inner for line in b.split("\n"))] if inner else []
            )
        if tag == "hr":
            return []
        return self.blocks(el)

    def list_block(self, el: etree._Element, ordered: bool) -> list[str]:
        lines: list[str] = []
        number = 0
        for child in el:
            tag = _tag(child)
            if not tag or tag in SKIP:
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

    def table(self, el: etree._Element) -> list[str]:
        rows: list[list[str]] = []
        header = False
        for tr in el.iter("tr", "{*}tr"):
            # Only rows of this table, not of tables nested in its cells.
            owner = next((a for a in tr.iterancestors() if _tag(a) == "table"), None)
            if owner is not el:
                continue
            cells = [c for c in tr if _tag(c) in ("td", "th")]
            if not rows and cells and all(_tag(c) == "th" for c in cells):
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
        caption = next((c for c in el if _tag(c) == "caption"), None)
        out = self.blocks(caption) if caption is not None else []
        return [*out, "\n".join(lines)]


def to_markdown(parts: list[etree._Element], base_url: str = "") -> str:
    """Markdown of the selected parts, one blank line between blocks."""
    writer = _Writer(base_url)
    blocks: list[str] = []
    for part in parts:
        tag = _tag(part)
        blocks.extend(writer.block(part, tag) if tag in BLOCKS else writer.blocks(part))
    return "\n\n".join(blocks)
