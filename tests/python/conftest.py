"""Shared fixtures. One SparkSession per test session (no Hive, no Derby: the
e2e builds run dbt in child processes with their own metastores, so nothing
here ever holds a metastore that dbt needs)."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """A tiny generated landing folder and one `watchhouse build` of it, shared by the e2e modules."""
    from e2e import TINY_VARS, build, run_watchhouse

    landing = tmp_path_factory.mktemp("landing")
    done = run_watchhouse(
        "generate", "--out", str(landing), "--users", "800", "--days", "4", "--seed", "3", "--quiet",
        landing=landing, home=landing,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    home = tmp_path_factory.mktemp("home")
    first = build(landing, home, extra_vars=TINY_VARS)
    return landing, home, first
