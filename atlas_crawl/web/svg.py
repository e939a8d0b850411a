"""Pictures made on the server as SVG (no chart library, nothing loaded from elsewhere):
a document's versions on a timeline, a platform's changes per month; and the text of
severity badges, which say the severity in words and a shape, never by colour alone."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 640, 120, 30
SHAPES = {"high": "▲", "medium": "◆", "low": "●"}


def badge_text(severity: str | None) -> str:
    """'▲ High' for a badge: the word and a shape, the colour only a third cue."""
    if not severity:
        return "– None"
    return f"{SHAPES.get(severity, '•')} {severity.capitalize()}"


def _svg(title: str, body: str, height: int = HEIGHT) -> Markup:
    label = escape(title)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" class="chart"><title>{label}</title>'
        f"{body}</svg>"
    )


def timeline(versions: list[dict[str, Any]], title: str) -> Markup:
    """One mark per version along the time axis, labelled with its number."""
    times = [v["first_seen_at"] for v in versions if v.get("first_seen_at")]
    if not times:
        return _svg(title, '<text x="10" y="60">No version yet</text>')
    start, end = min(times), max(times)
    span = max((end - start).total_seconds(), 1.0)

    def x(when: datetime) -> float:
        return PAD + (WIDTH - 2 * PAD) * (when - start).total_seconds() / span

    parts = [f'<line x1="{PAD}" y1="60" x2="{WIDTH - PAD}" y2="60" class="axis"/>']
    for v in versions:
        at = x(v["first_seen_at"])
        parts.append(f'<circle cx="{at:.1f}" cy="60" r="6" class="mark"><title>version '
                     f'{v["version_number"]} ({escape(v["record_id"])}), '
                     f'{v["first_seen_at"]:%Y-%m-%d}</title></circle>'
                     f'<text x="{at:.1f}" y="45" text-anchor="middle">'
                     f'{v["version_number"]}</text>')  # fmt: skip
    parts.append(f'<text x="{PAD}" y="95">{start:%Y-%m-%d}</text>')
    parts.append(f'<text x="{WIDTH - PAD}" y="95" text-anchor="end">{end:%Y-%m-%d}</text>')
    return _svg(title, "".join(parts))


def changes_chart(by_month: list[dict[str, Any]], title: str) -> Markup:
    """A bar per month with content changes, its count above it."""
    if not by_month:
        return _svg(title, '<text x="10" y="60">No content change recorded</text>')
    top = max(r["changes"] for r in by_month)
    width = (WIDTH - 2 * PAD) / len(by_month)
    parts = []
    for i, row in enumerate(by_month):
        height = 70 * row["changes"] / top
        left = PAD + i * width
        bar = max(width - 2, 1)
        parts.append(f'<rect x="{left + 1:.1f}" y="{90 - height:.1f}" width="{bar:.1f}" '
                     f'height="{height:.1f}" class="bar"><title>{row["month"]:%Y-%m}: '
                     f'{row["changes"]} change(s)</title></rect>'
                     f'<text x="{left + width / 2:.1f}" y="{86 - height:.1f}" '
                     f'text-anchor="middle">{row["changes"]}</text>')  # fmt: skip
    first, last = by_month[0]["month"], by_month[-1]["month"]
    parts.append(f'<text x="{PAD}" y="110">{first:%Y-%m}</text>')
    parts.append(f'<text x="{WIDTH - PAD}" y="110" text-anchor="end">{last:%Y-%m}</text>')
    return _svg(title, "".join(parts))
