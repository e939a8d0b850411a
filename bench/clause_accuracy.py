"""Clause classification measured on the labelled corpus, cross-validated by document.

    .venv/bin/python bench/clause_accuracy.py [../shared/corpus/clauses] [--folds 5]

The 35 Terms of Service are split into folds by document name: each fold is scored by a
model trained on the others, in every language at once (a document's translations are
never in training while it is scored). Per language: macro-F1 over the nine CLAUDETTE
types (a type predicted when found at medium or high severity, true when tagged level 2
or 3) and F1 of "unfair at all", for the shipped classifier (atlas_crawl.clauses, with
its training recipe) and, in the same run, the reference: TF-IDF word 1-2 grams and one
class-balanced linear SVM per type, trained on the language alone. Then the speed of
classifying sentences on one core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.svm import LinearSVC

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from atlas_crawl.clauses.classify import classify  # noqa: E402
from atlas_crawl.clauses.model import CLAUDETTE_TYPES  # noqa: E402
from atlas_crawl.clauses.train import LANGUAGES, fit, levels, load_corpus  # noqa: E402

TYPES = list(CLAUDETTE_TYPES.values())


def truth(rows: list[dict]) -> np.ndarray:
    lv = levels(rows)
    return np.stack([(lv[t] >= 2).astype(int) for t in TYPES], axis=1)


def reference(train: list[dict], test: list[dict]) -> np.ndarray:
    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    x_train = vectorizer.fit_transform([r["text"] for r in train])
    x_test = vectorizer.transform([r["text"] for r in test])
    y = truth(train)
    out = np.zeros((len(test), len(TYPES)), dtype=int)
    for k in range(len(TYPES)):
        if y[:, k].sum():
            out[:, k] = LinearSVC(class_weight="balanced").fit(x_train, y[:, k]).predict(x_test)
    return out


def ours(train: list[dict], test: list[dict]) -> np.ndarray:
    """The shipped path (sentences, the prose guard, the model) with a fold's model."""
    model = fit(train)
    found = classify([r["text"] for r in test], [r["lang"] for r in test], model=model)
    out = np.zeros((len(test), len(TYPES)), dtype=int)
    for i, findings in enumerate(found):
        for f in findings:
            if f.type in TYPES and f.severity in ("medium", "high"):
                out[i, TYPES.index(f.type)] = 1
    return out


def scores(y: np.ndarray, p: np.ndarray) -> dict:
    per_type = [f1_score(y[:, k], p[:, k], zero_division=0) for k in range(len(TYPES))]
    return {
        "macro_f1": round(float(np.mean(per_type)), 3),
        "unfair_f1": round(float(f1_score(y.max(1), p.max(1), zero_division=0)), 3),
        "per_type": {t: round(float(v), 2) for t, v in zip(TYPES, per_type, strict=True)},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path,
                        default=ROOT.parent / "shared/corpus/clauses")  # fmt: skip
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    rows = load_corpus(args.corpus)
    documents = sorted({r["doc"] for r in rows})
    folds = [set(documents[i :: args.folds]) for i in range(args.folds)]
    ours_p = np.zeros((len(rows), len(TYPES)), dtype=int)
    ref_p = np.zeros_like(ours_p)
    started = time.perf_counter()
    for held_out in folds:
        test_at = [i for i, r in enumerate(rows) if r["doc"] in held_out]
        train = [r for r in rows if r["doc"] not in held_out]
        ours_p[test_at] = ours(train, [rows[i] for i in test_at])
        for lang in LANGUAGES:
            at = [i for i in test_at if rows[i]["lang"] == lang]
            ref_p[at] = reference([r for r in train if r["lang"] == lang], [rows[i] for i in at])
    y = truth(rows)
    result: dict = {"sentences": len(rows), "documents": len(documents), "folds": args.folds,
                    "seconds": round(time.perf_counter() - started)}  # fmt: skip
    for lang in LANGUAGES:
        at = [i for i, r in enumerate(rows) if r["lang"] == lang]
        mine, ref = scores(y[at], ours_p[at]), scores(y[at], ref_p[at])
        result[lang] = {"atlas": mine, "reference": ref,
                        "macro_f1_gain": round(mine["macro_f1"] - ref["macro_f1"], 3)}  # fmt: skip
    sample = [r["text"] for r in rows[:5000]]
    started = time.perf_counter()
    classify(sample, ["en"] * len(sample))
    result["sentences_per_second_one_core"] = round(len(sample) / (time.perf_counter() - started))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
