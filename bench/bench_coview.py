"""Cost of `co_viewed_streamers` as the data grows: it must grow about linearly.

For each size: generate a landing, run `watchhouse build --select +co_viewed_streamers`
in a fresh home, and read dbt's own timings (run_results.json). Baseline, in the
same build: `user_preferred_streamers`, a plain linear aggregation of the same
watching; the ratio co-view / baseline staying flat as events grow 10x is the
claim. Also printed: the rows the capped pair self-join produces per event.

    .venv/bin/python bench/bench_coview.py --sizes 1000000 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
WATCHHOUSE = str(Path(sys.executable).with_name("watchhouse"))
MODELS = ("user_preferred_streamers", "co_viewed_streamers")


def run(size: int, work: Path) -> dict:
    landing, home = work / f"landing_{size}", work / f"home_{size}"
    users = max(size // 50, 1000)  # ~3.5 views per user-day over 14 days, as in the demo
    env = dict(os.environ, WATCHHOUSE_LANDING=str(landing), WATCHHOUSE_HOME=str(home))
    subprocess.run(
        [WATCHHOUSE, "generate", "--out", str(landing), "--users", str(users), "--events", str(size), "--quiet"],
        env=env, check=True,
    )  # fmt: skip
    start = time.perf_counter()
    subprocess.run([WATCHHOUSE, "build", "--select", "+co_viewed_streamers"], env=env, check=True, cwd=REPO)
    wall = time.perf_counter() - start
    results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())["results"]
    seconds = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}
    marts = home / "warehouse" / "marts.db"
    views = duckdb.sql(
        f"select count(*) from read_parquet('{home}/warehouse/intermediate.db/int_views_clean/**/*.parquet')"
    ).fetchone()[0]
    cap = 50
    pair_rows = duckdb.sql(
        f"""select sum(least(n, {cap}) * (least(n, {cap}) - 1)) from (
              select user_id, count(*) as n
              from read_parquet('{marts}/user_preferred_streamers/**/*.parquet')
              where watched_seconds > 0 group by user_id)"""
    ).fetchone()[0]
    return {
        "events": size,
        "clean_views": views,
        "wall": wall,
        **{m: seconds[m] for m in MODELS},
        "pair_rows": pair_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_coview_"))
    rows = [run(size, work) for size in args.sizes]
    print(f"\n{'events':>11} {'clean views':>12} {'baseline s':>11} {'co-view s':>10} {'ratio':>6} {'pairs/view':>10}")
    for r in rows:
        ratio = r["co_viewed_streamers"] / r["user_preferred_streamers"]
        print(
            f"{r['events']:>11,} {r['clean_views']:>12,} {r['user_preferred_streamers']:>11.1f} "
            f"{r['co_viewed_streamers']:>10.1f} {ratio:>5.2f}x {r['pair_rows'] / r['clean_views']:>10.2f}"
        )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        grow = last["clean_views"] / first["clean_views"]
        print(
            f"\nclean views grew {grow:.1f}x; co-view time grew "
            f"{last['co_viewed_streamers'] / first['co_viewed_streamers']:.1f}x, baseline "
            f"{last['user_preferred_streamers'] / first['user_preferred_streamers']:.1f}x"
        )


if __name__ == "__main__":
    main()
