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
    got = reference_metrics(INTERACTIONS, RANKS["m"], LIVE_AT)  # u3's interaction: m made no list for u3
    for segment in ("all", "repeat", "new"):
        assert got[segment] == pytest.approx(expected_m(segment)), segment
    m2 = reference_metrics(INTERACTIONS, RANKS["m2"], LIVE_AT)
    assert m2["all"] == pytest.approx({"n": 1, "h1": 0, "h10": 1, "ndcg10": (g(2) + g(3) + g(4)) / 3})


def _spark_live(spark, ranks: dict, interactions: list, live_at: dict, partitions: int | None = None) -> dict:
    """live_metrics on DataFrames of the reference's inputs (the interactions spread over `partitions`
    partitions, when given): (model, segment) -> row."""
    lists = spark.createDataFrame(
        [(m, u, s, r) for m, users in ranks.items() for u, by in users.items() for s, r in by.items()],
        "model_name string, user_id string, streamer_id string, rank int",
    )
    inter = spark.createDataFrame(interactions, "user_id string, streamer_id string, step long, is_repeat boolean")
    if partitions:
        inter = inter.repartition(partitions)
    live = spark.createDataFrame(
        [(s, step) for step, streamers in live_at.items() for s in streamers], "streamer_id string, step long"
    )
    return {(r["model_name"], r["segment"]): r for r in live_metrics(lists, inter, live).collect()}


def test_spark_live_metrics_agree_with_the_hand_computed_case(spark):
    got = _spark_live(spark, RANKS, INTERACTIONS, LIVE_AT)
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


def test_a_mid_step_join_is_a_candidate_of_its_own_interaction_only(spark):
    """The issue's minimal case: m lists C at rank 1 for u1 and u2; at step 1, A and B are live, u1
    joins A and u2 joins Z, which started mid-step. u1's candidates are {A, B}: H@1 1/2; u2's
    {A, B, Z}: 1/3; the mean is 5/12 (counting Z as u1's candidate too gave 1/3)."""
    ranks = {"m": {"u1": {"C": 1}, "u2": {"C": 1}}}
    interactions = [("u1", "A", 1, False), ("u2", "Z", 1, False)]
    live_at = {1: {"A", "B"}}
    assert reference_metrics(interactions, ranks["m"], live_at)["all"]["h1"] == pytest.approx(5 / 12)
    assert _spark_live(spark, ranks, interactions, live_at)[("m", "all")]["h1"] == pytest.approx(5 / 12)


def test_spark_live_metrics_equal_the_reference_on_random_cases_with_mid_step_joins(spark):
    """Random steps, live sets and lists (three models; some users without a list); about a third of
    the joins are to a streamer not live at the step's start. Every model x segment agrees."""
    import random

    rng = random.Random(5)
    streamers = [f"S{i}" for i in range(16)]
    live_at = {step: set(rng.sample(streamers, rng.randint(0, 12))) for step in range(1, 9)}
    ranks = {
        model: {
            f"u{u}": dict(zip(rng.sample(streamers, rng.randint(1, 12)), rng.sample(range(1, 60), 12), strict=False))
            for u in range(12)
            if rng.random() < 0.8
        }
        for model in ("m1", "m2", "m3")
    }
    interactions = set()
    while len(interactions) < 60:
        step = rng.randint(1, 8)
        live = sorted(live_at[step])
        mid_step = not live or rng.random() < 0.35
        target = rng.choice([s for s in streamers if s not in live_at[step]] if mid_step else live)
        interactions.add((f"u{rng.randint(0, 13)}", target, step, rng.random() < 0.5))
    interactions = sorted(interactions)
    assert sum(1 for _, s, step, _ in interactions if s not in live_at[step]) >= 10
    got = _spark_live(spark, ranks, interactions, live_at)
    compared = 0
    for model, model_ranks in ranks.items():
        want = reference_metrics(interactions, model_ranks, live_at)
        assert {seg for (mod, seg) in got if mod == model} == set(want), model
        for segment, exp in want.items():
            row = got[(model, segment)]
            assert row["interactions"] == exp["n"], (model, segment)
            assert (row["h1"], row["h10"], row["ndcg10"]) == pytest.approx(
                (exp["h1"], exp["h10"], exp["ndcg10"]), abs=1e-12
            ), (model, segment)
            compared += 1
    assert compared == 9


def test_a_repeated_interaction_row_counts_once_and_partitioning_changes_nothing(spark):
    """u1 joins B at step 1 (written twice); A and B are live and the list ranks A 1, B 2: position 2,
    so H@1 0, H@10 1, NDCG@10 1/log2(3) (by hand), counted once by both implementations, however the
    interactions are partitioned (the Spark version identifies an interaction by its columns)."""
    ranks = {"m": {"u1": {"A": 1, "B": 2}, "u2": {"B": 1}}}
    live_at = {1: {"A", "B"}, 2: {"B"}}
    once = [("u1", "B", 1, False), ("u2", "B", 2, True)]
    twice = once + once
    want = {"n": 1, "h1": 0.0, "h10": 1.0, "ndcg10": 1 / math.log2(3)}
    assert reference_metrics(twice, ranks["m"], live_at) == reference_metrics(once, ranks["m"], live_at)
    assert reference_metrics(twice, ranks["m"], live_at)["new"] == pytest.approx(want)
    for frame in (twice, twice * 4):
        got = _spark_live(spark, ranks, frame, live_at, partitions=7)
        assert got[("m", "all")]["interactions"] == 2
        row = got[("m", "new")]
        assert (row["interactions"], row["h1"], row["h10"], row["ndcg10"]) == pytest.approx(
            (want["n"], want["h1"], want["h10"], want["ndcg10"])
        )
