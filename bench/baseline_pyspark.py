"""A hand-written PySpark job: the baseline the project's daily-batch build is compared with.

For one batch day D (default: the last complete day of the landing data, the rule of
`watchhouse.landing`) and the window of the WINDOW_DAYS days up to D, it computes from a landing
folder (DESIGN.md §3: Parquet per table, event tables optionally Hive-partitioned by `event_date`):

- `user_watch_norms`: per user views, total / mean / exact median watched seconds, mean watch ratio
  (as models/marts/valuation/user_watch_norms.sql; watch ratio = watched / duration, capped at 1);
- `vod_watch_norms`: per VOD views, unique viewers, mean / exact median watched seconds, mean watch
  ratio, duration (as vod_watch_norms.sql);
- `co_viewed_pairs`: per user the watched streamers ranked by the project's preference score
  (ln(1 + decayed watch minutes) + 0.5 ln(1 + decayed active days), half-life 7 days), capped at
  50 per user, self-joined per user into streamer pairs, co-viewers counted per pair, pairs with
  >= 3 co-viewers kept (as co_viewed_streamers.sql before its Jaccard / lift / top-20 step);
  written as ordered pairs (both directions), like the mart.

It writes the three results as Parquet under OUT/<name>/ and prints its wall time, then one JSON
line (`BASELINE_JSON {...}`) that bench/bench_scale.py reads.

Careful where it matters on 2 cores (DESIGN.md §2): shuffle partitions sized for the cores with AQE
coalescing; the deduplicated, VOD-joined views are hash-partitioned by user once and cached, so the
user norms, the (user, streamer, day) preference aggregate, the capped ranking and the pair
self-join need no further shuffle; unique viewers come from a two-stage aggregate ((vod, user)
first, then per VOD) instead of count(distinct) beside a percentile; pairs are generated once
(a < b) and mirrored after counting.

What it checks of the landing contract: null keys, null / non-finite / negative seconds, null or
implausible timestamps (before 2020-01-01 or after D + 1 day), duplicate event ids (one row kept),
unknown VODs (inner join), VODs with no valid duration, duplicate VOD ids, a watch longer than
3 x duration + 60 s. What it skips, so it does less than the build: the abuse filter (bot days,
farms, loops, over-long views) and the quarantine tables, unknown-user checks, pseudonyms, live
views and follows in the preference score, the D2Q duration quantiles, Jaccard / lift / top-N,
data tests and Great Expectations suites, the metastore and the atomic publish. The project's norms
read all history up to D; this job reads the window (the same thing on a 14-day landing).

    .venv/bin/python bench/baseline_pyspark.py LANDING OUT [--as-of 2026-11-20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

WINDOW_DAYS = 28
CAP_STREAMERS = 50
MIN_CO_VIEWERS = 3
HALF_LIFE_DAYS = 7
FREQUENCY_WEIGHT = 0.5
MAX_WATCH_MULTIPLE, WATCH_SLACK_SECONDS = 3.0, 60
PLATFORM_START = "2020-01-01"

OUTPUTS = ("user_watch_norms", "vod_watch_norms", "co_viewed_pairs")


def session(driver_memory: str, shuffle_partitions: int, master: str):
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master(master)
        .appName("watchhouse-baseline")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.catalogImplementation", "in-memory")  # no Hive, no metastore
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.adaptive.coalescePartitions.enabled", "true")
        .config("spark.sql.adaptive.skewJoin.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_table(spark, landing: Path, name: str):
    return spark.read.option("basePath", str(landing / name)).parquet(str(landing / name))


def default_batch(landing: Path) -> dt.date:
    """The landing's default batch day, by the project's own rule (watchhouse.landing: the last
    complete day of the main run of dense days), read with DuckDB before the job starts."""
    from watchhouse.landing import inspect_landing

    return inspect_landing(landing).as_of


def compute(spark, landing: Path, out: Path, as_of: str | None, explain: bool = False) -> dict:
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    raw = read_table(spark, landing, "watch_events")
    partitioned = "event_date" in raw.columns
    # the batch a row belongs to: its partition when partitioned, else the date of its timestamp
    day_col = F.col("event_date").cast("date") if partitioned else F.to_date("started_at")
    batch = dt.date.fromisoformat(as_of) if as_of else default_batch(landing)
    first = batch - dt.timedelta(days=WINDOW_DAYS - 1)
    d_lit, first_lit = F.lit(batch.isoformat()).cast("date"), F.lit(first.isoformat()).cast("date")

    events = (
        raw.select("event_id", "user_id", "vod_id", "started_at", "watched_seconds", day_col.alias("view_day"))
        .where(F.col("view_day").between(first_lit, d_lit))  # partition pruning when partitioned
        .where(F.col("event_id").isNotNull() & F.col("user_id").isNotNull() & F.col("vod_id").isNotNull())
        .where(F.col("started_at").isNotNull())
        .where(F.col("started_at") >= F.lit(PLATFORM_START).cast("timestamp"))
        .where(F.col("started_at") < F.date_add(d_lit, 2).cast("timestamp"))
        .where(
            F.col("watched_seconds").isNotNull()
            & ~F.isnan("watched_seconds")
            & (F.abs("watched_seconds") != F.lit(float("inf")))
            & (F.col("watched_seconds") >= 0)
        )
        .dropDuplicates(["event_id"])  # one shuffle (by event_id); any one row of a duplicated id kept
    )
    vods = (
        read_table(spark, landing, "vods")
        .select("vod_id", "streamer_id", F.col("duration_seconds").cast("double").alias("duration_seconds"))
        .where(F.col("vod_id").isNotNull() & F.col("streamer_id").isNotNull())
        .where(
            F.col("duration_seconds").isNotNull()
            & ~F.isnan("duration_seconds")
            & (F.col("duration_seconds") > 0)
            & (F.col("duration_seconds") != F.lit(float("inf")))
        )
        .dropDuplicates(["vod_id"])
    )
    views = (
        events.join(F.broadcast(vods), "vod_id")  # VODs are small beside the events
        .where(F.col("watched_seconds") <= F.col("duration_seconds") * MAX_WATCH_MULTIPLE + WATCH_SLACK_SECONDS)
        .select(
            "user_id",
            "vod_id",
            "streamer_id",
            "view_day",
            "watched_seconds",
            "duration_seconds",
            F.least(F.col("watched_seconds") / F.col("duration_seconds"), F.lit(1.0)).alias("watch_ratio"),
        )
        .repartition("user_id")  # the one shuffle every per-user step below reuses
        .persist(StorageLevel.MEMORY_AND_DISK)
    )

    # user norms: one aggregate, no distinct; the input is already clustered by user
    user_norms = views.groupBy("user_id").agg(
        F.count("*").alias("views"),
        F.sum("watched_seconds").alias("total_watched_seconds"),
        F.avg("watched_seconds").alias("mean_watched_seconds"),
        F.percentile("watched_seconds", 0.5).alias("median_watched_seconds"),  # exact, interpolated
        F.avg("watch_ratio").alias("mean_watch_ratio"),
    )

    # VOD norms: sums and the exact median per VOD; unique viewers in two stages
    vod_stats = views.groupBy("vod_id").agg(
        F.first("streamer_id").alias("streamer_id"),
        F.first("duration_seconds").alias("duration_seconds"),
        F.count("*").alias("views"),
        F.sum("watched_seconds").alias("total_watched_seconds"),
        F.avg("watched_seconds").alias("mean_watched_seconds"),
        F.percentile("watched_seconds", 0.5).alias("median_watched_seconds"),
        F.avg("watch_ratio").alias("mean_watch_ratio"),
    )
    viewers = (
        views.groupBy("vod_id", "user_id")  # clustered by user already: no shuffle for this stage
        .count()
        .groupBy("vod_id")
        .agg(F.count("*").alias("unique_viewers"))
    )
    vod_norms = vod_stats.join(viewers, "vod_id").select(
        "vod_id",
        "streamer_id",
        "views",
        "unique_viewers",
        "total_watched_seconds",
        "mean_watched_seconds",
        "median_watched_seconds",
        "mean_watch_ratio",
        "duration_seconds",
    )

    # co-view pairs: (user, streamer, day) -> decayed preference -> top 50 per user -> pairs
    age = F.datediff(d_lit, F.col("view_day"))
    daily = views.groupBy("user_id", "streamer_id", "view_day").agg(F.sum("watched_seconds").alias("seconds"))
    preferred = (
        daily.withColumn("w", F.pow(F.lit(0.5), age / HALF_LIFE_DAYS))
        .groupBy("user_id", "streamer_id")
        .agg(
            F.sum("seconds").alias("watched_seconds"),
            (F.sum(F.col("w") * F.col("seconds")) / 60).alias("decayed_minutes"),
            F.sum("w").alias("decayed_days"),
        )
        .where(F.col("watched_seconds") > 0)
        .withColumn("score", F.log1p("decayed_minutes") + FREQUENCY_WEIGHT * F.log1p("decayed_days"))
    )
    by_user = Window.partitionBy("user_id").orderBy(F.col("score").desc(), F.col("streamer_id").asc())
    capped = (
        preferred.withColumn("watched_rank", F.row_number().over(by_user))
        .where(F.col("watched_rank") <= CAP_STREAMERS)
        .select("user_id", "streamer_id")
    )
    a, b = capped.alias("a"), capped.alias("b")
    unordered = (
        a.join(b, (F.col("a.user_id") == F.col("b.user_id")) & (F.col("a.streamer_id") < F.col("b.streamer_id")))
        .groupBy(F.col("a.streamer_id").alias("s1"), F.col("b.streamer_id").alias("s2"))
        .agg(F.count("*").alias("co_viewers"))
        .where(F.col("co_viewers") >= MIN_CO_VIEWERS)
    )
    pairs = unordered.select(
        F.col("s1").alias("streamer_id"), F.col("s2").alias("co_streamer_id"), "co_viewers"
    ).unionByName(unordered.select(F.col("s2").alias("streamer_id"), F.col("s1").alias("co_streamer_id"), "co_viewers"))

    # materialise the cache first: a plan made after it knows the cached rows are clustered by user
    # (planned before, AQE cannot tell and adds an exchange for the user norms)
    start = time.perf_counter()
    view_rows = views.count()
    timings = {"views": round(time.perf_counter() - start, 3)}
    for name, frame in zip(OUTPUTS, (user_norms, vod_norms, pairs), strict=True):
        if explain:
            print(f"== {name} ==")
            frame.explain()
        start = time.perf_counter()
        frame.write.mode("overwrite").parquet(str(out / name))
        timings[name] = round(time.perf_counter() - start, 3)
    views.unpersist()
    return {
        "as_of": batch.isoformat(),
        "window_first": first.isoformat(),
        "views": view_rows,
        "step_seconds": timings,
    }


def row_counts(out: Path) -> dict:
    import pyarrow.parquet as pq

    return {
        name: sum(pq.ParquetFile(f).metadata.num_rows for f in sorted((out / name).glob("*.parquet")))
        for name in OUTPUTS
    }


def main(argv: list[str] | None = None) -> int:
    t0 = time.perf_counter()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("landing", type=Path)
    p.add_argument("out", type=Path, help="output folder (its three result folders are replaced)")
    p.add_argument("--as-of", default=None, help="batch day D, YYYY-MM-DD (default: last complete day)")
    p.add_argument(
        "--driver-memory",
        default=os.environ.get("WATCHHOUSE_DRIVER_MEMORY", "6g"),
        help="spark.driver.memory (default $WATCHHOUSE_DRIVER_MEMORY, else 6g, as the build)",
    )
    cores = os.cpu_count() or 2
    p.add_argument("--shuffle-partitions", type=int, default=4 * cores, help="default 4 x cores; AQE coalesces")
    p.add_argument("--master", default="local[*]")
    p.add_argument("--explain", action="store_true", help="print each result's physical plan before writing it")
    args = p.parse_args(argv)
    if not (args.landing / "watch_events").is_dir() or not (args.landing / "vods").is_dir():
        print(f"baseline: {args.landing} has no watch_events/ and vods/ folders", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:
        shutil.rmtree(args.out / name, ignore_errors=True)

    spark = session(args.driver_memory, args.shuffle_partitions, args.master)
    t1 = time.perf_counter()
    try:
        result = compute(spark, args.landing.resolve(), args.out.resolve(), args.as_of, args.explain)
    finally:
        spark.stop()
    t2 = time.perf_counter()
    result.update(
        wall_seconds=round(t2 - t0, 3),
        session_seconds=round(t1 - t0, 3),
        compute_seconds=round(t2 - t1, 3),
        shuffle_partitions=args.shuffle_partitions,
        rows=row_counts(args.out),
    )
    print(
        f"baseline: batch {result['as_of']} (window {result['window_first']}..{result['as_of']}): "
        f"wall {result['wall_seconds']:.1f} s (session start {result['session_seconds']:.1f} s, "
        f"compute {result['compute_seconds']:.1f} s); rows {result['rows']}"
    )
    print("BASELINE_JSON " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
