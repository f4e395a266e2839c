"""The model registry (watchhouse.ml.registry): runs logged to a SQLite MLflow store
in a temporary home, read back as model_runs (one row per model, reruns replace)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest

from watchhouse.ml import registry

D = dt.date(2026, 11, 20)
WINDOW = (dt.date(2026, 11, 7), D)


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """Two models for D (two_tower logged twice: the rerun wins), one for D - 1; returns
    (home, {label: run_id}, the artifact's bytes, stderr printed while logging)."""
    home = tmp_path_factory.mktemp("home")
    scratch = tmp_path_factory.mktemp("scratch")
    model_file = scratch / "two_tower.pt"
    model_file.write_bytes(b"weights-of-the-rerun")
    runs = {}
    runs["als"] = registry.log_training_run(
        home, "als", D,
        params={"rank": 32, "reg_param": 0.05},
        metrics={"training_seconds": 4.5, "ndcg_at_10": 0.25, "size_bytes": 2048.0, "epochs_run": 10},
        data_window=WINDOW, tags={"stopped_by": "epochs"},
    )  # fmt: skip
    runs["two_tower_first"] = registry.log_training_run(
        home, "two_tower", D,
        params={"dim": 32, "temperature": 0.05},
        metrics={"training_seconds": 9.0, "ndcg_at_10": 0.1},
        data_window=WINDOW, tags={"stopped_by": "time"},
    )  # fmt: skip
    runs["two_tower_rerun"] = registry.log_training_run(
        home, "two_tower", D,
        params={"dim": 64, "temperature": 0.05, "towers": {"user": [64, 32], "item": "shared"}, "seed": None},
        metrics={"training_seconds": 7.0, "ndcg_at_10": 0.3, "epochs_run": 3, "scoring_latency_ms": 1.5,
                 "size_bytes": 4096, "loss_last": None, "speedup": float("nan")},
        data_window=WINDOW, artifacts={"model": model_file}, tags={"stopped_by": "epochs"},
    )  # fmt: skip
    runs["als_day_before"] = registry.log_training_run(
        home, "als", D - dt.timedelta(days=1),
        params={"rank": 16}, metrics={"ndcg_at_10": 0.2},
        data_window=(WINDOW[0] - dt.timedelta(days=1), D - dt.timedelta(days=1)),
    )  # fmt: skip
    return home, runs, b"weights-of-the-rerun"


def test_model_runs_hold_one_row_per_model_with_the_reruns_values(logged):
    home, runs, _ = logged
    frame = registry.model_runs(home, D)
    assert tuple(frame.columns) == registry.MODEL_RUNS_COLUMNS
    assert list(frame["model_name"]) == ["als", "two_tower"]  # not three rows: the rerun replaced its run
    rows = frame.set_index("model_name")
    assert rows.loc["two_tower", "run_id"] == runs["two_tower_rerun"]
    assert rows.loc["als", "run_id"] == runs["als"]
    tt = rows.loc["two_tower"]
    assert tt["training_seconds"] == 7.0 and tt["ndcg_at_10"] == 0.3 and tt["epochs_run"] == 3.0
    assert tt["scoring_latency_ms"] == 1.5 and tt["size_bytes"] == 4096.0
    assert tt["stopped_by"] == "epochs"  # the rerun's tag, not the first run's "time"
    assert all(frame["batch_date"] == D)
    assert list(frame["data_window_start"]) == [WINDOW[0]] * 2 and list(frame["data_window_end"]) == [D] * 2
    # als logged no latency: NaN, not 0
    assert math.isnan(rows.loc["als", "scoring_latency_ms"]) and rows.loc["als", "epochs_run"] == 10.0
    # the day before is its own batch
    before = registry.model_runs(home, D - dt.timedelta(days=1))
    assert list(before["run_id"]) == [runs["als_day_before"]]
    assert before["data_window_end"].iloc[0] == D - dt.timedelta(days=1)


def test_json_columns_parse_back_and_bad_metrics_are_skipped_not_fatal(logged):
    home, _, _ = logged
    tt = registry.model_runs(home, D).set_index("model_name").loc["two_tower"]
    params = json.loads(tt["params_json"])
    # flattened: nested mappings to dotted keys, lists as JSON, None as "None"; all strings
    assert params == {
        "dim": "64", "temperature": "0.05", "towers.user": "[64, 32]", "towers.item": "shared", "seed": "None",
    }  # fmt: skip
    assert list(params) == sorted(params)
    metrics = json.loads(tt["metrics_json"])
    assert metrics == {
        "training_seconds": 7.0,
        "ndcg_at_10": 0.3,
        "epochs_run": 3.0,
        "scoring_latency_ms": 1.5,
        "size_bytes": 4096.0,
    }  # fmt: skip  (loss_last None and speedup NaN are left out)
    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri=registry.tracking_uri(home)).get_run(tt["run_id"])
    assert run.data.tags["skipped_metrics"] == "loss_last,speedup"
    assert run.data.tags["model_name"] == "two_tower" and run.data.tags["batch_date"] == "2026-11-20"
    assert run.data.tags["data_window_start"] == "2026-11-07" and run.data.tags["data_window_end"] == "2026-11-20"
    assert run.info.run_name == "two_tower@2026-11-20" and run.info.status == "FINISHED"


def test_times_are_utc_and_ordered_and_the_artifact_lies_under_the_home(logged):
    home, _, content = logged
    frame = registry.model_runs(home, D)
    assert str(frame["started_at"].dtype) == "datetime64[ns, UTC]"
    assert (frame["started_at"] <= frame["finished_at"]).all()
    now = pd.Timestamp.now(tz="UTC")
    assert ((now - frame["finished_at"]) < pd.Timedelta(minutes=10)).all()
    uri = frame.set_index("model_name").loc["two_tower", "artifact_uri"]
    folder = Path(unquote(urlparse(uri).path))
    assert folder.is_relative_to((home / "mlflow" / "artifacts").resolve())
    assert (folder / "model" / "two_tower.pt").read_bytes() == content
    assert (home / "mlflow" / "mlflow.db").is_file()
    assert registry.tracking_uri(home) == f"sqlite:///{home.resolve()}/mlflow/mlflow.db"


def test_an_empty_home_gives_an_empty_frame_with_the_columns(tmp_path, logged):
    expected_dtypes = {
        "started_at": "datetime64[ns, UTC]", "finished_at": "datetime64[ns, UTC]", "training_seconds": "float64",
        "epochs_run": "float64", "size_bytes": "float64", "scoring_latency_ms": "float64", "ndcg_at_10": "float64",
    }  # fmt: skip
    empty = registry.model_runs(tmp_path, D)
    assert tuple(empty.columns) == registry.MODEL_RUNS_COLUMNS and len(empty) == 0
    assert not (tmp_path / "mlflow").exists()  # reading does not create a store
    # a batch nobody logged, in a home with runs: the same empty frame, same dtypes as a full one
    home, _, _ = logged
    none_yet = registry.model_runs(home, D + dt.timedelta(days=5))
    full = registry.model_runs(home, D)
    assert len(none_yet) == 0
    for frame in (empty, none_yet, full):
        assert {c: str(t) for c, t in frame.dtypes.items() if c in expected_dtypes} == expected_dtypes
    assert list(empty.dtypes) == list(full.dtypes)


def test_logging_is_quiet_but_errors_still_raise(tmp_path, capfd):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x")
    registry.log_training_run(tmp_path, "m", D, {"a": 1}, {"b": 2.0}, WINDOW, artifacts={"model": path})
    err = capfd.readouterr().err
    assert "INFO" not in err, err  # no "Creating initial MLflow database tables", no alembic lines
    for name in ("mlflow", "alembic", "mlflow.store.db.utils"):  # turned down, not off: errors still show
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger(name).isEnabledFor(logging.ERROR), name
    with pytest.raises(ValueError, match=r"data_window=\(2026-11-20, 2026-11-07\): the start must not be after"):
        registry.log_training_run(tmp_path, "m", D, {}, {}, (D, WINDOW[0]))
    with pytest.raises(ValueError, match="no such file or folder"):
        registry.log_training_run(tmp_path, "m", D, {}, {}, WINDOW, artifacts={"model": tmp_path / "missing.pt"})
    with pytest.raises(ValueError, match="model_name=''"):
        registry.log_training_run(tmp_path, "", D, {}, {}, WINDOW)
    with pytest.raises(ValueError, match="home=''"):  # dbt's env_var('WATCHHOUSE_HOME', '') when unset
        registry.model_runs("", D)
    assert len(registry.model_runs(tmp_path, D)) == 1  # the refused calls logged nothing


RACE_SCRIPT = r"""
import datetime as dt, importlib.abc, importlib.machinery, sys, threading, time
from pathlib import Path

blocked, release, done = threading.Event(), threading.Event(), threading.Event()

class SlowPysparkMl(importlib.abc.MetaPathFinder):
    # pyspark.ml, imported by thread "B" (rec_als), stays half-initialised after its module code ran:
    # pyspark.ml.param is loaded, but `pyspark.ml` is not yet an attribute of `pyspark`
    def find_spec(self, name, path, target=None):
        if name != "pyspark.ml":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        real = spec.loader.exec_module

        def exec_module(module):
            real(module)
            if threading.current_thread().name == "B":
                blocked.set()
                release.wait(30)

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, SlowPysparkMl())
from watchhouse.ml import registry

real_as_date = registry._as_date

def as_date(value, what):  # runs inside log_training_run, after its pyspark.ml import
    if what == "batch_date":
        def other_thread():
            import pyspark.ml  # noqa: F401
            done.set()
        threading.Thread(target=other_thread, name="B", daemon=True).start()
        while not (blocked.is_set() or done.is_set()):
            time.sleep(0.01)
    return real_as_date(value, what)

registry._as_date = as_date
try:
    run = registry.log_training_run(
        Path(sys.argv[1]), "als", dt.date(2026, 11, 20), params={"rank": 8}, metrics={"ndcg_at_10": 0.5},
        data_window=(dt.date(2026, 11, 7), dt.date(2026, 11, 20)),
    )
    print("logged", run)
finally:
    release.set()
"""


def test_a_run_is_logged_while_another_thread_imports_pyspark_ml(tmp_path):
    """Two dbt threads: rec_als begins importing pyspark.ml while another model logs its run. mlflow's
    Param reads `pyspark.ml.param.Param` once "pyspark.ml" is in sys.modules, and fails ("cannot access
    submodule 'ml' of module 'pyspark'") while that import is half done. A fresh interpreter, with the
    other thread's import begun inside log_training_run (after any check of sys.modules at its start)
    and held half-initialised: the run must still be logged."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", RACE_SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("logged ")
