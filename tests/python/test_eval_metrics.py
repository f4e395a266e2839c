"""Offline metrics: the pure functions against hand-computed cases, and the Spark
implementation used in the DAG against the pure functions on the same inputs."""

from __future__ import annotations

import math

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
