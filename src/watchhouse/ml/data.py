"""From Spark tables to the integer arrays the torch models train on, and back.

Training data leaves Spark only as integer indices, timestamps and values, in
bounded Arrow batches (`arrow_batches`), never as a `toPandas()` of an
unbounded table: the watch log is capped at `max_rows` most recent views, the
vocabularies are catalogue-sized. Ids map to indices through the `ml_id_map`
model (idx = 0..n-1 in id order), so every model's integer output maps back to
the same ids. Everything here uses the DataFrame API only (runs over Spark
Connect too), and everything reads data up to the end of the batch day only.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from watchhouse.recs.popularity import LIST_COLUMNS

ENTITY_TYPES = ("user", "vod", "streamer", "category", "vod_type")
# the entity_id ml_id_map gives a VOD's missing category or type (the contract allows a null category):
# the same literal as models/intermediate/ml/ml_id_map.sql
UNKNOWN_ENTITY = "(unknown)"
# duration buckets of the item tower and the ranker: floor(log2(duration / 30 s)), 0..9 (30 s .. 4 h+)
DURATION_BUCKETS = 10
LIST_ROW_GROUP_ROWS = 1_000_000  # Parquet row group of a list file: Spark's read splits at these


def arrow_batches(df: DataFrame, rows_per_batch: int) -> Iterator[pa.Table]:
    """The rows of `df` as Arrow tables of at most ~rows_per_batch rows each (hash-split
    into ceil(count / rows_per_batch) chunks, each collected on its own)."""
    if rows_per_batch < 1:
        raise ValueError(f"rows_per_batch={rows_per_batch}: must be >= 1")
    rows = df.count()
    chunks = max(1, math.ceil(rows / rows_per_batch))
    if chunks == 1:
        yield df.toArrow()
        return
    keyed = df.withColumn("_chunk", F.pmod(F.xxhash64(*df.columns), F.lit(chunks))).persist()
    try:
        for chunk in range(chunks):
            yield keyed.where(F.col("_chunk") == chunk).drop("_chunk").toArrow()
    finally:
        keyed.unpersist()


def collect_arrays(df: DataFrame, rows_per_batch: int) -> dict[str, np.ndarray]:
    """All columns of `df` as numpy arrays, gathered through `arrow_batches`."""
    tables = [t for t in arrow_batches(df, rows_per_batch) if t.num_rows]
    if not tables:
        return {name: np.empty(0) for name in df.columns}
    table = pa.concat_tables(tables)
    return {name: table.column(name).to_numpy() for name in table.column_names}


@dataclass(frozen=True)
class Vocab:
    """ids[entity_type][idx] = entity_id (ml_id_map, collected: catalogue-sized)."""

    ids: dict[str, np.ndarray]

    def size(self, entity_type: str) -> int:
        return len(self.ids[entity_type])

    def index(self, entity_type: str, ids) -> np.ndarray:
        """idx of each id (ValueError naming the first unknown one)."""
        import pandas as pd

        found = pd.Index(self.ids[entity_type]).get_indexer(np.asarray(ids, dtype=object))
        if (found < 0).any():
            raise ValueError(f"{entity_type} id {np.asarray(ids)[found < 0][0]!r} is not in ml_id_map")
        return found.astype(np.int64)


def load_vocab(id_map: DataFrame, max_entities: int = 5_000_000) -> Vocab:
    rows = id_map.count()
    if rows > max_entities:
        raise ValueError(f"ml_id_map has {rows} rows, more than max_entities={max_entities}: raise the cap knowingly")
    table = id_map.select("entity_type", "entity_id", "idx").toArrow()
    types = table.column("entity_type").to_numpy(zero_copy_only=False)
    ids = table.column("entity_id").to_numpy(zero_copy_only=False)
    idx = table.column("idx").to_numpy()
    out = {}
    for entity_type in ENTITY_TYPES:
        mask = types == entity_type
        ordered = np.empty(int(mask.sum()), dtype=object)
        ordered[idx[mask]] = ids[mask]
        out[entity_type] = ordered
    return Vocab(out)


def _index(id_map: DataFrame, entity_type: str, column: str) -> DataFrame:
    return id_map.where(F.col("entity_type") == entity_type).select(
        F.col("entity_id").alias(column), F.col("idx").alias(f"{column}_idx")
    )


@dataclass(frozen=True)
class WatchLog:
    """Clean views in the training window, sorted by user then time: parallel arrays."""

    user: np.ndarray  # int64 user idx
    item: np.ndarray  # int64 vod idx
    ts: np.ndarray  # int64 epoch seconds (UTC)
    value: np.ndarray  # float32 view_value
    start: dt.date
    end: dt.date

    def __len__(self) -> int:
        return len(self.user)

    def user_sequences(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(users, flat items, offsets): one time-ordered sequence per user present."""
        users, first = np.unique(self.user, return_index=True)
        return users, self.item, np.append(first, len(self.user)).astype(np.int64)

    def sessions(self, gap_seconds: int) -> tuple[np.ndarray, np.ndarray]:
        """(flat items, offsets): a user's views split where the gap exceeds gap_seconds."""
        if len(self) == 0:
            return self.item, np.zeros(1, dtype=np.int64)
        breaks = np.ones(len(self), dtype=bool)
        breaks[1:] = (self.user[1:] != self.user[:-1]) | (np.diff(self.ts) > gap_seconds)
        return self.item, np.append(np.flatnonzero(breaks), len(self)).astype(np.int64)

    def subset(self, keep: np.ndarray) -> WatchLog:
        return WatchLog(self.user[keep], self.item[keep], self.ts[keep], self.value[keep], self.start, self.end)


def window_bounds(as_of: dt.date, window_days: int) -> tuple[dt.date, dt.date]:
    if window_days < 1:
        raise ValueError(f"window_days={window_days}: must be >= 1")
    return as_of - dt.timedelta(days=window_days - 1), as_of


def load_watch_log(
    views: DataFrame,
    id_map: DataFrame,
    as_of: dt.date,
    window_days: int,
    max_rows: int,
    rows_per_batch: int,
) -> WatchLog:
    """Clean views (view_valuations: user_id, vod_id, started_at, view_value) of the
    window_days ending with as_of, as indices; the max_rows most recent when more."""
    start, end = window_bounds(as_of, window_days)
    framed = (
        views.where(
            (F.col("started_at") >= F.lit(start).cast("timestamp"))
            & (F.col("started_at") < F.lit(end + dt.timedelta(days=1)).cast("timestamp"))
        )
        .join(_index(id_map, "user", "user_id"), "user_id")
        .join(_index(id_map, "vod", "vod_id"), "vod_id")
        .select(
            F.col("user_id_idx").cast("long").alias("user"),
            F.col("vod_id_idx").cast("long").alias("item"),
            F.unix_timestamp("started_at").cast("long").alias("ts"),
            F.coalesce(F.col("view_value"), F.lit(0.0)).cast("float").alias("value"),
        )
    )
    if max_rows < 1:
        raise ValueError(f"max_rows={max_rows}: must be >= 1")
    framed = framed.orderBy(F.desc("ts"), F.asc("user"), F.asc("item")).limit(max_rows)
    cols = collect_arrays(framed, rows_per_batch)
    order = np.lexsort((cols["item"], cols["ts"], cols["user"])) if len(cols["user"]) else np.empty(0, np.int64)
    return WatchLog(
        user=cols["user"][order].astype(np.int64),
        item=cols["item"][order].astype(np.int64),
        ts=cols["ts"][order].astype(np.int64),
        value=cols["value"][order].astype(np.float32),
        start=start,
        end=end,
    )


@dataclass(frozen=True)
class Catalogue:
    """Per VOD idx: streamer, category, vod_type idx, duration bucket, created_at (epoch s)."""

    streamer: np.ndarray
    category: np.ndarray
    vod_type: np.ndarray
    duration_bucket: np.ndarray
    created_ts: np.ndarray

    @property
    def n_items(self) -> int:
        return len(self.streamer)


def duration_bucket(seconds: np.ndarray) -> np.ndarray:
    ratio = np.maximum(np.nan_to_num(np.asarray(seconds, dtype=np.float64), nan=30.0), 1.0) / 30.0
    return np.clip(np.floor(np.log2(np.maximum(ratio, 1.0))), 0, DURATION_BUCKETS - 1).astype(np.int64)


def load_catalogue(vods: DataFrame, id_map: DataFrame, vocab: Vocab) -> Catalogue:
    """int_vods_accepted (vod_id, streamer_id, category, vod_type, duration_seconds, created_at) as arrays."""
    table = (
        vods.fillna(UNKNOWN_ENTITY, subset=["category", "vod_type"])
        .join(_index(id_map, "vod", "vod_id"), "vod_id")
        .join(_index(id_map, "streamer", "streamer_id"), "streamer_id")
        .join(_index(id_map, "category", "category"), "category")
        .join(_index(id_map, "vod_type", "vod_type"), "vod_type")
        .select(
            F.col("vod_id_idx").alias("item"),
            F.col("streamer_id_idx").alias("streamer"),
            F.col("category_idx").alias("category"),
            F.col("vod_type_idx").alias("vod_type"),
            F.col("duration_seconds").cast("double").alias("duration"),
            F.unix_timestamp("created_at").cast("long").alias("created_ts"),
        )
        .toArrow()
    )
    n = vocab.size("vod")
    item = table.column("item").to_numpy()
    if len(item) != n:
        raise ValueError(f"catalogue has {len(item)} VODs with every index, ml_id_map has {n}: the two disagree")

    def column(name: str, dtype) -> np.ndarray:
        out = np.zeros(n, dtype=dtype)
        out[item] = table.column(name).to_numpy(zero_copy_only=False)
        return out

    return Catalogue(
        streamer=column("streamer", np.int64),
        category=column("category", np.int64),
        vod_type=column("vod_type", np.int64),
        duration_bucket=duration_bucket(column("duration", np.float64)),
        created_ts=known_or_oldest(column("created_ts", np.float64)),
    )


def known_or_oldest(created_ts: np.ndarray) -> np.ndarray:
    """Epoch seconds as int64; a VOD whose created_at was doubtful (nulled, docs/landing.md) counts as
    old as the oldest known VOD: it exists in every window and its age stays within the catalogue's."""
    known = ~np.isnan(created_ts)
    oldest = created_ts[known].min() if known.any() else 0.0
    return np.where(known, created_ts, oldest).astype(np.int64)


def lists_frame(
    session: SparkSession,
    model_name: str,
    as_of: dt.date,
    user_ids: np.ndarray | pa.Array,
    item_ids: np.ndarray | pa.Array,
    ranks: np.ndarray,
    scores: np.ndarray,
    item_type: str = "vod",
    folder: Path | None = None,
) -> DataFrame:
    """A model's top-K (already mapped to ids) as a Spark DataFrame of LIST_COLUMNS.

    With `folder`, the rows go to Spark through a Parquet file there (`folder/<model_name>/`, the
    previous run's file of that list replaced): Spark reads it in tasks. Without it they go in as
    one Arrow table, which Spark's driver holds whole on its heap (at 10M events the ranker's
    37M rows ended in `OutOfMemoryError: Java heap space`, bench/RESULTS.md)."""
    n = len(user_ids)
    table = pa.table(
        {
            "model_name": _repeated(model_name, n, pa.string()),
            "batch_date": _repeated(as_of, n, pa.date32()),
            "user_id": _strings(user_ids),
            "item_id": _strings(item_ids),
            "item_type": _repeated(item_type, n, pa.string()),
            "rank": pa.array(np.asarray(ranks, dtype=np.int32), pa.int32()),
            "score": pa.array(np.asarray(scores, dtype=np.float64), pa.float64()),
        }
    )
    if folder is None:
        return session.createDataFrame(table).select(*LIST_COLUMNS)  # Arrow straight in (pyspark >= 4)
    return session.read.parquet(str(_written(table, Path(folder) / model_name))).select(*LIST_COLUMNS)


def _written(table: pa.Table, folder: Path) -> Path:
    """`table` as the one Parquet file of `folder` (a fresh name: a frame read from an earlier file
    is never rewritten under it; earlier files of the folder, whose tables dbt has written since,
    are removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    path = folder / f"{uuid.uuid4().hex}.parquet"
    pq.write_table(table, path, row_group_size=LIST_ROW_GROUP_ROWS)
    return path


def _repeated(value, n: int, kind: pa.DataType) -> pa.Array:
    """One value n times (a take of a one-element array: no Python list of n items)."""
    return pa.array([value], kind).take(pa.array(np.zeros(n, dtype=np.int32)))


def _strings(ids) -> pa.Array:
    """Ids as an Arrow string array (an Arrow array passes through)."""
    if isinstance(ids, pa.Array | pa.ChunkedArray):
        return ids
    return pa.array(np.asarray(ids).astype(str), pa.string())


def id_strings(ids: np.ndarray, idx: np.ndarray) -> pa.Array:
    """ids[idx] as an Arrow string array: the vocabulary converted once, then taken (no string per row in Python)."""
    return pa.array(np.asarray(ids).astype(str), pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))
