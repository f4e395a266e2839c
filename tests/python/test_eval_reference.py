"""The pure metric functions (watchhouse.eval.metrics) against independent implementations:
trec_eval's definitions through pytrec-eval-terrier on random cases, and the hand-computed
fixtures of two peer suites, ported with their expected values:
- microsoft/recommenders, tests/unit/recommenders/evaluation/test_python_evaluation.py
  (fixtures rating_true / rating_pred / rating_nohit / diversity_data of its conftest);
- RecBole, tests/metrics/test_topk_metrics.py (pos_idx / pos_len / item_matrix).
Where a definition differs from the reference, the test converts and says how."""

from __future__ import annotations

import math
import random

import pytest
import pytrec_eval

from watchhouse.eval import metrics as m

CASES = 1200
TOL = 1e-9


def _case(rng: random.Random) -> tuple[list[str], dict[str, int], int]:
    """A random ranked list (0-50 distinct items), graded relevance (gain 1-4) over a pool that
    overlaps the list (empty, small and large relevant sets), and k in 1..60."""
    pool = [f"d{i}" for i in range(rng.choice((5, 20, 80)))]
    ranked = rng.sample(pool, min(len(pool), rng.randint(0, 50)))
    shape = rng.random()
    n_relevant = 0 if shape < 0.1 else rng.randint(1, 3) if shape < 0.5 else rng.randint(1, len(pool))
    gains = {item: rng.randint(1, 4) for item in rng.sample(pool, n_relevant)}
    return ranked, gains, rng.randint(1, 60)


def _trec(ranked: list[str], gains: dict[str, int], k: int) -> dict[str, float]:
    """trec_eval's measures at cut-off k for one query. The run's scores fall with the rank (no
    ties: trec_eval would break them by document id); a query with nothing relevant is judged with
    one non-relevant document, as trec_eval needs a judged query."""
    qrel = {"q": dict(gains) if gains else {"unjudged-filler": 0}}
    evaluator = pytrec_eval.RelevanceEvaluator(qrel, {f"P.{k}", f"recall.{k}", f"map_cut.{k}", f"ndcg_cut.{k}",
                                                      f"success.{k}", "recip_rank"})  # fmt: skip
    full = evaluator.evaluate({"q": {item: float(len(ranked) - i) for i, item in enumerate(ranked)}})["q"]
    # trec_eval's recip_rank has no cut-off: MRR@k is recip_rank of the run truncated at k
    cut = evaluator.evaluate({"q": {item: float(k - i) for i, item in enumerate(ranked[:k])}})["q"]
    return {
        "P": full[f"P_{k}"], "recall": full[f"recall_{k}"], "map_cut": full[f"map_cut_{k}"],
        "ndcg_cut": full[f"ndcg_cut_{k}"], "success": full[f"success_{k}"], "recip_rank": cut["recip_rank"],
    }  # fmt: skip


def test_the_pure_functions_equal_trec_eval_on_random_cases():
    rng = random.Random(20261201)
    checked = {"empty list": 0, "nothing relevant": 0, "graded": 0, "compared": 0}
    for _ in range(CASES):
        ranked, gains, k = _case(rng)
        relevant = set(gains)
        if not ranked:  # trec_eval drops a query with no retrieved document; every metric is 0 here
            checked["empty list"] += 1
            assert m.hit_rate_at_k(ranked, relevant, k) == m.precision_at_k(ranked, relevant, k) == 0.0
            assert m.reciprocal_rank_at_k(ranked, relevant, k) == 0.0
            continue
        ref = _trec(ranked, gains, k)
        assert m.hit_rate_at_k(ranked, relevant, k) == pytest.approx(ref["success"], abs=TOL)
        assert m.precision_at_k(ranked, relevant, k) == pytest.approx(ref["P"], abs=TOL)  # / k, even past the end
        assert m.reciprocal_rank_at_k(ranked, relevant, k) == pytest.approx(ref["recip_rank"], abs=TOL)
        if not relevant:  # recall, AP and NDCG are undefined: the functions refuse, trec_eval says 0
            checked["nothing relevant"] += 1
            assert ref["recall"] == ref["map_cut"] == ref["ndcg_cut"] == 0.0
            with pytest.raises(ValueError, match="at least one relevant"):
                m.recall_at_k(ranked, relevant, k)
            continue
        assert m.recall_at_k(ranked, relevant, k) == pytest.approx(ref["recall"], abs=TOL)
        # trec_eval's map_cut divides by |R|, ours (and RecBole's) by min(k, |R|): a user with more
        # relevant items than places can still reach 1
        ap = m.average_precision_at_k(ranked, relevant, k)
        assert ap * min(k, len(relevant)) == pytest.approx(ref["map_cut"] * len(relevant), abs=TOL)
        # graded NDCG: trec_eval's gain is the relevance level, its ideal the judged gains sorted
        assert m.ndcg_at_k(ranked, gains, k) == pytest.approx(ref["ndcg_cut"], abs=TOL)
        checked["graded"] += len(set(gains.values())) > 1
        checked["compared"] += 1
    binary = random.Random(7)
    for _ in range(CASES // 4):  # binary NDCG: every relevant item at level 1
        ranked, gains, k = _case(binary)
        if ranked and gains:
            ones = dict.fromkeys(gains, 1)
            assert m.binary_ndcg_at_k(ranked, set(gains), k) == pytest.approx(
                _trec(ranked, ones, k)["ndcg_cut"], abs=TOL
            )
    # every metric compared on >= 1,000 cases, and the random cases reach every branch above
    assert checked["compared"] >= 1000 and min(checked.values()) >= 10, checked


def test_a_list_that_repeats_an_item_is_refused():
    with pytest.raises(ValueError, match="the list repeats a: a ranked list holds each item once"):
        m.recall_at_k(["a", "a"], {"a"}, 2)
    for metric in (m.precision_at_k, m.average_precision_at_k, m.binary_ndcg_at_k, m.reciprocal_rank_at_k):
        with pytest.raises(ValueError, match="repeats"):
            metric(["a", "b", "a"], {"a"}, 3)
    with pytest.raises(ValueError, match="repeats"):
        m.coverage_at_k({"u": ["a", "a"]}, catalogue_size=3, k=2)


def test_a_mixed_list_is_scored_per_type_on_its_own_positions():
    """The issue's minimal case: streamers s1, s2 at ranks 1-2, VODs v1, v2 at ranks 3-4; v1 relevant."""
    vods = m.split_by_type([("streamer", "s1"), ("streamer", "s2"), ("vod", "v1"), ("vod", "v2")])["vod"]
    assert vods == ["v1", "v2"]
    for k in (1, 2, 3):
        assert m.hit_rate_at_k(vods, {"v1"}, k) == m.recall_at_k(vods, {"v1"}, k) == 1.0
        assert m.reciprocal_rank_at_k(vods, {"v1"}, k) == 1.0 and m.precision_at_k(vods, {"v1"}, k) == 1 / k


# microsoft/recommenders' conftest: (user, item, rating) of rating_true; (user, item, prediction) of
# rating_pred. Every rated item is relevant (its default relevancy, top_k without a threshold).
RATING_TRUE = [(1, 3, 3), (2, 1, 5), (2, 4, 5), (2, 5, 3), (2, 6, 3), (2, 7, 1), (3, 2, 5), (3, 5, 5), (3, 6, 5),
               (3, 8, 4), (3, 9, 4), (3, 10, 3), (3, 11, 3), (3, 12, 3), (3, 13, 2), (3, 14, 1), (1, 1, 5),
               (1, 2, 4)]  # fmt: skip
RATING_PRED = [(1, 12, 12), (2, 10, 14), (2, 3, 13), (2, 5, 12), (2, 11, 11), (2, 13, 10), (3, 4, 14), (3, 10, 13),
               (3, 7, 12), (3, 13, 11), (3, 1, 10), (3, 3, 9), (3, 5, 8), (3, 2, 7), (3, 11, 6), (3, 14, 5),
               (1, 3, 14), (1, 10, 13)]  # fmt: skip


def _recommenders_lists() -> tuple[dict, dict]:
    relevant: dict[int, set] = {}
    for user, item, _ in RATING_TRUE:
        relevant.setdefault(user, set()).add(item)
    lists = {}
    for user in relevant:
        preds = sorted((p for p in RATING_PRED if p[0] == user), key=lambda p: -p[2])
        lists[user] = [item for _, item, _ in preds]
    return lists, relevant


def _mean(metric, lists: dict, relevant: dict, k: int) -> float:
    return sum(metric(lists[u], relevant[u], k) for u in lists) / len(lists)


def test_microsoft_recommenders_ranking_fixtures():
    lists, relevant = _recommenders_lists()
    assert _mean(m.precision_at_k, lists, relevant, 10) == pytest.approx(0.26666, abs=1e-4)
    assert _mean(m.recall_at_k, lists, relevant, 10) == pytest.approx(0.37777, abs=1e-4)
    assert _mean(m.binary_ndcg_at_k, lists, relevant, 10) == pytest.approx(0.38172, abs=1e-4)
    # recommenders' map_at_k (0.23613): here every user has |R| <= 10, so min(k, |R|) = |R| and the
    # normalisations agree
    assert _mean(m.average_precision_at_k, lists, relevant, 10) == pytest.approx(0.23613, abs=1e-4)
    # the truth ranked by its own ratings: precision 0.6 at k = 10 (3, 5 and 10 relevant of 10 places)
    truth = {u: [i for _, i, _ in sorted((r for r in RATING_TRUE if r[0] == u), key=lambda r: -r[2])] for u in relevant}
    assert _mean(m.precision_at_k, truth, relevant, 10) == pytest.approx(0.6)
    assert _mean(m.binary_ndcg_at_k, truth, relevant, 10) == pytest.approx(1.0)
    nohit = {u: ["100"] for u in relevant}  # rating_nohit: every prediction is item 100
    assert _mean(m.binary_ndcg_at_k, nohit, relevant, 10) == _mean(m.average_precision_at_k, nohit, relevant, 10) == 0


def test_microsoft_recommenders_raw_gain_ndcg_is_the_wikipedia_example():
    """Its test_python_ndcg_at_k with score_type="raw": true gains 3,2,3,0,1,2,3,2 for items 0-7, the
    prediction ranks items 0-5 in order; 0.785 at k = 6 (an item of gain 0 is not relevant here)."""
    gains = {item: g for item, g in enumerate([3, 2, 3, 0, 1, 2, 3, 2]) if g > 0}
    assert m.ndcg_at_k(list(range(6)), gains, 6) == pytest.approx(0.785, abs=1e-4)


def test_microsoft_recommenders_coverage_and_novelty_fixtures():
    train = [(1, 1), (1, 2), (1, 4), (2, 3), (2, 4), (3, 3), (3, 4), (3, 5)]
    reco = {1: [3, 5], 2: [2, 5], 3: [1, 2]}
    # catalog_coverage 0.8: distinct recommended items / distinct items in train
    assert m.coverage_at_k(reco, catalogue_size=len({i for _, i in train}), k=2) == pytest.approx(0.8)
    # novelty 2.83333: recommenders' item novelty is -log2(interactions with the item / interactions);
    # ours is -log2(users who engaged / users). With one interaction per user x item, counting
    # interactions as "users" gives its number; its mean is over all recommendations, which with
    # lists of equal length is the mean of the per-list means
    counts = {item: sum(1 for _, i in train if i == item) for _, item in train}
    per_list = [m.novelty_at_k(items, counts, users=len(train), k=2) for items in reco.values()]
    assert sum(per_list) / len(per_list) == pytest.approx(2.83333, abs=1e-4)


# RecBole: hits at positions 1-3 of four users' lists, and each user's number of relevant items
POS_IDX = [[0, 0, 0], [1, 1, 1], [1, 0, 1], [0, 0, 1]]
POS_LEN = [1, 3, 4, 2]
RECBOLE = {  # metric -> per user, values at k = 1, 2, 3 (its expected arrays)
    "hit": [[0, 0, 0], [1, 1, 1], [1, 1, 1], [0, 0, 1]],
    "ndcg": [[0, 0, 0], [1, 1, 1],
             [1, 1 / (1 + 1 / math.log2(3)), (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))],
             [0, 0, (1 / math.log2(4)) / (1 + 1 / math.log2(3))]],
    "mrr": [[0, 0, 0], [1, 1, 1], [1, 1, 1], [0, 0, 1 / 3]],
    "map": [[0, 0, 0], [1, 1, 1], [1, 1 / 2, (1 / 3) * (1 + 2 / 3)], [0, 0, (1 / 3) * (1 / 2)]],
    "recall": [[0, 0, 0], [1 / 3, 2 / 3, 1], [1 / 4, 1 / 4, 2 / 4], [0, 0, 1 / 2]],
    "precision": [[0, 0, 0], [1, 1, 1], [1, 1 / 2, 2 / 3], [0, 0, 1 / 3]],
}  # fmt: skip
FUNCTIONS = {"hit": m.hit_rate_at_k, "ndcg": m.binary_ndcg_at_k, "mrr": m.reciprocal_rank_at_k,
             "map": m.average_precision_at_k, "recall": m.recall_at_k, "precision": m.precision_at_k}  # fmt: skip


@pytest.mark.parametrize("metric", sorted(RECBOLE))
def test_recbole_topk_fixtures(metric):
    """RecBole's MAP@k divides by min(k, |R|) and its NDCG's ideal holds min(k, |R|) ones, as ours."""
    for user, (hits, n_relevant) in enumerate(zip(POS_IDX, POS_LEN, strict=True)):
        ranked = [f"hit{p}" if hit else f"miss{p}" for p, hit in enumerate(hits)]
        relevant = {f"hit{p}" for p, hit in enumerate(hits) if hit} | {
            f"unlisted{j}" for j in range(n_relevant - sum(hits))
        }
        got = [FUNCTIONS[metric](ranked, relevant, k) for k in (1, 2, 3)]
        assert got == pytest.approx(RECBOLE[metric][user], abs=1e-12), (metric, user)


def test_recbole_item_coverage_fixture():
    item_matrix = [[5, 7, 3], [4, 5, 2], [2, 3, 5], [1, 4, 6], [5, 3, 7]]
    lists = {f"u{i}": row for i, row in enumerate(item_matrix)}
    assert m.coverage_at_k(lists, catalogue_size=8, k=3) == 7 / 8
