"""Generator throughput against an I/O floor, in one process.

Baseline: writing the same number of watch-event rows (random ids, same
schema, same zstd Parquet, same day partitions) with no simulation at all.
The ratio says how much the simulation costs over just writing the data.

    .venv/bin/python bench/bench_generate.py --events 1000000 --users 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from watchhouse import contract as c
from watchhouse.generate.config import GeneratorConfig
from watchhouse.generate.platform import generate
from watchhouse.generate.writer import LandingWriter


def baseline(out: Path, rows: int, days: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    writer = LandingWriter(out)
    start = time.perf_counter()
    per_day = rows // days
    for d in range(days):
        n = per_day
        ids = pa.array(np.char.add("e", np.arange(d * n, (d + 1) * n).astype(str)))
        t0 = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()) + d * 86400
        table = pa.table(
            {
                "event_id": ids,
                "user_id": pa.array(np.char.add("u", rng.integers(0, 10**6, n).astype(str))),
                "vod_id": pa.array(np.char.add("v", rng.integers(0, 10**6, n).astype(str))),
                "started_at": pa.array((t0 + rng.integers(0, 86400, n)) * 1_000_000, type=c.TS),
                "watched_seconds": rng.random(n) * 600,
                "client": pa.array(np.full(n, "web")),
                "ip_hash": pa.array(np.char.add("ip", rng.integers(0, 10**6, n).astype(str))),
                "surface": pa.array(np.full(n, "home")),
            },
            schema=c.WATCH_EVENTS.schema,
        )
        writer.write(c.WATCH_EVENTS, table, day=dt.date(2026, 11, 1) + dt.timedelta(days=d))
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--days", type=int, default=14)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-gen-"))
    try:
        t = time.perf_counter()
        manifest = generate(
            GeneratorConfig(users=args.users, days=args.days, events=args.events), tmp / "gen", progress=False
        )
        gen_s = time.perf_counter() - t
        views = manifest["rows"]["watch_events"]
        base_s = baseline(tmp / "base", views, args.days)
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(f"views={views:,} generate={gen_s:.1f}s baseline_write={base_s:.1f}s ratio={gen_s / base_s:.2f}x")
        print(f"generate throughput={views / gen_s:,.0f} views/s (all tables), peak RSS={peak_gb:.2f} GB")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
