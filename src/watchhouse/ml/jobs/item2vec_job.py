"""item2vec: skip-gram with negative sampling over sessionised clean watch
sequences (watchhouse.ml.item2vec). The training model returns the embeddings
(VODs, and streamers as the view-weighted mean of their VODs' unit vectors); the
list model seeds each user's list with their recent VODs' neighbours."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame

from watchhouse.ml import item2vec, validation
from watchhouse.ml.data import collect_arrays
from watchhouse.ml.jobs.common import Batch, Timer, history_weights, progress, register, to_lists

MODEL_NAME = "item2vec"


def config(batch: Batch) -> item2vec.Item2VecConfig:
    p = batch.params
    return item2vec.Item2VecConfig(
        dim=p.item2vec_dim,
        window=p.item2vec_window,
        negatives=p.item2vec_negatives,
        epochs=p.item2vec_epochs,
        max_seconds=p.max_seconds,
        seed=p.seed,
    )


def train_embeddings(batch: Batch) -> DataFrame:
    """Train, validate (leave-last-out NDCG@10), register; return the embedding table."""
    p = batch.params
    flat, offsets = batch.train.sessions(p.session_gap_minutes * 60)
    n_items = batch.vocab.size("vod")
    cfg = config(batch)
    with Timer() as timer:
        emb, stats = item2vec.train_item2vec(flat, offsets, n_items, cfg, progress=progress(MODEL_NAME))
    views = np.bincount(batch.train.item, minlength=n_items)
    usable = views >= p.min_item_views
    emb = np.where(usable[:, None], emb, 0.0).astype(np.float32)
    val = _validate(batch, emb)
    register(
        batch,
        MODEL_NAME,
        params={**cfg.__dict__, "session_gap_minutes": p.session_gap_minutes, "min_item_views": p.min_item_views},
        metrics={
            "training_seconds": timer.seconds,
            "ndcg_at_10": val,
            "size_bytes": float(emb[usable].nbytes),
            "epochs_run": float(stats["epochs_run"]),
            "loss_first": float(stats["loss_first"]),
            "loss_last": float(stats["loss_last"]),
            "sequences": float(len(offsets) - 1),
        },
        tags={"stopped_by": stats["stopped_by"]},
    )
    return _embedding_table(batch, emb, views, usable)


def _validate(batch: Batch, emb: np.ndarray) -> float:
    if len(batch.val_users) == 0:
        return float("nan")
    users, items, weights = history_weights(batch.train, batch.params.history_items)
    pick = np.isin(users, batch.val_users)
    u, i, r, _ = item2vec.recommend_from_history(emb, users[pick], items[pick], weights[pick], 10, exclude_seen=False)
    return validation.ndcg_at_10(_top_matrix(u, i, r, batch.val_users, 10), batch.val_items)


def _top_matrix(users, items, ranks, rows, k) -> np.ndarray:
    """Flat top-k rows as a [len(rows), k] matrix (-1 where a list is shorter)."""
    out = np.full((len(rows), k), -1, dtype=np.int64)
    position = np.searchsorted(rows, users)
    out[position, ranks - 1] = items
    return out


def _embedding_table(batch: Batch, emb: np.ndarray, views: np.ndarray, usable: np.ndarray) -> DataFrame:
    unit = item2vec.normalise(emb)
    streamers = batch.catalogue.streamer
    n_streamers = batch.vocab.size("streamer")
    weighted = np.zeros((n_streamers, emb.shape[1]), dtype=np.float64)
    np.add.at(weighted, streamers[usable], unit[usable] * views[usable, None])
    streamer_views = np.bincount(streamers[usable], weights=views[usable], minlength=n_streamers)
    has = streamer_views > 0
    streamer_emb = item2vec.normalise((weighted[has] / streamer_views[has, None]).astype(np.float32))
    vod_idx = np.flatnonzero(usable)
    n_vod, n_str = len(vod_idx), int(has.sum())
    table = pa.table(
        {
            "batch_date": pa.array([batch.as_of] * (n_vod + n_str), pa.date32()),
            "entity_type": pa.array(["vod"] * n_vod + ["streamer"] * n_str, pa.string()),
            "entity_id": pa.array(
                np.concatenate([batch.vocab.ids["vod"][vod_idx], batch.vocab.ids["streamer"][has]]).astype(str)
            ),
            "views": pa.array(np.concatenate([views[vod_idx], streamer_views[has]]).astype(np.int64)),
            "embedding": pa.array(list(np.concatenate([unit[vod_idx], streamer_emb]).astype(np.float32))),
        }
    )
    return batch.session.createDataFrame(table)


def lists(batch: Batch, embeddings: DataFrame) -> DataFrame:
    """Each user's top-K from the neighbours of their recent VODs (history not repeated)."""
    cols = collect_arrays(
        embeddings.where("entity_type = 'vod'").select("entity_id", "embedding"), batch.params.arrow_batch_rows
    )
    n_items = batch.vocab.size("vod")
    emb = np.zeros((n_items, batch.params.item2vec_dim), dtype=np.float32)
    if len(cols["entity_id"]):
        emb[batch.vocab.index("vod", cols["entity_id"])] = np.stack(cols["embedding"])
    usable = np.flatnonzero(np.abs(emb).sum(axis=1) > 0)  # the embedding table holds the recommendable VODs only
    users, items, weights = history_weights(batch.log, batch.params.history_items)
    u, i, r, s = item2vec.recommend_from_history(emb, users, items, weights, batch.params.list_size, candidates=usable)
    return to_lists(batch, MODEL_NAME, u, i, r, s)
