"""Shared fixtures. One SparkSession per test session (no Hive, no Derby: the
e2e builds run dbt in child processes with their own metastores, so nothing
here ever holds a metastore that dbt needs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("WATCHHOUSE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("watchhouse-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{REPO}/profiles/log4j2.properties")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "kuairand_pure_features").is_dir():
        pytest.fail(
            f"calibration data not found at {SHARED_DATA}: CI clones ../shared beside the repo; "
            "set WATCHHOUSE_SHARED_DATA to its data/ folder"
        )
    return SHARED_DATA


@dataclass(frozen=True)
class FirstBuild:
    landing: Path
    home: Path
    done: subprocess.CompletedProcess
    landing_copy: Path  # the landing as this build saw it (`batches` plants late files in `landing` later)
    tables: dict  # every table it published ("schema.table" -> rows), before `batches` builds on the home


@pytest.fixture(scope="session")
def first_build(tmp_path_factory) -> FirstBuild:
    """A tiny generated landing folder and one local `watchhouse build` of it (ML off: FIRST_VARS)."""
    from e2e import FIRST_VARS, build, plant_served_lists, published_tables, run_watchhouse

    landing = tmp_path_factory.mktemp("landing")
    done = run_watchhouse(
        "generate", "--out", str(landing), "--users", "800", "--days", "4", "--seed", "3", "--quiet",
        landing=landing, home=landing,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    plant_served_lists(landing)  # an external recommender's lists, scored like ours (test_e2e_evaluation)
    copy = tmp_path_factory.mktemp("landing_first") / "landing"
    shutil.copytree(landing, copy)
    home = tmp_path_factory.mktemp("home")
    # the first build skips the ML models (var ml_enabled): `batches` trains them on every daily run after it
    first = build(landing, home, extra_vars=FIRST_VARS, unit_tests=True)  # the suite's one run of the dbt unit tests
    return FirstBuild(landing, home, first, copy, published_tables(home))


@pytest.fixture(scope="session")
def generated(first_build):
    """(landing, home, the build's run) of `first_build`, shared by the e2e modules."""
    return first_build.landing, first_build.home, first_build.done


@pytest.fixture(scope="session")
def batches(generated):
    """Daily runs replayed on the generated landing after its first build: `watchhouse backfill`
    of 11-18 and 11-19, then two late files land and 11-20 is built (re-running 11-19 first; each
    run scores the lists of the day before), then a run of
    11-20 SIGKILLed at a random model (seed: WATCHHOUSE_FAULT_SEED, else random, printed), then
    11-20 rebuilt (it recovers from the killed run first). Returns (landing, home, snapshots):
    marts read after 11-19, after 11-20, and after the rebuild of 11-20; "tables": every
    published table after 11-20 ("2026-11-20"), after the kill ("killed") and after the rebuild
    ("rebuilt"); "kill": (seed, model, the killed run), "rebuild": the rebuild's run; "late": (the
    late event ids by day, the 11-20 run that found them)."""
    import random

    from e2e import LATE_ROWS, TINY_VARS, build, kill_build_at, mart, plant_late_file, published_tables, run_watchhouse

    landing, home, _ = generated
    done = run_watchhouse(
        "backfill", "--from", "2026-11-18", "--to", "2026-11-19", "--vars", json.dumps(TINY_VARS),
        landing=landing, home=home,
    )  # fmt: skip
    assert done.returncode == 0, f"backfill failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    names = (
        "landing_reconciliation", "quarantine_summary", "recommendation_lists", "streamer_exploration_candidates",
        "live_broadcast_recommendations", "exploration_type_posteriors", "offline_eval_metrics",
        "offline_eval_intervals", "offline_eval_live", "item2vec_embeddings", "model_runs",
    )  # fmt: skip

    def snapshot() -> dict:
        return {**{name: mart(home, name) for name in names}, "ml_id_map": mart(home, "ml_id_map", "intermediate")}

    snapshots = {"2026-11-19": snapshot()}
    # two files land late before the 11-20 run: views moved from 11-18 to 11-19 (one day late: 11-19 is
    # re-run first) and views of 11-17 (three days > late_data_days 2: quarantined as late_arrival)
    late = {
        "2026-11-19": plant_late_file(landing, "2026-11-19", LATE_ROWS, "one-day", from_day="2026-11-18"),
        "2026-11-17": plant_late_file(landing, "2026-11-17", LATE_ROWS, "three-days"),
    }
    snapshots["late"] = (late, build(landing, home, as_of="2026-11-20", extra_vars=TINY_VARS))
    snapshots["2026-11-20"] = snapshot()
    tables = {"2026-11-20": published_tables(home)}
    seed = int(os.environ.get("WATCHHOUSE_FAULT_SEED") or random.randrange(10_000))
    model, killed = kill_build_at(landing, home, "2026-11-20", TINY_VARS, seed)
    print(f"batches: killed the 11-20 rebuild at model {model} (WATCHHOUSE_FAULT_SEED={seed})")
    tables["killed"] = published_tables(home)
    snapshots["rebuild"] = build(landing, home, as_of="2026-11-20", extra_vars=TINY_VARS)
    snapshots["rebuilt"] = snapshot()
    tables["rebuilt"] = published_tables(home)
    snapshots["tables"], snapshots["kill"] = tables, (seed, model, killed)
    return landing, home, snapshots
