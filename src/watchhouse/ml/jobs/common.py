"""What every training job shares: the batch's data as arrays, the torch set-up,
the registry call, and the map from integer results back to list rows."""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyspark.sql import DataFrame, SparkSession

from watchhouse.ml import data, registry, validation
from watchhouse.ml.params import MLParams

DAY_SECONDS = 86_400


def day_start(day: dt.date) -> int:
    """Epoch seconds of the day's start (UTC)."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


@dataclass
class Batch:
    """The training data of one batch, up to the end of `as_of`."""

    session: SparkSession
    as_of: dt.date
    params: MLParams
    home: Path
    vocab: data.Vocab
    catalogue: data.Catalogue
    log: data.WatchLog  # every clean view of the window
    train: data.WatchLog  # the same without the held-out last views
    val_users: np.ndarray
    val_items: np.ndarray


def load_batch(
    session: SparkSession, views: DataFrame, vods: DataFrame, id_map: DataFrame, as_of: dt.date, params: MLParams, home
) -> Batch:
    vocab = data.load_vocab(id_map)
    catalogue = data.load_catalogue(vods, id_map, vocab)
    log = data.load_watch_log(
        views, id_map, as_of, params.window_days, params.max_training_rows, params.arrow_batch_rows
    )
    train, val_users, val_items = validation.holdout_last(log, params.validation_users, params.seed)
    return Batch(session, as_of, params, Path(home), vocab, catalogue, log, train, val_users, val_items)


def set_up_torch(params: MLParams) -> None:
    import torch

    torch.set_num_threads(params.threads)
    torch.manual_seed(params.seed)
    np.random.seed(params.seed)
    random.seed(params.seed)


def progress(model_name: str):
    """Progress lines in dbt's log (the Python model's stdout goes there)."""

    def say(line: str) -> None:
        print(f"[watchhouse.ml {model_name}] {line}", file=sys.stderr, flush=True)

    return say


def history_weights(log: data.WatchLog, history_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each user's last `history_items` views (user, item, weight): weight = view value x
    0.5 ^ (position from the end / 5), so the latest views count most."""
    if len(log) == 0:
        return log.user, log.item, log.value
    from_end = _position_from_end(log.user)
    keep = from_end < history_items
    weight = (0.05 + log.value[keep]) * np.power(0.5, from_end[keep] / 5.0)
    return log.user[keep], log.item[keep], weight.astype(np.float32)


def _position_from_end(users: np.ndarray) -> np.ndarray:
    """For a user-sorted array: 0 for each user's last row, 1 for the one before, ..."""
    n = len(users)
    last = np.ones(n, dtype=bool)
    last[:-1] = users[1:] != users[:-1]
    ends = np.flatnonzero(last)
    end_of_row = ends[np.searchsorted(ends, np.arange(n))]
    return end_of_row - np.arange(n)


def rerank(users: np.ndarray) -> np.ndarray:
    """1-based position of each row within its user's run (rows grouped by user, in rank order)."""
    n = len(users)
    if n == 0:
        return np.empty(0, dtype=np.int32)
    first = np.ones(n, dtype=bool)
    first[1:] = users[1:] != users[:-1]
    starts = np.flatnonzero(first)
    return (np.arange(n) - starts[np.searchsorted(starts, np.arange(n), side="right") - 1] + 1).astype(np.int32)


def seen_pairs(log: data.WatchLog) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (user, item) pairs of the log."""
    if len(log) == 0:
        return log.user, log.item
    key = np.unique(log.user * (int(log.item.max()) + 1) + log.item)
    return key // (int(log.item.max()) + 1), key % (int(log.item.max()) + 1)


def to_lists(
    batch: Batch,
    model_name: str,
    users: np.ndarray,
    items: np.ndarray,
    ranks: np.ndarray,
    scores: np.ndarray,
    item_type: str = "vod",
) -> DataFrame:
    entity = "vod" if item_type == "vod" else item_type
    return data.lists_frame(
        batch.session,
        model_name,
        batch.as_of,
        batch.vocab.ids["user"][users],
        batch.vocab.ids[entity][items],
        ranks,
        scores,
        item_type=item_type,
    )


def flatten_top_k(user_rows: np.ndarray, scores, indices) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """[U, k] top-k results (torch or numpy, -inf for padding) as flat (users, items, ranks, scores)."""
    scores = np.asarray(scores.detach().cpu().numpy() if hasattr(scores, "detach") else scores)
    indices = np.asarray(indices.detach().cpu().numpy() if hasattr(indices, "detach") else indices)
    k = scores.shape[1] if scores.ndim == 2 else 0
    ranks = np.tile(np.arange(1, k + 1, dtype=np.int32), len(user_rows))
    users = np.repeat(user_rows, k)
    flat_scores, flat_items = scores.reshape(-1), indices.reshape(-1)
    ok = np.isfinite(flat_scores)
    return users[ok], flat_items[ok], ranks[ok], flat_scores[ok]


def register(
    batch: Batch,
    model_name: str,
    params: dict,
    metrics: dict,
    artifact: object | None = None,
    tags: dict | None = None,
) -> str:
    """Log one training run (params, data window, metrics, the model's state as an artifact)."""
    import torch

    artifacts = {}
    with tempfile.TemporaryDirectory() as tmp:
        if artifact is not None:
            path = Path(tmp) / f"{model_name}.pt"
            torch.save(artifact, path)
            artifacts["model"] = path
        return registry.log_training_run(
            batch.home,
            model_name,
            batch.as_of,
            params=params,
            metrics=metrics,
            data_window=(batch.log.start, batch.log.end),
            artifacts=artifacts,
            tags={"training_rows": str(len(batch.train)), **(tags or {})},
        )


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def skipped(batch: Batch, model_name: str, why: str) -> DataFrame:
    """No lists (and no registry run) when the window holds too little to train on: said in
    dbt's log, never silent."""
    from watchhouse.ml.jobs.entry import empty_lists

    progress(model_name)(f"skipped for batch {batch.as_of}: {why}")
    return empty_lists(batch.session)
