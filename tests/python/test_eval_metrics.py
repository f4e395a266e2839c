"""Offline metrics: the pure functions against hand-computed cases, and the Spark
implementation used in the DAG against the pure functions on the same inputs."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from watchhouse.eval import metrics as m
from watchhouse.eval.spark_metrics import per_user_metrics

LIST = ["a", "b", "c", "d", "e"]
RELEVANT = {"b", "d", "x"}  # x was watched but never recommended


def test_hit_precision_recall_by_hand():
    assert m.hit_rate_at_k(LIST, RELEVANT, 1) == 0.0
    assert m.hit_rate_at_k(LIST, RELEVANT, 2) == 1.0
    assert m.precision_at_k(LIST, RELEVANT, 5) == 2 / 5
    assert m.precision_at_k(LIST, RELEVANT, 10) == 2 / 10  # divides by k even past the list's end
    assert m.recall_at_k(LIST, RELEVANT, 5) == 2 / 3


def test_average_precision_by_hand():
    # hits at ranks 2 and 4: (1/2 + 2/4) / min(5, 3)
    assert m.average_precision_at_k(LIST, RELEVANT, 5) == pytest.approx((0.5 + 0.5) / 3)
    # at k = 2 only the hit at rank 2 counts, normalised by min(2, 3) = 2
    assert m.average_precision_at_k(LIST, RELEVANT, 2) == pytest.approx(0.5 / 2)


def test_ndcg_and_mrr_by_hand():
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert m.binary_ndcg_at_k(LIST, RELEVANT, 5) == pytest.approx(dcg / idcg)
    gains = {"b": 0.5, "d": 1.0, "x": 0.25}
    graded = (0.5 / math.log2(3) + 1.0 / math.log2(5)) / (1.0 + 0.5 / math.log2(3) + 0.25 / math.log2(4))
    assert m.ndcg_at_k(LIST, gains, 5) == pytest.approx(graded)
    assert m.reciprocal_rank_at_k(LIST, RELEVANT, 5) == 0.5
    assert m.reciprocal_rank_at_k(LIST, RELEVANT, 1) == 0.0
    assert m.binary_ndcg_at_k(["b", "d", "x"], RELEVANT, 3) == pytest.approx(1.0)


def test_coverage_and_novelty_by_hand():
    assert m.coverage_at_k({"u1": ["a", "b"], "u2": ["b", "c"]}, catalogue_size=10, k=2) == 0.3
    assert m.coverage_at_k({"u1": ["a", "b"], "u2": ["b", "c"]}, catalogue_size=10, k=1) == 0.2
    # a: 4 of 8 users -> 1 bit; b: 1 of 8 -> 3 bits; unseen c counts as one user -> 3 bits
    assert m.novelty_at_k(["a", "b", "c"], {"a": 4, "b": 1}, users=8, k=3) == pytest.approx(7 / 3)


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="cut-offs start at 1"):
        m.precision_at_k(LIST, RELEVANT, 0)
    with pytest.raises(ValueError, match="at least one relevant"):
        m.recall_at_k(LIST, set(), 5)


CASES = {  # user -> (ranked list, {relevant item: gain}, repeat items)
    "u1": (["a", "b", "c", "d", "e"], {"b": 0.5, "d": 1.0, "x": 0.25}, {"b"}),
    "u2": (["c", "a"], {"a": 0.75}, set()),
    "u3": (["e", "f", "g"], {"q": 1.0}, {"q"}),  # no hit at all
}


def test_spark_per_user_metrics_agree_with_the_pure_functions(spark):
    list_rows = [
        ("m1", u, "vod", item, 10 * r) for u, (ranked, _, _) in CASES.items() for r, item in enumerate(ranked, 1)
    ]
    rel_rows = [(u, "vod", item, g, item in rep) for u, (_, gains, rep) in CASES.items() for item, g in gains.items()]
    rel_rows.append(("u_no_list", "vod", "a", 1.0, False))  # relevant but no list: not evaluated
    lists = spark.createDataFrame(
        list_rows, "model_name string, user_id string, item_type string, item_id string, rank int"
    )
    relevance = spark.createDataFrame(
        rel_rows, "user_id string, item_type string, item_id string, gain double, is_repeat boolean"
    )
    got = per_user_metrics(lists, relevance, ks=(1, 2, 5)).toPandas().set_index(["user_id", "k"])
    assert sorted(got.index.get_level_values(0).unique()) == ["u1", "u2", "u3"]
    for user, (ranked, gains, repeat) in CASES.items():
        relevant = set(gains)
        for k in (1, 2, 5):
            row = got.loc[(user, k)]
            assert row.hit_rate == m.hit_rate_at_k(ranked, relevant, k)
            assert row.precision == pytest.approx(m.precision_at_k(ranked, relevant, k))
            assert row.recall == pytest.approx(m.recall_at_k(ranked, relevant, k))
            assert row["map"] == pytest.approx(m.average_precision_at_k(ranked, relevant, k))
            assert row.ndcg == pytest.approx(m.binary_ndcg_at_k(ranked, relevant, k))
            assert row.ndcg_graded == pytest.approx(m.ndcg_at_k(ranked, gains, k))
            assert row.mrr == pytest.approx(m.reciprocal_rank_at_k(ranked, relevant, k))
            assert row.hits_repeat == m.hits_at_k(ranked, relevant & repeat, k)
            assert row.hits_new == m.hits_at_k(ranked, relevant - repeat, k)


def _frames(spark, list_rows, rel_rows):
    lists = spark.createDataFrame(
        list_rows, "model_name string, user_id string, item_type string, item_id string, rank int"
    )
    relevance = spark.createDataFrame(
        rel_rows, "user_id string, item_type string, item_id string, gain double, is_repeat boolean"
    )
    return lists, relevance


def test_a_mixed_list_is_scored_per_type_on_spark_as_the_issue_case_says(spark):
    """Streamers s1, s2 at ranks 1-2, VODs v1, v2 at ranks 3-4; VOD v1 relevant: the VOD evaluation
    sees the list [v1, v2] at every k (it used to lose the user at k < 3 and report 1/3 at k = 3)."""
    rows = [("m", "u1", "streamer", "s1", 1), ("m", "u1", "streamer", "s2", 2), ("m", "u1", "vod", "v1", 3),
            ("m", "u1", "vod", "v2", 4)]  # fmt: skip
    lists, relevance = _frames(spark, rows, [("u1", "vod", "v1", 1.0, False)])
    got = per_user_metrics(lists, relevance, ks=(1, 2, 3)).toPandas().set_index("k")
    assert sorted(got.index) == [1, 2, 3] and set(got.item_type) == {"vod"}
    for k in (1, 2, 3):
        assert (got.loc[k, "hit_rate"], got.loc[k, "recall"], got.loc[k, "mrr"]) == (1.0, 1.0, 1.0)
        assert got.loc[k, "precision"] == pytest.approx(1 / k)


def test_spark_metrics_equal_the_pure_functions_on_random_mixed_lists(spark):
    """Random served lists (two models, VODs and streamers mixed, ranks with gaps, some users with no
    relevant item or no item of a type): every per-user row equals the pure functions on that type's
    sub-list, the evaluated users are the same at every k, and list_metrics' coverage and novelty
    equal their pure definitions."""
    import random

    from watchhouse.eval.spark_metrics import list_metrics

    rng = random.Random(11)
    ks = (1, 3, 10)
    pool = {"vod": [f"v{i}" for i in range(30)], "streamer": [f"s{i}" for i in range(12)]}
    mixed: dict[tuple[str, str], list[tuple[str, str]]] = {}
    list_rows = []
    for model in ("m1", "m2"):
        for u in range(20):
            items = [("vod", v) for v in rng.sample(pool["vod"], rng.randint(0, 8))]
            items += [("streamer", s) for s in rng.sample(pool["streamer"], rng.randint(0, 5))]
            rng.shuffle(items)
            ranks = sorted(rng.sample(range(1, 100), len(items)))
            mixed[(model, f"u{u}")] = items
            list_rows += [(model, f"u{u}", t, i, r) for (t, i), r in zip(items, ranks, strict=True)]
    gains = {}
    for u in range(24):  # u20..u23: relevant items but no list
        for t, items in pool.items():
            gains[(f"u{u}", t)] = {i: rng.choice((0.25, 0.5, 1.0)) for i in rng.sample(items, rng.choice((0, 1, 3)))}
    rel_rows = [(u, t, i, g, False) for (u, t), gs in gains.items() for i, g in gs.items()]
    lists, relevance = _frames(spark, list_rows, rel_rows)
    got = per_user_metrics(lists, relevance, ks=ks).toPandas()

    expected = []
    for (model, user), items in mixed.items():
        for item_type, ranked in m.split_by_type(items).items():
            g = gains[(user, item_type)]
            if not g:
                continue
            for k in ks:
                rel = set(g)
                expected.append({
                    "model_name": model, "user_id": user, "item_type": item_type, "k": k,
                    "hit_rate": m.hit_rate_at_k(ranked, rel, k), "precision": m.precision_at_k(ranked, rel, k),
                    "recall": m.recall_at_k(ranked, rel, k), "map": m.average_precision_at_k(ranked, rel, k),
                    "ndcg": m.binary_ndcg_at_k(ranked, rel, k), "ndcg_graded": m.ndcg_at_k(ranked, g, k),
                    "mrr": m.reciprocal_rank_at_k(ranked, rel, k),
                })  # fmt: skip
    keys = ["model_name", "user_id", "item_type", "k"]
    want = pd.DataFrame(expected).sort_values(keys).reset_index(drop=True)
    have = got[want.columns].sort_values(keys).reset_index(drop=True)
    assert len(want) > 100
    pd.testing.assert_frame_equal(have, want, check_dtype=False, atol=1e-12, rtol=0)
    per_k = got.groupby(["model_name", "item_type", "k"]).user_id.nunique().unstack("k")
    assert (per_k.nunique(axis=1) == 1).all(), per_k  # users_evaluated does not depend on k

    engaged = {i: rng.randint(0, 9) for items in pool.values() for i in items}
    items = spark.createDataFrame(
        [(t, i, dt.datetime(2026, 11, 1), engaged[i]) for t, its in pool.items() for i in its],
        "item_type string, item_id string, created_at timestamp, engaged_users long",
    )
    catalogue = spark.createDataFrame(
        [("vod", 30, 9), ("streamer", 12, 9)], "item_type string, catalogue_size long, audience long"
    )
    level = list_metrics(lists, items, catalogue, dt.date(2026, 11, 20), ks=ks).toPandas()
    for row in level.itertuples():
        sub = {
            u: m.split_by_type(its).get(row.item_type, []) for (mod, u), its in mixed.items() if mod == row.model_name
        }
        sub = {u: its for u, its in sub.items() if its}
        size = len(pool[row.item_type])
        assert row.users_with_list == len(sub)
        assert row.coverage == pytest.approx(m.coverage_at_k(sub, size, row.k), abs=1e-12)
        # novelty: the mean over every recommended (user, item) pair = per-list means weighted by length
        tops = [its[: row.k] for its in sub.values()]
        pairs = sum(len(t) for t in tops)
        novelty = sum(m.novelty_at_k(t, engaged, 9, row.k) * len(t) for t in tops) / pairs
        assert row.novelty == pytest.approx(novelty, abs=1e-12)
