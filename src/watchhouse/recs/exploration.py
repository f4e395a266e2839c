"""Streamer exploration: blend four exploration types with Thompson sampling.

Every exploration type is an arm of a Beta-Bernoulli bandit. A trial is one slot
of a user's shown list (rank <= list_size) in batch d, for a user who came back
in batch d + 1 (any clean VOD view or live view); it succeeds when the user
watched that slot's streamer in d + 1. The posterior used to rank batch D is the
prior plus every outcome observed up to the end of D, i.e. of the lists of
batches d < D: nothing after D is read.

Ranking a user's pool: each of the list_size slots draws theta_t ~ Beta(alpha_t,
beta_t) for every type the user has candidates of, and goes to the type with the
largest draw; the k-th slot a type wins takes that type's k-th best candidate.
Slots won by a type with no candidates left stay empty; the pool's other
candidates follow the filled slots. The draws are a pure function of (seed,
batch, user, slot, type): a rerun of a batch ranks identically.

Only the DataFrame API is used (no UDFs), so this runs over Spark Connect with
nothing of the package installed on the cluster. The Beta draws use an inverse
CDF table per type (scipy on the driver, GRID cells, linear inside a cell).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

EXPLORATION_TYPES = ("co_viewed", "similar_users", "rising_in_category", "fresh_popular_vod")
GRID = 1024
_MOD = 2_147_483_647  # 2^31 - 1, a prime: hash -> uniform in [0, 1)

CANDIDATE_COLUMNS = (
    "user_id",
    "streamer_id",
    "exploration_type",
    "score",
    "rank",
    "type_rank",
    "slot",
    "thompson_draw",
    "is_shown",
    "posterior_mean",
    "batch_date",
)


def _check(list_size: int, prior: tuple[float, float]) -> None:
    if list_size < 1:
        raise ValueError(f"list_size={list_size}: the shown list needs at least one slot")
    if prior[0] <= 0 or prior[1] <= 0:
        raise ValueError(f"prior={prior}: Beta prior parameters must both be > 0, e.g. (1.0, 1.0)")


def type_posteriors(
    history: DataFrame | None,
    daily: DataFrame,
    batch_dates: list[dt.date],
    list_size: int,
    prior: tuple[float, float] = (1.0, 1.0),
) -> DataFrame:
    """Per batch date B in `batch_dates` and exploration type: the outcomes observed
    in B (trials, successes: of the lists of B - 1) and the posterior Beta(alpha,
    beta) after every outcome observed up to the end of B.

    history: earlier ranked candidates (batch_date, user_id, streamer_id,
    exploration_type, rank); None when there is none yet.
    daily: clean watching (user_id, streamer_id, watch_date).
    """
    _check(list_size, prior)
    spark = daily.sparkSession
    grid = spark.createDataFrame(
        [(b, t) for b in batch_dates for t in EXPLORATION_TYPES], "batch_date date, exploration_type string"
    )
    if history is None:
        outcomes = spark.createDataFrame([], "outcome_date date, exploration_type string, trials long, successes long")
    else:
        shown = history.where(F.col("rank") <= list_size).select(
            F.date_add("batch_date", 1).alias("outcome_date"), "user_id", "streamer_id", "exploration_type"
        )
        active = daily.select("user_id", F.col("watch_date").alias("outcome_date")).distinct()
        watched = (
            daily.select("user_id", "streamer_id", F.col("watch_date").alias("outcome_date"))
            .distinct()
            .withColumn("hit", F.lit(1))
        )
        outcomes = (
            shown.join(active, ["user_id", "outcome_date"])
            .join(watched, ["user_id", "streamer_id", "outcome_date"], "left")
            .groupBy("outcome_date", "exploration_type")
            .agg(F.count("*").alias("trials"), F.sum(F.coalesce("hit", F.lit(0))).cast("long").alias("successes"))
        )
    upto = grid.join(
        outcomes,
        (outcomes.exploration_type == grid.exploration_type) & (outcomes.outcome_date <= grid.batch_date),
        "left",
    ).groupBy(grid.batch_date, grid.exploration_type)
    alpha0, beta0 = float(prior[0]), float(prior[1])
    return (
        upto.agg(
            F.sum(F.when(F.col("outcome_date") == grid.batch_date, F.col("trials")).otherwise(0)).alias("trials"),
            F.sum(F.when(F.col("outcome_date") == grid.batch_date, F.col("successes")).otherwise(0)).alias("successes"),
            F.coalesce(F.sum("trials"), F.lit(0)).alias("cumulative_trials"),
            F.coalesce(F.sum("successes"), F.lit(0)).alias("cumulative_successes"),
        )
        .withColumn("trials", F.coalesce("trials", F.lit(0)).cast("long"))
        .withColumn("successes", F.coalesce("successes", F.lit(0)).cast("long"))
        .withColumn("alpha", F.lit(alpha0) + F.col("cumulative_successes"))
        .withColumn("beta", F.lit(beta0) + F.col("cumulative_trials") - F.col("cumulative_successes"))
        .withColumn("posterior_mean", F.col("alpha") / (F.col("alpha") + F.col("beta")))
    )


def beta_inverse_cdf_table(spark, posteriors: list[tuple[str, float, float]], cells: int = GRID) -> DataFrame:
    """Rows (exploration_type, cell, lo, hi): Beta(alpha, beta) quantiles at cell/cells
    and (cell + 1)/cells, so theta = lo + frac * (hi - lo) for u = (cell + frac)/cells."""
    import numpy as np
    from scipy.stats import beta as beta_dist

    edges = np.linspace(0.0, 1.0, cells + 1)
    rows = []
    for kind, a, b in posteriors:
        q = beta_dist.ppf(edges, a, b)
        q[0], q[-1] = 0.0, 1.0
        rows += [(kind, i, float(q[i]), float(q[i + 1])) for i in range(cells)]
    return spark.createDataFrame(rows, "exploration_type string, cell int, lo double, hi double")


def _uniform(*cols) -> F.Column:
    """A deterministic uniform in [0, 1) from the hash of the given columns."""
    return F.pmod(F.xxhash64(*cols), F.lit(_MOD)) / F.lit(float(_MOD))


def thompson_rank(
    pool: DataFrame,
    posterior: DataFrame,
    as_of: dt.date,
    list_size: int,
    seed: int,
) -> DataFrame:
    """Rank each user's pool (user_id, streamer_id, exploration_type, type_score,
    type_rank) by Thompson sampling over the types' posteriors (exploration_type,
    alpha, beta, posterior_mean); returns CANDIDATE_COLUMNS, one row per user x streamer."""
    if list_size < 1:
        raise ValueError(f"list_size={list_size}: the shown list needs at least one slot")
    unknown = set(r[0] for r in pool.select("exploration_type").distinct().collect()) - set(EXPLORATION_TYPES)
    if unknown:
        raise ValueError(f"unknown exploration types {sorted(unknown)}; expected one of {EXPLORATION_TYPES}")
    spark = pool.sparkSession
    post = {r["exploration_type"]: r for r in posterior.collect()}
    missing = [t for t in EXPLORATION_TYPES if t not in post]
    if missing:
        raise ValueError(f"posterior lacks exploration types {missing}")
    table = F.broadcast(
        beta_inverse_cdf_table(spark, [(t, float(post[t]["alpha"]), float(post[t]["beta"])) for t in EXPLORATION_TYPES])
    )
    means = spark.createDataFrame(
        [(t, i, float(post[t]["posterior_mean"])) for i, t in enumerate(EXPLORATION_TYPES)],
        "exploration_type string, type_order int, posterior_mean double",
    )
    # a streamer offered by several types belongs to the one that ranks it best
    by_user = Window.partitionBy("user_id", "streamer_id").orderBy("type_rank", "type_order")
    pool = (
        pool.join(F.broadcast(means), "exploration_type")
        .withColumn("pick", F.row_number().over(by_user))
        .where("pick = 1")
        .withColumn(
            "type_rank",
            F.row_number().over(
                Window.partitionBy("user_id", "exploration_type").orderBy(F.desc("type_score"), "streamer_id")
            ),
        )
    )
    # one draw per user x slot x type the user has candidates of
    slots = spark.range(1, list_size + 1).select(F.col("id").cast("int").alias("slot"))
    u = _uniform(F.lit(seed), F.lit(as_of.isoformat()), "user_id", "slot", "exploration_type") * GRID
    draws = (
        pool.select("user_id", "exploration_type")
        .distinct()
        .crossJoin(F.broadcast(slots))
        .withColumn("u", u)
        .withColumn("cell", F.least(F.floor("u").cast("int"), F.lit(GRID - 1)))
        .join(table, ["exploration_type", "cell"])
        .withColumn("thompson_draw", F.col("lo") + (F.col("u") - F.col("cell")) * (F.col("hi") - F.col("lo")))
    )
    winners = (
        draws.withColumn(
            "pick",
            F.row_number().over(
                Window.partitionBy("user_id", "slot").orderBy(F.desc("thompson_draw"), "exploration_type")
            ),
        )
        .where("pick = 1")
        .withColumn("type_rank", F.row_number().over(Window.partitionBy("user_id", "exploration_type").orderBy("slot")))
        .select("user_id", "exploration_type", "type_rank", "slot", "thompson_draw")
    )
    placed = pool.join(winners, ["user_id", "exploration_type", "type_rank"], "left")
    order = Window.partitionBy("user_id").orderBy(
        F.col("slot").asc_nulls_last(), "type_rank", F.desc("posterior_mean"), "streamer_id"
    )
    ranked = placed.withColumn("rank", F.row_number().over(order))
    return ranked.select(
        "user_id",
        "streamer_id",
        "exploration_type",
        F.col("type_score").cast("double").alias("score"),
        F.col("rank").cast("int").alias("rank"),
        F.col("type_rank").cast("int").alias("type_rank"),
        F.col("slot").cast("int").alias("slot"),
        "thompson_draw",
        (F.col("rank") <= list_size).alias("is_shown"),
        "posterior_mean",
        F.lit(as_of).cast("date").alias("batch_date"),
    )


def exploration_candidates(
    pool: DataFrame,
    daily: DataFrame,
    history: DataFrame | None,
    as_of: dt.date,
    list_size: int,
    prior: tuple[float, float] = (1.0, 1.0),
    seed: int = 7,
) -> DataFrame:
    """Batch `as_of`'s ranked exploration candidates: the posterior from the lists of
    earlier batches in `history` (later partitions, e.g. during a backfill rerun,
    are ignored) and the watching in `daily` up to `as_of`."""
    _check(list_size, prior)
    if history is not None:
        history = history.where(F.col("batch_date") < F.lit(as_of))
    daily = daily.where(F.col("watch_date") <= F.lit(as_of))
    posterior = type_posteriors(history, daily, [as_of], list_size, prior)
    return thompson_rank(pool.where(F.col("batch_date") == F.lit(as_of)), posterior, as_of, list_size, seed)


def posterior_history(
    candidates: DataFrame,
    daily: DataFrame,
    as_of: dt.date,
    list_size: int,
    prior: tuple[float, float] = (1.0, 1.0),
) -> DataFrame:
    """Per batch up to `as_of` in `candidates` and exploration type: the outcomes
    observed in the batch, the posterior it was ranked with, and the slots of shown
    lists the type won (shown_slots, slot_share): the allocation over batches, ready
    to plot. Partitions after `as_of` (left by an earlier run) are not shown."""
    candidates = candidates.where(F.col("batch_date") <= F.lit(as_of))
    daily = daily.where(F.col("watch_date") <= F.lit(as_of))
    dates = sorted(r[0] for r in candidates.select("batch_date").distinct().collect())
    posteriors = type_posteriors(candidates, daily, dates, list_size, prior)
    shown = (
        candidates.where("is_shown").groupBy("batch_date", "exploration_type").agg(F.count("*").alias("shown_slots"))
    )
    totals = shown.groupBy("batch_date").agg(F.sum("shown_slots").alias("all_slots"))
    return (
        posteriors.join(shown, ["batch_date", "exploration_type"], "left")
        .join(totals, "batch_date", "left")
        .select(
            "batch_date",
            "exploration_type",
            "trials",
            "successes",
            F.when(F.col("trials") > 0, F.col("successes") / F.col("trials")).alias("success_rate"),
            "cumulative_trials",
            "cumulative_successes",
            "alpha",
            "beta",
            "posterior_mean",
            F.coalesce("shown_slots", F.lit(0)).cast("long").alias("shown_slots"),
            F.coalesce(F.col("shown_slots") / F.col("all_slots"), F.lit(0.0)).alias("slot_share"),
        )
    )
