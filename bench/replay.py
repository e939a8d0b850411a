"""Replay a labelled corpus (``shared/corpus`` format) through ``scrapy crawl declarations``.

Each round serves the next capture of every document from 127.0.0.1, with the capture's
own time as ``Memento-Datetime`` (so the declaration history in force then applies),
and runs one real crawl. The checks recorded are then scored against the labels.

    python bench/replay.py [CORPUS_DIR]      # default ../shared/corpus/demo
    python bench/replay.py CORPUS_DIR --score-database=URL   # score a replayed database

Uses ATLAS_DATABASE_URL when set (the database is emptied first!), else a fresh
database on the local server or the embedded one.
"""

from __future__ import annotations

import difflib
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import psycopg

from atlas_crawl.demo.localsite import LocalSite

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Sample:
    service: str
    terms_type: str
    index: int
    label: str
    captured_at: datetime
    file: Path
    reference: Path | None  # the archive's own extraction (None where it made none)


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"[#*_>|`\\]+|^\s*(?:[-+]|\d+\.)\s", re.M)


def words(markdown: str) -> list[str]:
    """The words of a Markdown text, without link targets and markup."""
    return _MARKUP.sub(" ", _LINK.sub(r"\1", markdown)).lower().split()


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, words(a), words(b), autojunk=False).ratio()


@dataclass
class ReplayResult:
    samples: list[Sample]
    outcomes: dict[tuple[str, str, int], tuple[str, str | None]]  # -> (outcome, reason)
    seconds: float
    rounds: int
    texts: dict[tuple[str, str, int], str] = field(default_factory=dict)  # text after a check

    def text_agreement(self) -> float:
        """Mean word-level similarity of our text with the reference extraction."""
        cache: dict[tuple[int, Path], float] = {}
        scores = []
        for s in self.samples:
            text = self.texts.get((s.service, s.terms_type, s.index))
            if text is None or s.reference is None:
                continue
            key = (hash(text), s.reference)
            if key not in cache:
                cache[key] = similarity(text, s.reference.read_text())
            scores.append(cache[key])
        return sum(scores) / max(1, len(scores))

    def score(self, excluded: set[tuple[str, str, int]] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
        scored = {k: v[0] for k, v in self.outcomes.items()}
        return {**score_outcomes(self.samples, scored, excluded),
                "text_agreement": round(self.text_agreement(), 4)}  # fmt: skip


def score_outcomes(
    samples: list[Sample],
    outcomes: dict[tuple[str, str, int], str],
    excluded: set[tuple[str, str, int]] = frozenset(),  # type: ignore[assignment]
) -> dict[str, Any]:
    """Precision, recall, false changes and failed checks of outcomes against labels."""
    by_label: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in samples:
        key = (s.service, s.terms_type, s.index)
        if key in excluded:
            continue
        by_label[s.label][outcomes[key]] += 1
    change, same = by_label["change"], by_label["same"]
    found = change["changed"]
    false = same["changed"]
    failed = sum(v["failed"] for v in by_label.values())
    flagged = sum(v["changed"] for k, v in by_label.items() if k in ("change", "same"))
    return {
        "changes": sum(change.values()),
        "changes_found": found,
        "recall": found / max(1, sum(change.values())),
        "same": sum(same.values()),
        "false_changes": false,
        "false_change_rate": false / max(1, sum(same.values())),
        "precision": found / max(1, flagged),
        "failed_checks": failed,
        "by_label": {k: dict(v) for k, v in by_label.items()},
    }


def peer_outcomes(corpus: Path, samples: list[Sample]) -> dict[tuple[str, str, int], str] | None:
    """The peer's own result per capture (``ota_extractor_rows.jsonl``, where the corpus
    has it) as outcomes: an error is a failed check, a text is compared with the peer's
    previous text of the document, as a tracker would."""
    rows_file = corpus / "ota_extractor_rows.jsonl"
    if not rows_file.exists():
        return None
    rows = {}
    for line in rows_file.read_text().splitlines():
        row = json.loads(line)
        rows[(row["service"], row["terms_type"], row["index"])] = row
    outcomes: dict[tuple[str, str, int], str] = {}
    last: dict[tuple[str, str], str] = {}
    for s in sorted(samples, key=lambda x: (x.service, x.terms_type, x.index)):
        key, doc = (s.service, s.terms_type, s.index), (s.service, s.terms_type)
        row = rows.get(key, {})
        if "sha256" not in row:
            outcomes[key] = "failed"
        elif doc not in last:
            outcomes[key] = "first"
        else:
            outcomes[key] = "unchanged" if last[doc] == row["sha256"] else "changed"
        if "sha256" in row:
            last[doc] = row["sha256"]
    return outcomes


def load_samples(corpus: Path) -> list[Sample]:
    samples = []
    for line in (corpus / "manifest.jsonl").read_text().splitlines():
        row = json.loads(line)
        samples.append(
            Sample(
                row["service"],
                row["terms_type"],
                row["index"],
                row["label"],
                datetime.fromisoformat(row["captured_at"]),
                corpus / row["file"],
                corpus / row["reference_version"] if row.get("reference_version") else None,
            )
        )
    return samples


def _path(service: str, terms_type: str) -> str:
    return f"/{quote(service)}/{quote(terms_type)}"


def _localize(declarations: Path, out: Path, base: str, keep: set[tuple[str, str]]) -> None:
    """Copy the declarations for the documents in ``keep``, fetching from the replayer."""
    out.mkdir(parents=True, exist_ok=True)
    for file in declarations.glob("*.json"):
        if file.name.endswith(".history.json"):
            continue
        data = json.loads(file.read_text())
        # The corpus names a service by its file (the declared name may be spelt
        # otherwise: "LibHéros" in LibHeros.json); the replay names it the same way.
        service = file.name[: -len(".json")]
        terms = {}
        for terms_type, decl in data["terms"].items():
            if (service, terms_type) not in keep:
                continue
            decl = dict(decl)
            # Fetched from the replayer, read as the document at its own address.
            decl["location"] = decl.get("fetch") or decl["combine"][0]["fetch"]
            decl.pop("combine", None)
            decl["fetch"] = base + _path(service, terms_type)
            terms[terms_type] = decl
        if not terms:
            continue
        (out / file.name).write_text(json.dumps({"name": service, "terms": terms}))
        filters = file.with_name(file.name[: -len(".json")] + ".filters.js")
        if filters.exists():
            (out / filters.name).write_text(filters.read_text())
        history = file.with_name(file.name[:-5] + ".history.json")
        if history.exists():
            old = json.loads(history.read_text())
            for terms_type, entries in old.items():
                for entry in entries:
                    entry["location"] = entry.get("fetch") or entry["combine"][0]["fetch"]
                    entry.pop("combine", None)
                    entry["fetch"] = base + _path(service, terms_type)
            (out / history.name).write_text(json.dumps(old))


def _fresh_database() -> str:
    url = os.environ.get("ATLAS_DATABASE_URL")
    if url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        return url
    sys.path.insert(0, str(ROOT))
    from atlas_crawl.config import project_settings
    from atlas_crawl.storage.database import data_dir, embedded_url

    try:
        admin = "postgresql://postgres@127.0.0.1:5432/postgres"
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.OperationalError:
        admin = embedded_url(data_dir(project_settings()), "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS atlas_replay WITH (FORCE)")
        conn.execute("CREATE DATABASE atlas_replay")
    return psycopg.conninfo.make_conninfo(admin, dbname="atlas_replay")


def replay(corpus: Path, db_url: str, workdir: Path, log: Any = None) -> ReplayResult:
    samples = load_samples(corpus)
    per_doc: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in samples:
        per_doc[(s.service, s.terms_type)].append(s)
    rounds = max(len(v) for v in per_doc.values())
    replayer = LocalSite()
    env = {**os.environ, "ATLAS_DATABASE_URL": db_url, "ATLAS_ROBOTSTXT_OBEY": "0"}
    started = time.perf_counter()
    try:
        for k in range(rounds):
            present = {doc: items[k] for doc, items in per_doc.items() if k < len(items)}
            for (service, terms_type), s in present.items():
                body = gzip.decompress(s.file.read_bytes())
                replayer.serve(
                    unquote(_path(service, terms_type)),
                    body,
                    Content_Type="application/pdf" if body[:5] == b"%PDF-" else "text/html",
                    Memento_Datetime=format_datetime(s.captured_at, True),
                )
            folder = workdir / f"round-{k:03d}"
            _localize(corpus / "declarations", folder, replayer.base, set(present))
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "scrapy",
                    "crawl",
                    "declarations",
                    "-a",
                    f"path={folder}",
                    "-s",
                    "LOG_LEVEL=WARNING",
                    # A capture that is a meta-refresh page would send the crawler to the
                    # live site: a replay reads the capture as it is.
                    "-s",
                    "METAREFRESH_ENABLED=0",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"round {k} failed:\n{proc.stdout}\n{proc.stderr}")
            if log:
                log(f"round {k + 1}/{rounds}: {len(present)} documents")
    finally:
        replayer.close()
    seconds = time.perf_counter() - started
    outcomes, texts = read_outcomes(db_url, per_doc)
    return ReplayResult(samples, outcomes, seconds, rounds, texts)


def read_outcomes(
    db_url: str, per_doc: dict[tuple[str, str], list[Sample]]
) -> tuple[dict[tuple[str, str, int], tuple[str, str | None]], dict[tuple[str, str, int], str]]:
    """Each sample's outcome (and text) from a replayed database. Round k is the k-th
    crawl; a sample with no check in its round was never recorded (a check lost to an
    error): it counts as failed."""
    with psycopg.connect(db_url) as conn:
        crawls = [r[0] for r in conn.execute(
            "SELECT crawl_id FROM checks GROUP BY crawl_id ORDER BY min(check_id)")]  # fmt: skip
        # A technical change (new rules, same page) is scored apart from content changes.
        # One sample per document and crawl: its first check (a re-fetch that confirms
        # a new text belongs to the same sample; the first check carries the outcome).
        rows = conn.execute(
            """SELECT DISTINCT ON (k.document_id, k.crawl_id) k.platform, k.document_type,
                      CASE WHEN c.kind = 'technical' THEN 'technical' ELSE k.outcome END,
                      k.failure_reason, k.crawl_id, coalesce(v.text, cv.text)
               FROM document_checks k LEFT JOIN document_changes c USING (check_id)
               LEFT JOIN versions v ON v.version_id = k.version_id
               LEFT JOIN checks nk ON nk.verifies_check_id = k.check_id
               LEFT JOIN versions cv ON cv.version_id = nk.version_id
               ORDER BY k.document_id, k.crawl_id, k.check_id"""
        ).fetchall()
    round_of = {crawl: k for k, crawl in enumerate(crawls)}
    outcomes: dict[tuple[str, str, int], tuple[str, str | None]] = {
        (s.service, s.terms_type, s.index): ("failed", "not recorded")
        for items in per_doc.values()
        for s in items
    }
    texts: dict[tuple[str, str, int], str] = {}
    for platform, doc_type, outcome, reason, crawl, text in rows:
        s = per_doc[(platform, doc_type)][round_of[crawl]]
        outcomes[(s.service, s.terms_type, s.index)] = (outcome, reason)
        if text is not None:
            texts[(s.service, s.terms_type, s.index)] = text
    return outcomes, texts


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--score-database=")]
    corpus = Path(args[0]) if args else ROOT.parent / "shared/corpus/demo"
    scored = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--score-database=")]
    if scored:  # score a database replayed earlier, without crawling again
        samples = load_samples(corpus)
        per_doc: dict[tuple[str, str], list[Sample]] = defaultdict(list)
        for s in samples:
            per_doc[(s.service, s.terms_type)].append(s)
        outcomes, texts = read_outcomes(scored[0], per_doc)
        rounds = max(len(v) for v in per_doc.values())
        result = ReplayResult(samples, outcomes, 0.0, rounds, texts)
    else:
        db_url = _fresh_database()
        with tempfile.TemporaryDirectory(prefix="atlas-replay-") as tmp:
            result = replay(corpus, db_url, Path(tmp), log=lambda m: print(m, file=sys.stderr))
    score = result.score()
    print(
        json.dumps(
            {**score, "seconds": round(result.seconds, 1), "rounds": result.rounds}, indent=2
        )
    )
    audit = ROOT / "tests" / "corpus_audit.json"
    if audit.exists() and corpus.name == "demo":
        sys.path.insert(0, str(ROOT))
        from tests.integration.test_corpus import audited  # checks each entry's evidence first

        adjusted = result.score(audited(result.samples))
        adjusted.pop("by_label")
        print("after the audit of mislabelled samples:", json.dumps(adjusted, indent=2))
    peer = peer_outcomes(corpus, result.samples)
    if peer is not None:
        peer_score = score_outcomes(result.samples, peer)
        peer_score.pop("by_label")
        print("the peer's own extractor on the same captures:", json.dumps(peer_score, indent=2))
        lost = [
            s
            for s in result.samples
            if result.outcomes[(s.service, s.terms_type, s.index)][0] == "failed"
            and peer[(s.service, s.terms_type, s.index)] != "failed"
            and s.reference is not None
        ]
        print(f"failed here where the peer extracted a text the archive kept: {len(lost)}")
        for s in lost:
            reason = result.outcomes[(s.service, s.terms_type, s.index)][1]
            print(f"  {s.label:9} {s.service} / {s.terms_type} #{s.index} {reason or ''}")
    failures: dict[str, int] = defaultdict(int)
    for outcome, reason in result.outcomes.values():
        if outcome == "failed":
            failures[reason or ""] += 1
    print("failed checks by reason:", dict(failures))
    for s in result.samples:
        outcome, reason = result.outcomes[(s.service, s.terms_type, s.index)]
        if (s.label, outcome) in (
            ("change", "unchanged"),
            ("change", "failed"),
            ("same", "changed"),
            ("same", "failed"),
        ):
            print(
                f"  {s.label:6} -> {outcome:9} {s.service} / {s.terms_type} #{s.index} "
                f"{reason or ''}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
