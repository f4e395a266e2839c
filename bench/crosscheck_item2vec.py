"""item2vec (torch, watchhouse.ml.item2vec) beside Spark MLlib's Word2Vec on the same
sessionised clean watch sequences of a built home (default: the demo's), reading the
marts' Parquet directly (no metastore). Prints, for VODs with >= --min-views views:
the share of each VOD's top-10 neighbours from the same streamer / the same planted
streamer community, for both models and for random neighbours, and the overlap of the
two models' top-10 neighbour sets.

    .venv/bin/python bench/crosscheck_item2vec.py [--home .watchhouse/home] [--landing .watchhouse/landing]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

import duckdb
import numpy as np
import torch

from watchhouse.ml.item2vec import Item2VecConfig, train_item2vec
from watchhouse.ml.word2vec_mllib import cluster_purity, mllib_embeddings, neighbour_agreement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=".watchhouse/home")
    parser.add_argument("--landing", default=".watchhouse/landing")
    parser.add_argument("--min-views", type=int, default=20)
    parser.add_argument("--gap-minutes", type=int, default=30)
    args = parser.parse_args()
    views = Path(args.home) / "warehouse" / "marts.db" / "view_valuations"
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    rows = con.execute(
        f"""
        with v as (select user_id, vod_id, streamer_id, started_at from read_parquet('{views}/**/*.parquet')),
        s as (select *, case when lag(started_at) over (partition by user_id order by started_at, vod_id) is null
                   or started_at - lag(started_at) over (partition by user_id order by started_at, vod_id)
                      > interval {args.gap_minutes} minute then 1 else 0 end as brk from v),
        n as (select *, sum(brk) over (partition by user_id order by started_at, vod_id) as session from s)
        select user_id || '#' || session as seq, vod_id, streamer_id from n order by user_id, started_at, vod_id
        """
    ).df()
    communities = con.execute(
        f"select streamer_id, community from read_parquet('{args.landing}/_generator/streamers.parquet')"
    ).df()
    ids, item = np.unique(rows["vod_id"].to_numpy(), return_inverse=True)
    seq = rows["seq"].to_numpy()
    starts = np.flatnonzero(np.r_[True, seq[1:] != seq[:-1]])
    offsets = np.append(starts, len(seq)).astype(np.int64)
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    emb, stats = train_item2vec(item.astype(np.int64), offsets, len(ids), Item2VecConfig(seed=7))
    torch_seconds = time.perf_counter() - t0

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    sequences = [[str(ids[i]) for i in item[a:b]] for a, b in itertools.pairwise(offsets) if b - a > 1]
    frame = spark.createDataFrame([(s,) for s in sequences], "items array<string>")
    t0 = time.perf_counter()
    mllib_ids, mllib_emb = mllib_embeddings(frame, dim=32, window=5, seed=7, max_iter=1, num_partitions=1)
    mllib_seconds = time.perf_counter() - t0
    spark.stop()

    counts = np.bincount(item, minlength=len(ids))
    frequent = ids[counts >= args.min_views]
    common = np.intersect1d(frequent, np.asarray(mllib_ids))
    a = emb[np.searchsorted(ids, common)]
    b = mllib_emb[np.searchsorted(np.asarray(mllib_ids), common)]
    streamer_of = dict(zip(rows["vod_id"], rows["streamer_id"], strict=False))
    community_of = dict(zip(communities["streamer_id"], communities["community"], strict=True))
    streamer = np.array([streamer_of[v] for v in common])
    community = np.array([community_of.get(streamer_of[v], "?") for v in common])
    rand = np.random.default_rng(7).normal(size=a.shape).astype(np.float32)
    print(f"sequences {len(offsets) - 1}, VODs {len(ids)}, compared (>= {args.min_views} views): {len(common)}")
    print(f"torch item2vec: {torch_seconds:.1f} s, {stats['epochs_run']} epochs; MLlib Word2Vec: {mllib_seconds:.1f} s")
    print("| neighbours@10 | torch item2vec | MLlib Word2Vec | random |")
    print("|---|---|---|---|")
    for label, labels in (("same streamer", streamer), ("same community", community)):
        cells = [cluster_purity(x, labels, 10) for x in (a, b, rand)]
        print(f"| {label} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    print(f"| overlap with the other model's top-10 | {neighbour_agreement(a, b, 10):.3f} | "
          f"{neighbour_agreement(b, a, 10):.3f} | {neighbour_agreement(a, rand, 10):.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
