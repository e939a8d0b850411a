"""Rebuild the shipped clause model from the labelled corpora (CLAUDETTE):

    .venv/bin/python -m atlas_crawl.clauses.train [../shared/corpus/clauses]
        [--extra ../shared/corpus/clauses-en-extra]

One model for every language of the corpus (English, German, Italian, Polish): the
character n-grams let it read related words in other languages too. Model 4 also learns
English from the 41 Terms of Service of the original CLAUDETTE corpus (``--extra``),
which are not annotated for ``pinc``: the privacy-included heads never learn from them.
Each head keeps its strongest weights only, so the model stays a few MB.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.svm import LinearSVC

from atlas_crawl.clauses.features import counts, idf_of, idf_vector, weigh
from atlas_crawl.clauses.model import CLAUDETTE_TYPES, GATE_HEAD, ClauseModel

# 2: word and character blocks normalized apart; 3: the unfair gate; 4: the extra English
MODEL_VERSION = "4"
LANGUAGES = ("en", "de", "it", "pl")
KEEP_WEIGHTS = 30_000  # per head: the strongest, by magnitude
REGULARIZATION = 0.1  # LinearSVC's C, class-balanced
# The gate (a head trained on "unfair at all") lets a type's unfair head count only
# where the gate's score is above minus this margin: a second opinion that removes some
# false positives of single types. Chosen on the 5 folds by document of
# bench/clause_accuracy.py (exploratory scores of the same heads): margins 0.25 and 0.5
# raised macro-F1 in every language by 0.002-0.015 over no gate; margin 0 cost German
# 0.009 (docs/BENCHMARKS.md, clause types).
GATE_MARGIN = 0.25
ATTRIBUTION = (
    "Trained on the CLAUDETTE multilingual corpus (Galassi, Lagioia, Jablonowska, Lippi, "
    "Artificial Intelligence and Law 2024, doi:10.1007/s10506-024-09398-7; "
    "github.com/nlp-unibo/Multilingual-Unfair-Clause-Detection), CC BY 4.0"
)
EXTRA_ATTRIBUTION = (
    "and on the English CLAUDETTE corpus (Lippi, Pałka, Contissa, Lagioia, Micklitz, Sartor, "
    "Torroni, Artificial Intelligence and Law 27, 117-139, 2019, doi:10.1007/s10506-019-09243-2; "
    "also LexGLUE's UNFAIR-ToS, Chalkidis et al., ACL 2022, CC BY 4.0)"
)
# The source of the sentences no one annotated for "privacy included".
EXTRA = "en-extra"
_TAG = re.compile(r"^([a-z]+)(\d)$")


def load_corpus(folder: Path, languages: Sequence[str] = LANGUAGES) -> list[dict]:
    rows = []
    for lang in languages:
        path = folder / f"{lang}.jsonl"
        if path.exists():
            rows += [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    if not rows:
        raise FileNotFoundError(f"no labelled sentences in {folder} (en.jsonl, de.jsonl, ...)")
    return rows


def load_extra(folder: Path) -> list[dict]:
    """The extra English corpus, each row marked as its source (no ``pinc`` labels)."""
    path = folder / "en.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"no labelled sentences in {folder} (en.jsonl)")
    return [{**json.loads(line), "source": EXTRA} for line in path.read_text("utf-8").splitlines()]


def service(row: dict) -> str:
    """The service a sentence's document is of: the two corpora hold versions of the same
    17 services under the same names (TripAdvisor, Tripadvisor), which must share a fold."""
    return str(row["doc"]).lower()


def levels(rows: Sequence[dict]) -> dict[str, np.ndarray]:
    """Per clause type, each sentence's level: 0 (untagged) or the tagged 1, 2 or 3."""
    out = {clause: np.zeros(len(rows), dtype=np.int8) for clause in CLAUDETTE_TYPES.values()}
    for i, row in enumerate(rows):
        for tag in row["tags"]:
            found = _TAG.match(tag)
            if found and found.group(1) in CLAUDETTE_TYPES:
                clause = CLAUDETTE_TYPES[found.group(1)]
                out[clause][i] = max(out[clause][i], int(found.group(2)))
    return out


def _head(x: sparse.csr_matrix, y: np.ndarray) -> tuple[np.ndarray, float] | None:
    if len(y) and y.all():
        # Every example is positive (the corpus tags all its jurisdiction clauses
        # "clearly unfair"): a head that always fires.
        return np.zeros(x.shape[1], dtype=np.float32), 1.0
    if y.sum() < 2 or (1 - y).sum() < 2:
        return None
    svm = LinearSVC(C=REGULARIZATION, class_weight="balanced", max_iter=5000)
    svm.fit(x, y)
    w = svm.coef_.ravel().astype(np.float32)
    if np.count_nonzero(w) > KEEP_WEIGHTS:
        cut = np.partition(np.abs(w), -KEEP_WEIGHTS)[-KEEP_WEIGHTS]
        w[np.abs(w) < cut] = 0.0
    return w, float(svm.intercept_[0])


def fit(rows: Sequence[dict]) -> ClauseModel:
    counted = counts([r["text"] for r in rows])
    idf_indices, idf_values = idf_of(counted)
    x = weigh(counted, idf_vector(idf_indices, idf_values))
    heads, columns, intercepts = [], [], []
    by_type = levels(rows)
    gate = _head(x, (np.max(np.stack(list(by_type.values())), axis=0) >= 2).astype(np.int8))
    if gate is not None:
        heads.append(GATE_HEAD)
        columns.append(gate[0])
        intercepts.append(gate[1] + GATE_MARGIN)
    annotated_pinc = np.array([r.get("source") != EXTRA for r in rows])
    for clause, level in by_type.items():
        xs_all = x
        if clause == "privacy-included" and not annotated_pinc.all():
            # Untagged there is no evidence: learn pinc from the annotated sentences only.
            xs_all, level = x[np.flatnonzero(annotated_pinc)], level[annotated_pinc]
        unfair = (level >= 2).astype(np.int8)
        wanted = [("unfair", xs_all, unfair), ("fair", xs_all, (level == 1).astype(np.int8))]
        positives = np.flatnonzero(unfair)
        wanted.append(("high", xs_all[positives], (level[positives] == 3).astype(np.int8)))
        for name, xs, y in wanted:
            made = _head(xs, y)
            if made is not None:
                heads.append(f"{clause}:{name}")
                columns.append(made[0])
                intercepts.append(made[1])
    weights = sparse.csr_matrix(np.vstack(columns).T)
    meta = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sentences": len(rows),
        "languages": sorted({r["lang"] for r in rows}),
        "documents": len({(r.get("source"), r["doc"]) for r in rows}),
        "attribution": ATTRIBUTION
        + (f", {EXTRA_ATTRIBUTION}." if any(r.get("source") == EXTRA for r in rows) else "."),
        "_idf_indices": idf_indices,
        "_idf_values": idf_values.astype(np.float16),
    }
    return ClauseModel(MODEL_VERSION, heads, weights, np.array(intercepts, dtype=np.float32),
                       idf_vector(idf_indices, idf_values), meta)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description="rebuild the shipped clause model")
    here = Path(__file__).resolve()
    parser.add_argument("corpus", nargs="?", type=Path,
                        default=here.parents[2].parent / "shared/corpus/clauses")  # fmt: skip
    parser.add_argument(
        "--extra",
        type=Path,
        default=here.parents[2].parent / "shared/corpus/clauses-en-extra",
        help="the extra English corpus (no pinc labels); 'none' leaves it out",
    )
    parser.add_argument("--out", type=Path, default=here.parent / "model.npz")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = load_corpus(args.corpus)
    if str(args.extra) != "none":
        rows += load_extra(args.extra)
    model = fit(rows)
    model.save(str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {len(model.heads)} heads)"
          f" in {time.perf_counter() - started:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
