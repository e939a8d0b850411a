"""A change said for a person: which document, when (detection and the document's own
stated date; a silent change is said so), what happened to its provisions, each with
its clause types, and the key sentences added and removed. A severity raise or a new
``high`` provision leads. Deterministic: the same change always reads the same, in
plain text and in HTML."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from atlas_crawl.clauses.sentences import sentences
from atlas_crawl.clauses.taxonomy import RANK, SEVERITIES, taxonomy
from atlas_crawl.not_found import NotFound
from atlas_crawl.storage.queries import run

KEY_SENTENCES = 3  # added and removed, each
PROVISIONS_SHOWN = 30  # named one by one in the text; the payload lists them all
KINDS = ("added", "removed", "modified", "moved", "split", "merged")


@dataclass(frozen=True)
class Summary:
    change: dict[str, Any]  # the change row (record IDs, dates, evidence)
    provisions: list[dict[str, Any]]  # touched provisions with their clause types
    marks: list[dict[str, Any]]  # severity raises and new high provisions
    added: list[str]  # key sentences
    removed: list[str]
    severity: str | None  # the worst severity among the touched provisions

    @property
    def title(self) -> str:
        c = self.change
        lead = "Severity raised: " if self.marks else ""
        return f"{lead}{c['platform']} / {c['document_type']} changed ({c['record_id']})"

    def shown(self) -> list[dict[str, Any]]:
        """The provisions a person reads about: all of them, or for a large rewrite the
        PROVISIONS_SHOWN weightiest (worst clause type first), in reading order."""
        if len(self.provisions) <= PROVISIONS_SHOWN:
            return self.provisions
        order = sorted(range(len(self.provisions)),
                       key=lambda i: (-_worst(self.provisions[i]["clause_types"]), i))  # fmt: skip
        return [self.provisions[i] for i in sorted(order[:PROVISIONS_SHOWN])]

    def hidden(self) -> int:
        return len(self.provisions) - len(self.shown())

    def counts(self) -> dict[str, int]:
        return {k: sum(p["kind"] == k for p in self.provisions) for k in KINDS}

    def text(self) -> str:
        return "\n".join(_text_lines(self))

    def html(self) -> str:
        return _html(self)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _title(clause_type: str) -> str:
    known = taxonomy()[1].get(clause_type)
    return known.title if known else clause_type


def _key_sentences(
    old_text: str, new_text: str, provisions: list[dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """Sentences only one side has, the weightiest first (the worst clause type of the
    provision holding it, as stored, then its length), at most KEY_SENTENCES each, in
    reading order."""
    old, new = sentences(old_text), sentences(new_text)
    picked = []
    for own, other, side in ((new, set(old), "to_text"), (old, set(new), "from_text")):
        only = list(dict.fromkeys(s for s in own if s not in other and len(s.split()) > 2))
        held: dict[str, int] = {}  # sentence -> worst rank of a touched provision holding it
        for p in provisions:
            rank = _worst(p["clause_types"])
            for sentence in sentences(p[side] or ""):
                held[sentence] = max(held.get(sentence, -1), rank)
        weights = [held.get(s, -1) for s in only]
        ranked = sorted(range(len(only)), key=lambda i: (-weights[i], -len(only[i]), i))
        picked.append([only[i] for i in sorted(ranked[:KEY_SENTENCES])])
    return picked[0], picked[1]


def _worst(clause_types: list[dict[str, str]]) -> int:
    return max((RANK[t["severity"]] for t in clause_types), default=-1)


def change_summaries(conn: psycopg.Connection, change_ids: list[int]) -> dict[int, Summary]:
    """The summaries of these changes (those that exist), read in three queries."""
    if not change_ids:
        return {}
    rows = run(conn, "summary_change", changes=change_ids)
    touched: dict[int, list[dict[str, Any]]] = {r["change_id"]: [] for r in rows}
    for p in run(conn, "summary_provisions", changes=list(touched)):
        touched[p.pop("change_id")].append(p)
    marked: dict[str, list[dict[str, Any]]] = {r["record_id"]: [] for r in rows}
    for m in run(conn, "change_marks", changes=list(touched)):
        marked[m["change_record_id"]].append(m)
    out = {}
    for change in rows:
        provisions = touched[change["change_id"]]
        added, removed = _key_sentences(change["old_text"], change["new_text"], provisions)
        ranks = [RANK[t["severity"]] for p in provisions for t in p["clause_types"]
                 if p["kind"] != "moved"]  # fmt: skip
        severity = SEVERITIES[max(ranks)] if ranks else None
        out[change["change_id"]] = Summary(change, provisions, marked[change["record_id"]],
                                           added, removed, severity)  # fmt: skip
    return out


def change_summary(conn: psycopg.Connection, change_id: int) -> Summary:
    found = change_summaries(conn, [change_id])
    if change_id not in found:
        raise NotFound(f"no change with id {change_id}")
    return found[change_id]


def _dates(c: dict[str, Any]) -> str:
    old, new = c["old_stated_date"], c["new_stated_date"]
    if c["kind"] == "technical":
        reason = f" ({c['kind_reason']})" if c["kind_reason"] else ""
        return f"A technical change{reason}: not counted as a change of the policy's content."
    if c["silent"]:
        stated = f" ({_day(new)})" if new else ""
        return (f"Silent change: the text changed but the document's stated date{stated} "
                "did not.")  # fmt: skip
    if new and old and new != old:
        return f"The document's stated date moved from {_day(old)} to {_day(new)}."
    if new:
        return f"The document states {_day(new)}."
    return "The document states no date."


def _review_line(c: dict[str, Any]) -> str:
    """A change recorded from a text held for a second look: said before anything else."""
    return (
        f"Flagged for review ({c['review_reason']}): {c['review_detail']}; a second fetch "
        "found the same text, so it is recorded, but check the page before relying on it."
    )


def _day(value: date) -> str:
    return value.isoformat()


def _types_label(clause_types: list[dict[str, str]]) -> str:
    if not clause_types:
        return ""
    return " [" + ", ".join(f"{t['type']} {t['severity']}" for t in clause_types) + "]"


def _mark_line(m: dict[str, Any]) -> str:
    if m["mark"] == "new-high":
        return f"New high-severity provision {m['record_id']}: {_title(m['type'])}"
    return (f"Severity raised on {m['record_id']}: {_title(m['type'])}, "
            f"{m['from_severity'] or 'none'} -> {m['to_severity']}")  # fmt: skip


def _provision_line(p: dict[str, Any]) -> str:
    related = f" (from {p['related_record_id']})" if p["kind"] == "split" else ""
    related = f" (into {p['related_record_id']})" if p["kind"] == "merged" else related
    heading = f' "{p["heading"]}"' if p["heading"] else ""
    return f"{p['kind']} {p['record_id']}{related}{heading}{_types_label(p['clause_types'])}"


def _count_line(summary: Summary) -> str:
    counts = summary.counts()
    shown = [f"{n} {kind}" for kind, n in counts.items() if n or kind in KINDS[:4]]
    return "Provisions: " + ", ".join(shown) + "."


def _text_lines(summary: Summary) -> list[str]:
    c = summary.change
    lines = [summary.title]
    lines += [_mark_line(m) for m in summary.marks]
    lines += [
        *([_review_line(c)] if c.get("review_reason") else []),
        f"Detected {_utc(c['detected_at'])}. {_dates(c)}",
        _count_line(summary),
        *(f"  - {_provision_line(p)}" for p in summary.shown()),
        *([f"  - and {summary.hidden()} more"] if summary.hidden() else []),
    ]
    for label, found in (("Added", summary.added), ("Removed", summary.removed)):
        if found:
            lines += [f"{label}:", *(f'  "{s}"' for s in found)]
    lines.append(
        f"Evidence: version {c['version_record_id']}, capture SHA-256 {c['capture_sha256']}, "
        f"source {c['url']}" + (f", archived {c['archive_url']}" if c["archive_url"] else "")
    )
    return lines


def _html(summary: Summary) -> str:
    c, e = summary.change, html.escape
    parts = [f"<h2>{e(summary.title)}</h2>"]
    if summary.marks:
        parts.append("<p><strong>" + "<br>".join(e(_mark_line(m)) for m in summary.marks)
                     + "</strong></p>")  # fmt: skip
    if c.get("review_reason"):
        parts.append(f"<p><strong>{e(_review_line(c))}</strong></p>")
    parts.append(f"<p>Detected {e(_utc(c['detected_at']))}. {e(_dates(c))}</p>")
    parts.append(f"<p>{e(_count_line(summary))}</p>")
    if summary.provisions:
        more = f"<li>and {summary.hidden()} more</li>" if summary.hidden() else ""
        parts.append("<ul>" + "".join(f"<li>{e(_provision_line(p))}</li>"
                                      for p in summary.shown()) + more + "</ul>")  # fmt: skip
    for label, tag, found in (("Added", "ins", summary.added), ("Removed", "del", summary.removed)):
        if found:
            parts.append(f"<p>{label}:</p><ul>" + "".join(f"<li><{tag}>{e(s)}</{tag}></li>"
                                                           for s in found) + "</ul>")  # fmt: skip
    archived = (f', <a href="{e(c["archive_url"])}">archived copy</a>'
                if c["archive_url"] else "")  # fmt: skip
    parts.append(
        f"<p>Evidence: version {e(c['version_record_id'])}, capture SHA-256 "
        f"<code>{e(c['capture_sha256'] or '')}</code>, "
        f'<a href="{e(c["url"])}">source</a>{archived}</p>'
    )
    return "\n".join(parts)
