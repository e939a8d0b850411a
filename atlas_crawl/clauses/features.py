"""The features the learned classifier reads: hashed word 1-2 grams and character 2-5
grams (inside word boundaries), TF-IDF weighted. Hashing keeps the shipped model free
of vocabularies; only the IDF of the features seen in training is stored.

Words and characters are two blocks, each normalized on its own: normalized together,
the hundreds of character n-grams of a sentence drowned its few words (model 1 lost
0.08 macro-F1 in English to that alone). A feature seen in fewer than two training
sentences weighs nothing, as one a vocabulary with min_df 2 would not know."""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

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


def word_indices(grams: list[str]) -> np.ndarray:
    """The column of each word n-gram, as the word hasher places it (MurmurHash3)."""
    return np.array([abs(murmurhash3_32(g, seed=0)) % WORD_FEATURES for g in grams],
                    dtype=np.int64)  # fmt: skip


def counts(texts: list[str]) -> sparse.csr_matrix:
    words, chars = hashers()
    return sparse.hstack([words.transform(texts), chars.transform(texts)]).tocsr()


def idf_of(counted: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed IDF as scikit-learn's TfidfTransformer computes it, for the features
    seen in two training sentences or more: (indices, values)."""
    documents = counted.shape[0]
    df = np.bincount(counted.indices, minlength=counted.shape[1])
    kept = np.flatnonzero(df >= 2)
    idf = np.log((1 + documents) / (1 + df[kept])) + 1
    return kept.astype(np.int32), idf.astype(np.float32)


def idf_vector(indices: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.zeros(WORD_FEATURES + CHAR_FEATURES, dtype=np.float32)
    out[indices] = values
    return out


def weigh(counted: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF times IDF; the word block and the character block of each row are
    L2-normalized each on its own."""
    x = counted.astype(np.float32).tocsr(copy=True)
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]  # no broadcast temporaries
    x.eliminate_zeros()  # features the training did not keep
    squares = x.data * x.data
    is_word = x.indices < WORD_FEATURES
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    word_norm = np.sqrt(np.bincount(rows[is_word], squares[is_word], x.shape[0]))
    char_norm = np.sqrt(np.bincount(rows[~is_word], squares[~is_word], x.shape[0]))
    word_norm[word_norm == 0] = 1.0
    char_norm[char_norm == 0] = 1.0
    x.data /= np.where(is_word, word_norm[rows], char_norm[rows]).astype(np.float32)
    return x
