"""Helpers for end-to-end builds: run `watchhouse build` in a child process
(its own JVM and Derby metastore) and read the marts straight from Parquet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
WATCHHOUSE = str(Path(sys.executable).with_name("watchhouse"))


# The tiny generated landing of the e2e fixture carries one bot day and one farm day in ~3,000 views a
# day (the generator plants abuse in whole actor-days), so its abuse share is ~20%: the GE band is
# widened for it, and only for it (test_e2e_quality shows the default band failing a heavy batch).
TINY_VARS = {"quality_abuse_share": [0, 0.4]}


def run_watchhouse(*args: str, landing: Path, home: Path, as_of: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, WATCHHOUSE_LANDING=str(landing), WATCHHOUSE_HOME=str(home))
    env.pop("WATCHHOUSE_AS_OF", None)
    if as_of:
        env["WATCHHOUSE_AS_OF"] = as_of
    env.setdefault("WATCHHOUSE_DRIVER_MEMORY", "3g")
    return subprocess.run([WATCHHOUSE, *args], env=env, cwd=REPO, capture_output=True, text=True)


def build(
    landing: Path, home: Path, as_of: str | None = None, extra_vars: dict | None = None
) -> subprocess.CompletedProcess:
    args = ["build", "--vars", json.dumps(extra_vars)] if extra_vars else ["build"]
    done = run_watchhouse(*args, landing=landing, home=home, as_of=as_of)
    assert done.returncode == 0, f"build failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return done


def mart(home: Path, name: str) -> pd.DataFrame:
    """A mart's current rows, read with DuckDB from its Parquet folder (as an analyst would)."""
    folder = home / "warehouse" / "marts.db" / name
    assert folder.is_dir(), f"mart {name} missing at {folder}"
    return duckdb.sql(f"select * from read_parquet('{folder}/**/*.parquet', hive_partitioning = true)").df()


def run_results(home: Path) -> dict[str, dict]:
    data = json.loads((home / "dbt" / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r for r in data["results"]}
