"""Small, aggregated frames of the batch's marts for Great Expectations.

GE is slow on big Spark frames (DESIGN.md), so each suite validates a pandas
frame of at most a few thousand rows computed here with Spark: per-VOD
scores, per-type distributions, per-VOD concentration, one-row batch metrics.
Only the DataFrame API, so it runs in the session or over Spark Connect.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

MIN_VIEWERS_FOR_CONCENTRATION = 20  # per-VOD shares mean little below this many clean viewers
MIN_VIEWERS_FOR_QUALITY = 5  # the mean quality of VODs with at least this many clean viewers
MIN_VIEWS_PER_TYPE = 100  # per-type distributions of VOD types with at least this many clean views
MIN_BATCH_VIEWS = 1000  # batch-level shares and ratios of batches with at least this many views


def quality_frame(quality: DataFrame) -> pd.DataFrame:
    """One row per VOD with >= MIN_VIEWERS_FOR_QUALITY clean viewers: its scores and abuse share."""
    cols = ["vod_id", "quality_score", "quality_score_lower", "abuse_share", "clean_viewers"]
    return quality.where(F.col("clean_viewers") >= MIN_VIEWERS_FOR_QUALITY).select(*cols).toPandas()


def valuation_by_type_frame(valuations: DataFrame) -> pd.DataFrame:
    """One row per VOD type with >= MIN_VIEWS_PER_TYPE clean views: mean view value, watch ratios."""
    return (
        valuations.groupBy("vod_type")
        .agg(
            F.count("*").alias("views"),
            F.avg("view_value").alias("mean_view_value"),
            F.avg("watch_ratio").alias("mean_watch_ratio"),
            F.percentile_approx("watch_ratio", 0.5, 1000).alias("median_watch_ratio"),
        )
        .where(F.col("views") >= MIN_VIEWS_PER_TYPE)
        .toPandas()
    )


def concentration_frame(valuations: DataFrame, clean_views: DataFrame) -> pd.DataFrame:
    """Per VOD with >= MIN_VIEWERS_FOR_CONCENTRATION clean viewers: the largest share of its
    clean watch time carried by one account and by one IP hash."""
    watch = clean_views.select("event_id", "ip_hash").join(
        valuations.select("event_id", "vod_id", "user_id", "watched_seconds"), "event_id"
    )
    totals = watch.groupBy("vod_id").agg(
        F.sum("watched_seconds").alias("total"), F.countDistinct("user_id").alias("viewers")
    )

    def top_share(key: str) -> DataFrame:
        per = watch.groupBy("vod_id", key).agg(F.sum("watched_seconds").alias("part"))
        return per.groupBy("vod_id").agg(F.max("part").alias(f"top_{key}"))

    out = (
        totals.where(F.col("viewers") >= MIN_VIEWERS_FOR_CONCENTRATION)
        .join(top_share("user_id"), "vod_id")
        .join(top_share("ip_hash"), "vod_id")
        .select(
            "vod_id",
            "viewers",
            (F.col("top_user_id") / F.col("total")).alias("max_account_share"),
            (F.col("top_ip_hash") / F.col("total")).alias("max_ip_share"),
        )
    )
    return out.toPandas()


def batch_frame(
    as_of: dt.date,
    reconciliation: DataFrame,
    valuations: DataFrame,
    flags: DataFrame,
    quarantined: DataFrame,
    previous: dict[str, float] | None,
) -> pd.DataFrame:
    """One row for the batch: the watch-event reconciliation and the batch's abuse share and
    view count, with their change against the previous batch's recorded values."""
    raw = reconciliation.where(F.col("landing_table") == "watch_events").agg(F.sum("raw_rows")).first()[0] or 0
    clean_total = valuations.count()
    flagged_total = flags.count()
    quarantined_total = quarantined.count()
    day = F.lit(as_of).cast("date")
    clean_today = valuations.where(F.col("batch_date") == day).count()
    flagged_today = flags.where(F.col("batch_date") == day).count()
    views_today = clean_today + flagged_today
    # below MIN_BATCH_VIEWS a share or a ratio is noise: recorded, but left null for the checks
    share = flagged_today / views_today if views_today >= MIN_BATCH_VIEWS else None
    prev_share = previous.get("abuse_share") if previous else None
    prev_views = previous.get("batch_views") if previous else None
    return pd.DataFrame(
        [
            {
                "raw_watch_events": raw,
                "clean_plus_flagged_plus_quarantined": clean_total + flagged_total + quarantined_total,
                "reconciliation_gap": raw - (clean_total + flagged_total + quarantined_total),
                "batch_views": float(views_today),
                "abuse_share": share,
                "abuse_share_change": None if share is None or prev_share is None else share - prev_share,
                "batch_views_ratio": views_today / prev_views
                if prev_views and views_today >= MIN_BATCH_VIEWS
                else None,
            }
        ]
    )
