"""A change as a person reads it: the changed paragraphs, with words marked.

Removed text is shown red (or ``[-like this-]`` without colour), added text green
(``{+like this+}``); unchanged paragraphs around a change give context.
"""

from __future__ import annotations

from atlas_crawl.diff.patch import diff_ops

_RED, _GREEN, _RESET, _DIM = "\x1b[31m", "\x1b[32m", "\x1b[0m", "\x1b[2m"


def _mark(op: int, text: str, color: bool) -> str:
    if op == 0:
        return text
    if color:
        start = _RED if op < 0 else _GREEN
        # Colour each line separately so a terminal never bleeds colour across lines.
        return "\n".join(f"{start}{part}{_RESET}" if part else part for part in text.split("\n"))
    return f"[-{text}-]" if op < 0 else f"{{+{text}+}}"


def render_diff(old: str, new: str, color: bool = False, context: int = 1) -> str:
    marked = "".join(_mark(op, text, color) for op, text in diff_ops(old, new))
    lines = marked.split("\n")
    touched = [
        i
        for i, line in enumerate(lines)
        if any(m in line for m in ((_RED, _GREEN) if color else ("[-", "{+", "-]", "+}")))
    ]
    if not touched:
        return "(no difference)"
    keep = sorted(
        {j for i in touched for j in range(i - context, i + context + 1) if 0 <= j < len(lines)}
    )
    out: list[str] = []
    previous = -1
    for i in keep:
        if previous >= 0 and i > previous + 1:
            out.append(f"{_DIM}...{_RESET}" if color else "...")
        out.append(lines[i])
        previous = i
    return "\n".join(out)
