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
    landing_copy: Path  # a copy of the landing as this build saw it, for builds of other homes (cluster)
    tables: dict  # every table it published ("schema.table" -> rows)


def _tiny_landing(folder: Path) -> Path:
    """The e2e fixtures' generated landing (800 users, 4 days, seed 3) with an external recommender's
    served lists planted in it (scored like ours: test_e2e_evaluation). Same arguments, same files."""
    from e2e import plant_served_lists, run_watchhouse

    done = run_watchhouse(
        "generate", "--out", str(folder), "--users", "800", "--days", "4", "--seed", "3", "--quiet",
        landing=folder, home=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    plant_served_lists(folder)
    return folder


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the marks into the groups it schedules by
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`-n`, `--dist loadgroup`; pyproject.toml) every test of one session-scoped
    build runs in the worker that built it: a worker process builds its own session fixtures, so a
    test of `batches` on another worker would build the whole chain again. The two chains (`batches`,
    and `first_build` with what reads it) run side by side; the other tests fill in around them."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        group = "batches" if "batches" in names else "first_build" if "first_build" in names else None
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def first_build(tmp_path_factory) -> FirstBuild:
    """A tiny generated landing folder and one local `watchhouse build` of it (ML off: FIRST_VARS),
    with the dbt unit tests: the suite's one run of them (a production build skips them)."""
    from e2e import FIRST_VARS, build, published_tables

    landing = _tiny_landing(tmp_path_factory.mktemp("landing"))
    copy = tmp_path_factory.mktemp("landing_first") / "landing"
    shutil.copytree(landing, copy)
    home = tmp_path_factory.mktemp("home")
    first = build(landing, home, extra_vars=FIRST_VARS, unit_tests=True)
    return FirstBuild(landing, home, first, copy, published_tables(home))


@pytest.fixture(scope="session")
def generated(first_build):
    """(landing, home, the build's run) of `first_build`, shared by the e2e modules."""
    return first_build.landing, first_build.home, first_build.done


@pytest.fixture(scope="session")
def batches(tmp_path_factory):
    """Daily runs replayed on the same tiny generated landing as `first_build`, in a home of their
    own (ML on): `watchhouse backfill` of 11-18 and 11-19, then two late files land and 11-20 is built
    (re-running 11-19 first; each run scores the lists of the day before), then a run of
    11-20 SIGKILLed at a random model (seed: WATCHHOUSE_FAULT_SEED, else random, printed), then
    11-20 rebuilt (it recovers from the killed run first). Returns (landing, home, snapshots):
    marts read after 11-19, after 11-20, and after the rebuild of 11-20; "tables": every
    published table after 11-20 ("2026-11-20"), after the kill ("killed") and after the rebuild
    ("rebuilt"); "kill": (seed, model, the killed run), "rebuild": the rebuild's run; "late": (the
    late event ids by day, the 11-20 run that found them)."""
    import random

    from e2e import LATE_ROWS, TINY_VARS, build, kill_build_at, mart, plant_late_file, published_tables, run_watchhouse

    landing = _tiny_landing(tmp_path_factory.mktemp("landing_batches"))
    home = tmp_path_factory.mktemp("home_batches")
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
