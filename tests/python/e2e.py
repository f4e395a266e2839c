"""Helpers for end-to-end builds: run `watchhouse build` in a child process
(its own JVM and Derby metastore) and read the marts straight from Parquet."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
WATCHHOUSE = str(Path(sys.executable).with_name("watchhouse"))


# The tiny generated landing of the e2e fixture carries one bot day and one farm day in ~3,000 views a
# day (the generator plants abuse in whole actor-days), so its abuse share is ~20% and jumps by ~0.2
# from one day to the next: the GE band and the day-to-day change limit are widened for it, and only
# for it (test_e2e_quality shows the default band failing a heavy batch).
# The ML models of the `batches` chain train on ~12k views: the e2e tests check what the DAG does with
# them (lists well formed, no leakage, caps, fusion recomputed, scoring), not how good they get, so
# they train the fewest epochs that exercise every code path (fine-tuning included: ranker epochs // 2).
# Model quality is measured on the demo (docs/evaluation.md, bench/RESULTS.md).
TINY_ML = {"ml_item2vec_epochs": 1, "ml_two_tower_epochs": 1, "ml_ranker_epochs": 2, "ml_als_max_iter": 3}
TINY_VARS = {"quality_abuse_share": [0, 0.4], "quality_abuse_share_change_max": 0.3, **TINY_ML}
FIRST_VARS = {**TINY_VARS, "ml_enabled": False}  # the fixtures' first build (conftest first_build)
LATE_ROWS = 25  # views per late file the `batches` fixture plants (conftest)
# The e2e builds' JVM compiles with C1 only: a tiny build's C2 compiler threads took 70 s of its 181 s of
# CPU, C1 only 11 s (120 s in all, the queries no slower: bench/RESULTS.md "JVM options"), and the suite is
# bound by CPU. The code cache is sized explicitly: with TieredStopAtLevel=1 alone Java 17 reserves 48 MB,
# which the ML batches chain filled in CI ("CodeCache is full. Compiler has been disabled"). Spark's code
# generation is off too (whole-stage and expression codegen: interpreted operators): compiling each query's
# generated Java with Janino took ~19% of a tiny build's JVM CPU (a JFR profile), for queries of a few
# thousand rows (bench/RESULTS.md "Code generation"). Production builds keep Spark's defaults.
E2E_JAVA_OPTIONS = (
    "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m"
    " -Dspark.sql.codegen.wholeStage=false -Dspark.sql.codegen.factoryMode=NO_CODEGEN"
)


# Every e2e run pseudonymises ids with this key (a home refuses a run with another key); key=None runs
# without one, i.e. with the public demo key (test_e2e_build's hand-written landing, which is warned about).
E2E_KEY = "e2e-test-key"


def pseudonym(value: str | None) -> str | None:
    """The pseudonym a mart holds for a landing user id or IP hash: HMAC-SHA256 under E2E_KEY,
    computed here with Python's hmac, independently of watchhouse. Null (None, or pandas' NaN) stays null."""
    return (
        None if not isinstance(value, str) else hmac.new(E2E_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a test's own server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_pids(home: Path) -> list[int]:
    """Every process whose command line names `home`'s Spark server (watchhouse.server's marker)."""
    marker = f"spark.watchhouse.home={home}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "cmdline").read_bytes().replace(b"\0", b" "):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def duck() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with `pseudonym(varchar)` (the function above), to map landing ids in SQL."""
    con = duckdb.connect()
    con.create_function("pseudonym", pseudonym, ["VARCHAR"], "VARCHAR")
    return con


def watchhouse_env(landing: Path, home: Path, as_of: str | None = None, key: str | None = E2E_KEY) -> dict:
    env = dict(os.environ, WATCHHOUSE_LANDING=str(landing), WATCHHOUSE_HOME=str(home))
    for name in ("WATCHHOUSE_AS_OF", "WATCHHOUSE_PSEUDONYM_KEY"):
        env.pop(name, None)
    if as_of:
        env["WATCHHOUSE_AS_OF"] = as_of
    if key:
        env["WATCHHOUSE_PSEUDONYM_KEY"] = key
    env.setdefault("WATCHHOUSE_DRIVER_MEMORY", "3g")
    env.setdefault("WATCHHOUSE_DBT_THREADS", "2")  # independent models side by side: ~20% faster builds here
    env.setdefault("WATCHHOUSE_JAVA_OPTIONS", E2E_JAVA_OPTIONS)
    return env


def run_watchhouse(
    *args: str, landing: Path, home: Path, as_of: str | None = None, key: str | None = E2E_KEY
) -> subprocess.CompletedProcess:
    env = watchhouse_env(landing, home, as_of, key)
    return subprocess.run([WATCHHOUSE, *args], env=env, cwd=REPO, capture_output=True, text=True)


def build(
    landing: Path,
    home: Path,
    as_of: str | None = None,
    extra_vars: dict | None = None,
    key: str | None = E2E_KEY,
    unit_tests: bool = False,
) -> subprocess.CompletedProcess:
    """`watchhouse build`; unit_tests=True: `--unit-tests`, for the first build of the test session (a
    production build skips the dbt unit tests; they do not read the landing, so one run of them in CI shows them)."""
    args = ["build", "--vars", json.dumps(extra_vars)] if extra_vars else ["build"]
    args += ["--unit-tests"] if unit_tests else []
    done = run_watchhouse(*args, landing=landing, home=home, as_of=as_of, key=key)
    assert done.returncode == 0, f"build failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return done


def mart(home: Path, name: str, schema: str = "marts", warehouse: str = "warehouse") -> pd.DataFrame:
    """A mart's current rows, read with DuckDB from its published Parquet folder (as an analyst
    would); warehouse="build/warehouse": the build state instead (what a failed run left)."""
    folder = home / warehouse / f"{schema}.db" / name
    assert folder.is_dir(), f"mart {name} missing at {folder}"
    return duckdb.sql(f"select * from read_parquet('{folder}/**/*.parquet', hive_partitioning = true)").df()


def published_tables(home: Path) -> dict[str, pd.DataFrame]:
    """Every published table of every schema ("schema.table" -> rows): what any reader can see."""
    tables = {}
    for schema in sorted((home / "warehouse").glob("*.db")):
        for folder in sorted(p for p in schema.iterdir() if p.is_dir() and any(p.rglob("*.parquet"))):
            tables[f"{schema.name[:-3]}.{folder.name}"] = mart(home, folder.name, schema.name[:-3])
    return tables


# run-time columns: when and how fast a run went, not what it computed
RUN_TIME = {"run_id", "run_at", "started_at", "finished_at", "training_seconds", "scoring_latency_ms", "metrics_json",
            "artifact_uri", "data_docs_path"}  # fmt: skip


def comparable(frame: pd.DataFrame, digits: int | None = None) -> pd.DataFrame:
    """`frame` without run-time columns, rows in a canonical order (array columns as tuples);
    `digits`: every float rounded to that many significant digits (see assert_same_tables)."""
    cols = [c for c in frame.columns if c not in RUN_TIME]
    frame = frame[cols].copy()
    for c in cols:
        if frame[c].dtype == object and frame[c].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any():
            frame[c] = frame[c].map(lambda v: None if v is None else tuple(v))
        if digits and (frame[c].dtype.kind == "f" or frame[c].dtype == object):
            frame[c] = frame[c].map(lambda v: float(f"{v:.{digits}g}") if isinstance(v, float) else v)
    return frame.sort_values(cols).reset_index(drop=True)


def assert_same_tables(
    expected: dict[str, pd.DataFrame], actual: dict[str, pd.DataFrame], what: str, digits: int | None = None
) -> None:
    """Every table equal, exactly by default (reruns in one Spark setup). `digits`: floats compared to
    that many significant digits, for two Spark setups (local vs a server), where a sum's order over
    partitions differs and a double's last bit with it."""
    assert sorted(actual) == sorted(expected), f"{what}: tables differ"
    for name, frame in expected.items():
        left, right = comparable(frame, digits), comparable(actual[name], digits)
        pd.testing.assert_frame_equal(left, right, obj=f"{what}: {name}")


def kill_build_at(
    landing: Path, home: Path, as_of: str, extra_vars: dict, seed: int
) -> tuple[str, subprocess.CompletedProcess]:
    """Start `watchhouse build`, SIGKILL the watchhouse process when dbt starts a model picked at
    random (seeded, from the models of the last run), and wait until no process of its session is
    left. Returns the model and what the run printed until then."""
    import random
    import signal
    import time

    models = sorted(u for u, r in run_results(home).items() if u.startswith("model."))
    model = random.Random(seed).choice(models).split(".")[-1]
    cmd = [WATCHHOUSE, "build", "--vars", json.dumps(extra_vars)]
    env = watchhouse_env(landing, home, as_of)
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip
    out = []
    for line in proc.stdout:
        out.append(line)
        if " START " in line and f".{model} " in line:
            os.kill(proc.pid, signal.SIGKILL)  # only the top process: its dbt child must die with it
            break
    proc.wait()
    deadline = time.time() + 60
    while _session_alive(proc.pid) and time.time() < deadline:
        time.sleep(0.5)
    stray = _session_alive(proc.pid)
    if stray:
        os.killpg(proc.pid, signal.SIGKILL)
    out += proc.stdout.read().splitlines(keepends=True)  # every writer is gone: no wait
    assert not stray, f"processes left after killing the build at {model}: {stray}"
    assert proc.returncode == -signal.SIGKILL, f"the build ended before {model} started:\n{''.join(out)[-4000:]}"
    return model, subprocess.CompletedProcess(cmd, proc.returncode, "".join(out), "")


def _session_alive(sid: int) -> list[str]:
    """Processes still in session `sid` (the killed build's), as 'pid command' lines."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # field 6 of stat: the session id
            left.append(f"{stat.parent.name} {(stat.parent / 'comm').read_text().strip()}")
    return left


def run_results(home: Path) -> dict[str, dict]:
    data = json.loads((home / "dbt" / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r for r in data["results"]}


SERVED_BATCH = "2026-11-19"


def plant_served_lists(landing: Path, users: int = 6) -> dict:
    """Write an external `recommendations_served` table into a generated landing: for users
    who watched exactly one VOD (created before the batch) on the next day, a list served on
    SERVED_BATCH with a miss at rank 1 and that VOD at rank 3 (ranks as served: 1, 3, 4).
    Plus three broken rows. Returns the users, and the reasons the broken rows must get."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from watchhouse import contract

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    rows = con.execute(
        f"""
        with bad as (select row_key from read_parquet('{landing}/_generator/contract_violations.parquet')),
        abusive as (select event_id from read_parquet('{landing}/abuse_labels/**/*.parquet')),
        vods as (select vod_id, min(created_at) as created_at from read_parquet('{landing}/vods/**/*.parquet')
                 group by vod_id),
        next_day as (
            select w.* from read_parquet('{landing}/watch_events/**/*.parquet', hive_partitioning = true) as w
            where cast(w.started_at as date) = date '{SERVED_BATCH}' + interval 1 day
        ),
        odd as (
            select event_id from next_day where event_id in (select row_key from bad where row_key is not null)
            union all
            select event_id from abusive
        ),
        per_user as (
            select user_id, min(vod_id) as vod_id, count(distinct vod_id) as vods,
                   count(odd.event_id) as odd
            from next_day left join odd using (event_id) group by user_id
        )
        select p.user_id, p.vod_id
        from per_user as p join vods using (vod_id)
        join (select user_id, min(created_at) as joined from read_parquet('{landing}/users/**/*.parquet')
              group by user_id) as u using (user_id)
        where p.vods = 1 and p.odd = 0 and vods.created_at < timestamp '{SERVED_BATCH}'
              and u.joined < timestamp '{SERVED_BATCH}'
              and p.user_id like 'u%' and p.user_id not like 'u_missing%'
        order by p.user_id limit {users}
        """
    ).fetchall()
    miss = con.execute(
        f"select min(vod_id) from read_parquet('{landing}/vods/**/*.parquet') where created_at < timestamp '2026-11-01'"
    ).fetchone()[0]
    served_at = pd.Timestamp(f"{SERVED_BATCH} 12:00", tz="UTC")
    table = []
    for user, hit in rows:
        table += [(served_at, "handmade", user, "vod", miss, 1), (served_at, "handmade", user, "vod", hit, 3)]
        table.append((served_at, "handmade", user, "vod", miss + "x" if hit == miss else hit + "_none", 4))
    first = rows[0][0]
    broken = [
        (served_at, "handmade", first, "vod", miss, 0, "invalid_rank"),
        (served_at, "handmade", first, "clip", miss, 7, "unknown_item_type"),
        (served_at + pd.Timedelta(minutes=1), "handmade", first, "vod", rows[1][1], 3, "duplicate_key"),
    ]
    table += [r[:6] for r in broken]
    frame = pd.DataFrame(table, columns=["served_at", "model_name", "user_id", "item_type", "item_id", "rank"])
    out = landing / "recommendations_served"
    out.mkdir(exist_ok=True)
    schema = contract.RECOMMENDATIONS_SERVED.schema
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), out / "part-0.parquet")
    return {"users": [u for u, _ in rows], "broken": {r[6]: 1 for r in broken}, "unknown_item": len(rows)}


def plant_late_file(landing: Path, day: str, rows: int, name: str, from_day: str | None = None) -> list[str]:
    """A watch-events file landing late in `day`'s partition: clean views (no planted contract
    break, no user with labelled abuse) of `from_day` (default `day`) moved to `day`, one per user,
    under new event ids `late-<name>-<i>`. Moved views come from users with no view on `day`, so
    each one adds a user to the evaluation of the lists of the day before. Returns the event ids."""
    import pyarrow.parquet as pq

    folder = landing / "watch_events" / f"event_date={day}"
    source = landing / "watch_events" / f"event_date={from_day or day}"
    schema = pq.read_schema(next(folder.glob("*.parquet")))
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    table = con.execute(
        f"""
        with labelled as (
            select distinct w.user_id from read_parquet('{landing}/watch_events/*/*.parquet') as w
            join read_parquet('{landing}/abuse_labels/**/*.parquet') using (event_id)
            where w.user_id is not null
        ),
        clean as (
            select *, row_number() over (partition by user_id order by event_id) as nth
            from read_parquet('{source}/*.parquet')
            where regexp_matches(user_id, '^u[0-9]+$')
              and event_id not in (select row_key from read_parquet('{landing}/_generator/contract_violations.parquet')
                                   where row_key is not null)
              and user_id not in (select user_id from labelled)
              and (date '{day}' = date '{from_day or day}'
                   or user_id not in (select user_id from read_parquet('{folder}/*.parquet') where user_id is not null))
        )
        select * exclude (event_id, started_at, nth),
               started_at + to_days(date '{day}' - date '{from_day or day}') as started_at,
               'late-{name}-' || row_number() over (order by event_id) as event_id
        from clean where nth = 1 order by event_id limit {rows}
        """
    ).fetch_arrow_table()
    assert table.num_rows == rows, f"only {table.num_rows} views to move"
    table = table.select(schema.names).cast(schema)
    pq.write_table(table, folder / f"late-{name}.parquet")
    return table.column("event_id").to_pylist()
