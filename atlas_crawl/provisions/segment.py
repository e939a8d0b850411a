"""Cut a version text (the Markdown extraction writes) into provisions.

A provision is the smallest self-contained unit a reader would cite: a paragraph, a
list item, a table row, a quote, a code block. A lead-in that ends with a colon stays
one provision with the list that follows it ("We share data with: - processors - ...").
Headings are not provisions but the context of those below them: each provision
carries its heading path ("2. How we use your data > 2.4 Generative AI"). The same
text always gives the same provisions.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6}) +(.*)$")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d{1,3}[.)]) ")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LEAD_IN_END = (":", "：")
HEADING_SEPARATOR = " > "


@dataclass(frozen=True)
class Provision:
    position: int  # 1-based, in reading order
    heading: str  # the heading path, "" before the first heading
    text: str

    @property
    def sha256(self) -> str:
        return text_sha256(self.text)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def heading_label(markdown: str) -> str:
    """A heading as a reader sees it: link markup dropped, white space collapsed."""
    return " ".join(_LINK.sub(r"\1", markdown).split())


def _blocks(text: str) -> list[str]:
    """Blank-line separated blocks; a fenced code block is one block, blank lines and all."""
    blocks: list[str] = []
    current: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _list_items(block: str) -> list[str]:
    """The top-level items of a list block, each with its nested lines."""
    items: list[str] = []
    for line in block.split("\n"):
        if _LIST_ITEM.match(line) or not items:
            items.append(line)
        else:
            items[-1] += "\n" + line
    return items


def _table_rows(block: str) -> list[str]:
    """The body rows of a table; a header row (followed by ``| --- |``) is context."""
    lines = block.split("\n")
    if len(lines) > 1 and set(lines[1].replace("|", "").split()) <= {"---"}:
        return lines[2:]
    return lines


def _units(block: str) -> tuple[str, list[str]]:
    """(kind, provisions) of one block."""
    first = block.split("\n", 1)[0]
    if _LIST_ITEM.match(first):
        return "list", _list_items(block)
    if first.startswith("|"):
        return "table", _table_rows(block)
    return "text", [block]


def segment(text: str) -> list[Provision]:
    """The provisions of a version text, in reading order."""
    provisions: list[str] = []
    headings: list[str] = []
    path: list[tuple[int, str]] = []  # (level, label) of the open headings
    lead_in: str | None = None  # a paragraph ending in a colon, waiting for its list

    def add(unit: str) -> None:
        provisions.append(unit)
        headings.append(HEADING_SEPARATOR.join(label for _, label in path))

    for block in _blocks(text):
        heading = _HEADING.match(block) if "\n" not in block else None
        if heading:
            if lead_in is not None:
                add(lead_in)
                lead_in = None
            level = len(heading.group(1))
            path = [(lv, label) for lv, label in path if lv < level]
            label = heading_label(heading.group(2))
            if label:
                path.append((level, label))
            continue
        kind, units = _units(block)
        if lead_in is not None:
            if kind == "list":
                add(lead_in + "\n\n" + block)  # the lead-in and its whole list
                lead_in = None
                continue
            add(lead_in)
            lead_in = None
        if kind == "text" and block.rstrip().endswith(_LEAD_IN_END):
            lead_in = block
            continue
        for unit in units:
            if unit.strip():
                add(unit)
    if lead_in is not None:
        add(lead_in)
    return [
        Provision(position=i, heading=h, text=t)
        for i, (h, t) in enumerate(zip(headings, provisions, strict=True), start=1)
    ]
