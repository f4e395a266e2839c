"""The popularity baseline on a hand-computed case."""

import datetime as dt

import pytest

from watchhouse.recs.popularity import LIST_COLUMNS, popularity_lists

AS_OF = dt.date(2026, 11, 20)


def _views(spark, rows):
    return spark.createDataFrame(
        [(u, v, dt.datetime.fromisoformat(t)) for u, v, t in rows],
        "user_id string, vod_id string, started_at timestamp",
    )


def test_top_k_by_distinct_viewers_in_window(spark):
    views = _views(
        spark,
        [
            # vA: 3 distinct viewers in the window (u1 twice counts once)
            ("u1", "vA", "2026-11-20 10:00:00"),
            ("u1", "vA", "2026-11-20 11:00:00"),
            ("u2", "vA", "2026-11-19 10:00:00"),
            ("u3", "vA", "2026-11-18 23:59:59"),
            # vB: 2 viewers in window + 5 before it (must not count: window is 3 days)
            ("u1", "vB", "2026-11-20 09:00:00"),
            ("u4", "vB", "2026-11-19 09:00:00"),
            *[(f"u{i}", "vB", "2026-11-10 09:00:00") for i in range(10, 15)],
            # vC: 2 viewers, ties with vB -> vB first (vod_id order)
            ("u2", "vC", "2026-11-20 08:00:00"),
            ("u3", "vC", "2026-11-20 08:30:00"),
            # vD: after the batch (D+1) -> never counted
            *[(f"u{i}", "vD", "2026-11-21 01:00:00") for i in range(1, 5)],
        ],
    )
    users = spark.createDataFrame([(f"u{i}",) for i in range(1, 15)], "user_id string")
    out = popularity_lists(views, users, AS_OF, k=2, window_days=3, audience_days=3)
    assert tuple(out.columns) == LIST_COLUMNS
    rows = {(r.user_id, r.item_id): (r.rank, r.score) for r in out.collect()}
    # audience: users with a view in the 3 days ending 2026-11-20 -> u1..u4 (u10..u14 are older, u5+ none)
    assert {u for u, _ in rows} == {"u1", "u2", "u3", "u4"}
    for user in ("u1", "u2", "u3", "u4"):
        assert rows[(user, "vA")] == (1, 3.0)
        assert rows[(user, "vB")] == (2, 2.0)
    assert not any(item in ("vC", "vD") for _, item in rows)
    assert {r.batch_date for r in out.collect()} == {AS_OF}


def test_audience_limited_to_accepted_users(spark):
    views = _views(spark, [("u1", "vA", "2026-11-20 10:00:00"), ("ghost", "vA", "2026-11-20 10:00:00")])
    users = spark.createDataFrame([("u1",)], "user_id string")
    out = popularity_lists(views, users, AS_OF, k=5, window_days=1)
    assert [(r.user_id, r.item_id, r.score) for r in out.collect()] == [("u1", "vA", 2.0)]


def test_rejects_non_positive_sizes(spark):
    views = _views(spark, [])
    with pytest.raises(ValueError, match="k=0"):
        popularity_lists(views, views.select("user_id"), AS_OF, k=0)
