"""The LiveRec live protocol (Rappaz, McAuley & Aberer, RecSys 2021): every live join of
the next batch is an interaction, its candidates are the streamers live at that moment,
and a model ranks them; H@1, H@10 and NDCG@10 of the joined streamer, over all
interactions and split into new (the user never watched the streamer before) and repeat.

Time is cut into steps of `step_minutes` (LiveRec: 10): a streamer is a candidate at a
step when one of its broadcasts is live at the step's start, or the user joins it in
that step. A model's lists (of the batch before, any item type) rank streamers: a
streamer's rank is the best rank of any of its items in the user's list. Candidates the
list does not rank come after the ranked ones in random order, so an unranked target's
position is uniform over the remaining places and its metrics are expectations (exact,
not sampled). The pure functions here define the numbers; `live_metrics` computes them
with Spark DataFrames for the DAG (tests check the two agree)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

SEGMENTS = ("all", "new", "repeat")


def position_metrics(better: int, ranked: bool, listed_live: int, live: int) -> dict[str, float]:
    """Expected H@1, H@10, NDCG@10 of one interaction.

    ranked: the list ranks the target; better = live candidates the list ranks above it.
    Otherwise: listed_live = live candidates the list ranks, live = all candidates (target
    included); the target's position is uniform over listed_live + 1 .. live."""
    if ranked:
        positions = [better + 1]
    else:
        if live <= listed_live:
            raise ValueError(f"live={live} must exceed listed_live={listed_live}: the target itself is live")
        positions = list(range(listed_live + 1, live + 1))
    n = len(positions)
    return {
        "h1": sum(p <= 1 for p in positions) / n,
        "h10": sum(p <= 10 for p in positions) / n,
        "ndcg10": sum(1.0 / math.log2(p + 1) for p in positions if p <= 10) / n,
    }


def reference_metrics(
    interactions: Iterable[tuple[str, str, int, bool]],
    ranks: Mapping[str, Mapping[str, int]],
    live_at: Mapping[int, set[str]],
) -> dict[str, dict[str, float]]:
    """interactions: (user, streamer, step, is_repeat), a repeated one counted once; ranks[user][streamer] =
    best list rank (users the model made a list for); live_at[step] = streamers live at the step. Returns
    segment -> mean metrics (+ n), over the interactions of users in `ranks` (the population
    `live_metrics` scores: a model is not scored on users it made no list for). An interaction's
    candidates are the streamers live at its step plus its own streamer, never another
    interaction's streamer."""
    rows = {segment: [] for segment in SEGMENTS}
    for user, streamer, step, is_repeat in dict.fromkeys(interactions):  # a repeated row counts once
        if user not in ranks:
            continue
        live = live_at.get(step, set()) | {streamer}
        user_ranks = ranks[user]
        listed = {s: r for s, r in user_ranks.items() if s in live}
        if streamer in listed:
            better = sum(r < listed[streamer] for s, r in listed.items() if s != streamer)
            m = position_metrics(better, True, len(listed), len(live))
        else:
            m = position_metrics(0, False, len(listed), len(live))
        for segment in ("all", "repeat" if is_repeat else "new"):
            rows[segment].append(m)
    return {
        segment: {"n": len(ms), **{key: sum(m[key] for m in ms) / len(ms) for key in ("h1", "h10", "ndcg10")}}
        for segment, ms in rows.items()
        if ms
    }


def live_metrics(
    lists: DataFrame,
    interactions: DataFrame,
    live_steps: DataFrame,
) -> DataFrame:
    """Spark version of reference_metrics for every model at once.

    lists: model_name, user_id, streamer_id, rank (best rank per user x streamer);
    interactions: user_id, streamer_id, step, is_repeat (one row per interaction; a repeated row
    counts once, as in reference_metrics);
    live_steps: streamer_id, step. Returns model_name, segment, interactions, h1, h10,
    ndcg10 — averaged over the interactions of users the model made a list for. An
    interaction's candidates: the streamers live at its step, plus its own streamer when that
    one is not live at the step (a join in the middle of a step); another user's mid-step join
    is not a candidate."""
    live_steps = live_steps.select("streamer_id", "step").distinct()
    per_step = live_steps.groupBy("step").agg(F.count("*").alias("live_at_step"))
    # an interaction is identified by its own columns (interactions are distinct rows), not by
    # monotonically_increasing_id: that id depends on the partition a row lands in, and `inter` is
    # read by two branches that Spark may plan (and AQE coalesce) differently
    interaction = F.struct("user_id", "streamer_id", "step", "is_repeat")
    inter = (
        interactions.select("user_id", "streamer_id", "step", "is_repeat")
        .distinct()
        .withColumn("interaction_id", interaction)
        .join(live_steps.withColumn("target_live", F.lit(True)), ["streamer_id", "step"], "left")
        .join(per_step, "step", "left")
        .select(
            "interaction_id", "user_id", "streamer_id", "step", "is_repeat",
            F.coalesce("target_live", F.lit(False)).alias("target_live"),
            # the target is a candidate even when it started in the middle of the step
            (F.coalesce("live_at_step", F.lit(0)) + F.when(F.col("target_live"), 0).otherwise(1)).alias("live"),
        )
    )  # fmt: skip
    users = lists.select("model_name", "user_id").distinct()
    scored = inter.join(users, "user_id")  # one row per model x interaction with a list
    target = lists.select("model_name", "user_id", "streamer_id", F.col("rank").alias("target_rank"))
    base = scored.join(target, ["model_name", "user_id", "streamer_id"], "left")
    listed = (  # the list's streamers live at the step (the target among them when it is live)
        scored.select("model_name", "user_id", "interaction_id", "step")
        .join(lists, ["model_name", "user_id"])
        .join(live_steps, ["streamer_id", "step"])
        .select("model_name", "interaction_id", "rank")
    )
    counts = (
        base.select("model_name", "interaction_id", "target_rank")
        .join(listed, ["model_name", "interaction_id"], "left")
        .groupBy("model_name", "interaction_id")
        .agg(
            F.count("rank").alias("listed_at_step"),
            F.sum(F.when(F.col("rank") < F.col("target_rank"), 1).otherwise(0)).alias("better"),
        )
    )
    ranked = F.col("target_rank").isNotNull()
    per = base.join(counts, ["model_name", "interaction_id"]).withColumn(
        "listed_live", F.col("listed_at_step") + F.when(ranked & ~F.col("target_live"), 1).otherwise(0)
    )
    first = F.col("listed_live") + 1  # unranked: positions first .. live, uniformly
    spread = F.col("live") - F.col("listed_live")
    h10_unranked = F.greatest(F.least(F.lit(10) - F.col("listed_live"), spread), F.lit(0)) / spread
    ndcg_unranked = _uniform_ndcg10(first, F.col("live")) / spread
    per = per.select(
        "model_name",
        "is_repeat",
        F.when(ranked, (F.col("better") == 0).cast("double"))
        .otherwise(F.when(F.col("listed_live") == 0, 1.0 / spread).otherwise(0.0))
        .alias("h1"),
        F.when(ranked, (F.col("better") < 10).cast("double")).otherwise(h10_unranked).alias("h10"),
        F.when(ranked, F.when(F.col("better") < 10, 1.0 / F.log2(F.col("better") + 2)).otherwise(0.0))
        .otherwise(ndcg_unranked)
        .alias("ndcg10"),
    )
    segments = per.withColumn("segment", F.lit("all")).unionByName(
        per.withColumn("segment", F.when(F.col("is_repeat"), "repeat").otherwise("new"))
    )
    return segments.groupBy("model_name", "segment").agg(
        F.count("*").alias("interactions"),
        F.avg("h1").alias("h1"),
        F.avg("h10").alias("h10"),
        F.avg("ndcg10").alias("ndcg10"),
    )


def _uniform_ndcg10(first, last):
    """sum over p in first..last, p <= 10, of 1 / log2(p + 1) (at most 10 terms)."""
    total = F.lit(0.0)
    for p in range(1, 11):
        total = total + F.when((F.lit(p) >= first) & (F.lit(p) <= last), 1.0 / math.log2(p + 1)).otherwise(0.0)
    return total


def _steps(ts, step_minutes: int):
    return F.floor(F.unix_timestamp(ts) / (60 * step_minutes)).cast("long")


def live_inputs(
    lists: DataFrame,
    vods: DataFrame,
    broadcasts: DataFrame,
    live_views: DataFrame,
    watch_daily: DataFrame,
    day,
    step_minutes: int = 10,
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """(lists by streamer, interactions, live steps) for scoring the lists of the day before
    `day` on the live joins of `day`.

    lists: recommendation_lists rows of the list batch (any item type); vods: vod_id,
    streamer_id; broadcasts: broadcast_id, streamer_id, started_at, ended_at; live_views:
    user_id, broadcast_id, joined_at; watch_daily: user_id, streamer_id, watch_date (any
    watching; is_repeat = watched the streamer before `day`)."""
    if step_minutes < 1:
        raise ValueError(f"step_minutes={step_minutes}: must be >= 1")
    start = F.lit(day).cast("timestamp")
    end = F.lit(day).cast("timestamp") + F.expr("interval 1 day")
    by_streamer = (
        lists.join(
            vods.select(F.col("vod_id").alias("item_id"), F.col("streamer_id").alias("vod_streamer")), "item_id", "left"
        )
        .join(
            broadcasts.select(F.col("broadcast_id").alias("item_id"), F.col("streamer_id").alias("live_streamer")),
            "item_id",
            "left",
        )
        .select(
            "model_name",
            "user_id",
            F.when(F.col("item_type") == "streamer", F.col("item_id"))
            .when(F.col("item_type") == "vod", F.col("vod_streamer"))
            .when(F.col("item_type") == "broadcast", F.col("live_streamer"))
            .alias("streamer_id"),
            "rank",
        )
        .where(F.col("streamer_id").isNotNull())
        .groupBy("model_name", "user_id", "streamer_id")
        .agg(F.min("rank").alias("rank"))
    )
    joins = (
        live_views.where((F.col("joined_at") >= start) & (F.col("joined_at") < end))
        .join(broadcasts.select("broadcast_id", "streamer_id"), "broadcast_id")
        .select("user_id", "streamer_id", _steps(F.col("joined_at"), step_minutes).alias("step"))
        .distinct()
    )
    before = watch_daily.where(F.col("watch_date") < F.lit(day)).select("user_id", "streamer_id").distinct()
    interactions = joins.join(before.withColumn("is_repeat", F.lit(True)), ["user_id", "streamer_id"], "left").select(
        "user_id", "streamer_id", "step", F.coalesce(F.col("is_repeat"), F.lit(False)).alias("is_repeat")
    )
    # a broadcast is live at step s when started_at <= s * step < ended_at (still open: until the day's end)
    seconds = 60 * step_minutes
    first = F.ceil(F.unix_timestamp(F.greatest("started_at", start)) / seconds).cast("long")
    last = F.ceil(F.unix_timestamp(F.least(F.coalesce("ended_at", end), end)) / seconds).cast("long") - F.lit(1)
    live_steps = (
        broadcasts.where((F.col("started_at") < end) & (F.coalesce(F.col("ended_at"), end) > start))
        .select("streamer_id", first.alias("first"), last.alias("last"))
        .where(F.col("first") <= F.col("last"))
        .select("streamer_id", F.explode(F.sequence("first", "last")).alias("step"))
        .distinct()
    )
    return by_streamer, interactions, live_steps
