"""A large history built as the recorder writes it, for ``bench/scale.py``.

Documents are checked in rounds, twice a day. The checks that make something new (each
document's first check, and the changes: one every ``CHANGE_EVERY`` checks) go through
the recorder itself (``record_check``: captures with delta chains, versions, changes,
provisions, classifications, the alerts of the watches, ledger entries). The routine
rechecks that see the same page again, and the failures, are written in bulk (COPY),
with exactly the columns, evidence hash chain and ledger entries the recorder gives
them (tests/integration/test_scale.py compares the two), so ``verify`` passes.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from atlas_crawl.evidence.ledger import evidence_hash
from atlas_crawl.model import Page
from atlas_crawl.storage.migrate import upgrade
from atlas_crawl.storage.queries import query
from atlas_crawl.storage.recorder import CheckRecord, record_check

CHANGE_EVERY = 250  # one check in 250 finds a new text (40,000 changes in 10 million)
FAIL_EVERY = 50  # 2% of checks fail
FETCHER = "http"
AGENT = "atlas-crawl/scale-bench"
DECLARATION = {"fetch": "scale", "select": ["main"]}

_CLAUSES = [
    "We may terminate or suspend your account at any time, without prior notice, for any "
    "reason at our sole discretion.",
    "Any dispute arising out of these terms shall be resolved exclusively by binding "
    "arbitration in {city}, and you waive any right to a class action.",
    "We collect your email address, phone number and the contacts you upload in order to "
    "provide the service.",
    "We may change these terms at any time; continued use after {n} days means you accept "
    "the changes.",
    "To the maximum extent permitted by law, {name} shall not be liable for any indirect, "
    "incidental or consequential damages.",
    "These terms are governed by the laws of {country}, and the courts of {city} have "
    "exclusive jurisdiction.",
    "We may remove any content you post that we consider to violate these terms, without notice.",
    "By posting content you grant {name} a worldwide, royalty-free licence to use, copy and "
    "modify it.",
    "We use your posts and interactions to train and improve our artificial intelligence "
    "models, unless you opt out in settings.",
    "We share personal data with advertising partners who help us measure the reach of campaigns.",
    "You can ask us to delete your personal data at any time from the privacy settings "
    "page; we answer within {n} days.",
    "We keep log data for {n} months and then delete or anonymise it.",
]
_HEADINGS = ["Introduction", "Your account", "Content", "Data we collect", "How we use data",
             "Sharing", "Your rights", "Retention", "Liability", "Disputes", "Changes",
             "Contact"]  # fmt: skip
_CITIES = ["Dublin", "San Francisco", "Berlin", "Milan", "Warsaw", "Paris", "London"]
_COUNTRIES = ["Ireland", "California", "Germany", "Italy", "Poland", "France", "England"]


_SUBJECTS = ["This section", "The following paragraphs", "This part of the policy",
             "The table below", "Our help centre", "This page"]  # fmt: skip
_VERBS = ["explains", "describes", "sets out", "summarises", "lists", "gives examples of"]
_OBJECTS = ["how the service works", "the features you can use", "how to contact support",
            "the settings available to you", "how accounts are organised",
            "the choices you have"]  # fmt: skip
_WHEN = ["for new members.", "when you sign up.", "in plain language.", "for each product.",
         "for businesses and individuals.", "in more detail."]  # fmt: skip
CLAUSE_SHARE = 0.12  # of sentences: a clause a reader would look for; the rest explain


def _sentence(rng: random.Random, name: str) -> str:
    if rng.random() >= CLAUSE_SHARE:
        return " ".join(rng.choice(words) for words in (_SUBJECTS, _VERBS, _OBJECTS, _WHEN))
    return _clause(rng, "the service", (7, 14, 30, 90))


def _clause(rng: random.Random, name: str, days: tuple[int, ...] = tuple(range(7, 91))) -> str:
    return rng.choice(_CLAUSES).format(
        city=rng.choice(_CITIES), country=rng.choice(_COUNTRIES), name=name,
        n=rng.choice(days))  # fmt: skip


def first_text(rng: random.Random, name: str) -> list[list[str]]:
    """A policy as sections of paragraphs, most of them explanations, some the clauses a
    reader looks for. Paragraphs recur across platforms as boilerplate does, so the
    classifier reads each distinct one once (a build of 10 million checks in hours, not
    days); a change brings a clause naming its platform, new text."""
    return [[_sentence(rng, name) for _ in range(rng.randint(1, 4))] for _ in _HEADINGS]


def changed_text(rng: random.Random, name: str, sections: list[list[str]]) -> list[list[str]]:
    """One paragraph rewritten, or one added (a clause: what makes a change news)."""
    new = [list(s) for s in sections]
    section = rng.randrange(len(new))
    if rng.random() < 0.5 and new[section]:
        new[section][rng.randrange(len(new[section]))] = _clause(rng, name)
    else:
        new[section].append(_clause(rng, name))
    return new


def markdown(sections: list[list[str]]) -> str:
    return "\n\n".join(
        f"## {heading}\n\n" + "\n\n".join(paragraphs)
        for heading, paragraphs in zip(_HEADINGS, sections, strict=True)
    )


def page_of(url: str, text: str) -> Page:
    body = "<html><body><main>" + text.replace("\n\n", "</p><p>") + "</main></body></html>"
    return Page(url, url, 200, {}, body.encode("utf-8"), "text/html")


@dataclass
class Doc:
    platform: str
    document_type: str
    url: str
    sections: list[list[str]] = field(default_factory=list)
    document_id: int = 0
    evidence: str | None = None  # the last check's evidence hash
    version_id: int = 0
    text_sha256: str = ""
    raw_sha256: str = ""


@dataclass
class BuildStats:
    checks: int = 0
    recorded: int = 0
    bulk: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


def documents(count: int, platforms: int) -> list[Doc]:
    types = ["Privacy Policy", "Terms of Service", "Community Guidelines", "Cookie Policy",
             "Acceptable Use Policy", "Copyright Policy", "Data Processing Agreement",
             "Law Enforcement Guidelines", "Advertising Policy", "Developer Terms"]  # fmt: skip
    out = []
    for i in range(count):
        platform = f"Platform {i % platforms:04d}"
        kind = types[(i // platforms) % len(types)]
        slug = kind.lower().replace(" ", "-")
        out.append(Doc(platform, kind, f"https://p{i % platforms:04d}.example/{slug}"))
    return out


def _record(conn: psycopg.Connection, doc: Doc, when: datetime, crawl: str) -> int:
    text = markdown(doc.sections)
    page = page_of(doc.url, text)
    rec = CheckRecord(doc.platform, doc.document_type, doc.url, DECLARATION, when, when,
                      FETCHER, AGENT, [page], text=text, crawl_id=crawl,
                      extractor_version="scale")  # fmt: skip
    result = record_check(conn, rec)
    assert result.version_id is not None, result
    doc.version_id = result.version_id
    doc.text_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    doc.raw_sha256 = page.raw_sha256 or ""
    return result.check_id


_COLUMNS = ("document_id, checked_at, captured_at, outcome, failure_reason, failure_detail, "
            "requested_url, http_status, fetcher, raw_sha256, text_sha256, version_id, "
            "crawl_id, evidence_hash, kept")  # fmt: skip


def bulk_row(doc: Doc, when: datetime, crawl: str, failed: bool) -> tuple:
    """A routine recheck (the same page again) or a failure, as insert_check writes it."""
    status = 503 if failed else 200
    raw = None if failed else doc.raw_sha256
    text = None if failed else doc.text_sha256
    fields = {"document_id": doc.document_id, "checked_at": when, "captured_at": when,
              "requested_url": doc.url, "final_url": None, "http_status": status,
              "fetcher": FETCHER, "raw_sha256": raw, "text_sha256": text,
              "warc_digest": None}  # fmt: skip
    doc.evidence = evidence_hash(fields, doc.evidence)
    # hashes as check_store keeps them (bytes, migration 026); labels as checks reads them
    return (doc.document_id, when, when, "failed" if failed else "unchanged",
            "http error" if failed else None, "HTTP 503" if failed else None, doc.url,
            status, FETCHER, raw and bytes.fromhex(raw), text and bytes.fromhex(text),
            None if failed else doc.version_id, crawl, bytes.fromhex(doc.evidence),
            False)  # fmt: skip


_STORED = _COLUMNS.replace("requested_url", "requested_url_label").replace(
    "fetcher", "fetcher_label").replace("crawl_id", "crawl_label")  # fmt: skip


def _hash(value: bytes | None, version_hash: bytes | None) -> bytes | None:
    """check_hash of migration 027: NULL where it is the version's, a zero byte for none."""
    return b"\x00" if value is None else None if value == version_hash else value


def _stored(conn: psycopg.Connection, rows: list[tuple]) -> list[tuple]:
    """Bulk rows as check_store keeps them (migration 027): the requested URL, fetcher
    and crawl as keys of check_labels, captured_at only when it is not checked_at, the
    raw and text hashes only when they are not the version's."""
    texts = sorted({t for row in rows for t in (row[6], row[8], row[12]) if t is not None})
    labels = dict(conn.execute("SELECT t, check_label(t) FROM unnest(%s::text[]) AS t",
                               (texts,)).fetchall())  # fmt: skip
    versions = {v: (bytes.fromhex(raw), bytes.fromhex(text)) for v, raw, text in conn.execute(
        "SELECT version_id, raw_sha256, text_sha256 FROM versions WHERE version_id = ANY(%s)",
        (list({r[11] for r in rows if r[11] is not None}),))}  # fmt: skip
    return [(r[0], r[1], None if r[2] == r[1] else r[2], *r[3:6], labels[r[6]], r[7],
             labels[r[8]], _hash(r[9], versions.get(r[11], (None, None))[0]),
             _hash(r[10], versions.get(r[11], (None, None))[1]), r[11], labels.get(r[12]),
             *r[13:]) for r in rows]  # fmt: skip


def write_bulk(conn: psycopg.Connection, rows: list[tuple], seen: dict[int, datetime]) -> None:
    """The rows, their ledger entries (as the recorder appends them) and the versions
    seen again, in one transaction."""
    with conn.transaction():
        conn.execute("SELECT extend_check_partitions()")  # as a crawl does at its start
        conn.execute(query("lock_ledger"))
        last = conn.execute("SELECT coalesce(max(check_id), 0) FROM check_store").fetchone()[0]
        stored = _stored(conn, rows)
        with conn.cursor().copy(f"COPY check_store ({_STORED}) FROM STDIN") as copy:
            for row in stored:
                copy.write_row(row)
        # Appended as the recorder appends them, in order (a run of checks: one row).
        conn.execute(
            """SELECT ledger_append(array_agg('check'::text), array_agg(check_id ORDER BY check_id),
                                    '{}'::bytea[])
               FROM check_store WHERE check_id > %s""",
            (last,),
        )
        if seen:
            conn.execute(
                """UPDATE versions v SET last_seen_at = s.at
                   FROM unnest(%s::bigint[], %s::timestamptz[]) AS s(id, at)
                   WHERE v.version_id = s.id AND v.last_seen_at < s.at""",
                (list(seen), list(seen.values())),
            )


def add_watches(conn: psycopg.Connection, docs: list[Doc], count: int) -> None:
    """Watches on platforms and on clause types (atom feeds), so changes queue alerts."""
    with conn.transaction():
        for doc in docs[:count]:
            conn.execute(
                """INSERT INTO watches (target, target_kind, platform_id, channel, destination)
                   SELECT 'platform:' || name, 'platform', platform_id, 'atom', 'scale'
                   FROM platforms WHERE name = %s""",
                (doc.platform,),
            )
        for clause_type in ("arbitration", "unilateral-termination", "ai-training"):
            conn.execute(
                """INSERT INTO watches (target, target_kind, clause_type, channel, destination)
                   VALUES ('type:' || %s, 'type', %s, 'atom', 'scale')""",
                (clause_type, clause_type),
            )


def build(
    conn: psycopg.Connection,
    checks: int,
    document_count: int = 10_000,
    platforms: int = 1_000,
    seed: int = 1,
    progress: bool = True,
) -> BuildStats:
    """Write a history of about ``checks`` checks of ``document_count`` documents."""
    start = time.perf_counter()
    stats = BuildStats()
    upgrade(conn)
    if conn.execute("SELECT EXISTS (SELECT FROM checks)").fetchone()[0]:
        raise SystemExit("the database holds checks already: give an empty one")
    rng = random.Random(seed)
    docs = documents(document_count, platforms)
    rounds = max(2, checks // document_count)
    began = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(hours=12 * rounds)
    spread = 12 * 3600 / len(docs)
    for r in range(rounds):
        crawl = f"scale-{r:05d}"
        conn.execute("INSERT INTO crawls (crawl_id, user_agent) VALUES (%s, %s)", (crawl, AGENT))
        rows: list[tuple] = []
        seen: dict[int, datetime] = {}
        changing: list[tuple[Doc, datetime]] = []
        for i, doc in enumerate(docs):
            when = began + timedelta(hours=12 * r, seconds=i * spread)
            if r == 0:
                doc.sections = first_text(rng, doc.platform)
                changing.append((doc, when))
            elif rng.randrange(CHANGE_EVERY) == 0:
                doc.sections = changed_text(rng, doc.platform, doc.sections)
                changing.append((doc, when))
            else:
                failed = rng.randrange(FAIL_EVERY) == 0
                rows.append(bulk_row(doc, when, crawl, failed))
                if not failed:
                    seen[doc.version_id] = when
        t = time.perf_counter()
        write_bulk(conn, rows, seen)
        stats.phases["bulk"] = stats.phases.get("bulk", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        ids = [_record(conn, doc, when, crawl) for doc, when in changing]
        stats.phases["recorder"] = stats.phases.get("recorder", 0.0) + time.perf_counter() - t
        if ids:
            chained = dict(conn.execute(
                "SELECT check_id, evidence_hash FROM checks WHERE check_id = ANY(%s)", (ids,)
            ).fetchall())  # fmt: skip
            for (doc, _), check_id in zip(changing, ids, strict=True):
                doc.evidence = chained[check_id]
        if r == 0:
            found = dict(conn.execute(
                "SELECT d.url, d.document_id FROM documents d").fetchall())  # fmt: skip
            for doc in docs:
                doc.document_id = found[doc.url]
            add_watches(conn, docs, 100)
        stats.bulk += len(rows)
        stats.recorded += len(changing)
        if r % 10 == 9:
            # Each routine recheck rewrites its version's row (last seen) and its
            # document's head row, each new text replaces its document's rows of today's
            # provisions: vacuumed as autovacuum would (it may be off).
            conn.execute("VACUUM (ANALYZE) versions, document_heads, current_provisions")
        if progress and (r % 10 == 0 or r == rounds - 1):
            print(f"\rround {r + 1}/{rounds}: {stats.recorded + stats.bulk:,} checks "
                  f"({time.perf_counter() - start:.0f} s)", end="", flush=True)  # fmt: skip
    if progress:
        print()
    conn.execute("ANALYZE")
    stats.checks = stats.recorded + stats.bulk
    stats.seconds = time.perf_counter() - start
    return stats


def more_rounds(conn: psycopg.Connection, rounds: int, seed: int = 2) -> int:
    """Another ``rounds`` rounds of routine rechecks (and failures) of every document,
    after the last: what a verification since a checkpoint has to look at."""
    rows = conn.execute(
        """SELECT d.document_id, d.url, k.evidence_hash, k.checked_at, v.version_id,
                  v.text_sha256, v.raw_sha256
           FROM documents d
           JOIN LATERAL (SELECT evidence_hash, checked_at FROM checks
                         WHERE document_id = d.document_id ORDER BY check_id DESC LIMIT 1) k
             ON true
           JOIN LATERAL (SELECT version_id, text_sha256, raw_sha256 FROM versions
                         WHERE document_id = d.document_id ORDER BY version_number DESC
                         LIMIT 1) v ON true
           ORDER BY d.document_id"""
    ).fetchall()
    rng = random.Random(seed)
    docs = [
        (Doc("", "", url, document_id=doc_id, evidence=evidence, version_id=version,
             text_sha256=text, raw_sha256=raw), last)
        for doc_id, url, evidence, last, version, text, raw in rows
    ]  # fmt: skip
    written = 0
    # named after the checks before them: a history timed again (--reuse) gets new names
    before = conn.execute("SELECT coalesce(max(check_id), 0) FROM check_store").fetchone()[0]
    for r in range(1, rounds + 1):
        crawl = f"scale-more-{seed}-{before}-{r}"
        conn.execute("INSERT INTO crawls (crawl_id, user_agent) VALUES (%s, %s)", (crawl, AGENT))
        batch: list[tuple] = []
        seen: dict[int, datetime] = {}
        for doc, last in docs:
            version_id = doc.version_id
            when = last + timedelta(hours=12 * r)
            failed = rng.randrange(FAIL_EVERY) == 0
            batch.append(bulk_row(doc, when, crawl, failed))
            if not failed:
                seen[version_id] = when
        write_bulk(conn, batch, seen)
        written += len(batch)
    return written
