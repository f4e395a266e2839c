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
- MRR@k: 1 / rank of the first relevant item within k, else 0;
- a list ranks each item once: a list that repeats an item is refused (ValueError), since
  a repeat would count one relevant item twice (recall above 1);
- one list holds one item type: a served list that mixes types is scored per type on its
  own sub-list, re-ranked 1..n (`split_by_type`).

docs/evaluation.md gives each definition next to the reference implementation it matches
(trec_eval through pytrec-eval-terrier, microsoft/recommenders, RecBole).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k={k}: cut-offs start at 1")


def _check_list(ranked: Sequence) -> None:
    if len(set(ranked)) != len(ranked):
        repeated = sorted(str(item) for item, n in Counter(ranked).items() if n > 1)
        raise ValueError(
            f"the list repeats {', '.join(repeated[:5])}: a ranked list holds each item once "
            "(keep each item at its best rank before scoring)"
        )


def split_by_type(ranked: Sequence[tuple[str, object]]) -> dict[str, list]:
    """A mixed list of (item_type, item) in rank order -> {item_type: that type's items in rank
    order}: each type is scored on its own sub-list, whose positions are 1..n within the type."""
    lists: dict[str, list] = {}
    for item_type, item in ranked:
        lists.setdefault(item_type, []).append(item)
    return lists


def hits_at_k(ranked: Sequence, relevant: set, k: int) -> int:
    _check_k(k)
    _check_list(ranked)
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
    _check_list(ranked)
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
    _check_list(ranked)
    actual = dcg_at_k([float(gains.get(item, 0.0)) for item in ranked], k)
    ideal = dcg_at_k(sorted((float(g) for g in gains.values()), reverse=True), k)
    return actual / ideal


def binary_ndcg_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    return ndcg_at_k(ranked, dict.fromkeys(relevant, 1.0), k)


def reciprocal_rank_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    _check_k(k)
    _check_list(ranked)
    for i, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / i
    return 0.0


def coverage_at_k(lists: Mapping[str, Sequence], catalogue_size: int, k: int) -> float:
    """Distinct items in anyone's top k / items that could have been recommended."""
    _check_k(k)
    if catalogue_size < 1:
        raise ValueError(f"catalogue_size={catalogue_size}: need at least one item")
    for ranked in lists.values():
        _check_list(ranked)
    return len({item for ranked in lists.values() for item in ranked[:k]}) / catalogue_size


def novelty_at_k(ranked: Sequence, popularity: Mapping, users: int, k: int) -> float:
    """Mean self-information -log2(p) of the top k, p = share of users who engaged with
    the item before the batch (an item nobody engaged with counts as one user): the
    "discovery" model of Castells, Vargas & Wang (ECIR 2011), an item is known to a random
    user. microsoft/recommenders counts interactions instead (the "choice" model); the two
    agree when every user engaged with an item once and `users` is the number of
    interactions (test_eval_reference ports its fixture that way)."""
    _check_k(k)
    _check_list(ranked)
    top = ranked[:k]
    if not top:
        raise ValueError("novelty of an empty list is undefined")
    return sum(-math.log2(max(popularity.get(item, 0), 1) / users) for item in top) / len(top)
