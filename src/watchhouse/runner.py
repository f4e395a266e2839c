"""Run the dbt project for one batch with everything resolved up front.

Environment (all optional, documented in the README):
- WATCHHOUSE_LANDING: landing root (default <repo>/.watchhouse/landing)
- WATCHHOUSE_HOME: where everything is written (default <repo>/.watchhouse/home)
- WATCHHOUSE_AS_OF: batch date YYYY-MM-DD (default: last complete day)
- WATCHHOUSE_TARGET: dbt target, local (default) or cluster
- WATCHHOUSE_PSEUDONYM_KEY: key of the ids' pseudonyms (watchhouse.privacy)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from watchhouse import arrivals, cluster, privacy, profiling, publish, server
from watchhouse.buildvars import check_build_vars, project_vars
from watchhouse.errors import UserError
from watchhouse.landing import inspect_landing
from watchhouse.quality import failures

MIN_JAVA = 17


def project_dir() -> Path:
    """The dbt project: $WATCHHOUSE_PROJECT_DIR, else the repo this package lives in, else cwd."""
    env = os.environ.get("WATCHHOUSE_PROJECT_DIR")
    candidates = [Path(env)] if env else [Path(__file__).resolve().parents[2], Path.cwd()]
    for cand in candidates:
        if (cand / "dbt_project.yml").is_file():
            return cand.resolve()
    raise UserError("cannot find dbt_project.yml; run from the watchhouse checkout or set WATCHHOUSE_PROJECT_DIR")


@dataclass(frozen=True)
class Paths:
    project: Path
    home: Path
    landing: Path

    @classmethod
    def from_env(cls) -> Paths:
        project = project_dir()
        home = Path(os.environ.get("WATCHHOUSE_HOME") or project / ".watchhouse" / "home")
        landing = Path(os.environ.get("WATCHHOUSE_LANDING") or project / ".watchhouse" / "landing")
        return cls(project, home.expanduser().resolve(), landing.expanduser().resolve())

    @property
    def warehouse(self) -> Path:
        """What readers read: a link to the published version (watchhouse.publish)."""
        return self.home / "warehouse"

    @property
    def build_warehouse(self) -> Path:
        """Where dbt writes (spark.sql.warehouse.dir): half-written while a run is under way."""
        return publish.Layout(self.home).build_warehouse

    def marts(self) -> Path:
        return self.warehouse / "marts.db"

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder (DBT_TARGET_PATH): manifest.json and the last run's run_results.json."""
        return self.home / "dbt" / "target"

    @property
    def dbt_logs(self) -> Path:
        return self.home / "dbt" / "logs"


def check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise UserError(
            f"Java {MIN_JAVA}+ is needed for Spark and was not found; "
            "install OpenJDK 17 (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise UserError(f"{java} is Java {major or '?'}; Spark 4 needs Java {MIN_JAVA}+ (set JAVA_HOME to a JDK 17)")


def dbt_env(paths: Paths) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        WATCHHOUSE_HOME=str(paths.home),
        WATCHHOUSE_LANDING=str(paths.landing),
        WATCHHOUSE_PROJECT_DIR=str(paths.project),
        DBT_PROFILES_DIR=str(paths.project / "profiles"),
        DBT_TARGET_PATH=str(paths.dbt_target),
        DBT_LOG_PATH=str(paths.dbt_logs),
        SPARK_LOCAL_IP=env.get("SPARK_LOCAL_IP", "127.0.0.1"),
        PYSPARK_PYTHON=env.get("PYSPARK_PYTHON", sys.executable),
        PYARROW_IGNORE_TIMEZONE="1",
    )
    return privacy.with_pads(env)


def dbt(args: list[str], paths: Paths, dbt_vars: dict, target: str | None = None, lock: bool = True) -> int:
    """Run one dbt command in a child process (its own JVM), streaming its output, holding the
    home's lock (the child inherits it, and dies with this process). lock=False for a command
    that opens no Spark session (the analyses' `dbt compile --no-populate-cache`)."""
    paths.home.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).with_name("dbt")
    cmd = [str(exe), *args, "--project-dir", str(paths.project), "--vars", json.dumps(dbt_vars)]
    target = target or os.environ.get("WATCHHOUSE_TARGET")
    if target:
        cmd += ["--target", target]
    if not lock:
        return subprocess.run(cmd, env=dbt_env(paths), cwd=paths.home, preexec_fn=publish.die_with_parent).returncode
    with publish.HomeLock(paths.home) as held:
        return subprocess.run(
            cmd, env=dbt_env(paths), cwd=paths.home, pass_fds=(held.fd,), preexec_fn=publish.die_with_parent
        ).returncode


def build(
    as_of: str | None = None,
    select: str | None = None,
    target: str | None = None,
    extra_vars: dict | None = None,
    dashboard: bool = True,
    unit_tests: bool = False,
) -> int:
    paths = Paths.from_env()
    target = cluster.resolve_target(target)
    if target == "local":
        check_java()
    info = inspect_landing(paths.landing, as_of=as_of or os.environ.get("WATCHHOUSE_AS_OF"))
    extra_vars = check_build_vars(extra_vars, paths.project, info.as_vars())
    run_on = cluster.check(paths.home, target)
    versioned = run_on is None or run_on.own is not None  # another cluster's tables are the cluster's
    for notice in info.notices:
        print(f"watchhouse: notice: {notice}")
    print(
        f"watchhouse: building batch {info.as_of} (landing {info.first_date}..{info.horizon_date}) "
        f"from {paths.landing} into {paths.home}"
    )
    # a partial build runs only the tests whose parents are all selected (not stale neighbours')
    args = ["build"] + (["--select", select, "--indirect-selection", "cautious"] if select else [])
    if not unit_tests:  # they test the models' logic on fixed inputs, not the batch (dbt: run them in CI)
        args += ["--exclude-resource-type", "unit_test"]
    batch = info.as_of.isoformat()
    dbt_vars = {**info.as_vars(), **(extra_vars or {})}
    with publish.HomeLock(paths.home):  # held from recovery through the switch (dbt() re-enters it)
        key = privacy.key_for_build(paths.home, paths.landing)  # a changed key is refused before anything
        dbt_vars["pseudonym_probe"] = key.probe()  # on-run-start: Spark's pads are this key's
        if versioned:
            recovered = _begin(paths, batch, run_on)
            if recovered:
                print(f"watchhouse: recovered: {recovered}")
        else:
            print(
                f"watchhouse: notice: building through the Spark server at {run_on.endpoint.host}: its warehouse and "
                "metastore are the cluster's, so this run is not versioned, published or recovered by watchhouse "
                "(docs/cluster.md)"
            )
        started = time.time()  # a run_results.json older than this is an earlier run's
        rc, failed_batch, registry = _run_batches(paths, info.as_of, args, dbt_vars, extra_vars, target)
        if rc == 0 and versioned:
            meta = {**registry.published(batch), **key.manifest_meta(), "target": target}
            version = publish.publish(paths.home, batch, meta=meta)
            print(f"watchhouse: published batch {batch} as {version.name} ({paths.warehouse} -> {version})")
            # warn-level checks publish; say so where nobody can miss it (docs/quality.md "Severity")
            for line in failures.failing_quality_checks(paths.warehouse, batch, severity="warn"):
                print(f"watchhouse: WARNING data-quality check: {line}", file=sys.stderr)
    if rc != 0:
        print(f"watchhouse: dbt build failed (exit {rc}); see {paths.dbt_logs / 'dbt.log'}", file=sys.stderr)
        for line in profiling.failed_nodes(paths.dbt_target, since=started):
            print(f"watchhouse: failed: {line}", file=sys.stderr)
        for line in failures.quarantine_shares_over_bound(paths.build_warehouse, failed_batch):
            print(f"watchhouse: quarantine share over bound: {line}", file=sys.stderr)
        for line in failures.failing_quality_checks(paths.build_warehouse, failed_batch):
            print(f"watchhouse: data-quality check failed: {line}", file=sys.stderr)
        for line in failures.failing_quality_checks(paths.build_warehouse, failed_batch, severity="warn"):
            print(f"watchhouse: WARNING data-quality check: {line}", file=sys.stderr)
        shown = publish.published_info(paths.home)
        redoing = f" (while re-processing batch {failed_batch} for late data)" if failed_batch != batch else ""
        print(
            f"watchhouse: batch {batch} was not published{redoing}; readers still see "
            + (f"batch {shown['batch']} ({shown['version']})" if shown else "nothing (no batch published yet)")
            + f"; the failed run's tables stay in {paths.build_warehouse} until the next run",
            file=sys.stderr,
        )
    if dashboard:  # after a failed build too: that is when the data-quality panels matter most
        write_dashboard(paths, batch, failed=rc != 0, run_on=run_on)
    return rc


def _begin(paths: Paths, batch: str, run_on: cluster.ClusterRun | None) -> str | None:
    """publish.begin; when the last run did not publish and this home's server holds the
    metastore, the server is stopped while the build state is put back, then started again."""
    if run_on is None or not publish.Layout(paths.home).marker.is_file():
        return publish.begin(paths.home, batch)
    print("watchhouse: the last run did not publish: restarting this home's Spark server to reset its metastore")
    server.stop(paths.home)
    try:
        return publish.begin(paths.home, batch)
    finally:
        server.start(paths.home, paths.project, server.ServerConfig(**run_on.own["config"]))


def _run_batches(
    paths: Paths, as_of: dt.date, args: list[str], dbt_vars: dict, extra_vars: dict | None, target: str | None
) -> tuple[int, str, arrivals.Registry]:
    """dbt for the batch, after re-running the earlier batches that late landing files touch
    (watchhouse.arrivals); nothing is published in between. Returns (exit code, the batch that
    failed or the batch, the landing file registry to publish)."""
    late_days = int(dbt_vars.get("late_data_days", project_vars(paths.project)["late_data_days"]))
    late = arrivals.plan(paths.landing, publish.published_info(paths.home), as_of, late_days)
    for line in late.lines:
        print(f"watchhouse: late data: {line}")
    folder = late.write_arrivals(publish.Layout(paths.home).build)
    for day in late.reprocess:
        print(f"watchhouse: late data: re-processing batch {day} before batch {as_of}")
        day_vars = {**inspect_landing(paths.landing, as_of=day).as_vars(), **(extra_vars or {})}
        # the unit tests do not read data: the run of the batch itself runs them
        rc = dbt(
            [*args, *([] if "unit_test" in args else ["--exclude-resource-type", "unit_test"])],
            paths,
            {**day_vars, "landing_arrivals": str(folder), "pseudonym_probe": dbt_vars["pseudonym_probe"]},
            target,
        )
        if rc != 0:
            return rc, day.isoformat(), late.registry
    rc = dbt(args, paths, {**dbt_vars, "landing_arrivals": str(folder)}, target)
    return rc, as_of.isoformat(), late.registry


def write_dashboard(
    paths: Paths, batch: str | None = None, failed: bool = False, run_on: cluster.ClusterRun | None = None
) -> None:
    """The dashboard of the published marts; after a failed run, with that run's data-quality
    results (from the build state) and a notice that its batch was not published. On the cluster
    target (`run_on`) it reads through the server's Thrift port instead."""
    from watchhouse.dashboard import build_dashboard

    failed_run = paths.build_warehouse if failed else None
    server_at = (run_on.endpoint.host, run_on.endpoint.thrift_port) if run_on else None
    result = build_dashboard(paths.home, batch=batch, failed_run=failed_run, server=server_at)
    print(f"watchhouse: {result.summary()}")


def backfill(
    start: dt.date | None = None,
    end: dt.date | None = None,
    last: int | None = None,
    target: str | None = None,
    extra_vars: dict | None = None,
    unit_tests: bool = False,
) -> int:
    """`build` for every batch from `start` to `end` (default: the default batch), in date
    order, as the daily runs would have: each batch appends its partitions and scores the
    lists of the batch before. Stops at the first failing batch and says which."""
    paths = Paths.from_env()
    info = inspect_landing(paths.landing, as_of=end or os.environ.get("WATCHHOUSE_AS_OF"))
    check_build_vars(extra_vars, paths.project, info.as_vars())  # refused before the first batch
    target = cluster.resolve_target(target)
    run_on = cluster.check(paths.home, target)
    end = info.as_of
    if (start is None) == (last is None):
        raise UserError("backfill needs either --from DATE or --last N (e.g. --from 2026-11-17 or --last 4)")
    if start is None:
        if last < 1:
            raise UserError(f"--last {last}: give a positive number of batches")
        start = end - dt.timedelta(days=last - 1)
    if start > end:
        raise UserError(f"--from {start} is after --to {end}; give an earlier --from")
    if start < info.first_date:
        raise UserError(
            f"--from {start} is before the landing data begins ({info.first_date}); use {info.first_date} or later"
        )
    days = (end - start).days + 1
    for i in range(days):
        batch = start + dt.timedelta(days=i)
        print(f"watchhouse: backfill batch {i + 1}/{days}: {batch}")
        rc = build(
            as_of=batch.isoformat(), target=target, extra_vars=extra_vars, dashboard=False, unit_tests=unit_tests
        )
        if rc != 0 or i == days - 1:
            write_dashboard(paths, batch.isoformat(), failed=rc != 0, run_on=run_on)
        if rc != 0:
            print(
                f"watchhouse: backfill stopped at batch {batch} (exit {rc}); batches before it are built",
                file=sys.stderr,
            )
            return rc
    return 0


def docs(as_of: str | None = None) -> int:
    """dbt docs generate into $WATCHHOUSE_HOME/docs (open docs/index.html or `dbt docs serve`)."""
    paths = Paths.from_env()
    cluster.check(paths.home, cluster.resolve_target(None))  # the local target's Spark needs the metastore
    info = inspect_landing(paths.landing, as_of=as_of or os.environ.get("WATCHHOUSE_AS_OF"))
    return dbt(["docs", "generate", "--target-path", str(paths.home / "docs")], paths, info.as_vars())


def where() -> str:
    """Where a build wrote things, and how to read a mart."""
    paths = Paths.from_env()
    marts = paths.marts()
    names = sorted(p.name for p in marts.iterdir()) if marts.is_dir() else []
    example = f"{marts}/landing_reconciliation/**/*.parquet"
    return "\n".join(
        [
            f"marts (Parquet, one folder per mart): {marts}",
            f"  {', '.join(names) or '(none yet: run make build)'}",
            f"dbt docs: {paths.home / 'docs' / 'index.html'}",
            f"GE Data Docs: {paths.home / 'ge' / 'gx' / 'uncommitted' / 'data_docs' / 'local_site' / 'index.html'}",
            f"dashboard: {paths.home / 'dashboard' / 'index.html'} (opens from disk, no server)",
            f"published: {_published_line(paths)}",
            "query a mart with DuckDB, no Spark needed (.venv/bin/python):",
            f"  import duckdb; duckdb.sql(\"select * from read_parquet('{example}')\").show()",
            "Spark: spark.read.parquet on the same folders (README 'Reading the marts')",
        ]
    )


def _published_line(paths: Paths) -> str:
    info = publish.published_info(paths.home)
    if not info:
        return "nothing yet (readers see no marts until a run succeeds)"
    return f"batch {info['batch']} ({info['version']}, {info['published_at']}); dbt writes {paths.build_warehouse}"
