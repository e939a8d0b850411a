"""The features the learned classifier reads: hashed word 1-2 grams and character 2-5
grams (inside word boundaries), TF-IDF weighted. Hashing keeps the shipped model free
of vocabularies; only the IDF of the features seen in training is stored."""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

WORD_FEATURES = 2**20
CHAR_FEATURES = 2**20


@cache  # stateless: one pair serves every call
def hashers() -> tuple[HashingVectorizer, HashingVectorizer]:
    common = {"alternate_sign": False, "norm": None, "lowercase": True}
    words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=WORD_FEATURES,
                              **common)  # fmt: skip
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5),
                              n_features=CHAR_FEATURES, **common)  # fmt: skip
    return words, chars


def counts(texts: list[str]) -> sparse.csr_matrix:
    words, chars = hashers()
    return sparse.hstack([words.transform(texts), chars.transform(texts)]).tocsr()


def idf_of(counted: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray, float]:
    """Smoothed IDF as scikit-learn's TfidfTransformer computes it, kept for features
    seen twice or more: (indices, values, the IDF of every other feature). A feature
    seen once has the rarest IDF; an unseen one is taken as just as rare."""
    documents = counted.shape[0]
    df = np.bincount(counted.indices, minlength=counted.shape[1])
    kept = np.flatnonzero(df >= 2)
    idf = np.log((1 + documents) / (1 + df[kept])) + 1
    return kept.astype(np.int32), idf.astype(np.float32), float(np.log((1 + documents) / 2) + 1)


def idf_vector(indices: np.ndarray, values: np.ndarray, rare: float) -> np.ndarray:
    out = np.full(WORD_FEATURES + CHAR_FEATURES, rare, dtype=np.float32)
    out[indices] = values
    return out


def weigh(counted: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF times IDF, each row L2-normalized (words and characters together)."""
    x = counted.astype(np.float32).tocsr(copy=True)
    x.data = 1.0 + np.log(x.data)
    x = x.multiply(idf).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ x
