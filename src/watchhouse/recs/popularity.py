"""Popularity baseline: the most-watched VODs of the last N days, for everyone.

Works on any Spark DataFrame (classic session or Spark Connect): only the
DataFrame API, no UDFs, so nothing of this package has to be on the cluster.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

MODEL_NAME = "popularity"
LIST_COLUMNS = ("model_name", "batch_date", "user_id", "item_id", "item_type", "rank", "score")


def popularity_lists(
    views: DataFrame,
    users: DataFrame,
    as_of: dt.date,
    k: int = 50,
    window_days: int = 7,
    audience_days: int = 28,
) -> DataFrame:
    """Top-k VODs by distinct viewers in the `window_days` ending with `as_of`
    (inclusive), served to every user with a view in the `audience_days`
    ending with `as_of`. Score = distinct viewers; ties broken by vod_id.

    views: user_id, vod_id, started_at (clean views: accepted, not flagged as abuse).
    users: user_id (accepted users).
    Returns one row per (user, item): LIST_COLUMNS.
    """
    if k < 1 or window_days < 1 or audience_days < 1:
        raise ValueError(f"k={k}, window_days={window_days}, audience_days={audience_days}: all must be >= 1")
    end = F.lit(as_of + dt.timedelta(days=1)).cast("timestamp")

    def since(days: int):
        return (F.col("started_at") >= F.lit(as_of - dt.timedelta(days=days - 1)).cast("timestamp")) & (
            F.col("started_at") < end
        )

    # two-stage count: distinct (vod, user) first, then count per vod (cheap on 2 cores)
    ranked = (
        views.where(since(window_days))
        .select("vod_id", "user_id")
        .distinct()
        .groupBy("vod_id")
        .agg(F.count("*").alias("score"))
        .orderBy(F.desc("score"), F.asc("vod_id"))
        .limit(k)
        .collect()
    )
    # k rows: rank them on the driver instead of a global (single-partition) window
    spark = views.sparkSession
    top = spark.createDataFrame(
        [(row["vod_id"], int(row["score"]), i) for i, row in enumerate(ranked, start=1)],
        "vod_id string, score long, rank int",
    )
    audience = views.where(since(audience_days)).select("user_id").distinct().join(users.select("user_id"), "user_id")
    return audience.crossJoin(F.broadcast(top)).select(
        F.lit(MODEL_NAME).alias("model_name"),
        F.lit(as_of).cast("date").alias("batch_date"),
        "user_id",
        F.col("vod_id").alias("item_id"),
        F.lit("vod").alias("item_type"),
        F.col("rank").cast("int").alias("rank"),
        F.col("score").cast("double").alias("score"),
    )
