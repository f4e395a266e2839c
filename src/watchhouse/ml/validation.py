"""Leave-last-out validation inside the training window: the quality figure the
registry records for each trained model (and its quantized variants).

A seeded sample of users with >= 2 views has its last view held out of training;
a model ranks the whole catalogue for them from the rest of their history, and
NDCG@10 (binary, one relevant item: 1 / log2(rank + 1) when it is in the top 10)
is averaged over them. It reads nothing after the batch day: the scores on the
next day are the offline simulation's job (offline_eval_metrics)."""

from __future__ import annotations

import numpy as np

from watchhouse.ml.data import WatchLog


def holdout_last(log: WatchLog, users: int, seed: int) -> tuple[WatchLog, np.ndarray, np.ndarray]:
    """(training log without the held-out views, held-out users, their held-out items)."""
    if users < 1:
        raise ValueError(f"users={users}: must be >= 1")
    if len(log) == 0:
        return log, np.empty(0, np.int64), np.empty(0, np.int64)
    last = np.ones(len(log), dtype=bool)
    last[:-1] = log.user[1:] != log.user[:-1]  # log is sorted by user, then time
    counts = np.bincount(log.user)
    candidates = np.flatnonzero(last & (counts[log.user] >= 2))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(candidates, size=min(users, len(candidates)), replace=False))
    keep = np.ones(len(log), dtype=bool)
    keep[chosen] = False
    return log.subset(keep), log.user[chosen], log.item[chosen]


def ndcg_at_10(top_items: np.ndarray, targets: np.ndarray) -> float:
    """Mean binary NDCG@10 for one relevant item per row: top_items [U, >=10] in rank order."""
    if len(targets) == 0:
        return float("nan")
    top = np.asarray(top_items)[:, :10]
    hit = top == np.asarray(targets)[:, None]
    ranks = np.argmax(hit, axis=1) + 1
    return float(np.mean(np.where(hit.any(axis=1), 1.0 / np.log2(ranks + 1), 0.0)))
