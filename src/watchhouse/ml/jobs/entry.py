"""The doors of the dbt Python models in python_models/ml/: typed settings, the
batch's data, and the switch that turns the models off (var ml_enabled).

dbt hands a Python model only the config keys its own file reads with a literal
`dbt.config.get("...")`, so each model reads the four keys and builds Settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from watchhouse.ml.params import MLParams

LIST_SCHEMA = (
    "model_name string, batch_date date, user_id string, item_id string, item_type string, rank int, score double"
)


@dataclass(frozen=True)
class Settings:
    as_of: dt.date
    home: Path
    enabled: bool
    params: MLParams

    @classmethod
    def of(cls, as_of: str, home: str, enabled: object, params: dict | None) -> Settings:
        if not home:
            raise ValueError("WATCHHOUSE_HOME is empty: the models trained in the DAG log their runs under it")
        return cls(
            dt.date.fromisoformat(as_of), Path(home), str(enabled).lower() == "true", MLParams.from_config(params)
        )

    def load(self, session: SparkSession, views: DataFrame, vods: DataFrame, id_map: DataFrame):
        """The batch's training data (watchhouse.ml.jobs.common.Batch)."""
        from watchhouse.ml.jobs.common import load_batch, set_up_torch

        set_up_torch(self.params)
        return load_batch(session, views, vods, id_map, self.as_of, self.params, self.home)


def empty_lists(session: SparkSession) -> DataFrame:
    """What a list model returns when ml_enabled is false: no rows, the list shape."""
    return session.createDataFrame([], LIST_SCHEMA)


def model_runs_frame(session: SparkSession, runs) -> DataFrame:
    """registry.model_runs' pandas frame as the model_runs mart (explicit schema, empty-safe)."""
    import pyarrow as pa

    from watchhouse.ml.registry import MODEL_RUNS_COLUMNS, MODEL_RUNS_SCHEMA

    if runs.empty:
        return session.createDataFrame([], MODEL_RUNS_SCHEMA)
    table = pa.Table.from_pandas(runs[list(MODEL_RUNS_COLUMNS)], preserve_index=False)
    return session.createDataFrame(table).selectExpr(
        *[
            f"cast({name} as {kind}) as {name}"
            for name, kind in (c.strip().split(" ") for c in MODEL_RUNS_SCHEMA.split(","))
        ]
    )
