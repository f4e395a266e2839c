"""What every training job shares: the batch's data as arrays, the torch set-up,
the registry call, and the map from integer results back to list rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyspark.sql import DataFrame, SparkSession

from watchhouse import publish
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


@dataclass(frozen=True)
class Window:
    """What a batch reads from Spark: the same for every model of a run (read-only arrays)."""

    vocab: data.Vocab
    catalogue: data.Catalogue
    log: data.WatchLog
    train: data.WatchLog
    val_users: np.ndarray
    val_items: np.ndarray


def read_window(views: DataFrame, vods: DataFrame, id_map: DataFrame, as_of: dt.date, params: MLParams) -> Window:
    """The training window of one batch, read from Spark (the id map, the catalogue, the clean
    views, and the leave-last-out split)."""
    vocab = data.load_vocab(id_map)
    catalogue = data.load_catalogue(vods, id_map, vocab)
    log = data.load_watch_log(
        views, id_map, as_of, params.window_days, params.max_training_rows, params.arrow_batch_rows
    )
    train, val_users, val_items = validation.holdout_last(log, params.validation_users, params.seed)
    return Window(vocab, catalogue, log, train, val_users, val_items)


def _read_only(window: Window) -> Window:
    """Freeze every array of the window: one model must not change what the next one reads."""

    def freeze(obj):
        for field in dataclasses.fields(obj):
            value = getattr(obj, field.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        return obj

    for array in window.vocab.ids.values():
        array.flags.writeable = False
    for part in (window.catalogue, window.log, window.train):
        freeze(part)
    freeze(window)
    return window


class WindowCache:
    """The last training window read in this process, shared by the ML models of one dbt run:
    they all run in the dbt process (submission methods `session` and `connect` alike), so the
    first one reads the window from Spark and the others reuse its arrays.

    The key is the batch, every ML param, and the files behind each input (`DataFrame.inputFiles()`:
    Spark names every file it writes afresh, so a rebuilt input table means a new key). An input
    that is not backed by files (an in-memory frame) has no identity to compare: it is never
    shared. One window is kept (the latest; a new key replaces it) and its arrays are read-only;
    a lock makes concurrent models (dbt threads > 1) wait for one read instead of each reading."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._window: Window | None = None
        self.reads = 0  # windows read from Spark (for tests and the log)

    def get(self, key: tuple | None, read: Callable[[], Window]) -> tuple[Window, bool]:
        """(window, shared): the cached window when `key` matches, else `read()` (cached unless
        `key` is None)."""
        with self._lock:
            if key is not None and key == self._key and self._window is not None:
                return self._window, True
            window = _read_only(read())
            self.reads += 1
            if key is not None:
                self._key, self._window = key, window
            return window, False

    def clear(self) -> None:
        with self._lock:
            self._key, self._window = None, None


WINDOWS = WindowCache()  # the process's shared window (docs/ml.md, "one load per run")


def window_key(views: DataFrame, vods: DataFrame, id_map: DataFrame, as_of: dt.date, params: MLParams) -> tuple | None:
    """What identifies a window's content; None when an input is not backed by files."""
    files = []
    for frame in (views, vods, id_map):
        names = tuple(sorted(frame.inputFiles()))
        if not names:
            return None
        files.append(names)
    return (as_of.isoformat(), json.dumps(params.as_dict(), sort_keys=True), *files)


def load_batch(
    session: SparkSession,
    views: DataFrame,
    vods: DataFrame,
    id_map: DataFrame,
    as_of: dt.date,
    params: MLParams,
    home,
    cache: WindowCache | None = WINDOWS,
) -> Batch:
    """The batch's training data: read from Spark once per run and shared (`cache`; None reads afresh)."""
    say = progress("window")
    start = time.perf_counter()

    def read() -> Window:
        return read_window(views, vods, id_map, as_of, params)

    if cache is None:
        window, shared = _read_only(read()), False
    else:
        window, shared = cache.get(window_key(views, vods, id_map, as_of, params), read)
    how = "shared (read earlier in this run)" if shared else "read from Spark"
    seconds = time.perf_counter() - start
    say(f"batch {as_of}: {len(window.log)} clean views of {window.vocab.size('user')} users, {how} in {seconds:.1f}s")
    w = window
    return Batch(session, as_of, params, Path(home), w.vocab, w.catalogue, w.log, w.train, w.val_users, w.val_items)


def set_up_torch(params: MLParams) -> None:
    import torch

    torch.set_num_threads(params.torch_threads())
    torch.manual_seed(params.seed)
    np.random.seed(params.seed)
    random.seed(params.seed)


def progress(model_name: str):
    """Progress lines on the dbt process's stderr, i.e. in `watchhouse build`'s output (not in
    HOME/dbt/logs/dbt.log, which holds only dbt's own events)."""

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
        data.id_strings(batch.vocab.ids["user"], users),
        data.id_strings(batch.vocab.ids[entity], items),
        ranks,
        scores,
        item_type=item_type,
        folder=lists_folder(batch.home),
    )


def lists_folder(home: Path) -> Path:
    """Where the models' lists wait for Spark to read them: the home's build folder, which the
    Spark that writes the warehouse sees (the cluster target's server included)."""
    return publish.Layout(Path(home)).ml_lists


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
            tags={
                "training_rows": str(len(batch.train)),
                "torch_threads": str(torch.get_num_threads()),  # floats (so lists) differ between thread counts
                **(tags or {}),
            },
        )


def warm_artifact(batch: Batch, model_name: str) -> tuple[dict | None, dict]:
    """With ml_warm_start: (the artifact of the run to start from, the tags naming that run), said in the log;
    (None, {"warm_start_from": "none"}) when no earlier batch's run carries ids; (None, {}) when off."""
    from watchhouse.ml import warm

    if not batch.params.warm_start:
        return None, {}
    found = warm.previous(batch.home, model_name, batch.as_of)
    if found is None:
        progress(model_name)("warm start: no earlier run with an id-mapped artifact, training from scratch")
        return None, {"warm_start_from": "none"}
    run_id, saved = found
    progress(model_name)(f"warm start from run {run_id}")
    return saved, {"warm_start_from": run_id}


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
