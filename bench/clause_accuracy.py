"""Clause classification measured on the labelled corpora, cross-validated by service.

    .venv/bin/python bench/clause_accuracy.py [../shared/corpus/clauses]
        [--extra ../shared/corpus/clauses-en-extra | --extra none] [--folds 5]

The services of both corpora (the 35 multilingual Terms of Service and the 41 extra
English ones; 17 services are in both, as older versions) are split into folds: each
fold is scored by models trained on the other folds, every language of a service and
every version of it held out together. Per language, on the 35's sentences: macro-F1
over the nine CLAUDETTE types (a type predicted when found at medium or high severity,
true when tagged level 2 or 3) and F1 of "unfair at all", for the shipped classifier
(atlas_crawl.clauses, its training recipe) and the reference (TF-IDF word 1-2 grams, one
class-balanced linear SVM per type, trained on the language alone). English is scored
four ways, so that what the model adds and what the data adds are told apart: each of
the two trained on the 35 alone and on both corpora (the other languages: the model
both ways). The extra corpus's held-out
sentences are scored too, over eight types (it has no pinc labels). Then the speed of
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
from atlas_crawl.clauses.train import (  # noqa: E402
    EXTRA,
    LANGUAGES,
    fit,
    levels,
    load_corpus,
    load_extra,
    service,
)

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


def scores(y: np.ndarray, p: np.ndarray, types: list[str] = TYPES) -> dict:
    ks = [TYPES.index(t) for t in types]
    per_type = [f1_score(y[:, k], p[:, k], zero_division=0) for k in ks]
    return {
        "macro_f1": round(float(np.mean(per_type)), 3),
        "unfair_f1": round(float(f1_score(y[:, ks].max(1), p[:, ks].max(1), zero_division=0)), 3),
        "per_type": {t: round(float(v), 2) for t, v in zip(types, per_type, strict=True)},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path,
                        default=ROOT.parent / "shared/corpus/clauses")  # fmt: skip
    parser.add_argument("--extra", default=str(ROOT.parent / "shared/corpus/clauses-en-extra"))
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    rows = load_corpus(args.corpus)
    shared_count = len(rows)
    if args.extra != "none":
        rows += load_extra(Path(args.extra))
    services = sorted({service(r) for r in rows})
    folds = [set(services[i :: args.folds]) for i in range(args.folds)]
    shared = np.array([r.get("source") != EXTRA for r in rows])
    y = truth(rows)
    p = {name: np.zeros_like(y) for name in ("atlas", "atlas_35", "ref", "ref_35")}
    started = time.perf_counter()
    for held_out in folds:
        test_at = [i for i, r in enumerate(rows) if service(r) in held_out]
        train = [r for r in rows if service(r) not in held_out]
        train_35 = [r for r in train if r.get("source") != EXTRA]
        p["atlas"][test_at] = ours(train, [rows[i] for i in test_at])
        en_35 = [i for i in test_at if shared[i] and rows[i]["lang"] == "en"]
        of_35 = [i for i in test_at if shared[i]]
        if len(train_35) < len(train):
            p["atlas_35"][of_35] = ours(train_35, [rows[i] for i in of_35])
        for lang in LANGUAGES:
            at = [i for i in test_at if rows[i]["lang"] == lang]
            in_lang = [r for r in train if r["lang"] == lang]
            p["ref"][at] = reference(in_lang, [rows[i] for i in at])
            if lang == "en" and len(train_35) < len(train):
                p["ref_35"][en_35] = reference([r for r in train_35 if r["lang"] == "en"],
                                               [rows[i] for i in en_35])  # fmt: skip
    result: dict = {"sentences": len(rows), "of_the_35": shared_count,
                    "services": len(services), "folds": args.folds,
                    "seconds": round(time.perf_counter() - started)}  # fmt: skip
    for lang in LANGUAGES:
        at = [i for i, r in enumerate(rows) if r["lang"] == lang and shared[i]]
        mine, ref = scores(y[at], p["atlas"][at]), scores(y[at], p["ref"][at])
        result[lang] = {"atlas": mine, "reference": ref,
                        "macro_f1_gain": round(mine["macro_f1"] - ref["macro_f1"], 3)}  # fmt: skip
        if shared_count < len(rows):
            result[lang]["atlas_on_the_35_alone"] = scores(y[at], p["atlas_35"][at])
        if lang == "en" and shared_count < len(rows):
            result[lang]["reference_on_the_35_alone"] = scores(y[at], p["ref_35"][at])
    extra = [i for i in range(len(rows)) if not shared[i]]
    if extra:
        eight = [t for t in TYPES if t != "privacy-included"]
        result["en_extra_eight_types"] = {
            "atlas": scores(y[extra], p["atlas"][extra], eight),
            "reference": scores(y[extra], p["ref"][extra], eight),
        }
    sample = [r["text"] for r in rows[:5000]]
    started = time.perf_counter()
    classify(sample, ["en"] * len(sample))
    result["sentences_per_second_one_core"] = round(len(sample) / (time.perf_counter() - started))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
