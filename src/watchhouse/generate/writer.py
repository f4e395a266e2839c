"""Turn integer-indexed columns into contract tables and write them as Parquet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from watchhouse.contract import LandingTable


def id_pool(prefix: str, n: int, width: int = 7) -> pa.Array:
    """Strings prefix0000000 .. for indices 0..n-1, taken by index later."""
    return pa.array([f"{prefix}{i:0{width}d}" for i in range(n)], type=pa.string())


def take(pool: pa.Array, idx: np.ndarray) -> pa.Array:
    """pool[idx], with -1 meaning null."""
    idx = np.asarray(idx, dtype=np.int64)
    return pool.take(pa.array(np.where(idx < 0, 0, idx), mask=idx < 0))


def ts(seconds: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    us = np.asarray(seconds, dtype=np.int64) * 1_000_000
    return pa.array(us, type=pa.timestamp("us", tz="UTC"), mask=null_mask)


def to_frame(table: LandingTable, columns: dict[str, pa.Array | np.ndarray]) -> pd.DataFrame:
    """A pandas frame in contract column order, plus any helper `_` columns."""
    arrow = pa.table({name: columns[name] for name in table.schema.names}, schema=table.schema)
    df = arrow.to_pandas(types_mapper=None, timestamp_as_object=False)
    for name, values in columns.items():
        if name.startswith("_"):
            df[name] = values
    return df


def to_arrow(table: LandingTable, df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df[table.schema.names], schema=table.schema, preserve_index=False)


class LandingWriter:
    """Writes each table as Parquet under `root/<table>/`; event tables by
    `event_date=YYYY-MM-DD/` (Hive partitioning). Counts rows per table."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.rows: dict[str, int] = {}
        self._parts: dict[Path, int] = {}

    def write(self, table: LandingTable, data: pa.Table, day: dt.date | None = None) -> None:
        folder = self.root / table.name
        if day is not None:
            folder = folder / f"event_date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        part = self._parts.get(folder, 0)
        self._parts[folder] = part + 1
        pq.write_table(data, folder / f"part-{part:05d}.parquet", compression="zstd")
        self.rows[table.name] = self.rows.get(table.name, 0) + data.num_rows
