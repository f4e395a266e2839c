"""Offline ranking metrics for one user's list, as pure functions (no Spark).

The DAG computes the same quantities with Spark (watchhouse.eval.spark_metrics);
tests check the two agree. Conventions (docs/evaluation.md):

- ranks start at 1; a list is the items in rank order, `relevant` the items the
  user engaged with in the next batch;
- precision@k divides by k, even when the list is shorter than k;
- MAP@k: sum over relevant hits at rank i <= k of precision@i, divided by
  min(k, |relevant|);
- NDCG@k: DCG = sum over i <= k of gain_i / log2(i + 1); the ideal DCG puts the
  largest gains first; binary NDCG uses gain 1 for every relevant item;
- MRR@k: 1 / rank of the first relevant item within k, else 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k={k}: cut-offs start at 1")


def hits_at_k(ranked: Sequence, relevant: set, k: int) -> int:
    _check_k(k)
    return sum(1 for item in ranked[:k] if item in relevant)


def hit_rate_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    return 1.0 if hits_at_k(ranked, relevant, k) > 0 else 0.0


def precision_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    return hits_at_k(ranked, relevant, k) / k


def recall_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    if not relevant:
        raise ValueError("recall needs at least one relevant item: evaluate only users with one")
    return hits_at_k(ranked, relevant, k) / len(relevant)


def average_precision_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    if not relevant:
        raise ValueError("average precision needs at least one relevant item")
    _check_k(k)
    total, hits = 0.0, 0
    for i, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            hits += 1
            total += hits / i
    return total / min(k, len(relevant))


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    _check_k(k)
    return sum(g / math.log2(i + 1) for i, g in enumerate(gains[:k], start=1))


def ndcg_at_k(ranked: Sequence, gains: Mapping, k: int) -> float:
    """Graded NDCG: `gains` maps each relevant item to its gain (> 0)."""
    if not gains:
        raise ValueError("NDCG needs at least one relevant item")
    actual = dcg_at_k([float(gains.get(item, 0.0)) for item in ranked], k)
    ideal = dcg_at_k(sorted((float(g) for g in gains.values()), reverse=True), k)
    return actual / ideal


def binary_ndcg_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    return ndcg_at_k(ranked, dict.fromkeys(relevant, 1.0), k)


def reciprocal_rank_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    _check_k(k)
    for i, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / i
    return 0.0


def coverage_at_k(lists: Mapping[str, Sequence], catalogue_size: int, k: int) -> float:
    """Distinct items in anyone's top k / items that could have been recommended."""
    _check_k(k)
    if catalogue_size < 1:
        raise ValueError(f"catalogue_size={catalogue_size}: need at least one item")
    return len({item for ranked in lists.values() for item in ranked[:k]}) / catalogue_size


def novelty_at_k(ranked: Sequence, popularity: Mapping, users: int, k: int) -> float:
    """Mean self-information -log2(p) of the top k, p = share of users who engaged with
    the item before the batch (an item nobody engaged with counts as one user)."""
    _check_k(k)
    top = ranked[:k]
    if not top:
        raise ValueError("novelty of an empty list is undefined")
    return sum(-math.log2(max(popularity.get(item, 0), 1) / users) for item in top) / len(top)
