"""Rank fusion (watchhouse.ml.fusion): hand-made lists with fused scores worked out by
hand, the Spark version against the pure-Python reference, and the refusals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from watchhouse.ml.fusion import fuse, fuse_all, fuse_reference
from watchhouse.recs.popularity import LIST_COLUMNS

D = dt.date(2026, 11, 20)
SCHEMA = "model_name string, batch_date date, user_id string, item_id string, item_type string, rank int, score double"
IMPLS = ["spark", "reference"]


def row(model, user, item, rank, score, item_type="vod", batch=D):
    return (model, batch, user, item, item_type, rank, score)


# user u1: model A lists x, y, z; model B lists y, w; model C lists c, x
BASE = [
    row("A", "u1", "x", 1, 0.9),
    row("A", "u1", "y", 2, 0.5),
    row("A", "u1", "z", 3, 0.1),
    row("B", "u1", "y", 1, 10.0),
    row("B", "u1", "w", 2, 4.0),
    row("C", "u1", "c", 1, 99.0),
    row("C", "u1", "x", 2, 98.0),
    # E is never weighted: its other batch date must not count as mixing dates
    row("E", "u1", "e", 1, 1.0, batch=D - dt.timedelta(days=1)),
]
TIES = [
    row("A", "u5", "b", 1, 1.0, "vod"),
    row("A", "u5", "a", 2, 1.0, "vod"),
    row("B", "u5", "b", 1, 1.0, "streamer"),
    row("B", "u5", "a", 2, 1.0, "broadcast"),
    row("A", "u6", "q", 1, 1.0),
    row("B", "u6", "p", 1, 1.0),
]
ODD_SCORES = [
    row("A", "u2", "p", 1, 5.0),  # a one-item list: p -> 1
    row("B", "u2", "p", 1, 2.0),  # constant scores: p, q -> 1 each
    row("B", "u2", "q", 2, 2.0),
    row("A", "u3", "r", 1, 4.0),  # u3: r = (4 - 2) / 2 = 1, t = 0 (min), s has no score: 0
    row("A", "u3", "s", 2, None),
    row("A", "u3", "t", 3, 2.0),
]


def run(impl, spark, rows, method, weights, k=50, rrf_k=60.0, name="fused"):
    """[(user, item_type, item_id, rank, score)] sorted by user, rank; checks the common fields."""
    if impl == "spark":
        frame = fuse(spark.createDataFrame(rows, SCHEMA), method, weights, name, k=k, rrf_k=rrf_k)
        assert tuple(frame.columns) == LIST_COLUMNS
        out = [tuple(r) for r in frame.collect()]
    else:
        out = fuse_reference(rows, method, weights, name, k=k, rrf_k=rrf_k)
    assert {(r[0], r[1]) for r in out} <= {(name, D)}
    return sorted(((r[2], r[4], r[3], r[5], r[6]) for r in out), key=lambda t: (t[0], t[3]))


def order_and_scores(result, user="u1"):
    mine = [r for r in result if r[0] == user]
    assert [r[3] for r in mine] == list(range(1, len(mine) + 1))  # ranks 1..n, no gaps
    return [r[2] for r in mine], {r[2]: r[4] for r in mine}


@pytest.mark.parametrize("impl", IMPLS)
def test_rrf_by_hand_weights_change_the_order_and_ties_break_by_type_then_id(impl, spark):
    # equal weights, rrf_k = 60: x = 1/61 = .016393, y = 1/62 + 1/61 = .032522 (A rank 2, B rank 1),
    # w = 1/62 = .016129, z = 1/63 = .015873; C is not weighted, so c never shows and x gets no C term
    result = run(impl, spark, BASE + TIES, "rrf", {"A": 1.0, "B": 1.0})
    order, scores = order_and_scores(result)
    assert order == ["y", "x", "w", "z"]
    assert scores == pytest.approx({"y": 1 / 61 + 1 / 62, "x": 1 / 61, "w": 1 / 62, "z": 1 / 63}, rel=1e-12)
    # u5: an item is (item_type, item_id): "b" as a vod and as a streamer are two items. The rank-1 items
    # tie at 1/61 ("streamer" < "vod"), the rank-2 items at 1/62 ("broadcast" < "vod")
    assert [(r[1], r[2]) for r in result if r[0] == "u5"] == [
        ("streamer", "b"), ("vod", "b"), ("broadcast", "a"), ("vod", "a"),
    ]  # fmt: skip
    # u6: same type, equal scores (1/61 each): by item_id
    assert order_and_scores(result, "u6")[0] == ["p", "q"]
    # B weighted 3: w = 3/62 (B rank 2) = .048387 overtakes x = .016393; y = 1/62 (A rank 2) + 3/61 (B rank 1)
    # = .016129 + .049180 = .065309
    order, scores = order_and_scores(run(impl, spark, BASE, "rrf", {"A": 1.0, "B": 3.0}))
    assert order == ["y", "w", "x", "z"]
    assert scores["y"] == pytest.approx(1 / 62 + 3 / 61, rel=1e-12)
    assert scores["w"] == pytest.approx(3 / 62, rel=1e-12)
    # rrf_k = 0: x = 1, y = 1/2 + 1 = 1.5, w = 1/2, z = 1/3 (Spark's rrf_k is also checked by the random case)
    _, scores = order_and_scores(run("reference", spark, BASE, "rrf", {"A": 1.0, "B": 1.0}, rrf_k=0.0))
    assert scores == pytest.approx({"y": 1.5, "x": 1.0, "w": 0.5, "z": 1 / 3}, rel=1e-12)


@pytest.mark.parametrize("impl", IMPLS)
def test_score_fusion_by_hand_with_one_item_constant_and_null_scores(impl, spark):
    # A min-max over [0.9, 0.5, 0.1]: x = .8/.8 = 1, y = .4/.8 = .5, z = 0
    # B over [10, 4]: y = 1, w = 0.  Equal weights: y = 1.5, x = 1, w = 0, z = 0 (tie: "w" < "z")
    result = run(impl, spark, BASE + ODD_SCORES, "score", {"A": 1.0, "B": 1.0})
    order, scores = order_and_scores(result)
    assert order == ["y", "x", "w", "z"]
    assert scores == pytest.approx({"y": 1.5, "x": 1.0, "w": 0.0, "z": 0.0}, abs=1e-12)
    # u2: p = 1 (A, one item) + 1 (B, constant) = 2, q = 1; u3: r = 1, then s and t at 0 ("s" < "t")
    order, scores = order_and_scores(result, "u2")
    assert order == ["p", "q"] and scores == pytest.approx({"p": 2.0, "q": 1.0}, abs=1e-12)
    order, scores = order_and_scores(result, "u3")
    assert order == ["r", "s", "t"] and scores == pytest.approx({"r": 1.0, "s": 0.0, "t": 0.0}, abs=1e-12)
    # A weighted 3: x = 3, y = 3 * .5 + 1 = 2.5 -> x first (Spark's unequal weights: the random case below)
    order, scores = order_and_scores(run("reference", spark, BASE, "score", {"A": 3.0, "B": 1.0}))
    assert order == ["x", "y", "w", "z"]
    assert scores == pytest.approx({"x": 3.0, "y": 2.5, "w": 0.0, "z": 0.0}, abs=1e-12)


@pytest.mark.parametrize("impl", IMPLS)
def test_rank_fusion_by_hand(impl, spark):
    # A (L = 3): x = 3/3 = 1, y = 2/3, z = 1/3; B (L = 2): y = 2/2 = 1, w = 1/2
    # equal weights: y = 5/3 = 1.667, x = 1, w = .5, z = .333
    order, scores = order_and_scores(run(impl, spark, BASE, "rank", {"A": 1.0, "B": 1.0}))
    assert order == ["y", "x", "w", "z"]
    assert scores == pytest.approx({"y": 5 / 3, "x": 1.0, "w": 0.5, "z": 1 / 3}, rel=1e-12)
    # B weighted .25: y = 2/3 + .25 = .917 < x = 1; w = .125 < z = .333 (Spark: the random case below)
    order, scores = order_and_scores(run("reference", spark, BASE, "rank", {"A": 1.0, "B": 0.25}))
    assert order == ["x", "y", "z", "w"]
    assert scores == pytest.approx({"x": 1.0, "y": 2 / 3 + 0.25, "z": 1 / 3, "w": 0.125}, rel=1e-12)


@pytest.mark.parametrize("impl", IMPLS)
def test_missing_items_count_zero_and_unweighted_models_are_ignored(impl, spark):
    # with B and C at weight 0, the fusion is A alone: x, y, z with A's terms only (w, c never show)
    order, scores = order_and_scores(run(impl, spark, BASE, "rrf", {"A": 1.0, "B": 0.0, "C": 0.0}))
    assert order == ["x", "y", "z"]
    assert scores == pytest.approx({"x": 1 / 61, "y": 1 / 62, "z": 1 / 63}, rel=1e-12)
    # C weighted: c = 1/61 (C rank 1) = x's A term; x = 1/61 + 1/62 (C rank 2)
    order, scores = order_and_scores(run(impl, spark, BASE, "rrf", {"A": 1.0, "C": 1.0}))
    assert order == ["x", "c", "y", "z"]  # c = 1/61 > y = 1/62
    assert scores["x"] == pytest.approx(1 / 61 + 1 / 62, rel=1e-12)


@pytest.mark.parametrize("impl", IMPLS)
def test_k_truncates_each_users_list(impl, spark):
    rows = [*BASE, row("A", "u9", "m", 1, 1.0), row("A", "u9", "n", 2, 0.5), row("B", "u9", "o", 1, 3.0)]
    result = run(impl, spark, rows, "rrf", {"A": 1.0, "B": 1.0}, k=2)
    assert order_and_scores(result, "u1")[0] == ["y", "x"]
    # u9: m = 1/61, o = 1/61 (tie -> "m" < "o"), n = 1/62 is cut
    assert order_and_scores(result, "u9")[0] == ["m", "o"]


def _random_lists(seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    items = [(t, f"{t[0]}{i}") for t in ("vod", "streamer") for i in range(8)]
    rows = []
    for model in ("A", "B", "C", "D"):
        for u in range(7):
            n = int(rng.integers(0, 9))
            chosen = rng.choice(len(items), size=n, replace=False)
            scores = np.sort(np.round(rng.random(n), 1))[::-1]  # one decimal: ties and constant lists occur
            for rank, (i, s) in enumerate(zip(chosen, scores, strict=True), start=1):
                rows.append((model, D, f"u{u}", items[i][1], items[i][0], rank, float(s)))
    return rows


def test_spark_agrees_with_the_reference_on_a_random_case(spark):
    rows = _random_lists(11)
    weights = {"A": 1.0, "B": 0.5, "C": 2.0}  # D is never used
    lists = spark.createDataFrame(rows, SCHEMA)
    frames = [fuse(lists, m, weights, f"fusion_{m}", k=5, rrf_k=10.0) for m in ("rrf", "score", "rank")]
    got = sorted(tuple(r) for r in frames[0].unionByName(frames[1]).unionByName(frames[2]).collect())
    expected = []
    for method in ("rrf", "score", "rank"):
        mine = fuse_reference(rows, method, weights, f"fusion_{method}", k=5, rrf_k=10.0)
        assert len(mine) > 20 and len({r[2] for r in mine}) == 7
        expected += mine
    assert got == sorted(expected)  # same terms summed in the same order: equal to the last bit


def test_fuse_all_equals_one_fuse_per_method_from_one_shuffle(spark):
    rows = _random_lists(12)
    weights = {"A": 1.0, "B": 0.5, "C": 2.0}
    lists = spark.createDataFrame(rows, SCHEMA)
    methods = {"fusion_rrf": "rrf", "fusion_score": "score", "fusion_rank": "rank"}
    together = fuse_all(lists, methods, weights, k=5, rrf_k=10.0)
    plan = together._jdf.queryExecution().executedPlan().toString()
    assert plan.count("Exchange") == 1 and "hashpartitioning(user_id" in plan, plan  # three fusions, one shuffle
    got = sorted(tuple(r) for r in together.collect())
    expected = sorted(r for name, m in methods.items() for r in fuse_reference(rows, m, weights, name, k=5, rrf_k=10.0))
    assert got == expected and len(got) > 60  # to the last bit, as each fuse alone
    with pytest.raises(ValueError, match="methods is empty"):
        fuse_all(lists, {}, weights)
    with pytest.raises(ValueError, match="method='borda'"):
        fuse_all(lists, {"fusion_rrf": "rrf", "fusion_b": "borda"}, weights)


def test_fuse_shuffles_once_by_user_and_keeps_the_list_schema(spark):
    frame = fuse(spark.createDataFrame(BASE, SCHEMA), "rank", {"A": 1.0, "B": 1.0}, "fusion_rank")
    assert frame.dtypes == [
        ("model_name", "string"), ("batch_date", "date"), ("user_id", "string"), ("item_id", "string"),
        ("item_type", "string"), ("rank", "int"), ("score", "double"),
    ]  # fmt: skip
    plan = frame._jdf.queryExecution().executedPlan().toString()
    assert plan.count("Exchange") == 1 and "hashpartitioning(user_id" in plan, plan
    assert "SinglePartition" not in plan and "rangepartitioning" not in plan


def test_empty_input_gives_an_empty_list(spark):
    assert fuse(spark.createDataFrame([], SCHEMA), "rrf", {"A": 1.0}, "f").count() == 0
    assert fuse_reference([], "rrf", {"A": 1.0}, "f") == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "borda"}, "method='borda'"),
        ({"weights": {}}, "weights is empty"),
        ({"weights": {"A": -1.0}}, "must be a finite number >= 0"),
        ({"weights": {"A": float("nan")}}, "must be a finite number >= 0"),
        ({"weights": {"A": 0.0, "B": 0.0}}, "at least one weight must be > 0"),
        ({"k": 0}, "k=0: k must be an integer >= 1"),
        ({"rrf_k": -1.0}, "rrf_k=-1.0"),
        ({"model_name": ""}, "model_name=''"),
    ],
)
def test_bad_arguments_are_refused(spark, kwargs, message):
    args = {"method": "rrf", "weights": {"A": 1.0, "B": 1.0}, "model_name": "f", "k": 5, "rrf_k": 60.0, **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        fuse_reference(BASE, **args)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        fuse(spark.createDataFrame(BASE[:1], SCHEMA), **args)  # refused before any Spark job


@pytest.mark.parametrize("impl", IMPLS)
def test_mixed_batch_dates_are_refused(impl, spark):
    rows = [*BASE, row("B", "u1", "late", 3, 1.0, batch=D + dt.timedelta(days=1))]
    with pytest.raises(ValueError, match="several batch dates"):
        run(impl, spark, rows, "rrf", {"A": 1.0, "B": 1.0})
    # (an unweighted model's other date does not matter: BASE's model E, in every case above)
