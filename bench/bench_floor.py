"""A tiny landing's build against the Spark floor, in one script.

    .venv/bin/python bench/bench_floor.py LANDING [--vars JSON] [--ml] [--repeat N]

The floor: a fresh local PySpark process (the build's own Spark settings: local[*], the same
shuffle partitions, AQE, UTC) that reads the landing's watch_events and vods, joins them,
aggregates per user and per VOD, and writes both results as Parquet: the least any tool that
starts Spark, reads this landing and writes a table pays. The build: `watchhouse build` into
a fresh home (ML off unless --ml), the production default (no dbt unit tests). Both are
timed as whole child processes, wall clock, alternately, N times each; the ratio is of the
medians. `watchhouse profile` of the last build follows, so the figure comes with where its
time went. bench/RESULTS.md records the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

FLOOR = r"""
import sys
from pyspark.sql import SparkSession, functions as F
landing, out = sys.argv[1], sys.argv[2]
spark = (SparkSession.builder.master("local[*]").appName("floor")
         .config("spark.sql.shuffle.partitions", "8").config("spark.sql.adaptive.enabled", "true")
         .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
views = spark.read.parquet(f"{landing}/watch_events")
vods = spark.read.parquet(f"{landing}/vods").select("vod_id", "duration_seconds").dropDuplicates(["vod_id"])
joined = views.join(vods, "vod_id").withColumn(
    "watch_ratio", F.least(F.col("watched_seconds") / F.col("duration_seconds"), F.lit(1.0))
)
joined.groupBy("user_id").agg(
    F.count("*").alias("views"), F.sum("watched_seconds").alias("total_watched_seconds"),
    F.avg("watch_ratio").alias("mean_watch_ratio"),
).write.mode("overwrite").parquet(f"{out}/user_norms")
joined.groupBy("vod_id").agg(
    F.count("*").alias("views"), F.avg("watched_seconds").alias("mean_watched_seconds"),
).write.mode("overwrite").parquet(f"{out}/vod_norms")
spark.stop()
"""


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("landing", type=Path)
    ap.add_argument("--vars", default="{}", help="extra dbt vars (JSON) for the build")
    ap.add_argument("--ml", action="store_true", help="build with the ML models (default: ml_enabled false)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each, alternating (default 1)")
    args = ap.parse_args()
    build_vars = {**json.loads(args.vars), **({} if args.ml else {"ml_enabled": False})}
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", WATCHHOUSE_LANDING=str(args.landing.resolve()))
    env.setdefault("WATCHHOUSE_PSEUDONYM_KEY", "bench")
    floors, builds = [], []
    with tempfile.TemporaryDirectory(prefix="wh-floor-") as tmp:
        for i in range(args.repeat):
            floors.append(timed([sys.executable, "-c", FLOOR, str(args.landing), f"{tmp}/floor{i}"], env))
            home = Path(tmp) / f"home{i}"
            cmd = [str(BIN / "watchhouse"), "build", "--vars", json.dumps(build_vars)]
            builds.append(timed(cmd, {**env, "WATCHHOUSE_HOME": str(home)}))
            print(f"run {i + 1}: floor {floors[-1]:.1f} s, build {builds[-1]:.1f} s", flush=True)
        profile = subprocess.run(
            [str(BIN / "watchhouse"), "profile", "--target-dir", str(home / "dbt" / "target"), "--top", "10"],
            env=env, capture_output=True, text=True,
        ).stdout  # fmt: skip
    floor, build = statistics.median(floors), statistics.median(builds)
    print(f"floor {floor:.1f} s   build {build:.1f} s   ratio {build / floor:.2f}x   (medians of {args.repeat})")
    print(profile)


if __name__ == "__main__":
    main()
