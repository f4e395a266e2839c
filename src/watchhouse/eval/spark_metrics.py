"""The offline metrics of watchhouse.eval.metrics, for every model, user and k at once,
with the Spark DataFrame API (no UDFs: runs over Spark Connect as is).

lists:     model_name, user_id, item_type, item_id, rank (one batch; ranks may have gaps:
           positions are re-numbered 1.. per model, user and item type, so a list that mixes
           types is scored per type on its own sub-list, as metrics.split_by_type does)
relevance: user_id, item_type, item_id, gain (> 0), is_repeat (the user had engaged with
           the item before) - what the users did in the next batch
items:     item_type, item_id, created_at, engaged_users (before the batch)
catalogue: item_type, catalogue_size, audience (users behind engaged_users)
"""

from __future__ import annotations

import datetime as dt
import math

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

KS = (1, 5, 10, 20, 50)
METRICS = ("hit_rate", "precision", "recall", "map", "ndcg", "ndcg_graded", "mrr")


def _positions():
    """A list's positions 1..n: per model x user x item type, in rank order (ties by item id)."""
    return Window.partitionBy("model_name", "user_id", "item_type").orderBy("rank", "item_id")


def _log2(col) -> F.Column:
    return F.log2(col + F.lit(1))


def per_user_metrics(lists: DataFrame, relevance: DataFrame, ks: tuple[int, ...] = KS) -> DataFrame:
    """One row per model x user x item type x k for users with a list of that type and at least
    one relevant item of it (the same users at every k): hits, METRICS, and the new / repeat
    split (hits_new, relevant_new, hits_repeat, relevant_repeat)."""
    if not ks or min(ks) < 1:
        raise ValueError(f"ks={ks}: cut-offs must be >= 1")
    spark = lists.sparkSession
    cutoffs = spark.createDataFrame([(k,) for k in ks], "k int")
    ranked = lists.withColumn("position", F.row_number().over(_positions()))
    rel = relevance.groupBy("user_id", "item_type").agg(
        F.count("*").alias("relevant"),
        F.sum(F.col("is_repeat").cast("int")).alias("relevant_repeat"),
    )
    # ideal graded DCG per user, type and k: the user's gains, largest first
    by_gain = Window.partitionBy("user_id", "item_type").orderBy(F.desc("gain"), "item_id")
    ideal_graded = (
        relevance.withColumn("j", F.row_number().over(by_gain))
        .crossJoin(F.broadcast(cutoffs))
        .where(F.col("j") <= F.col("k"))
        .groupBy("user_id", "item_type", "k")
        .agg(F.sum(F.col("gain") / _log2(F.col("j"))).alias("ideal_dcg_graded"))
    )
    judged = (
        ranked.join(
            relevance.select("user_id", "item_type", "item_id", "gain", "is_repeat"),
            ["user_id", "item_type", "item_id"],
            "left",
        )
        .withColumn("hit", F.col("gain").isNotNull().cast("int"))
        .withColumn("hits_so_far", F.sum("hit").over(_positions().rowsBetween(Window.unboundedPreceding, 0)))
    )
    topk = judged.crossJoin(F.broadcast(cutoffs)).where(F.col("position") <= F.col("k"))
    per_user = topk.groupBy("model_name", "user_id", "item_type", "k").agg(
        F.sum("hit").alias("hits"),
        F.sum(F.when(F.col("hit") == 1, F.col("hits_so_far") / F.col("position")).otherwise(0.0)).alias("ap_sum"),
        F.sum(F.col("hit") / _log2(F.col("position"))).alias("dcg"),
        F.sum(F.coalesce(F.col("gain"), F.lit(0.0)) / _log2(F.col("position"))).alias("dcg_graded"),
        F.min(F.when(F.col("hit") == 1, F.col("position"))).alias("first_hit"),
        F.sum(F.when(F.col("hit") == 1, 1 - F.col("is_repeat").cast("int")).otherwise(0)).alias("hits_new"),
        F.sum(F.when(F.col("hit") == 1, F.col("is_repeat").cast("int")).otherwise(0)).alias("hits_repeat"),
    )
    # ideal binary DCG for n relevant items: sum_{j <= min(k, n)} 1 / log2(j + 1)
    ideal_dcg = [sum(1 / math.log2(j + 1) for j in range(1, n + 1)) for n in range(1, max(ks) + 1)]
    ideal = spark.createDataFrame(list(enumerate(ideal_dcg, start=1)), "n int, ideal_dcg double")
    return (
        per_user.join(rel, ["user_id", "item_type"])
        .join(ideal_graded, ["user_id", "item_type", "k"])
        .withColumn("n_ideal", F.least(F.col("k"), F.col("relevant")))
        .join(F.broadcast(ideal), F.col("n") == F.col("n_ideal"))
        .select(
            "model_name",
            "user_id",
            "item_type",
            "k",
            "hits",
            "relevant",
            (F.col("hits") > 0).cast("double").alias("hit_rate"),
            (F.col("hits") / F.col("k")).alias("precision"),
            (F.col("hits") / F.col("relevant")).alias("recall"),
            (F.col("ap_sum") / F.col("n_ideal")).alias("map"),
            (F.col("dcg") / F.col("ideal_dcg")).alias("ndcg"),
            (F.col("dcg_graded") / F.col("ideal_dcg_graded")).alias("ndcg_graded"),
            F.coalesce(1 / F.col("first_hit"), F.lit(0.0)).alias("mrr"),
            "hits_new",
            (F.col("relevant") - F.col("relevant_repeat")).alias("relevant_new"),
            "hits_repeat",
            "relevant_repeat",
        )
    )


def list_metrics(
    lists: DataFrame, items: DataFrame, catalogue: DataFrame, as_of: dt.date, ks: tuple[int, ...] = KS
) -> DataFrame:
    """Per model x k, over every list (not only evaluated users): catalogue coverage,
    freshness (mean age in days of the recommended items at the end of the batch day),
    novelty (mean -log2 of the share of users who engaged with the item before)."""
    if catalogue.where("catalogue_size < 1 or audience < 1").count():
        raise ValueError("catalogue: every item type needs catalogue_size >= 1 and audience >= 1")
    spark = lists.sparkSession
    cutoffs = spark.createDataFrame([(k,) for k in ks], "k int")
    end = F.lit(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())).cast("timestamp")
    top = (
        lists.withColumn("position", F.row_number().over(_positions()))
        .crossJoin(F.broadcast(cutoffs))
        .where(F.col("position") <= F.col("k"))
        .join(items, ["item_type", "item_id"], "left")
        .join(F.broadcast(catalogue), "item_type")
    )
    return top.groupBy("model_name", "item_type", "k").agg(
        F.countDistinct("user_id").alias("users_with_list"),
        (F.countDistinct("item_id") / F.first("catalogue_size")).alias("coverage"),
        F.avg((F.unix_timestamp(end) - F.unix_timestamp("created_at")) / 86400.0).alias("freshness_days"),
        F.avg(-F.log2(F.greatest(F.coalesce(F.col("engaged_users"), F.lit(0)), F.lit(1)) / F.col("audience"))).alias(
            "novelty"
        ),
    )
