"""item2vec (skip-gram with negative sampling) and its MLlib Word2Vec cross-check, on hand-made cases and a
planted cluster structure."""

from __future__ import annotations

import math
from collections import Counter
from itertools import pairwise

import numpy as np
import pytest
import torch

from watchhouse.ml import item2vec as item2vec_module
from watchhouse.ml.item2vec import (
    Item2VecConfig,
    NegativeSampler,
    _pair_counts,
    _pairs_at,
    neighbours,
    normalise,
    recommend_from_history,
    skipgram_pairs,
    train_item2vec,
)
from watchhouse.ml.two_tower import rows_per_chunk
from watchhouse.ml.word2vec_mllib import cluster_purity, mllib_embeddings, neighbour_agreement

N_CLUSTERS, PER_CLUSTER = 4, 10
N_ITEMS = N_CLUSTERS * PER_CLUSTER
LABELS = np.arange(N_ITEMS) // PER_CLUSTER
FAST = Item2VecConfig(dim=16, window=5, epochs=5, batch_size=1024, learning_rate=0.01, seed=7)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The caller owns torch's thread count (the module never sets it); here, on a shared 2-core box, one thread
    keeps the timings steady. Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def planted(n_seq: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """4 disjoint clusters of 10 items; each sequence (length 5..20) draws uniformly within one cluster."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 21, n_seq)
    cluster = rng.integers(0, N_CLUSTERS, n_seq)
    flat = np.repeat(cluster, lengths) * PER_CLUSTER + rng.integers(0, PER_CLUSTER, lengths.sum())
    return flat.astype(np.int64), np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


@pytest.fixture(scope="module")
def trained():
    flat, offsets = planted()
    emb, stats = train_item2vec(flat, offsets, N_ITEMS, FAST)
    return flat, offsets, emb, stats


# --- pairs ---------------------------------------------------------------------------------------------------


# sequences [0, 1, 2], [], [3, 4], [5]: an empty and a single-item sequence yield no pairs
FLAT = np.array([0, 1, 2, 3, 4, 5], dtype=np.int64)
OFFSETS = np.array([0, 3, 3, 5, 6], dtype=np.int64)


def _multiset(centers, contexts):
    return Counter(zip(centers.tolist(), contexts.tolist(), strict=True))


def test_skipgram_pairs_window_1_and_2_stay_within_sequences():
    w1 = {(0, 1): 1, (1, 0): 1, (1, 2): 1, (2, 1): 1, (3, 4): 1, (4, 3): 1}
    centers, contexts = skipgram_pairs(FLAT, OFFSETS, 1)
    assert centers.dtype == contexts.dtype == np.int64
    assert _multiset(centers, contexts) == w1  # no (2, 3)/(4, 5) across boundaries
    w2 = {**w1, (0, 2): 1, (2, 0): 1}  # distance 2 exists only inside [0, 1, 2]
    assert _multiset(*skipgram_pairs(FLAT, OFFSETS, 2)) == w2
    assert _multiset(*skipgram_pairs(FLAT, OFFSETS, 10)) == w2  # window beyond every sequence adds nothing


def test_skipgram_pairs_counts_repeats():
    # one sequence [7, 7, 8]: window 2 -> (7,7) both directions, (7,8) at distance 1 and 2, and their reverses
    centers, contexts = skipgram_pairs(np.array([7, 7, 8]), np.array([0, 3]), 2)
    assert _multiset(centers, contexts) == {(7, 7): 2, (7, 8): 2, (8, 7): 2}


def test_pair_index_mapping_reproduces_every_pair():
    # the sampled-epoch path picks pairs by number without building them all: it must index the same list
    flat, offsets = planted(n_seq=40, seed=3)
    centers, contexts = skipgram_pairs(flat, offsets, 3)
    cum = _pair_counts(offsets, 3)
    assert 2 * cum[:, -1].sum() == centers.size
    idx = np.random.default_rng(1).permutation(centers.size)
    c2, o2 = _pairs_at(flat, offsets, cum, idx)
    np.testing.assert_array_equal(c2, centers[idx])
    np.testing.assert_array_equal(o2, contexts[idx])


# --- negative sampling ---------------------------------------------------------------------------------------


def test_negative_sampler_probabilities_and_draws():
    # counts^0.75: 4^0.75 = 2√2, 0 -> 0, 1 -> 1, 9^0.75 = 3√3
    raw = np.array([2 * math.sqrt(2), 0.0, 1.0, 3 * math.sqrt(3)])
    expected = raw / raw.sum()
    sampler = NegativeSampler(np.array([4, 0, 1, 9]), power=0.75)
    np.testing.assert_allclose(sampler.probabilities, expected, rtol=1e-12)
    draws = sampler.sample(100_000, torch.Generator().manual_seed(0))
    assert draws.dtype == torch.int64
    freq = np.bincount(draws.numpy(), minlength=4) / 100_000
    assert freq[1] == 0.0  # a zero count is never drawn
    np.testing.assert_allclose(freq, expected, atol=0.006)  # binomial sd <= 0.0016


def test_negative_sampler_edges():
    # trailing and leading zero counts stay unreachable; power 0 -> uniform over the seen items
    only = NegativeSampler(np.array([0, 2, 0]))
    assert set(only.sample(5000, torch.Generator().manual_seed(1)).tolist()) == {1}
    np.testing.assert_allclose(
        NegativeSampler(np.array([5, 0, 1, 3]), power=0.0).probabilities, [1 / 3, 0, 1 / 3, 1 / 3]
    )
    a = NegativeSampler(np.array([1, 2, 3])).sample(50, torch.Generator().manual_seed(9))
    b = NegativeSampler(np.array([1, 2, 3])).sample(50, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


# --- invalid arguments ---------------------------------------------------------------------------------------


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="dim=0: dim must be an integer >= 1"):
        Item2VecConfig(dim=0)
    with pytest.raises(ValueError, match="max_pairs_per_epoch"):
        Item2VecConfig(max_pairs_per_epoch=0)
    with pytest.raises(ValueError, match="learning_rate"):
        Item2VecConfig(learning_rate=-1.0)
    with pytest.raises(ValueError, match="max_seconds"):
        Item2VecConfig(max_seconds=0)
    with pytest.raises(ValueError, match="window=0"):
        skipgram_pairs(FLAT, OFFSETS, 0)
    with pytest.raises(ValueError, match="offsets must start at 0 and end at len"):
        skipgram_pairs(FLAT, np.array([0, 3, 5]), 1)
    with pytest.raises(ValueError, match="non-decreasing"):
        skipgram_pairs(FLAT, np.array([0, 4, 3, 6]), 1)
    with pytest.raises(ValueError, match="at least one positive"):
        NegativeSampler(np.zeros(3))
    with pytest.raises(ValueError, match=">= 0"):
        NegativeSampler(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="must be < n_items=5"):
        train_item2vec(FLAT, OFFSETS, 5, FAST)
    with pytest.raises(ValueError, match="k=6: k must be <= n_items - 1 = 5"):
        neighbours(np.eye(6), np.array([0]), 6)
    with pytest.raises(ValueError, match="k=0"):
        recommend_from_history(np.eye(3), np.array([0]), np.array([1]), np.array([1.0]), 0)
    with pytest.raises(ValueError, match="parallel 1-D"):
        recommend_from_history(np.eye(3), np.array([0, 1]), np.array([1]), np.array([1.0]), 1)
    with pytest.raises(ValueError, match=r"item_idx must be in \[0, 3\)"):
        recommend_from_history(np.eye(3), np.array([0]), np.array([3]), np.array([1.0]), 1)
    with pytest.raises(ValueError, match="same rows"):
        neighbour_agreement(np.eye(3), np.eye(4), 1)


# --- training ------------------------------------------------------------------------------------------------


def test_first_step_loss_is_one_plus_negatives_ln2():
    # context vectors start at zero, so every score is 0 and each of the 1 + K terms is -log σ(0) = ln 2;
    # one batch covering every pair -> the (only) epoch loss is the loss before any update
    flat, offsets = planted(n_seq=20, seed=5)
    cfg = Item2VecConfig(dim=8, negatives=3, epochs=1, batch_size=10_000, seed=1)
    _, stats = train_item2vec(flat, offsets, N_ITEMS, cfg)
    assert stats["steps"] == 1 and stats["n_pairs"] < 10_000
    assert stats["loss_per_epoch"][0] == pytest.approx(4 * math.log(2), rel=1e-6)


def test_planted_clusters_recovered(trained):
    _, _, emb, stats = trained
    assert emb.shape == (N_ITEMS, 16) and emb.dtype == np.float32
    losses = stats["loss_per_epoch"]
    assert len(losses) == 5 and stats["stopped_by"] == "epochs" and stats["epochs_completed"] == 5
    assert losses[-1] < 0.75 * losses[0]
    assert all(b < a for a, b in pairwise(losses))
    assert stats["examples"] == 5 * stats["n_pairs"] and not stats["sampled"]
    assert stats["epochs_run"] == 5 and (stats["loss_first"], stats["loss_last"]) == (losses[0], losses[-1])
    assert cluster_purity(emb, LABELS, 5) >= 0.9
    # contrast: a random embedding's neighbours share the label at about the base rate 9/39 ≈ 0.23
    random_emb = np.random.default_rng(11).normal(size=(N_ITEMS, 16))
    assert cluster_purity(random_emb, LABELS, 5) < 0.4


def test_deterministic_and_unseen_items_keep_init(trained):
    flat, offsets, emb, _ = trained
    again, _ = train_item2vec(flat, offsets, N_ITEMS, FAST)
    np.testing.assert_array_equal(again, emb)
    other, _ = train_item2vec(flat, offsets, N_ITEMS, Item2VecConfig(**{**FAST.__dict__, "seed": 8}))
    assert not np.array_equal(other, emb)
    # items 40 and 41 never occur: same rows after 1 or 2 epochs (their init), inside word2vec's ±0.5/dim
    short = Item2VecConfig(**{**FAST.__dict__, "epochs": 1})
    longer = Item2VecConfig(**{**FAST.__dict__, "epochs": 2})
    e1, _ = train_item2vec(flat, offsets, N_ITEMS + 2, short)
    e2, _ = train_item2vec(flat, offsets, N_ITEMS + 2, longer)
    np.testing.assert_array_equal(e1[N_ITEMS:], e2[N_ITEMS:])
    assert np.all(np.abs(e1[N_ITEMS:]) <= 0.5 / 16) and np.any(e1[N_ITEMS:] != 0)
    assert not np.array_equal(e1[:N_ITEMS], e2[:N_ITEMS])


def test_time_cap_and_progress():
    flat, offsets = planted(n_seq=60, seed=2)
    lines: list[str] = []
    cfg = Item2VecConfig(dim=8, epochs=50, batch_size=64, max_seconds=1e-9)
    _, stats = train_item2vec(flat, offsets, N_ITEMS, cfg, progress=lines.append)
    assert stats["stopped_by"] == "time"
    assert stats["steps"] == 1 and stats["epochs_completed"] == 0 and len(stats["loss_per_epoch"]) == 1
    assert stats["epochs_run"] == 1
    assert len(lines) == 1 and "time cap" in lines[0]
    lines.clear()
    _, stats = train_item2vec(flat, offsets, N_ITEMS, Item2VecConfig(dim=8, epochs=3), progress=lines.append)
    assert stats["stopped_by"] == "epochs" and len(lines) == 3 and lines[2].startswith("item2vec epoch 3/3")


def test_pairs_per_epoch_bound_samples():
    flat, offsets = planted(n_seq=60, seed=2)
    cfg = Item2VecConfig(dim=8, epochs=2, batch_size=256, max_pairs_per_epoch=1000)
    _, stats = train_item2vec(flat, offsets, N_ITEMS, cfg)
    assert stats["n_pairs"] > 1000 and stats["sampled"]
    assert stats["pairs_per_epoch"] == 1000 and stats["examples"] == 2000 and stats["steps"] == 2 * 4


def test_no_pairs_returns_init():
    emb, stats = train_item2vec(np.array([3, 1]), np.array([0, 1, 2]), 5, Item2VecConfig(dim=4))
    assert emb.shape == (5, 4) and stats["n_pairs"] == 0 and stats["steps"] == 0 and stats["loss_per_epoch"] == []


# --- scoring -------------------------------------------------------------------------------------------------

# 2-D embedding; units: 0 (1,0); 1 (0,1); 2 (1,1)/√2; 3 (-1,0); 4 (1,0) (same direction as 0); 5 zero row;
# 6 (1,-1)/√2
EMB = np.array([[1, 0], [0, 1], [1, 1], [-1, 0], [3, 0], [0, 0], [1, -1]], dtype=np.float32)
R2 = 1 / math.sqrt(2)


def test_normalise():
    unit = normalise(EMB)
    np.testing.assert_allclose(unit[2], [R2, R2], rtol=1e-6)
    np.testing.assert_allclose(unit[4], [1, 0])
    np.testing.assert_array_equal(unit[5], [0, 0])


def test_neighbours_by_hand():
    idx, cos = neighbours(EMB, np.array([0, 4, 1]), 2)
    # 0: 4 (cos 1), then 2 and 6 tie at 1/√2 -> lower index 2; 4: 0 then 2; 1: 2 (1/√2), then 0/4/5 tie at 0 -> 0
    np.testing.assert_array_equal(idx, [[4, 2], [0, 2], [2, 0]])
    np.testing.assert_allclose(cos, [[1, R2], [1, R2], [R2, 0]], atol=1e-6)


@pytest.mark.parametrize("chunk", [1, 2, 2048])
def test_recommend_from_history_by_hand(chunk):
    # rows interleaved across users. user 10: item 0 -> vector (1,0). user 7: 2·item 1 + item 3 -> (-1,2)/√5.
    # user 3: items 0..4 -> (1,0)+(0,1)+(1,1)/√2+(-1,0)+(1,0) ∝ (1,1). user 20: only the zero row -> no direction.
    users = np.array([10, 7, 3, 7, 3, 3, 20, 3, 3])
    items = np.array([0, 1, 0, 3, 1, 2, 5, 3, 4])
    weight = np.array([1, 2, 1, 1, 1, 1, 1, 1, 1], dtype=np.float32)
    u, i, r, s = recommend_from_history(EMB, users, items, weight, k=4, chunk=chunk)
    r5, r10 = 1 / math.sqrt(5), 1 / math.sqrt(10)
    expected = [
        # user 3: only 5 and 6 are unseen; both score 0 (zero row; (1,1)⊥(1,-1)) -> index order
        (3, 5, 1, 0.0), (3, 6, 2, 0.0),
        # user 7: 2 -> 1/√10, 5 -> 0, 0 and 4 tie at -1/√5 (0 first); 6 (-3/√10) is fifth
        (7, 2, 1, r10), (7, 5, 2, 0.0), (7, 0, 3, -r5), (7, 4, 4, -r5),
        # user 10: 4 -> 1, 2 and 6 tie at 1/√2 (2 first), 1 and 5 tie at 0 (1 first); 3 (-1) is sixth
        (10, 4, 1, 1.0), (10, 2, 2, R2), (10, 6, 3, R2), (10, 1, 4, 0.0),
    ]  # fmt: skip
    assert [(a, b, c) for a, b, c, _ in expected] == list(zip(u.tolist(), i.tolist(), r.tolist(), strict=True))
    np.testing.assert_allclose(s, [e[3] for e in expected], atol=1e-6)
    assert u.dtype == i.dtype == r.dtype == np.int64 and s.dtype == np.float32


@pytest.mark.parametrize("chunk", [1, 3, 2048])
def test_recommend_from_history_over_candidates_equals_brute_force(chunk):
    rng = np.random.default_rng(5)
    emb = rng.normal(size=(30, 4)).astype(np.float32)
    users = rng.integers(0, 8, 40)
    items = rng.integers(0, 30, 40)
    weight = rng.random(40).astype(np.float32)
    cand = np.sort(rng.choice(30, 12, replace=False))
    u, i, r, s = recommend_from_history(emb, users, items, weight, k=5, chunk=chunk, candidates=cand)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    expected = []
    for user in np.unique(users):
        rows = users == user
        vec = (unit[items[rows]] * weight[rows, None]).sum(0)
        cos = unit @ (vec / np.linalg.norm(vec))
        allowed = [j for j in cand if j not in set(items[rows].tolist())]  # candidates the user has not seen
        best = sorted(allowed, key=lambda j: (-cos[j], j))[:5]
        expected += [(user, j, rank + 1, cos[j]) for rank, j in enumerate(best)]
    assert list(zip(u.tolist(), i.tolist(), r.tolist(), strict=True)) == [e[:3] for e in expected]
    np.testing.assert_allclose(s, [e[3] for e in expected], atol=1e-5)
    # every item a candidate = no candidates given
    full = recommend_from_history(emb, users, items, weight, k=5, chunk=chunk)
    every = recommend_from_history(emb, users, items, weight, k=5, chunk=chunk, candidates=np.arange(30))
    for a, b in zip(full, every, strict=True):
        np.testing.assert_array_equal(a, b)


def test_exclude_seen_off_keeps_history():
    u, i, r, s = recommend_from_history(EMB, np.array([10]), np.array([0]), np.array([1.0]), k=4, exclude_seen=False)
    # 0 and 4 tie at 1 -> 0 first; then 2 and 6 at 1/√2
    assert i.tolist() == [0, 4, 2, 6] and r.tolist() == [1, 2, 3, 4] and set(u.tolist()) == {10}
    np.testing.assert_allclose(s, [1, 1, R2, R2], atol=1e-6)
    _, seen_i, _, _ = recommend_from_history(EMB, np.array([10]), np.array([0]), np.array([1.0]), k=4)
    assert 0 not in seen_i.tolist()


def test_comparisons_by_hand():
    def at(deg):
        rad = np.radians(deg)
        return np.stack([np.cos(rad), np.sin(rad)], axis=1)

    a = at(np.array([0, 10, 90, 100]))  # 1-NN: 1, 0, 3, 2
    b = at(np.array([0, 10, 100, 50]))  # 1-NN: 1, 0, 3, 1
    assert cluster_purity(a, np.array([0, 0, 1, 1]), 1) == 1.0
    assert cluster_purity(a, np.array([0, 1, 0, 1]), 1) == 0.0
    assert neighbour_agreement(a, b, 1) == 0.75
    assert neighbour_agreement(a, a, 2) == 1.0


# --- MLlib cross-check ---------------------------------------------------------------------------------------


def test_mllib_word2vec_agrees_on_planted_clusters(spark, trained):
    flat, offsets, emb, _ = trained
    words = np.array([f"i{j:02d}" for j in range(N_ITEMS)])  # zero-padded: sorted ids = item order
    rows = [(words[flat[a:b]].tolist(),) for a, b in pairwise(offsets)]
    sequences = spark.createDataFrame(rows, "items array<string>")
    ids, vectors = mllib_embeddings(sequences, dim=16, window=5, seed=1, max_iter=5)
    assert ids == words.tolist() and vectors.shape == (N_ITEMS, 16) and vectors.dtype == np.float32
    assert cluster_purity(vectors, LABELS, 5) >= 0.9
    # at k = 9 (a cluster's other members) two models that both found the clusters agree almost fully;
    # unrelated embeddings agree k / (n - 1) = 9/39 ≈ 0.23 in expectation
    assert neighbour_agreement(emb, vectors, 9) >= 0.8
    assert neighbour_agreement(emb, np.random.default_rng(11).normal(size=(N_ITEMS, 16)), 9) < 0.4


def test_rows_per_chunk_caps_the_cells_of_a_score_chunk():
    assert rows_per_chunk(2048, 1_000, max_chunk_cells=10_000) == 10  # 10 rows x 1,000 items
    assert rows_per_chunk(4, 1_000, max_chunk_cells=10_000) == 4  # chunk is the lower bound here
    assert rows_per_chunk(2048, 50_000, max_chunk_cells=10_000) == 1  # never fewer than one row
    # the default: 2,048 users x 2.2M VODs (a 10M-event catalogue) was ~18 GB; capped at 2^25 cells it is 15 rows
    assert rows_per_chunk(2048, 2_200_000) == (1 << 25) // 2_200_000 == 15
    with pytest.raises(ValueError, match="both must be >= 1"):
        rows_per_chunk(2048, 10, max_chunk_cells=0)


@pytest.mark.parametrize("cells", [30, 61, 10_000])
def test_capped_chunks_score_at_most_the_cap_and_give_the_same_lists(cells, monkeypatch):
    rng = np.random.default_rng(11)
    emb = rng.normal(size=(30, 4)).astype(np.float32)
    users, items = rng.integers(0, 9, 50), rng.integers(0, 30, 50)
    weight = rng.random(50).astype(np.float32)
    reference = recommend_from_history(emb, users, items, weight, k=5, chunk=2048, max_chunk_cells=1 << 25)
    seen = []
    real = item2vec_module._topk_stable

    def spy(scores, k):
        seen.append(scores.numel())
        return real(scores, k)

    monkeypatch.setattr(item2vec_module, "_topk_stable", spy)
    capped = recommend_from_history(emb, users, items, weight, k=5, chunk=2048, max_chunk_cells=cells)
    assert max(seen) <= max(cells, 30) and len(seen) == math.ceil(np.unique(users).size / max(1, cells // 30))
    for a, b in zip(reference[:3], capped[:3], strict=True):  # users, items, ranks
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(capped[3], reference[3], atol=1e-6)  # a matmul's rounding follows its shape
    seen.clear()
    idx, cos = neighbours(emb, np.arange(30), 3, max_chunk_cells=cells)
    assert max(seen) <= max(cells, 30)
    ref_idx, ref_cos = neighbours(emb, np.arange(30), 3)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(cos, ref_cos, atol=1e-6)
