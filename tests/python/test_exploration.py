"""Thompson sampling over exploration types, on hand-made frames (watchhouse.recs.exploration)."""

from __future__ import annotations

import datetime as dt

import pytest

from watchhouse.recs.exploration import (
    EXPLORATION_TYPES,
    beta_inverse_cdf_table,
    exploration_candidates,
    posterior_history,
    thompson_rank,
    type_posteriors,
)

D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
HISTORY_SCHEMA = "batch_date date, user_id string, streamer_id string, exploration_type string, rank int"
DAILY_SCHEMA = "user_id string, streamer_id string, watch_date date"
POOL_SCHEMA = (
    "user_id string, streamer_id string, exploration_type string, type_score double, type_rank int, batch_date date"
)
POST_SCHEMA = "exploration_type string, alpha double, beta double, posterior_mean double"


def _history(spark):
    return spark.createDataFrame(
        [
            (D1, "a", "s1", "co_viewed", 1),  # shown, a watches s1 on D2: success
            (D1, "a", "s2", "similar_users", 2),  # shown, not watched on D2 (only on D3): failure
            (D1, "a", "s3", "fresh_popular_vod", 3),  # rank 3 > list size 2: not a trial
            (D1, "b", "s4", "co_viewed", 1),  # b is back on D2 but watches something else: failure
            (D1, "c", "s5", "rising_in_category", 1),  # c does not come back on D2: not a trial
        ],
        HISTORY_SCHEMA,
    )


def _daily(spark):
    return spark.createDataFrame(
        [("a", "s1", D2), ("a", "s9", D2), ("b", "s7", D2), ("a", "s2", D3), ("c", "s5", D3)], DAILY_SCHEMA
    )


def _by_type(frame) -> dict:
    return {r["exploration_type"]: r for r in frame.collect()}


def test_posterior_counts_shown_slots_of_returning_users_hand_computed(spark):
    post = type_posteriors(_history(spark), _daily(spark), [D1, D2], list_size=2, prior=(1.0, 1.0))
    at_d2 = _by_type(post.where(f"batch_date = date'{D2}'"))
    expected = {  # (trials, successes, alpha, beta) observed in D2 for the lists of D1
        "co_viewed": (2, 1, 2.0, 2.0),
        "similar_users": (1, 0, 1.0, 2.0),
        "rising_in_category": (0, 0, 1.0, 1.0),
        "fresh_popular_vod": (0, 0, 1.0, 1.0),
    }
    for kind, (trials, successes, alpha, beta) in expected.items():
        row = at_d2[kind]
        assert (row["trials"], row["successes"], row["alpha"], row["beta"]) == (trials, successes, alpha, beta), kind
    assert at_d2["co_viewed"]["posterior_mean"] == 0.5
    # the lists of D1 are scored in D2: the posterior D1 was ranked with is still the prior
    at_d1 = _by_type(post.where(f"batch_date = date'{D1}'"))
    assert {(r["alpha"], r["beta"], r["trials"]) for r in at_d1.values()} == {(1.0, 1.0, 0)}


def test_posterior_accumulates_and_never_reads_past_its_batch(spark):
    post = _by_type(type_posteriors(_history(spark), _daily(spark), [D3], list_size=2, prior=(2.0, 3.0)))
    # D3's watching (a -> s2, c -> s5) scores no list (there are none of D2): cumulative = D2's outcomes
    assert (post["co_viewed"]["alpha"], post["co_viewed"]["beta"]) == (3.0, 4.0)
    assert (post["similar_users"]["alpha"], post["similar_users"]["beta"]) == (2.0, 4.0)
    assert post["co_viewed"]["trials"] == 0 and post["co_viewed"]["cumulative_trials"] == 2


def test_bad_arguments_are_refused_with_the_fix(spark):
    with pytest.raises(ValueError, match="at least one slot"):
        type_posteriors(None, _daily(spark), [D1], list_size=0)
    with pytest.raises(ValueError, match="must both be > 0"):
        type_posteriors(None, _daily(spark), [D1], list_size=2, prior=(0.0, 1.0))


def test_beta_inverse_cdf_table_matches_known_quantiles(spark):
    rows = beta_inverse_cdf_table(spark, [("uniform", 1.0, 1.0), ("symmetric", 2.0, 2.0)], cells=4).collect()
    uniform = sorted((r["cell"], r["lo"], r["hi"]) for r in rows if r["exploration_type"] == "uniform")
    assert uniform == [(0, 0.0, 0.25), (1, 0.25, 0.5), (2, 0.5, 0.75), (3, 0.75, 1.0)]
    symmetric = {r["cell"]: r for r in rows if r["exploration_type"] == "symmetric"}
    assert symmetric[2]["lo"] == pytest.approx(0.5)  # the median of Beta(2, 2)
    # Beta(2, 2) CDF = 3x^2 - 2x^3: its first quartile solves 3x^2 - 2x^3 = 1/4
    x = symmetric[1]["lo"]
    assert 3 * x**2 - 2 * x**3 == pytest.approx(0.25)


def _posterior(spark, strong: str | None):
    rows = []
    for kind in EXPLORATION_TYPES:
        a, b = (1000.0, 1.0) if kind == strong else ((1.0, 1000.0) if strong else (1.0, 1.0))
        rows.append((kind, a, b, a / (a + b)))
    return spark.createDataFrame(rows, POST_SCHEMA)


def _pool(spark, rows):
    return spark.createDataFrame([(*r, D2) for r in rows], POOL_SCHEMA)


def test_a_dominant_type_takes_the_slots_and_empty_slots_are_filled_after(spark):
    pool = _pool(
        spark,
        [
            ("u", "x1", "similar_users", 0.9, 1),
            ("u", "x2", "similar_users", 0.5, 2),
            ("u", "y1", "co_viewed", 0.8, 1),
            ("u", "y2", "co_viewed", 0.7, 2),
            ("u", "y3", "co_viewed", 0.6, 3),
        ],
    )
    ranked = thompson_rank(pool, _posterior(spark, "similar_users"), D2, list_size=4, seed=1).toPandas()
    ranked = ranked.sort_values("rank")
    # similar_users wins every slot; it has two candidates, so slots 3-4 stay empty and the
    # other type's candidates follow in their own order
    assert ranked.streamer_id.tolist() == ["x1", "x2", "y1", "y2", "y3"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    assert ranked.slot.tolist()[:2] == [1, 2] and ranked.slot.isna().tolist()[2:] == [True] * 3
    assert ranked.is_shown.tolist() == [True, True, True, True, False]


def test_a_streamer_offered_twice_belongs_to_the_type_that_ranks_it_best(spark):
    pool = _pool(
        spark,
        [
            ("u", "z", "co_viewed", 0.1, 3),
            ("u", "z", "fresh_popular_vod", 50.0, 1),
            ("u", "a", "co_viewed", 0.9, 1),
            ("u", "b", "co_viewed", 0.8, 2),
        ],
    )
    ranked = thompson_rank(pool, _posterior(spark, None), D2, list_size=3, seed=1).toPandas()
    assert len(ranked) == 3 and ranked.streamer_id.is_unique
    assert ranked.set_index("streamer_id").exploration_type["z"] == "fresh_popular_vod"


def test_equal_posteriors_share_slots_evenly_and_reruns_are_identical(spark):
    rows = [
        (f"u{i}", f"{kind}-{j}", kind, 1.0 / j, j) for i in range(300) for kind in EXPLORATION_TYPES for j in (1, 2, 3)
    ]
    pool = _pool(spark, rows)
    first = thompson_rank(pool, _posterior(spark, None), D2, list_size=3, seed=5)
    shares = first.where("is_shown").groupBy("exploration_type").count().toPandas().set_index("exploration_type")
    shares = shares["count"] / shares["count"].sum()
    # 900 slots drawn from four equal Beta(1, 1) arms: each share within 4 standard errors of 1/4
    assert ((shares - 0.25).abs() < 4 * (0.25 * 0.75 / 900) ** 0.5).all(), shares.to_dict()
    again = thompson_rank(pool, _posterior(spark, None), D2, list_size=3, seed=5)
    assert sorted(first.collect()) == sorted(again.collect())
    other_seed = thompson_rank(pool, _posterior(spark, None), D2, list_size=3, seed=6)
    assert sorted(first.collect()) != sorted(other_seed.collect())


def test_candidates_ignore_history_from_later_batches(spark):
    pool = _pool(spark, [("a", "n1", "co_viewed", 1.0, 1), ("a", "n2", "similar_users", 1.0, 1)])
    history = _history(spark)
    later = spark.createDataFrame([(D3, "a", "s1", "similar_users", 1)], HISTORY_SCHEMA)
    kwargs = dict(pool=pool, daily=_daily(spark), as_of=D2, list_size=2, seed=3)
    plain = exploration_candidates(history=history, **kwargs)
    with_later = exploration_candidates(history=history.unionByName(later), **kwargs)
    assert sorted(plain.collect()) == sorted(with_later.collect())
    means = {r["exploration_type"]: r["posterior_mean"] for r in plain.collect()}
    assert means == {"co_viewed": 0.5, "similar_users": 1 / 3}


def test_posterior_history_reports_allocation_up_to_the_batch(spark):
    schema = HISTORY_SCHEMA + ", is_shown boolean"
    rows = [(D1, "a", "s1", "co_viewed", 1, True), (D1, "a", "s2", "similar_users", 2, True)]
    rows += [(D1, "b", "s4", "co_viewed", 1, True), (D1, "b", "s8", "co_viewed", 3, False)]
    rows += [(D3, "a", "s6", "fresh_popular_vod", 1, True)]  # a later batch, left by an earlier run
    candidates = spark.createDataFrame(rows, schema)
    history = posterior_history(candidates, _daily(spark), as_of=D2, list_size=2).toPandas()
    assert sorted(history.batch_date.astype(str).unique()) == [str(D1)]
    at_d1 = history.set_index("exploration_type")
    assert at_d1.shown_slots.to_dict() == {
        "co_viewed": 2,
        "similar_users": 1,
        "rising_in_category": 0,
        "fresh_popular_vod": 0,
    }
    assert at_d1.slot_share["co_viewed"] == pytest.approx(2 / 3)
    assert at_d1.slot_share.sum() == pytest.approx(1.0)
