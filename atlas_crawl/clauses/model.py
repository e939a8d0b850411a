"""The learned classifier of the nine CLAUDETTE clause types: linear heads over hashed
TF-IDF features, trained by ``python -m atlas_crawl.clauses.train`` on the labelled
corpus and shipped in the package (``model.npz``, a few MB, no network to load).

Per type, up to three heads: ``unfair`` (tagged level 2 or 3), ``high`` (level 3 rather
than 2, among the unfair) and ``fair`` (level 1, for the types the corpus tags so). A
type is found at ``medium`` or ``high`` when its unfair head fires, at ``low`` when only
its fair head does. Model 3 adds a gate, one head trained on "unfair at all": a type's
unfair head counts only where the gate fires too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from io import BytesIO

import numpy as np
from scipy import sparse

from atlas_crawl.clauses.features import counts, hashers, idf_vector, weigh, word_indices
from atlas_crawl.clauses.rules import Finding

# The corpus's category codes and this project's clause type ids.
CLAUDETTE_TYPES = {
    "a": "arbitration",
    "ch": "unilateral-change",
    "cr": "content-removal",
    "j": "jurisdiction",
    "law": "choice-of-law",
    "ltd": "limitation-of-liability",
    "ter": "unilateral-termination",
    "use": "contract-by-using",
    "pinc": "privacy-included",
}
# The head trained on "any type at level 2 or 3" (models 3 and later).
GATE_HEAD = "any:unfair"


@dataclass
class ClauseModel:
    version: str
    heads: list[str]  # "arbitration:unfair", "arbitration:high", ...
    weights: sparse.csr_matrix  # features x heads, by rows: a text reads its features
    intercepts: np.ndarray
    idf: np.ndarray
    meta: dict

    def scores(self, texts: list[str]) -> np.ndarray:
        if not texts:  # the hashers cannot read an empty batch
            return np.zeros((0, len(self.heads)), dtype=np.float32)
        x = weigh(counts(texts), self.idf)
        product = x @ self.weights
        dense = product.toarray() if sparse.issparse(product) else np.asarray(product)
        return dense + self.intercepts

    def _evidence(self, text: str, head: int) -> str:
        """The word n-grams of ``text`` that pushed this head most (weight times IDF)."""
        words, _ = hashers()
        grams = list(dict.fromkeys(words.build_analyzer()(text)))
        if not grams:
            return ""
        index = word_indices(grams)
        # Only the weights of this text's n-grams, not the head's whole column.
        pushes = self.weights[index, head].toarray().ravel() * self.idf[index]
        ranked = sorted(
            ((float(p), g) for p, g in zip(pushes, grams, strict=True)
             if p > 0 and any(len(w) > 3 for w in g.split())),  # not "we", "you and"
            reverse=True,
        )  # fmt: skip
        chosen: list[str] = []
        for _, gram in ranked:
            if not any(gram in c or c in gram for c in chosen):
                chosen.append(gram)
            if len(chosen) == 3:
                break
        return "; ".join(chosen)

    def find(self, texts: list[str]) -> list[list[Finding]]:
        found: list[list[Finding]] = []
        at = {h: i for i, h in enumerate(self.heads)}
        gate = at.get(GATE_HEAD)
        for text, row in zip(texts, self.scores(texts), strict=True):
            out = []
            opened = gate is None or row[gate] > 0
            for clause in CLAUDETTE_TYPES.values():
                unfair, high, fair = (at.get(f"{clause}:{h}") for h in ("unfair", "high", "fair"))
                if opened and unfair is not None and row[unfair] > 0:
                    severity = "high" if high is not None and row[high] > 0 else "medium"
                    head = unfair
                elif fair is not None and row[fair] > 0:
                    severity, head = "low", fair
                else:
                    continue
                confidence = round(1 / (1 + math.exp(-2 * float(row[head]))), 2)
                out.append(Finding(clause, severity, confidence, self._evidence(text, head)))
            found.append(out)
        return found

    def save(self, path: str) -> None:
        w = self.weights.tocsc()
        np.savez_compressed(
            path,
            data=w.data.astype(np.float16), indices=w.indices.astype(np.int32),
            indptr=w.indptr.astype(np.int64), shape=np.array(w.shape),
            intercepts=self.intercepts.astype(np.float32),
            idf_indices=self.meta.pop("_idf_indices"), idf_values=self.meta.pop("_idf_values"),
            meta=np.frombuffer(json.dumps({**self.meta, "version": self.version,
                                           "heads": self.heads}).encode(), dtype=np.uint8),
        )  # fmt: skip


def load_model(data: bytes) -> ClauseModel:
    npz = np.load(BytesIO(data))
    meta = json.loads(npz["meta"].tobytes().decode())
    weights = sparse.csc_matrix(
        (npz["data"].astype(np.float32), npz["indices"], npz["indptr"]), shape=tuple(npz["shape"])
    ).tocsr()  # once: a product with a CSC matrix converts it on every call
    idf = idf_vector(npz["idf_indices"], npz["idf_values"])
    return ClauseModel(meta["version"], meta["heads"], weights, npz["intercepts"], idf, meta)


@cache
def shipped_model() -> ClauseModel:
    return load_model(resources.files("atlas_crawl.clauses").joinpath("model.npz").read_bytes())
