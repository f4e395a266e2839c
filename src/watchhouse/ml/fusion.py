"""Rank fusion: several models' lists of one batch fused into a list of its own.

Methods (w_m: the weight of input model m; an item missing from a list adds 0):
- "rrf": reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009),
  sum_m w_m / (rrf_k + rank_m).
- "score": weighted score sum; each list's scores min-max normalised per model and
  user to [0, 1] (a one-item list or constant scores -> 1), sum_m w_m * norm_m.
- "rank": weighted Borda count, sum_m w_m * (L_mu - rank_m + 1) / L_mu, where L_mu
  is the length of model m's list for user u.

An item is keyed by (item_type, item_id). Each user's top k by fused score make the
list, ties broken by item_type, then item_id ascending. Models with weight 0 or not
in `weights` are left out. Contributions are summed in ascending order (a sorted
array, folded left), so the fused scores do not depend on row order: reruns rank
alike and the pure-Python reference agrees bit for bit.

`fuse` uses only the DataFrame API (no UDFs): it runs over Spark Connect too.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections import defaultdict
from collections.abc import Iterable, Mapping

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from watchhouse.recs.popularity import LIST_COLUMNS

METHODS = ("rrf", "score", "rank")


def check_args(method: str, weights: Mapping[str, float], model_name: str, k: int, rrf_k: float) -> dict[str, float]:
    """Refuse bad arguments; return the models used and their weights (those > 0)."""
    if method not in METHODS:
        raise ValueError(f"method={method!r}: expected one of {METHODS}")
    if not isinstance(model_name, str) or not model_name:
        raise ValueError(f"model_name={model_name!r}: give the fused list's model name, e.g. 'fusion_rrf'")
    if not weights:
        raise ValueError("weights is empty: give at least one input model and its weight, e.g. {'als': 1.0}")
    bad = {
        m: w
        for m, w in weights.items()
        if not isinstance(w, numbers.Real) or isinstance(w, bool) or not math.isfinite(w) or w < 0
    }
    if bad:
        raise ValueError(f"weights {bad}: every weight must be a finite number >= 0")
    used = {str(m): float(w) for m, w in weights.items() if w > 0}
    if not used:
        raise ValueError(f"weights {dict(weights)}: at least one weight must be > 0")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k={k!r}: k must be an integer >= 1")
    if not isinstance(rrf_k, numbers.Real) or not math.isfinite(rrf_k) or rrf_k < 0:
        raise ValueError(f"rrf_k={rrf_k!r}: must be a finite number >= 0 (Cormack et al. use 60)")
    return used


def _one_date(dates: Iterable) -> None:
    dates = set(dates)
    if None in dates:
        raise ValueError("input lists hold rows with a null batch_date: every row needs the batch's date")
    if len(dates) > 1:
        shown = sorted(str(d) for d in dates)
        raise ValueError(f"input lists span several batch dates {shown}: fuse one batch at a time")


def fuse(
    lists: DataFrame,
    method: str,
    weights: Mapping[str, float],
    model_name: str,
    k: int = 50,
    rrf_k: float = 60.0,
) -> DataFrame:
    """Fuse the lists (LIST_COLUMNS, one batch) of the models in `weights` into
    `model_name`'s top-k lists: LIST_COLUMNS, rank 1..k per user."""
    return fuse_all(lists, {model_name: method}, weights, k, rrf_k)


def fuse_all(
    lists: DataFrame,
    methods: Mapping[str, str],
    weights: Mapping[str, float],
    k: int = 50,
    rrf_k: float = 60.0,
) -> DataFrame:
    """Several fusions of the same lists at once (`methods`: fused model name -> method): the rows of
    `fuse(lists, method, weights, name, k, rrf_k)` for every pair, from one read and one shuffle by
    user (the contributions of every method travel together; each method's sum and rank are columns
    of the same grouped rows)."""
    if not methods:
        raise ValueError(
            "methods is empty: give at least one fused model name and its method, e.g. {'fusion_rrf': 'rrf'}"
        )
    used = {}
    for name, method in methods.items():
        used = check_args(method, weights, name, k, rrf_k)
    rows = lists.where(F.col("model_name").isin(list(used)))
    first, last, nulls = rows.agg(
        F.min("batch_date"), F.max("batch_date"), F.count_if(F.col("batch_date").isNull())
    ).first()
    _one_date(({first, last} - {None}) | ({None} if nulls else set()))

    weight = F.create_map(*[F.lit(x) for m in sorted(used) for x in (m, used[m])])[F.col("model_name")]
    per_list = Window.partitionBy("model_name", "user_id")
    rank, score = F.col("rank"), F.col("score")
    lo, hi = F.min(score).over(per_list), F.max(score).over(per_list)
    length = F.count(F.lit(1)).over(per_list)
    contributions = {
        "rrf": weight / (F.lit(float(rrf_k)) + rank),
        "score": weight
        * F.when(score.isNull(), F.lit(None)).when(hi > lo, (score - lo) / (hi - lo)).otherwise(F.lit(1.0)),
        "rank": weight * (length - rank + 1) / length,
    }
    names = list(methods)  # fused model i's columns: c{i} (contribution), s{i} (sum), r{i} (rank)
    keys = ("batch_date", "user_id", "item_type", "item_id")
    fused = (
        rows.repartition("user_id")
        .select(*keys, *[contributions[methods[n]].cast("double").alias(f"c{i}") for i, n in enumerate(names)])
        .groupBy(*keys)
        .agg(*[_sorted_sum(f"c{i}").alias(f"s{i}") for i in range(len(names))])
    )
    for i in range(len(names)):
        order = Window.partitionBy("batch_date", "user_id").orderBy(
            F.desc(f"s{i}"), F.asc("item_type"), F.asc("item_id")
        )
        fused = fused.withColumn(f"r{i}", F.row_number().over(order))
    per_model = F.explode(
        F.array(
            *[
                F.struct(F.lit(n).alias("model_name"), F.col(f"r{i}").alias("rank"), F.col(f"s{i}").alias("score"))
                for i, n in enumerate(names)
            ]
        )
    )
    return (
        fused.select("batch_date", "user_id", "item_id", "item_type", per_model.alias("m"))
        .where(F.col("m.rank") <= int(k))
        .select(
            F.col("m.model_name").alias("model_name"),
            F.col("batch_date").cast("date").alias("batch_date"),
            "user_id",
            "item_id",
            "item_type",
            F.col("m.rank").cast("int").alias("rank"),
            F.col("m.score").cast("double").alias("score"),
        )
    )


def _sorted_sum(column: str):
    """The sum of a group's values in ascending order (nulls left out): the same bits whatever the row order."""
    return F.aggregate(F.array_sort(F.collect_list(column)), F.lit(0.0).cast("double"), lambda acc, x: acc + x)


def fuse_reference(
    lists: Iterable[tuple],
    method: str,
    weights: Mapping[str, float],
    model_name: str,
    k: int = 50,
    rrf_k: float = 60.0,
) -> list[tuple]:
    """Plain-Python twin of `fuse` over tuples in LIST_COLUMNS order; returns tuples
    in LIST_COLUMNS order, sorted by user_id then rank."""
    used = check_args(method, weights, model_name, k, rrf_k)
    rows = [r for r in lists if r[0] in used]
    _one_date(r[1] for r in rows)
    batch: dt.date | None = rows[0][1] if rows else None

    per_list: dict[tuple, list[tuple]] = defaultdict(list)
    for r in rows:
        per_list[(r[0], r[2])].append(r)
    contributions: dict[tuple, list[float]] = defaultdict(list)  # (user, item_type, item_id) -> terms
    for (model, user), entries in per_list.items():
        w = used[model]
        scores = [r[6] for r in entries if r[6] is not None]
        lo, hi = (min(scores), max(scores)) if scores else (None, None)
        length = len(entries)
        for _, _, _, item_id, item_type, rank, score in entries:
            key = (user, item_type, item_id)
            if method == "rrf":
                c = w / (float(rrf_k) + rank)
            elif method == "score":
                c = None if score is None else w * ((score - lo) / (hi - lo) if hi > lo else 1.0)
            else:
                c = w * (length - rank + 1) / length
            terms = contributions[key]  # an item whose only terms are null still enters, at 0
            if c is not None:
                terms.append(float(c))

    by_user: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for (user, item_type, item_id), terms in contributions.items():
        total = 0.0
        for term in sorted(terms):  # the order fuse's array_sort + fold uses
            total += term
        by_user[user].append((total, item_type, item_id))
    out = []
    for user in sorted(by_user):
        ranked = sorted(by_user[user], key=lambda t: (-t[0], t[1], t[2]))[: int(k)]
        out += [(model_name, batch, user, i, t, n, s) for n, (s, t, i) in enumerate(ranked, start=1)]
    return out


__all__ = ["LIST_COLUMNS", "METHODS", "check_args", "fuse", "fuse_reference"]
