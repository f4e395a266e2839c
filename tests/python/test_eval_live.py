"""The LiveRec live protocol on a hand-made case: expected positions worked out by hand,
the pure reference and the Spark implementation both checked against them."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from watchhouse.eval.live import live_inputs, live_metrics, position_metrics, reference_metrics


def g(p: int) -> float:  # the NDCG gain of the single relevant item at position p
    return 1.0 / math.log2(p + 1)


TWELVE = [f"S{i:02d}" for i in range(1, 13)]
LIVE_AT = {1: {"A", "B", "C", "D"}, 2: {"A", "E"}, 3: set(TWELVE)}
RANKS = {
    "m": {"u1": {"A": 1, "B": 2, "X": 3}, "u2": {"C": 5, "A": 2}},
    "m2": {"u3": {"B": 1}},
}
INTERACTIONS = [
    ("u1", "B", 1, True),  # listed live {A:1, B:2}: position 2
    ("u1", "D", 1, False),  # unranked, 2 listed live of 4: positions 3..4
    ("u2", "C", 1, False),  # listed live {A:2, C:5}: position 2
    ("u2", "E", 2, False),  # unranked, listed live {A}, live {A, E}: position 2
    ("u3", "A", 1, True),  # m: no list for u3; m2: listed live {B}: positions 2..4
    ("u1", "A", 2, True),  # position 1
    ("u1", "S12", 3, False),  # nothing listed live, 12 live: positions 1..12
]
# per interaction of model m: (h1, h10, ndcg10), by hand
M = [
    (0, 1, g(2)),
    (0, 1, (g(3) + g(4)) / 2),
    (0, 1, g(2)),
    (0, 1, g(2)),
    (1, 1, 1.0),
    (1 / 12, 10 / 12, sum(g(p) for p in range(1, 11)) / 12),
]
M_SEGMENTS = {"all": [0, 1, 2, 3, 4, 5], "repeat": [0, 4], "new": [1, 2, 3, 5]}


def expected_m(segment: str) -> dict:
    rows = [M[i] for i in M_SEGMENTS[segment]]
    return {
        "n": len(rows),
        **{key: sum(r[j] for r in rows) / len(rows) for j, key in enumerate(("h1", "h10", "ndcg10"))},
    }


def test_position_metrics_by_hand():
    assert position_metrics(1, True, 2, 4) == pytest.approx({"h1": 0, "h10": 1, "ndcg10": g(2)})
    assert position_metrics(0, False, 2, 4) == pytest.approx({"h1": 0, "h10": 1, "ndcg10": (g(3) + g(4)) / 2})
    assert position_metrics(0, False, 9, 13)["h10"] == pytest.approx(1 / 4)  # positions 10..13: one of four
    assert position_metrics(10, True, 11, 20) == {"h1": 0, "h10": 0, "ndcg10": 0}
    with pytest.raises(ValueError, match="must exceed"):
        position_metrics(0, False, 3, 3)


def test_reference_metrics_equal_the_hand_computed_means():
    got = reference_metrics([i for i in INTERACTIONS if i[0] != "u3"], RANKS["m"], LIVE_AT)
    for segment in ("all", "repeat", "new"):
        assert got[segment] == pytest.approx(expected_m(segment)), segment
    m2 = reference_metrics([i for i in INTERACTIONS if i[0] == "u3"], RANKS["m2"], LIVE_AT)
    assert m2["all"] == pytest.approx({"n": 1, "h1": 0, "h10": 1, "ndcg10": (g(2) + g(3) + g(4)) / 3})


def test_spark_live_metrics_agree_with_the_hand_computed_case(spark):
    lists = spark.createDataFrame(
        [(m, u, s, r) for m, users in RANKS.items() for u, ranks in users.items() for s, r in ranks.items()],
        "model_name string, user_id string, streamer_id string, rank int",
    )
    interactions = spark.createDataFrame(
        INTERACTIONS, "user_id string, streamer_id string, step long, is_repeat boolean"
    )
    live = spark.createDataFrame(
        [(s, step) for step, streamers in LIVE_AT.items() for s in streamers], "streamer_id string, step long"
    )
    got = {(r["model_name"], r["segment"]): r for r in live_metrics(lists, interactions, live).collect()}
    for segment in ("all", "repeat", "new"):
        exp = expected_m(segment)
        row = got[("m", segment)]
        assert row["interactions"] == exp["n"]
        assert (row["h1"], row["h10"], row["ndcg10"]) == pytest.approx((exp["h1"], exp["h10"], exp["ndcg10"]))
    m2 = got[("m2", "all")]
    assert m2["interactions"] == 1 and m2["ndcg10"] == pytest.approx((g(2) + g(3) + g(4)) / 3)
    assert ("m2", "new") not in got


def test_live_inputs_map_items_to_streamers_steps_and_repeats(spark):
    day = dt.date(2026, 11, 20)
    ts = dt.datetime
    lists = spark.createDataFrame(
        [("m", "u1", "v1", "vod", 3), ("m", "u1", "s1", "streamer", 5), ("m", "u1", "b2", "broadcast", 1),
         ("m", "u1", "v9", "vod", 2)],  # v9 belongs to no known VOD: dropped
        "model_name string, user_id string, item_id string, item_type string, rank int",
    )  # fmt: skip
    vods = spark.createDataFrame([("v1", "s1")], "vod_id string, streamer_id string")
    broadcasts = spark.createDataFrame(
        [("b1", "s1", ts(2026, 11, 20, 0, 5), ts(2026, 11, 20, 0, 30)),  # live at 00:10, 00:20
         ("b2", "s2", ts(2026, 11, 19, 23, 0), None)],  # open: live every step of the day
        "broadcast_id string, streamer_id string, started_at timestamp, ended_at timestamp",
    )  # fmt: skip
    live_views = spark.createDataFrame(
        [("u1", "b1", ts(2026, 11, 20, 0, 12)), ("u1", "b1", ts(2026, 11, 20, 0, 15)),  # one step: one interaction
         ("u2", "b2", ts(2026, 11, 19, 23, 59))],  # the day before: not an interaction
        "user_id string, broadcast_id string, joined_at timestamp",
    )  # fmt: skip
    daily = spark.createDataFrame(
        [("u1", "s1", dt.date(2026, 11, 19)), ("u1", "s2", day)], "user_id string, streamer_id string, watch_date date"
    )
    by_streamer, interactions, steps = live_inputs(lists, vods, broadcasts, live_views, daily, day)
    assert {(r.streamer_id, r.rank) for r in by_streamer.collect()} == {("s1", 3), ("s2", 1)}
    step0 = int(ts(2026, 11, 20, tzinfo=dt.UTC).timestamp()) // 600
    assert [(r.user_id, r.streamer_id, r.step, r.is_repeat) for r in interactions.collect()] == [
        ("u1", "s1", step0 + 1, True)
    ]
    live = {(r.streamer_id, r.step) for r in steps.collect()}
    assert {s for (st, s) in live if st == "s1"} == {step0 + 1, step0 + 2}
    assert {s for (st, s) in live if st == "s2"} == set(range(step0, step0 + 144))
