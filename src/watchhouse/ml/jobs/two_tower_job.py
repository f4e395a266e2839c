"""Two-tower retrieval with the logQ sampling-bias correction (watchhouse.ml.two_tower),
trained on clean views weighted by view_value, and its post-training dynamic int8
copy (watchhouse.ml.quantize): two models, two registry runs, two lists."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from pyspark.sql import DataFrame

from watchhouse.ml import quantize, two_tower, validation, warm
from watchhouse.ml.jobs.common import (
    Batch,
    Timer,
    flatten_top_k,
    progress,
    register,
    seen_pairs,
    skipped,
    to_lists,
    warm_artifact,
)

MODEL_NAME = "two_tower"
INT8_NAME = "two_tower_int8"
# the entity behind each row of the embedding tables (warm start maps rows by these ids)
TABLES = {
    "history_emb.weight": "vod",
    "item_id_emb.weight": "vod",
    "streamer_emb.weight": "streamer",
    "category_emb.weight": "category",
    "vod_type_emb.weight": "vod_type",
}


def item_features(batch: Batch) -> two_tower.ItemFeatures:
    c = batch.catalogue
    return two_tower.ItemFeatures(
        streamer=c.streamer, category=c.category, vod_type=c.vod_type, duration_bucket=c.duration_bucket
    )


CONTEXT_WIDTH = 1  # columns of context(): the history's fill


def context(histories: np.ndarray) -> np.ndarray:
    """Dense user context (CONTEXT_WIDTH columns): how full the history window is (new vs established viewers)."""
    return ((histories >= 0).sum(axis=1, keepdims=True) / histories.shape[1]).astype(np.float32)


def config(batch: Batch) -> two_tower.TwoTowerConfig:
    p = batch.params
    return two_tower.TwoTowerConfig(
        dim=p.two_tower_dim,
        history_len=p.history_items,
        temperature=p.two_tower_temperature,
        batch_size=p.two_tower_batch_size,
        epochs=p.two_tower_epochs,
        max_examples=p.two_tower_max_examples,
        max_seconds=p.max_seconds,
        seed=p.seed,
    )


def starting_model(batch: Batch, items: two_tower.ItemFeatures, cfg) -> tuple[two_tower.TwoTower | None, dict]:
    """With ml_warm_start: a fresh model (seeded) with the weights of the latest earlier batch's run copied in by
    entity id, and the tags that say so; else (None, {}): training starts from scratch."""
    saved, tags = warm_artifact(batch, MODEL_NAME)
    if saved is None:
        return None, tags
    model = two_tower.new_model(items, CONTEXT_WIDTH, cfg)
    # a VOD table of another width (two_tower_dim changed) copies no row
    matched, rows = warm.transfer(model, saved, batch.vocab.ids)["rows"].get("item_id_emb.weight", (0, items.n_items))
    progress(MODEL_NAME)(f"warm start: {matched} of {rows} VOD rows carried over")
    return model, {**tags, "warm_start_vod_rows": f"{matched}/{rows}"}


LATENCY_USERS = 2000  # scoring latency: the time to score this many users against the whole catalogue


def serve(model, histories, ctx, k, exclude_rows, exclude_cols) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Every user's top-k (exclusions: (row, item) pairs), and the latency of scoring LATENCY_USERS users
    measured on this pass (no extra scoring): the item tower + their share of the user tower + the median
    time of the pass's top-k blocks of LATENCY_USERS users."""
    with Timer() as item_time:
        items = two_tower.item_embeddings(model)
    with Timer() as user_time:
        users = two_tower.user_embeddings(model, histories, ctx)
    order = np.argsort(exclude_rows, kind="stable")
    rows, cols = np.asarray(exclude_rows)[order], np.asarray(exclude_cols)[order]

    def block(lo: int, hi: int):
        a, b = np.searchsorted(rows, [lo, hi])
        return two_tower.top_k(users[lo:hi], items, k, rows[a:b] - lo, cols[a:b])

    parts, block_seconds = quantize.timed_blocks(block, len(users), LATENCY_USERS)
    n = max(len(users), 1)
    latency = item_time.seconds + user_time.seconds * min(LATENCY_USERS, n) / n + block_seconds
    if not parts:
        return torch.zeros(0, k), torch.zeros(0, k, dtype=torch.int64), latency
    return torch.cat([s for s, _ in parts]), torch.cat([i for _, i in parts]), latency


def train_and_list(batch: Batch) -> DataFrame:
    p = batch.params
    cfg = config(batch)
    users, flat, offsets = batch.train.user_sequences()
    hist, targets, weights = two_tower.histories_from_sequences(
        flat, offsets, batch.train.value, p.history_items, cfg.max_examples, p.seed
    )
    if len(targets) == 0 or float(weights.sum()) <= 0:
        return skipped(batch, MODEL_NAME, "no training example with a positive view value in the window")
    start, warm_tags = starting_model(batch, item_features(batch), cfg)
    if start is not None:
        cfg = dataclasses.replace(cfg, epochs=p.warm_start_epochs)
    with Timer() as timer:
        model, stats = two_tower.train_two_tower(
            hist, context(hist), targets, weights, item_features(batch), cfg, progress=progress(MODEL_NAME), model=start
        )
    model.eval()
    int8 = quantize.dynamic_int8(model)

    # serving: every user of the window, from their full history (held-out views included)
    active, flat_all, offsets_all = batch.log.user_sequences()
    serve_hist = two_tower.last_histories(flat_all, offsets_all, p.history_items)
    serve_ctx = context(serve_hist)
    row_of = np.full(batch.vocab.size("user"), -1)
    row_of[active] = np.arange(len(active))
    seen_u, seen_i = seen_pairs(batch.log)
    exclude = (row_of[seen_u], seen_i)

    # validation: held-out users ranked from the history before their held-out view
    val_rows = np.searchsorted(users, batch.val_users)
    val_hist = two_tower.last_histories(flat, offsets, p.history_items)[val_rows]

    k = min(p.list_size, batch.vocab.size("vod"))
    frames = []
    fp32_size = quantize.serialized_size(model)
    base_latency = None
    for name, m in ((MODEL_NAME, model), (INT8_NAME, int8)):
        with torch.no_grad():
            scores, idx, latency = serve(m, serve_hist, serve_ctx, k, *exclude)
            _, val_idx = two_tower.top_k(
                two_tower.user_embeddings(m, val_hist, context(val_hist)), two_tower.item_embeddings(m), min(10, k)
            )
        base_latency = base_latency or latency
        size = quantize.serialized_size(m)
        register(
            batch,
            name,
            params={**cfg.__dict__, "quantization": "none" if m is model else "dynamic_int8"},
            metrics={
                "training_seconds": timer.seconds,
                "ndcg_at_10": validation.ndcg_at_10(val_idx.numpy(), batch.val_items),
                "size_bytes": float(size),
                "size_ratio_vs_fp32": fp32_size / size,
                "scoring_latency_ms": latency * 1000.0,
                "speedup_vs_fp32": base_latency / latency,
                "epochs_run": float(stats["epochs_run"]),
                "loss_first": float(stats["loss_first"]),
                "loss_last": float(stats["loss_last"]),
                "training_examples": float(len(targets)),
            },
            artifact=warm.artifact(m, TABLES, batch.vocab.ids) if m is model else m.state_dict(),
            tags={"stopped_by": stats["stopped_by"], "base_model": MODEL_NAME, **warm_tags},
        )
        u, i, r, s = flatten_top_k(active, scores, idx)
        frames.append(to_lists(batch, name, u, i, r, s))
    return frames[0].unionByName(frames[1])
