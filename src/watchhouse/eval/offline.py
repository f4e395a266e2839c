"""The offline simulation's marts: the lists of batch D scored on what users did in D + 1.

`evaluate` gives offline_eval_metrics (per model x k); `bootstrap_intervals` gives
offline_eval_intervals (per model x k x metric: a 95% interval, and one for the
difference to the popularity baseline). Both run in the dbt run for batch D + 1.

Bootstrap over users, at scale: users are hashed into `buckets` groups; the
per-bucket sums are collected (models x ks x buckets rows) and resampled on the
driver (multinomial bucket weights, the same weights for every model in a
replicate, so differences are paired). With random buckets of many users this
approximates the user-level bootstrap; users are hashed, so with few users some
buckets hold several users by chance and are resampled together (a cluster
bootstrap, at worst slightly wider).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from watchhouse.eval.spark_metrics import KS, METRICS, list_metrics, per_user_metrics

BASELINE = "popularity"
MART_COLUMNS = (
    "model_name", "item_type", "k", "users_evaluated", "users_with_list", "hit_rate", "precision", "recall",
    "map", "ndcg", "ndcg_graded", "mrr", "coverage", "freshness", "novelty", "users_new", "new_hit_rate",
    "users_repeat", "repeat_hit_rate", "eval_date", "batch_date",
)  # fmt: skip
INTERVAL_SCHEMA = (
    "model_name string, item_type string, k int, metric string, estimate double, ci_low double, ci_high double, "
    "baseline_estimate double, diff_vs_baseline double, diff_ci_low double, diff_ci_high double, "
    "users_evaluated long, replicates int, buckets int, batch_date date"
)


def evaluate(
    lists: DataFrame, relevance: DataFrame, items: DataFrame, batch: dt.date, ks: tuple[int, ...] = KS
) -> DataFrame:
    """offline_eval_metrics rows for the lists of `batch` (relevance: the next batch)."""
    lists = lists.where(F.col("batch_date") == F.lit(batch))
    relevance = relevance.where(F.col("batch_date") == F.lit(batch))
    items = items.where(F.col("batch_date") == F.lit(batch))
    users = per_user_metrics(lists, relevance, ks)
    means = users.groupBy("model_name", "item_type", "k").agg(
        F.count("*").alias("users_evaluated"),
        *[F.avg(name).alias(name) for name in METRICS],
        F.sum((F.col("relevant_new") > 0).cast("long")).alias("users_new"),
        F.avg(F.when(F.col("relevant_new") > 0, (F.col("hits_new") > 0).cast("double"))).alias("new_hit_rate"),
        F.sum((F.col("relevant_repeat") > 0).cast("long")).alias("users_repeat"),
        F.avg(F.when(F.col("relevant_repeat") > 0, (F.col("hits_repeat") > 0).cast("double"))).alias("repeat_hit_rate"),
    )
    catalogue = items.groupBy("item_type").agg(F.first("catalogue_size").alias("catalogue_size"),
                                               F.first("audience").alias("audience"))  # fmt: skip
    lists_level = list_metrics(lists, items.select("item_type", "item_id", "created_at", "engaged_users"),
                               catalogue, batch, ks).withColumnRenamed("freshness_days", "freshness")  # fmt: skip
    out = lists_level.join(means, ["model_name", "item_type", "k"], "left")
    return out.select(
        *[
            F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c)
            if c == "users_evaluated"
            else F.lit(batch + dt.timedelta(days=1)).cast("date").alias(c)
            if c == "eval_date"
            else F.lit(batch).cast("date").alias(c)
            if c == "batch_date"
            else F.col(c)
            for c in MART_COLUMNS
        ]
    )


def bucket_sums(users: DataFrame, buckets: int, seed: int) -> pd.DataFrame:
    """Per model x item_type x k x bucket: user count and the sum of every metric."""
    bucket = F.pmod(F.xxhash64(F.lit(seed), "user_id"), F.lit(buckets)).cast("int")
    return (
        users.withColumn("bucket", bucket)
        .groupBy("model_name", "item_type", "k", "bucket")
        .agg(F.count("*").alias("users"), *[F.sum(m).alias(m) for m in METRICS])
        .toPandas()
    )


def resample(sums: pd.DataFrame, buckets: int, replicates: int, seed: int, batch: dt.date) -> pd.DataFrame:
    """Percentile intervals from multinomial bucket weights shared by all models."""
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(buckets, np.full(buckets, 1.0 / buckets), size=replicates)  # (R, G)
    boot: dict[tuple, tuple[float, np.ndarray, int]] = {}
    for (model, item_type, k), g in sums.groupby(["model_name", "item_type", "k"]):
        n = np.zeros(buckets)
        n[g.bucket.to_numpy()] = g.users.to_numpy()
        for metric in METRICS:
            s = np.zeros(buckets)
            s[g.bucket.to_numpy()] = g[metric].to_numpy()
            den = weights @ n
            with np.errstate(invalid="ignore", divide="ignore"):
                reps = (weights @ s) / den
            boot[(model, item_type, k, metric)] = (s.sum() / n.sum(), reps, int(n.sum()))
    rows = []
    for (model, item_type, k, metric), (est, reps, n_users) in boot.items():
        base = boot.get((BASELINE, "vod", k, metric))
        lo, hi = np.nanpercentile(reps, [2.5, 97.5])
        diff = (None, None, None, None)
        if base is not None:
            d = reps - base[1]
            dlo, dhi = np.nanpercentile(d, [2.5, 97.5])
            diff = (float(base[0]), float(est - base[0]), float(dlo), float(dhi))
        rows.append((model, item_type, int(k), metric, float(est), float(lo), float(hi), *diff, n_users,
                     replicates, buckets, batch))  # fmt: skip
    return pd.DataFrame(rows, columns=[c.split()[0] for c in INTERVAL_SCHEMA.split(", ")])


def bootstrap_intervals(
    lists: DataFrame,
    relevance: DataFrame,
    batch: dt.date,
    ks: tuple[int, ...] = KS,
    buckets: int = 100,
    replicates: int = 500,
    seed: int = 7,
) -> DataFrame:
    """offline_eval_intervals rows for the lists of `batch`."""
    if buckets < 2 or replicates < 10:
        raise ValueError(f"buckets={buckets}, replicates={replicates}: need buckets >= 2 and replicates >= 10")
    spark = lists.sparkSession
    users = per_user_metrics(
        lists.where(F.col("batch_date") == F.lit(batch)), relevance.where(F.col("batch_date") == F.lit(batch)), ks
    )
    sums = bucket_sums(users, buckets, seed)
    if sums.empty:
        return spark.createDataFrame([], INTERVAL_SCHEMA)
    return spark.createDataFrame(resample(sums, buckets, replicates, seed, batch), INTERVAL_SCHEMA)
