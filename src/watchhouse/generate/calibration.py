"""Distances between the generator's output and the real reference data.

Used by tests/python/test_generator_calibration.py and docs/generator.md; the
reference files themselves (../shared/data) are only read by the tests.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: max |ECDF_a - ECDF_b|."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    if len(a) == 0 or len(b) == 0:
        raise ValueError("ks_distance needs two non-empty samples")
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def _sql(landing: Path, query: str) -> np.ndarray:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table in ("watch_events", "live_watch_events", "vods", "broadcasts"):
        con.execute(f"create view {table} as select * from read_parquet('{landing}/{table}/**/*.parquet')")
    return con.execute(query).fetchnumpy()


def streamer_distinct_viewers(landing: Path) -> np.ndarray:
    """Distinct users per streamer over VOD and live views (streamers with >= 1 viewer)."""
    got = _sql(
        landing,
        """
        with pairs as (
            select w.user_id, v.streamer_id from watch_events w join vods v using (vod_id)
            union
            select l.user_id, b.streamer_id from live_watch_events l join broadcasts b using (broadcast_id)
        )
        select count(distinct user_id) as n from pairs where user_id is not null and streamer_id is not null
        group by streamer_id
        """,
    )
    return got["n"].astype(float)


def user_active_span_share(landing: Path, days: int) -> np.ndarray:
    """Per user: (last - first day with a view) / days of data, as the Twitch lifetime span share."""
    got = _sql(
        landing,
        """
        select datediff('day', min(started_at)::date, max(started_at)::date) as span
        from watch_events where user_id is not null and started_at is not null
          and started_at >= timestamp '2020-01-01' and started_at < timestamp '2030-01-01'
        group by user_id
        """,
    )
    return got["span"].astype(float) / max(days - 1, 1)


def shortform_durations(landing: Path) -> np.ndarray:
    got = _sql(landing, "select duration_seconds from vods where vod_type = 'shortform' and duration_seconds > 0")
    return got["duration_seconds"]
