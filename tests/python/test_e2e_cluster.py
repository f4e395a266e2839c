"""End-to-end: the cluster target (issue 8). This home's Spark server on loopback (`watchhouse
server start`, free ports), the first build's landing built through it (SQL over thrift, Python
models and GE over Spark Connect, the dashboard through thrift), while an analyst queries the marts
through PyHive; its tables are compared with the local first build's (conftest first_build)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from e2e import (
    FIRST_VARS,
    REPO,
    WATCHHOUSE,
    assert_same_tables,
    comparable,
    free_port,
    published_tables,
    server_pids,
    watchhouse_env,
)
from watchhouse.marts import thrift_connect

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


ANALYST_TIMEOUT_SECONDS = 30
BUILD_TIMEOUT_SECONDS = 1200  # a tiny build takes ~2-3 min; a hung Thrift call fails the test instead of CI


def _connect(port: int):
    """The analyst's connection: its socket times out (seen once under load, before the pipe fix, a
    CloseSession was never answered; no timeout in PyHive or thrift by default)."""
    return thrift_connect("127.0.0.1", port, timeout_s=ANALYST_TIMEOUT_SECONDS)


class Analyst:
    """Queries a mart through the Thrift port every few seconds while a build runs: (table, rows,
    whether the build was still running when the answer came)."""

    def __init__(self, port: int):
        self.port = port
        self.answers: list[tuple[str, int, bool]] = []
        self.errors: list[str] = []

    def watch(self, build: subprocess.Popen, deadline: float) -> None:
        """Until the build exits or `deadline` (time.monotonic()) passes."""
        while build.poll() is None and time.monotonic() < deadline:
            try:
                con = _connect(self.port)
                cursor = con.cursor()
                cursor.execute("show tables in marts")
                names = sorted(row[1] for row in cursor.fetchall())
                if names:
                    cursor.execute(f"select count(*) from marts.{names[0]}")
                    self.answers.append((names[0], cursor.fetchall()[0][0], build.poll() is None))
                con.close()
            except Exception as exc:  # the marts schema does not exist before the first model
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            time.sleep(3)


@pytest.fixture(scope="module")
def cluster(first_build, tmp_path_factory):
    home = tmp_path_factory.mktemp("cluster_home")
    env = watchhouse_env(first_build.landing_copy, home)
    env.update(WATCHHOUSE_TARGET="cluster", WATCHHOUSE_THRIFT_PORT=str(free_port()))
    env["WATCHHOUSE_CONNECT_PORT"] = str(free_port())

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [WATCHHOUSE, *args], env={**env, **extra}, cwd=REPO, capture_output=True, text=True, timeout=900
        )

    started = run("server", "start")
    assert started.returncode == 0, started.stderr
    try:
        # as if a run had died: the build recovers first, restarting the server around the metastore
        first_pid = json.loads((home / "server" / "server.json").read_text())["pids"]["server"]
        marker = {"batch": "2026-11-20", "pid": 0, "started_at": "a run that died"}
        (home / "build" / "RUNNING").write_text(json.dumps(marker))
        analyst = Analyst(int(env["WATCHHOUSE_THRIFT_PORT"]))
        # the build's output goes to files: nobody reads a pipe while the analyst watches, and a build
        # that fills a pipe's 64 KiB blocks on its next line (this is what hung the suite before)
        logs = tmp_path_factory.mktemp("cluster_build")
        with open(logs / "out.txt", "w") as out_file, open(logs / "err.txt", "w") as err_file:
            proc = subprocess.Popen(
                [WATCHHOUSE, "build", "--vars", json.dumps(FIRST_VARS)],
                env=env, cwd=REPO, stdout=out_file, stderr=err_file, text=True,
            )  # fmt: skip
            analyst.watch(proc, deadline=time.monotonic() + BUILD_TIMEOUT_SECONDS)
        out, err = (logs / "out.txt").read_text(), (logs / "err.txt").read_text()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            pytest.fail(f"the cluster build ran over {BUILD_TIMEOUT_SECONDS} s (a hung Thrift call?):\n{out[-3000:]}")
        assert proc.returncode == 0, f"cluster build failed:\n{out[-6000:]}\n{err[-3000:]}"
        yield {"home": home, "env": env, "run": run, "started": started, "first_pid": first_pid,
               "build": (out, err), "analyst": analyst}  # fmt: skip
    finally:
        run("server", "stop")


def test_server_start_says_where_it_listens_and_status_answers(cluster):
    env, started = cluster["env"], cluster["started"]
    assert f"127.0.0.1:{env['WATCHHOUSE_THRIFT_PORT']}" in started.stdout
    assert f"sc://127.0.0.1:{env['WATCHHOUSE_CONNECT_PORT']}" in started.stdout
    status = cluster["run"]("server", "status")
    assert status.returncode == 0 and "NOT answering" not in status.stdout, status.stdout
    assert len(json.loads((cluster["home"] / "server" / "server.json").read_text())["pids"]) == 1


def test_the_cluster_build_publishes_the_same_tables_as_the_local_build(cluster, first_build):
    out, _ = cluster["build"]
    assert "watchhouse: published batch" in out, out[-2000:]
    assert_same_tables(first_build.tables, published_tables(cluster["home"]), "cluster vs local", digits=12)


def test_python_models_and_ge_ran_over_spark_connect(cluster):
    """Every Python model (GE's data_quality_results among them) ran with submission_method connect:
    the `session` one has no SparkSession in a thrift run and would have failed the build."""
    manifest = json.loads((cluster["home"] / "dbt" / "target" / "manifest.json").read_text())
    python = {
        n["name"]: n["config"]["submission_method"] for n in manifest["nodes"].values() if n.get("language") == "python"
    }
    assert "data_quality_results" in python and set(python.values()) == {"connect"}, python
    results = published_tables(cluster["home"])["marts.data_quality_results"]
    assert len(results) > 0 and results.success.all()


def test_an_analyst_query_answers_while_the_build_runs(cluster):
    analyst = cluster["analyst"]
    during = [(table, rows) for table, rows, running in analyst.answers if running]
    assert during, f"no query answered during the build; errors: {analyst.errors[-3:]}"
    table, rows = during[-1]
    # the count an analyst got mid-build is the table's count once the build is done
    assert rows == len(published_tables(cluster["home"])[f"marts.{table}"])


def test_a_run_after_one_that_died_recovers_by_restarting_the_server(cluster):
    """(A server started with another pseudonym key: test_privacy's guard tests.)"""
    out, _ = cluster["build"]
    assert "restarting this home's Spark server" in out and "watchhouse: recovered: the run of batch" in out
    now = json.loads((cluster["home"] / "server" / "server.json").read_text())["pids"]["server"]
    assert now != cluster["first_pid"] and not _alive(cluster["first_pid"])


def test_the_dashboard_reads_through_the_server_and_shows_what_the_parquet_shows(cluster):
    """The page says it read the server; its panels' rows through thrift equal those DuckDB reads
    from the published Parquet (which equals the local build's, above)."""
    from watchhouse.dashboard import quality, valuation
    from watchhouse.marts import Marts, ServerMarts

    page = (cluster["home"] / "dashboard" / "index.html").read_text()
    assert f"Spark server at 127.0.0.1:{cluster['env']['WATCHHOUSE_THRIFT_PORT']}" in page
    readers = [quality.ge_runs, quality.abuse_share, quality.row_count_drift, valuation.watch_ratio_histogram,
               valuation.top_vods_per_category]  # fmt: skip
    port = int(cluster["env"]["WATCHHOUSE_THRIFT_PORT"])
    with Marts(cluster["home"] / "warehouse") as local, ServerMarts("127.0.0.1", port) as server:
        assert {s: server.tables[s] & local.tables[s] for s in local.tables} == local.tables
        for read in readers:
            expected, actual = comparable(read(local), digits=12), comparable(read(server), digits=12)
            assert len(expected) > 0, read.__name__
            pd.testing.assert_frame_equal(expected, actual, check_dtype=False, obj=read.__name__)


def test_stop_leaves_no_server_process(cluster):
    assert server_pids(cluster["home"]), "the server should be running before stop"
    stopped = cluster["run"]("server", "stop")
    assert stopped.returncode == 0 and "stopped server" in stopped.stdout
    deadline = time.monotonic() + 10
    while server_pids(cluster["home"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not server_pids(cluster["home"])
    assert cluster["run"]("server", "status").returncode == 3
