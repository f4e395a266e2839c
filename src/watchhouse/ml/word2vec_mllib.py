"""Cross-check of item2vec against Spark MLlib's Word2Vec (skip-gram with hierarchical softmax, Mikolov et al.
2013) on the same sequences, plus the neighbour-based comparisons both use."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from watchhouse.ml.item2vec import _check_int, neighbours

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def mllib_embeddings(
    sequences: DataFrame,
    dim: int,
    window: int,
    seed: int,
    max_iter: int = 5,
    min_count: int = 1,
    num_partitions: int = 1,
) -> tuple[list[str], np.ndarray]:
    """Fit ``pyspark.ml.feature.Word2Vec`` on column ``items`` (array<string>) of ``sequences``; returns
    (ids sorted ascending, vectors float32 [n_ids, dim] in the same order). One partition keeps it deterministic
    for a fixed seed."""
    from pyspark.ml.feature import Word2Vec

    for name, value, minimum in (
        ("dim", dim, 1), ("window", window, 1), ("max_iter", max_iter, 1),
        ("min_count", min_count, 0), ("num_partitions", num_partitions, 1),
    ):  # fmt: skip
        _check_int(name, value, minimum)
    if "items" not in sequences.columns:
        raise ValueError(f"sequences must have an array<string> column 'items', got columns {sequences.columns}")
    model = Word2Vec(
        vectorSize=dim, windowSize=window, seed=seed, maxIter=max_iter, minCount=min_count,
        numPartitions=num_partitions, inputCol="items", outputCol="_w2v_vector",
    ).fit(sequences.select("items"))  # fmt: skip
    rows = sorted((r["word"], r["vector"].toArray()) for r in model.getVectors().collect())
    if not rows:
        return [], np.empty((0, dim), np.float32)
    return [w for w, _ in rows], np.stack([v for _, v in rows]).astype(np.float32)


def neighbour_agreement(emb_a: np.ndarray, emb_b: np.ndarray, k: int) -> float:
    """Mean over items of |top-k cosine neighbours under a ∩ those under b| / k (rows are the same items in the
    same order). Two unrelated embeddings of n items agree about k / (n - 1) in expectation."""
    emb_a, emb_b = np.asarray(emb_a), np.asarray(emb_b)
    if emb_a.ndim != 2 or emb_b.ndim != 2 or emb_a.shape[0] != emb_b.shape[0]:
        raise ValueError(f"emb_a and emb_b must be 2-D with the same rows, got shapes {emb_a.shape} and {emb_b.shape}")
    items = np.arange(emb_a.shape[0])
    nb_a, _ = neighbours(emb_a, items, k)
    nb_b, _ = neighbours(emb_b, items, k)
    # |A ∩ B| per row, vectorised: shift row r's ids by r * n so one flat membership test stays within rows.
    shift = (np.arange(nb_a.shape[0], dtype=np.int64) * emb_a.shape[0])[:, None]
    hit = np.isin(nb_a + shift, (nb_b + shift).ravel())
    return float(hit.sum(axis=1).mean() / k)


def cluster_purity(emb: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean share of each item's top-k cosine neighbours that carry the item's own label."""
    emb, labels = np.asarray(emb), np.asarray(labels)
    if labels.ndim != 1 or emb.ndim != 2 or labels.size != emb.shape[0]:
        raise ValueError(f"labels must be 1-D with one entry per row of emb, got {labels.shape} for emb {emb.shape}")
    nb, _ = neighbours(emb, np.arange(emb.shape[0]), k)
    return float((labels[nb] == labels[:, None]).mean())
