"""The model registry: every training run of the DAG's models is logged to MLflow
tracking (SQLite store at $WATCHHOUSE_HOME/mlflow/mlflow.db, artifacts under
$WATCHHOUSE_HOME/mlflow/artifacts), and read back as the analyst-facing mart
model_runs: one row per model and batch, the latest finished run (a rerun of a
batch replaces the earlier one there; MLflow keeps both).

mlflow is imported lazily (it takes seconds); its INFO chatter and alembic's
migration lines are turned down to WARNING, errors still show. MLflow's usage
telemetry is off unless MLFLOW_DISABLE_TELEMETRY is set otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import threading
import time
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

EXPERIMENT = "watchhouse"
MODEL_RUNS_COLUMNS = (
    "batch_date",
    "model_name",
    "run_id",
    "started_at",
    "finished_at",
    "data_window_start",
    "data_window_end",
    "params_json",
    "metrics_json",
    "training_seconds",
    "epochs_run",
    "stopped_by",
    "size_bytes",
    "scoring_latency_ms",
    "ndcg_at_10",
    "artifact_uri",
)
# the same as a Spark schema (for createDataFrame of model_runs' frame)
MODEL_RUNS_SCHEMA = (
    "batch_date date, model_name string, run_id string, started_at timestamp, finished_at timestamp, "
    "data_window_start date, data_window_end date, params_json string, metrics_json string, "
    "training_seconds double, epochs_run double, stopped_by string, size_bytes double, "
    "scoring_latency_ms double, ndcg_at_10 double, artifact_uri string"
)
_NUMERIC = ("training_seconds", "epochs_run", "size_bytes", "scoring_latency_ms", "ndcg_at_10")
_DTYPES = {
    **dict.fromkeys(MODEL_RUNS_COLUMNS, "object"),  # dates as datetime.date, strings, None
    "started_at": "datetime64[ns, UTC]",
    "finished_at": "datetime64[ns, UTC]",
    **dict.fromkeys(_NUMERIC, "float64"),
}
_MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value
_BATCH = 100  # params per log_batch call (MLflow's limit)
_LOCK = threading.Lock()  # dbt may run Python models in threads: one SQLite writer per process


def _home(home: Path | str | None) -> Path:
    if home is None or not str(home).strip():
        raise ValueError(f"home={home!r}: give the watchhouse home folder (WATCHHOUSE_HOME)")
    return Path(home).resolve()


def tracking_uri(home: Path | str) -> str:
    """The SQLite tracking store under the home (absolute path)."""
    return f"sqlite:///{_home(home) / 'mlflow' / 'mlflow.db'}"


@contextmanager
def _quiet():
    """One registry call at a time per process, without MLflow's SQLAlchemy deprecation noise."""
    with _LOCK, warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*noload.* loader strategy is deprecated", category=DeprecationWarning
        )
        yield


def _client(home: Path):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    quiet = ["alembic"] if "MLFLOW_LOGGING_LEVEL" in os.environ else ["mlflow", "alembic"]
    for name in quiet:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
    return MlflowClient(tracking_uri=tracking_uri(home))


def _experiment_id(client, home: Path) -> str:
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        artifacts = home / "mlflow" / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        try:
            return client.create_experiment(EXPERIMENT, artifact_location=artifacts.as_uri())
        except MlflowException:  # created meanwhile by another process
            experiment = client.get_experiment_by_name(EXPERIMENT)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def _as_date(value: dt.date | str, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{what}={value!r}: expected a date (datetime.date or 'YYYY-MM-DD')") from None


def flatten_params(params: Mapping, prefix: str = "") -> dict[str, str]:
    """Nested mappings become dotted keys; sequences JSON; everything else str()."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten_params(value, f"{name}."))
            continue
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
            text = json.dumps(dict(items) if isinstance(value, Mapping) else list(items), default=str)
        elif isinstance(value, dt.date):
            text = value.isoformat()
        else:
            text = str(value)
        out[name] = text if len(text) <= _MAX_PARAM_CHARS else text[: _MAX_PARAM_CHARS - 3] + "..."
    return out


def clean_metrics(metrics: Mapping) -> tuple[dict[str, float], list[str]]:
    """(finite float metrics, names skipped: None, NaN, inf or not a number)."""
    good, skipped = {}, []
    for name, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            skipped.append(str(name))
            continue
        if math.isfinite(number):
            good[str(name)] = number
        else:
            skipped.append(str(name))
    return good, sorted(skipped)


def log_training_run(
    home: Path | str,
    model_name: str,
    batch_date: dt.date,
    params: Mapping,
    metrics: Mapping,
    data_window: tuple[dt.date, dt.date],
    artifacts: Mapping[str, Path] | None = None,
    tags: Mapping | None = None,
) -> str:
    """Log one finished training run of `model_name` for `batch_date`; returns its run_id.
    Artifacts (name -> file or folder) are copied under the run's artifact folder `name/`."""
    # mlflow's Param reads `pyspark.ml.param.Param` whenever "pyspark.ml" is in sys.modules. While
    # another dbt thread is still importing pyspark.ml (rec_als), that attribute is not set yet and
    # Param fails ("cannot access submodule 'ml' of module 'pyspark'"). Importing pyspark.ml here
    # waits on the import lock until that import is done, or does it first. Unconditionally: a check
    # of sys.modules first left a window (the other thread could begin its import after the check and
    # before the Params below; the batches chain failed so on 2026-12-07, item2vec_embeddings beside rec_als).
    import pyspark.ml  # noqa: F401
    from mlflow.entities import Metric, Param

    if not model_name:
        raise ValueError(f"model_name={model_name!r}: give the model's name, e.g. 'two_tower'")
    batch = _as_date(batch_date, "batch_date")
    if len(data_window) != 2:
        raise ValueError(f"data_window={data_window!r}: expected (first day, last day)")
    start, end = _as_date(data_window[0], "data_window start"), _as_date(data_window[1], "data_window end")
    if start > end:
        raise ValueError(f"data_window=({start}, {end}): the start must not be after the end")
    missing = {name: str(path) for name, path in (artifacts or {}).items() if not Path(path).exists()}
    if missing:
        raise ValueError(f"artifacts {missing}: no such file or folder")
    flat = flatten_params(params or {})
    numbers, skipped = clean_metrics(metrics or {})
    run_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    run_tags |= {
        "model_name": model_name,
        "batch_date": batch.isoformat(),
        "data_window_start": start.isoformat(),
        "data_window_end": end.isoformat(),
    }
    if skipped:
        run_tags["skipped_metrics"] = ",".join(skipped)

    home = _home(home)
    (home / "mlflow").mkdir(parents=True, exist_ok=True)
    with _quiet():
        client = _client(home)
        run = client.create_run(_experiment_id(client, home), run_name=f"{model_name}@{batch}", tags=run_tags)
        run_id = run.info.run_id
        try:
            now = int(time.time() * 1000)
            client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in sorted(numbers.items())])
            pairs = sorted(flat.items())
            for i in range(0, len(pairs), _BATCH):
                client.log_batch(run_id, params=[Param(k, v) for k, v in pairs[i : i + _BATCH]])
            for name, path in (artifacts or {}).items():
                path = Path(path)
                if path.is_dir():
                    client.log_artifacts(run_id, str(path), artifact_path=str(name))
                else:
                    client.log_artifact(run_id, str(path), artifact_path=str(name))
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id, "FINISHED")
    return run_id


def _frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=list(MODEL_RUNS_COLUMNS)).astype(_DTYPES)


def _finite_or_none(values: Mapping[str, float]) -> dict:
    return {k: (v if isinstance(v, float) and math.isfinite(v) else None) for k, v in values.items()}


def _named(name: str, metrics: Mapping, tags: Mapping) -> float:
    for source in (metrics, tags):
        if name in source:
            try:
                return float(source[name])
            except (TypeError, ValueError):
                return math.nan
    return math.nan


def _optional_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _time(ms: int | None) -> pd.Timestamp:
    return pd.Timestamp(ms, unit="ms", tz="UTC") if ms else pd.NaT


def _record(run, batch: dt.date) -> dict:
    info, tags, metrics, params = run.info, run.data.tags, run.data.metrics, run.data.params
    return {
        "batch_date": batch,
        "model_name": tags["model_name"],
        "run_id": info.run_id,
        "started_at": _time(info.start_time),
        "finished_at": _time(info.end_time),
        "data_window_start": _optional_date(tags.get("data_window_start")),
        "data_window_end": _optional_date(tags.get("data_window_end")),
        "params_json": json.dumps(dict(params), sort_keys=True),
        "metrics_json": json.dumps(_finite_or_none(metrics), sort_keys=True),
        **{name: _named(name, metrics, tags) for name in _NUMERIC},
        "stopped_by": tags.get("stopped_by"),
        "artifact_uri": info.artifact_uri,
    }


def _finished_runs(client, experiment_id: str, where: str) -> list:
    """Every finished run of the experiment matching `where` (an MLflow filter), all pages."""
    query = f"{where} and attributes.status = 'FINISHED'"
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], query, max_results=1000, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            return runs


def model_runs(home: Path | str, batch_date: dt.date) -> pd.DataFrame:
    """One row per model_name logged for `batch_date`: its latest finished run
    (MODEL_RUNS_COLUMNS). Empty, with those columns, when nothing was logged."""
    batch = _as_date(batch_date, "batch_date")
    home = _home(home)
    if not (home / "mlflow" / "mlflow.db").is_file():
        return _frame([])  # nothing logged yet: do not create a store just to read it
    with _quiet():
        client = _client(home)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return _frame([])
        runs = _finished_runs(client, experiment.experiment_id, f"tags.batch_date = '{batch.isoformat()}'")
    latest = {}
    for run in sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.end_time or 0), reverse=True):
        name = run.data.tags.get("model_name")
        if name and name not in latest:
            latest[name] = run
    return _frame([_record(latest[name], batch) for name in sorted(latest)])


def latest_artifact(home: Path | str, model_name: str, before: dt.date, artifact: str) -> tuple[str, Path] | None:
    """(run_id, local path) of `artifact` (a path under the run's artifacts, e.g. 'model/two_tower.pt') of
    `model_name`'s latest finished run of the latest batch before `before` that has it; None if none."""
    from urllib.parse import unquote, urlparse

    limit = _as_date(before, "before")
    home = _home(home)
    if not (home / "mlflow" / "mlflow.db").is_file():
        return None
    with _quiet():
        client = _client(home)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return None
        runs = _finished_runs(client, experiment.experiment_id, f"tags.model_name = '{model_name}'")
    earlier = [r for r in runs if (_optional_date(r.data.tags.get("batch_date")) or limit) < limit]
    earlier.sort(key=lambda r: (r.data.tags["batch_date"], r.info.start_time or 0, r.info.end_time or 0), reverse=True)
    for run in earlier:
        uri = urlparse(run.info.artifact_uri)
        path = Path(unquote(uri.path)) / artifact
        if uri.scheme in ("", "file") and path.is_file():
            return run.info.run_id, path
    return None
