"""Are Spark's mergeable quantile sketches deterministic? (docs/incremental.md, decision 3)

    .venv/bin/python bench/probe_kll.py

Builds `kll_sketch_agg_double` per group over the same 2M seeded values three times (different
partitionings, and twice the same) and prints each run's median and rank of 500.0 per group, then
the exact medians. A rerun of a batch must give the same tables, so a sketch whose answers move
between runs cannot hold a published number.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main() -> None:
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    values = spark.range(0, 2_000_000).select((F.rand(1) * 1000).alias("x"), (F.col("id") % 7).alias("g"))
    runs = []
    for partitions in (3, 8, 8):
        sketches = values.repartition(partitions).groupBy("g").agg(F.kll_sketch_agg_double("x").alias("sk"))
        rows = sketches.select(
            "g",
            F.kll_sketch_get_quantile_double("sk", F.lit(0.5)).alias("median"),
            F.kll_sketch_get_rank_double("sk", F.lit(500.0)).alias("rank"),
        )
        runs.append([(round(r.median, 6), round(r.rank, 6)) for r in rows.orderBy("g").collect()])
        print(f"{partitions} partitions: (median, rank of 500) of groups 0-2: {runs[-1][:3]}")
    exact = values.groupBy("g").agg(F.percentile("x", 0.5).alias("m")).orderBy("g").collect()
    print(f"exact medians of groups 0-2: {[round(r.m, 3) for r in exact[:3]]}")
    print(
        f"identical in all runs: {runs[0] == runs[1] == runs[2]}; the two runs with 8 partitions: {runs[1] == runs[2]}"
    )
    spark.stop()


if __name__ == "__main__":
    main()
