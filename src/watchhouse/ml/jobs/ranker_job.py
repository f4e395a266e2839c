"""The multi-task ranker (watchhouse.ml.ranker) over the retrieval candidates, then
the preference re-rank; and its quantized variants, each with its own lists:
ranker (fp32), ranker_int8 (post-training dynamic int8), ranker_qat
(quantization-aware fine-tuning, converted to int8) and ranker_fst (two-level
bit width fine-tuning: a random part of each weight matrix at quant_low_bits,
the rest at quant_high_bits)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from watchhouse.ml import quantize, ranker, ranker_data, warm
from watchhouse.ml.data import collect_arrays
from watchhouse.ml.jobs.common import (
    DAY_SECONDS,
    Batch,
    Timer,
    day_start,
    progress,
    register,
    skipped,
    to_lists,
    warm_artifact,
)

MODEL_NAME = "ranker"
LATENCY_ROWS = 100_000  # scoring latency: the time to score this many candidates
SCORE_CHUNK = 4096  # ranker.score's rows per forward pass
# latency blocks of the serving pass: whole forward chunks (dynamic int8 quantizes each chunk's activations, so
# blocks aligned to them leave every score as one pass over all candidates gives it)
LATENCY_BLOCK = -(-LATENCY_ROWS // SCORE_CHUNK) * SCORE_CHUNK
MIN_LABEL_USERS = 10  # fewer label-day users than this: too little to learn from (and hold 10% out)
TABLES = {"embeddings.0.weight": "vod_type"}  # the entity behind each row (warm start maps rows by these ids)


def candidates(batch: Batch, lists: DataFrame, id_map: DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user idx, vod idx) of the candidate models' lists for the batch, sorted. The id map's users and
    VODs are broadcast to the lists (no shuffle); the lists overlap, so pairs are made distinct on the integer
    arrays here rather than by a shuffle of the id strings in Spark."""
    names = list(batch.params.ranker_candidates)
    users = id_map.where("entity_type = 'user'").selectExpr("entity_id as user_id", "idx as user")
    vods = id_map.where("entity_type = 'vod'").selectExpr("entity_id as vod_id", "idx as item")
    pairs = (
        lists.where(F.col("model_name").isin(names) & (F.col("item_type") == "vod"))
        .select("user_id", F.col("item_id").alias("vod_id"))
        .join(F.broadcast(users), "user_id")
        .join(F.broadcast(vods), "vod_id")
        .select("user", "item")
    )
    cols = collect_arrays(pairs, batch.params.arrow_batch_rows)
    width = batch.vocab.size("vod")
    key = np.unique(cols["user"].astype(np.int64) * width + cols["item"].astype(np.int64))
    return key // width, key % width


def config(batch: Batch, epochs: int | None = None) -> ranker.RankerConfig:
    p = batch.params
    return ranker.RankerConfig(epochs=epochs or p.ranker_epochs, max_seconds=p.max_seconds, seed=p.seed)


def _split(users: np.ndarray, share: float, seed: int) -> np.ndarray:
    """True for rows of a seeded `share` of users (held out for validation)."""
    distinct = np.unique(users)
    rng = np.random.default_rng(seed)
    held = rng.choice(distinct, size=max(1, int(len(distinct) * share)), replace=False)
    return np.isin(users, held)


def ranking_ndcg_at_10(users: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over users with a positive of binary NDCG@10 of their pool ranked by score."""
    frame = pd.DataFrame({"u": users, "s": scores, "y": labels})
    frame = frame.sort_values(["u", "s"], ascending=[True, False], kind="stable")
    frame["rank"] = frame.groupby("u").cumcount() + 1
    frame["gain"] = np.where((frame["rank"] <= 10) & (frame["y"] > 0), 1.0 / np.log2(frame["rank"] + 1), 0.0)
    per_user = frame.groupby("u").agg(dcg=("gain", "sum"), rel=("y", "sum"))
    per_user = per_user[per_user["rel"] > 0]
    if per_user.empty:
        return float("nan")
    ideal = per_user["rel"].clip(upper=10).map(lambda n: sum(1.0 / np.log2(i + 2) for i in range(int(n))))
    return float((per_user["dcg"] / ideal).mean())


def train_and_list(batch: Batch, lists: DataFrame, id_map: DataFrame) -> DataFrame:
    p = batch.params
    cat = batch.catalogue
    label_start = day_start(batch.as_of)
    users, items, y_watch, y_value = ranker_data.training_pairs(
        batch.log, cat, label_start, label_start + DAY_SECONDS, p.ranker_negatives, p.seed
    )
    if len(np.unique(users[y_watch > 0])) < MIN_LABEL_USERS:
        return skipped(batch, MODEL_NAME, f"fewer than {MIN_LABEL_USERS} users watched a VOD on the label day")
    hist = ranker_data.history_at(batch.log, cat, label_start, batch.vocab.size("user"))
    dense, cats, _ = ranker_data.pair_features(hist, cat, users, items)
    held = _split(users, 0.1, p.seed)
    fit, val = ~held, held
    cardinalities = [int(cat.vod_type.max(initial=0)) + 1, int(cat.duration_bucket.max(initial=0)) + 1]
    say = progress(MODEL_NAME)

    def train(model=None, epochs=None):
        return ranker.train_ranker(
            dense[fit], cats[fit], y_watch[fit], y_value[fit], cardinalities, config(batch, epochs), say, model=model
        )

    start, warm_tags = starting_model(batch, dense[fit], cardinalities)
    variants = {}
    with Timer() as t:
        fp32, stats = train(start, p.warm_start_epochs if start is not None else None)
    fp32.eval()
    variants[MODEL_NAME] = (fp32, quantize.serialized_size(fp32), t.seconds, stats, "none")
    with Timer() as t:
        int8 = quantize.dynamic_int8(fp32)
    variants["ranker_int8"] = (int8, quantize.serialized_size(int8), t.seconds, stats, "dynamic_int8")
    fine_tune = max(1, p.ranker_epochs // 2)
    with Timer() as t:
        qat, qat_stats = train(quantize.prepare_qat(fp32), fine_tune)
        qat = quantize.convert_qat(qat)
    variants["ranker_qat"] = (qat, quantize.serialized_size(qat), t.seconds, qat_stats, "qat_int8")
    with Timer() as t:
        fst = quantize.apply_two_level(fp32, p.quant_low_bits, p.quant_high_bits, p.quant_low_fraction, p.seed)
        fst, fst_stats = train(fst, fine_tune)
        fst_size = quantize.two_level_size_bytes(fst)
        fst = quantize.export_two_level(fst)
    variants["ranker_fst"] = (fst, fst_size, t.seconds, fst_stats, "two_level")

    # serving: the candidates of D + 1, features from everything up to the end of D
    serve_users, serve_items = candidates(batch, lists, id_map)
    if len(serve_users) == 0:
        return skipped(batch, MODEL_NAME, "no retrieval candidates for the batch")
    serve_hist = ranker_data.history_at(batch.log, cat, label_start + DAY_SECONDS, batch.vocab.size("user"))
    s_dense, s_cats, preference = ranker_data.pair_features(serve_hist, cat, serve_users, serve_items)
    frames = []
    base_size, base_latency, base_ndcg = None, None, None
    for name, (model, size, seconds, st, scheme) in variants.items():
        with torch.no_grad():
            scores, latency = serve(model, s_dense, s_cats)
            ndcg = ranking_ndcg_at_10(users[val], ranker.score(model, dense[val], cats[val]), y_watch[val])
        base_size, base_latency, base_ndcg = base_size or size, base_latency or latency, base_ndcg or ndcg
        register(
            batch,
            name,
            params={**dataclasses.asdict(config(batch)), "quantization": scheme, "negatives": p.ranker_negatives},
            metrics={
                "training_seconds": seconds,
                "ndcg_at_10": ndcg,
                "ndcg_change_vs_fp32": ndcg / base_ndcg - 1.0 if base_ndcg else float("nan"),
                "size_bytes": float(size),
                "size_ratio_vs_fp32": base_size / size,
                "scoring_latency_ms": latency * 1000.0,
                "speedup_vs_fp32": base_latency / latency,
                "epochs_run": float(st.get("epochs_run", st["epochs_completed"])),
                "training_pairs": float(fit.sum()),
                "serving_candidates": float(len(serve_users)),
            },
            artifact=warm.artifact(model, TABLES, batch.vocab.ids) if model is fp32 else model.state_dict(),
            tags={"stopped_by": st["stopped_by"], "base_model": MODEL_NAME, **warm_tags},
        )
        frames.append(_reranked(batch, name, serve_users, serve_items, scores, preference))
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


def latency_block(n: int) -> int:
    """Rows per timed block of a serving pass of n candidates: LATENCY_BLOCK, or for a pass with fewer than 3
    of those, a third of it rounded down to whole forward chunks (at least one), so the pass's own blocks give
    the median and nothing is scored again (quantize.timed_blocks re-times the first block of a pass with
    fewer than 3 full blocks: 3 extra scorings of every candidate of a small batch)."""
    return max(SCORE_CHUNK, min(LATENCY_BLOCK, n // 3 // SCORE_CHUNK * SCORE_CHUNK))


def starting_model(batch: Batch, dense: np.ndarray, cardinalities) -> tuple[ranker.MultiTaskRanker | None, dict]:
    """With ml_warm_start: a fresh ranker (seeded) with the latest earlier batch's fp32 weights copied in (vod type
    rows by id) and its feature normalisation refitted on today's training pairs; else (None, {})."""
    saved, tags = warm_artifact(batch, MODEL_NAME)
    if saved is None:
        return None, tags
    model = ranker.new_model(dense.shape[1], cardinalities, config(batch))
    warm.transfer(model, saved, batch.vocab.ids)
    model.fit_normalization(torch.as_tensor(np.asarray(dense, dtype=np.float32)))
    return model, tags


def serve(model, dense: np.ndarray, cats: np.ndarray) -> tuple[np.ndarray, float]:
    """Every candidate's score, and the latency of scoring LATENCY_ROWS candidates measured on this pass
    (the median of its blocks of latency_block rows, scaled to LATENCY_ROWS): no extra scoring."""

    def block(lo: int, hi: int) -> np.ndarray:
        return ranker.score(model, dense[lo:hi], cats[lo:hi], batch=SCORE_CHUNK)

    rows = latency_block(len(dense))
    parts, seconds = quantize.timed_blocks(block, len(dense), rows)
    timed_rows = min(rows, len(dense))
    latency = seconds * LATENCY_ROWS / timed_rows if timed_rows else 0.0
    return (np.concatenate(parts) if parts else np.zeros(0)), latency


def _reranked(batch, name, users, items, scores, preference) -> DataFrame:
    p = batch.params
    frame = pd.DataFrame(
        {
            "user_id": users,
            "item_id": items,
            "streamer_id": batch.catalogue.streamer[items],
            "score": scores,
            "preference": preference,
        }
    )
    top = ranker.preference_rerank(frame, p.list_size, p.ranker_preferred_bonus, p.ranker_max_per_streamer)
    return to_lists(
        batch,
        name,
        top["user_id"].to_numpy(np.int64),
        top["item_id"].to_numpy(np.int64),
        top["rank"].to_numpy(),
        top["score"].to_numpy(),
    )
