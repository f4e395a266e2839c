"""ALS baseline (Hu, Koren, Volinsky 2008 implicit feedback; Spark MLlib's ALS):
preference = watched, confidence = 1 + alpha x the user's summed view value of
the VOD in the window. Integer ids come from ml_id_map (the table that keeps the
mapping); factors are collected (catalogue-sized) and every user's top-K is a
batched matrix product, as for the towers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame

from watchhouse.ml import validation
from watchhouse.ml.data import collect_arrays
from watchhouse.ml.jobs.common import Batch, Timer, flatten_top_k, register, seen_pairs, skipped, to_lists
from watchhouse.ml.two_tower import top_k

MODEL_NAME = "als"


def ratings(log) -> pa.Table:
    """(user, item, rating = summed view value) per distinct pair of the log."""
    width = int(log.item.max()) + 1
    key, inverse = np.unique(log.user * width + log.item, return_inverse=True)
    rating = np.bincount(inverse, weights=log.value.astype(np.float64) + 0.05)  # a view counts even at value 0
    return pa.table(
        {
            "user": pa.array((key // width).astype(np.int32)),
            "item": pa.array((key % width).astype(np.int32)),
            "rating": pa.array(rating.astype(np.float32)),
        }
    )


def factors(frame: DataFrame, rank: int, rows: int, size: int) -> np.ndarray:
    """ALS factor table (id, features) as a dense [size, rank] matrix (zeros where absent)."""
    cols = collect_arrays(frame.selectExpr("id", "features"), rows)
    out = np.zeros((size, rank), dtype=np.float32)
    if len(cols["id"]):
        out[cols["id"].astype(np.int64)] = np.stack(cols["features"]).astype(np.float32)
    return out


def train_and_list(batch: Batch) -> DataFrame:
    p = batch.params
    with Timer() as timer:
        table = ratings(batch.train)
        frame = batch.session.createDataFrame(table)
        als = ALS(
            userCol="user",
            itemCol="item",
            ratingCol="rating",
            implicitPrefs=True,
            alpha=p.als_alpha,
            rank=p.als_rank,
            maxIter=p.als_max_iter,
            regParam=p.als_reg_param,
            seed=p.seed,
            numUserBlocks=2,
            numItemBlocks=2,
            checkpointInterval=-1,
        )
        fitted = als.fit(frame)
        users = factors(fitted.userFactors, p.als_rank, p.arrow_batch_rows, batch.vocab.size("user"))
        items = factors(fitted.itemFactors, p.als_rank, p.arrow_batch_rows, batch.vocab.size("vod"))
    import torch

    counts = np.bincount(batch.train.item, minlength=batch.vocab.size("vod"))
    item_emb = torch.from_numpy(items)
    item_emb[torch.from_numpy(counts < p.min_item_views)] = 0.0  # too few views to recommend
    recommendable = np.flatnonzero(counts >= p.min_item_views)  # scored: the items with data, not the catalogue
    exclude_users, exclude_items = seen_pairs(batch.log)
    active = np.unique(batch.log.user)
    row_of = np.full(batch.vocab.size("user"), -1)
    row_of[active] = np.arange(len(active))
    k = min(p.list_size, len(recommendable))
    if k == 0:
        return skipped(batch, MODEL_NAME, f"no VOD has {p.min_item_views} views in the window")
    with Timer() as scoring:
        scores, idx = top_k(
            torch.from_numpy(users[active]),
            item_emb,
            k,
            exclude_rows=torch.from_numpy(row_of[exclude_users]),
            exclude_cols=torch.from_numpy(exclude_items),
            candidates=recommendable,
        )
    val = _validation(batch, users, item_emb)
    register(
        batch,
        MODEL_NAME,
        params={"rank": p.als_rank, "max_iter": p.als_max_iter, "reg_param": p.als_reg_param, "alpha": p.als_alpha},
        metrics={
            "training_seconds": timer.seconds,
            "ndcg_at_10": val,
            "size_bytes": float(users.nbytes + items.nbytes),
            "scoring_latency_ms": scoring.seconds * 1000.0,
            "epochs_run": float(p.als_max_iter),
            "training_pairs": float(table.num_rows),
        },
        tags={"stopped_by": "epochs"},
    )
    u, i, r, s = flatten_top_k(active, scores, idx)
    return to_lists(batch, MODEL_NAME, u, i, r, s)


def _validation(batch: Batch, users: np.ndarray, item_emb) -> float:
    import torch

    if len(batch.val_users) == 0:
        return float("nan")
    _, idx = top_k(torch.from_numpy(users[batch.val_users]), item_emb, min(10, len(item_emb)))
    return validation.ndcg_at_10(idx.numpy(), batch.val_items)
