"""Two-tower retrieval (watchhouse.ml.two_tower): logQ sign, frequency estimator, data prep, training, top-k,
quantized copy. Expected numbers are hand-derived or come from independent reference computations."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch

from watchhouse.ml.two_tower import (
    FrequencyEstimator,
    ItemFeatures,
    TwoTowerConfig,
    corrected_logits,
    example_positions,
    histories_from_sequences,
    in_batch_softmax_loss,
    item_embeddings,
    last_histories,
    top_k,
    train_two_tower,
    user_embeddings,
)

# ---------------------------------------------------------------- planted data: 4 clusters of items


N_ITEMS, N_CLUSTERS, N_USERS, SEQ_LEN, H = 80, 4, 400, 12, 5
CLUSTER = np.arange(N_ITEMS) % N_CLUSTERS


def _items(seed: int = 0) -> ItemFeatures:
    rng = np.random.default_rng(seed)  # side features are noise: the cluster is only learnable from co-watching
    return ItemFeatures(
        streamer=rng.integers(0, 10, N_ITEMS),
        category=rng.integers(0, 5, N_ITEMS),
        vod_type=rng.integers(0, 2, N_ITEMS),
        duration_bucket=rng.integers(0, 10, N_ITEMS),
    )


def _planted(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every user watches SEQ_LEN items of a single cluster: (flat, offsets, user cluster)."""
    rng = np.random.default_rng(seed)
    user_cluster = rng.integers(0, N_CLUSTERS, N_USERS)
    members = [np.flatnonzero(c == CLUSTER) for c in range(N_CLUSTERS)]
    flat = np.concatenate([rng.choice(members[c], SEQ_LEN) for c in user_cluster]).astype(np.int64)
    return flat, np.arange(N_USERS + 1, dtype=np.int64) * SEQ_LEN, user_cluster


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The test is the caller that picks torch's threads: 1 here, since 2 OpenMP threads on a shared 2-core
    machine run ~50x slower when another process holds a core. Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


CONFIG = TwoTowerConfig(dim=16, hidden=32, history_len=H, temperature=0.1, batch_size=128, epochs=4, seed=3)


@pytest.fixture(scope="module")
def trained():
    flat, offsets, user_cluster = _planted()
    histories, targets, weights = histories_from_sequences(flat, offsets, np.ones(flat.size, np.float32), H)
    lines: list[str] = []
    model, stats = train_two_tower(histories, None, targets, weights, _items(), CONFIG, progress=lines.append)
    return model, stats, lines, last_histories(flat, offsets, H), user_cluster


def _same_cluster_recall(indices: torch.Tensor, user_cluster: np.ndarray) -> float:
    return float((CLUSTER[indices.numpy()] == user_cluster[:, None]).mean())


# ---------------------------------------------------------------- logQ direction


def test_logq_lowers_popular_items_logit_by_log_q_ratio():
    user = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    items = torch.tensor([[0.6, 0.8], [0.6, 0.8]])  # equal raw scores for both users: 0.6 and 0.8
    q_pop, q_rare = 0.5, 0.02
    log_q = torch.tensor([math.log(q_pop), math.log(q_rare)])
    logits = corrected_logits(user, items, log_q, temperature=1.0)
    assert logits[0, 0] < logits[0, 1]  # popular column 0 is pushed below rare column 1
    assert float(logits[0, 1] - logits[0, 0]) == pytest.approx(math.log(q_pop / q_rare), rel=1e-6)
    assert float(logits[0, 0]) == pytest.approx(0.6 - math.log(0.5), rel=1e-6)
    hot = corrected_logits(user, items, log_q, temperature=0.05)  # temperature scales the raw score only
    assert float(hot[1, 1]) == pytest.approx(0.8 / 0.05 - math.log(0.02), rel=1e-6)


def test_estimated_q_lowers_popular_logit_end_to_end():
    est = FrequencyEstimator(n_buckets=10, alpha=0.1)
    for step in range(1, 301):  # item 0 in every step, item 1 every 6th
        est.update(torch.tensor([0, 1] if step % 6 == 0 else [0]), step)
    log_q = est.log_q(torch.tensor([0, 1]))
    assert float(log_q[0]) > float(log_q[1])
    same = torch.tensor([[0.0, 1.0], [0.0, 1.0]])  # equal raw scores
    logits = corrected_logits(same, same, log_q, 1.0)
    assert float(logits[0, 0]) < float(logits[0, 1])
    assert float(logits[0, 1] - logits[0, 0]) == pytest.approx(float(log_q[0] - log_q[1]), rel=1e-6)


def test_loss_matches_hand_computed_softmax_with_correction():
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    log_q = torch.tensor([math.log(0.5), math.log(0.1)])
    t = 0.5
    # row 0 logits: 1/0.5 - ln 0.5 = 2.6931, 0.6/0.5 - ln 0.1 = 3.5026; row 1: 0 - ln 0.5, 0.8/0.5 - ln 0.1
    r0 = [2 - math.log(0.5), 1.2 - math.log(0.1)]
    r1 = [0 - math.log(0.5), 1.6 - math.log(0.1)]
    ce0 = -r0[0] + math.log(math.exp(r0[0]) + math.exp(r0[1]))
    ce1 = -r1[1] + math.log(math.exp(r1[0]) + math.exp(r1[1]))
    loss = in_batch_softmax_loss(u, v, torch.tensor([3, 4]), torch.tensor([1.0, 3.0]), log_q, t)
    assert float(loss) == pytest.approx((ce0 + 3 * ce1) / 4, rel=1e-5)


# ---------------------------------------------------------------- frequency estimator


def test_frequency_estimator_converges_to_true_rates():
    est = FrequencyEstimator(n_buckets=100, alpha=0.05)
    for step in range(1, 2001):
        seen = [7] * (step % 2 == 0) + [42] * (step % 10 == 0)
        est.update(torch.tensor(seen, dtype=torch.int64), step)
    q = torch.exp(est.log_q(torch.tensor([7, 42])))
    assert float(q[0]) == pytest.approx(1 / 2, rel=1e-3)
    assert float(q[1]) == pytest.approx(1 / 10, rel=1e-3)


def test_frequency_estimator_equals_sequential_algorithm_1_with_duplicates_and_collisions():
    rng = np.random.default_rng(5)
    n_buckets, alpha, init = 7, 0.2, 3.0
    est = FrequencyEstimator(n_buckets, alpha, initial_gap=init)
    a, b = [0.0] * n_buckets, [init] * n_buckets  # reference: Yi et al. Algorithm 1, one element at a time
    for step in range(1, 60):
        batch = rng.integers(0, 20, rng.integers(0, 6))  # 20 ids over 7 buckets: collisions, duplicates
        est.update(torch.from_numpy(batch), step)
        for y in batch:
            h = int(y) % n_buckets
            b[h] = (1 - alpha) * b[h] + alpha * (step - a[h])
            a[h] = step
    got = torch.exp(-est.log_q(torch.arange(n_buckets))).double()
    assert got.tolist() == pytest.approx([max(x, 1e-6) for x in b], rel=1e-5)


# ---------------------------------------------------------------- data prep

FLAT = np.array([10, 11, 12, 20, 30, 31, 32, 33], dtype=np.int64)
OFFSETS = np.array([0, 3, 4, 4, 8], dtype=np.int64)  # sequences: [10 11 12], [20], [], [30 31 32 33]
WEIGHTS = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], dtype=np.float32)


def test_histories_from_sequences_exact():
    h, t, w = histories_from_sequences(FLAT, OFFSETS, WEIGHTS, history_len=2)
    np.testing.assert_array_equal(h, [[-1, 10], [10, 11], [-1, 30], [30, 31], [31, 32]])
    np.testing.assert_array_equal(t, [11, 12, 31, 32, 33])
    np.testing.assert_array_equal(w, [1.0, 2.0, 5.0, 6.0, 7.0])
    assert h.dtype == np.int64 and t.dtype == np.int64 and w.dtype == np.float32
    h3, _, _ = histories_from_sequences(FLAT, OFFSETS, WEIGHTS, history_len=3)
    np.testing.assert_array_equal(h3[-1], [30, 31, 32])
    np.testing.assert_array_equal(h3[1], [-1, 10, 11])


def test_histories_sampling_is_seeded_uniform_subset_in_order():
    full = histories_from_sequences(FLAT, OFFSETS, WEIGHTS, 2)
    a = histories_from_sequences(FLAT, OFFSETS, WEIGHTS, 2, max_examples=3, seed=11)
    b = histories_from_sequences(FLAT, OFFSETS, WEIGHTS, 2, max_examples=3, seed=11)
    assert a[0].shape == (3, 2)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    rows = [int(np.flatnonzero(full[1] == target)[0]) for target in a[1]]  # targets are distinct here
    assert rows == sorted(rows)
    for i, r in enumerate(rows):
        np.testing.assert_array_equal(a[0][i], full[0][r])
        assert a[2][i] == full[2][r]
    np.testing.assert_array_equal(example_positions(OFFSETS), [1, 2, 5, 6, 7])
    picked = np.stack([example_positions(OFFSETS, 2, seed=s) for s in range(200)])
    assert set(np.unique(picked)) == {1, 2, 5, 6, 7}  # every eligible position can be drawn


def test_last_histories_exact():
    np.testing.assert_array_equal(last_histories(FLAT, OFFSETS, 2), [[11, 12], [-1, 20], [-1, -1], [32, 33]])
    np.testing.assert_array_equal(last_histories(FLAT, OFFSETS, 5)[0], [-1, -1, 10, 11, 12])


# ---------------------------------------------------------------- training


def test_training_learns_planted_clusters(trained):
    model, stats, lines, query, user_cluster = trained
    assert stats["stopped_by"] == "epochs" and stats["epochs_completed"] == CONFIG.epochs
    assert len(stats["loss_per_epoch"]) == CONFIG.epochs == len(lines)
    assert stats["loss_per_epoch"][-1] < stats["loss_per_epoch"][0] - 0.3
    assert stats["examples"] == N_USERS * (SEQ_LEN - 1)
    assert stats["steps"] == CONFIG.epochs * math.ceil(N_USERS * (SEQ_LEN - 1) / CONFIG.batch_size)
    _, idx = top_k(user_embeddings(model, query, None), item_embeddings(model), 5)
    assert _same_cluster_recall(idx, user_cluster) > 0.8  # random: 0.25


def test_context_only_users_learn_from_context():
    rng = np.random.default_rng(2)
    n = 1200
    cluster = rng.integers(0, N_CLUSTERS, n)
    targets = np.array([rng.choice(np.flatnonzero(c == CLUSTER)) for c in cluster])
    context = np.eye(N_CLUSTERS, dtype=np.float32)[cluster] * 5.0 + 100.0  # offset: standardisation must cope
    histories = np.full((n, H), -1, dtype=np.int64)  # no history at all
    cfg = dataclasses.replace(CONFIG, epochs=6)
    model, _ = train_two_tower(histories, context, targets, np.ones(n, np.float32), _items(), cfg)
    probe = np.eye(N_CLUSTERS, dtype=np.float32) * 5.0 + 100.0
    _, idx = top_k(user_embeddings(model, np.full((N_CLUSTERS, H), -1), probe), item_embeddings(model), 5)
    assert _same_cluster_recall(idx, np.arange(N_CLUSTERS)) > 0.8


def test_zero_weight_example_contributes_nothing():
    g = torch.Generator().manual_seed(0)
    u = torch.nn.functional.normalize(torch.randn(3, 4, generator=g), dim=1)
    v = torch.nn.functional.normalize(torch.randn(3, 4, generator=g), dim=1)
    items, log_q = torch.tensor([1, 2, 3]), torch.tensor([-1.0, -2.0, -3.0])
    w = torch.tensor([1.0, 0.0, 2.0])
    base = in_batch_softmax_loss(u, v, items, w, log_q, 0.1)
    u2 = u.clone()
    u2[1] = -u[1]  # a different zero-weight row changes nothing
    assert float(in_batch_softmax_loss(u2, v, items, w, log_q, 0.1)) == pytest.approx(float(base), rel=1e-6)
    lg = (u @ v.T / 0.1 - log_q[None, :]).double()  # reference: per-row cross-entropy, weighted mean
    ce = [float(torch.logsumexp(lg[i], 0) - lg[i, i]) for i in range(3)]
    assert float(base) == pytest.approx((ce[0] + 2 * ce[2]) / 3, rel=1e-5)
    assert float(in_batch_softmax_loss(u, v, items, torch.ones(3), log_q, 0.1)) != pytest.approx(float(base))


def test_duplicate_label_is_not_a_negative():
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    v = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    items = torch.tensor([5, 5, 7])  # rows 0 and 1 share the label item
    loss = in_batch_softmax_loss(u, v, items, torch.tensor([1.0, 0.0, 0.0]), torch.zeros(3), 1.0)
    assert float(loss) == pytest.approx(-1.0 + math.log(math.exp(1.0) + math.exp(0.0)), rel=1e-6)


def test_training_is_deterministic_and_weights_change_it():
    flat, offsets, _ = _planted(seed=4)
    h, t, w = histories_from_sequences(flat, offsets, np.ones(flat.size, np.float32), H)
    cfg = dataclasses.replace(CONFIG, epochs=1)
    m1, s1 = train_two_tower(h, None, t, w, _items(), cfg)
    m2, s2 = train_two_tower(h, None, t, w, _items(), cfg)
    assert torch.equal(item_embeddings(m1), item_embeddings(m2))
    assert s1["loss_per_epoch"] == s2["loss_per_epoch"]
    w3 = w.copy()
    w3[::2] = 0.0
    m3, _ = train_two_tower(h, None, t, w3, _items(), cfg)
    assert not torch.equal(item_embeddings(m1), item_embeddings(m3))


def test_time_cap_stops_training():
    flat, offsets, _ = _planted()
    h, t, w = histories_from_sequences(flat, offsets, np.ones(flat.size, np.float32), H)
    lines: list[str] = []
    cfg = dataclasses.replace(CONFIG, epochs=50, max_seconds=1e-9)
    _, stats = train_two_tower(h, None, t, w, _items(), cfg, progress=lines.append)
    assert stats["stopped_by"] == "time"
    assert stats["steps"] == 1 and stats["epochs_completed"] == 0 and stats["epochs_run"] == 1
    assert len(stats["loss_per_epoch"]) == 1 and stats["loss_first"] == stats["loss_last"] > 0
    assert len(lines) == 1


def test_max_examples_caps_training_rows():
    flat, offsets, _ = _planted()
    h, t, w = histories_from_sequences(flat, offsets, np.ones(flat.size, np.float32), H)
    cfg = dataclasses.replace(CONFIG, epochs=1, max_examples=300)
    _, stats = train_two_tower(h, None, t, w, _items(), cfg)
    assert stats["examples"] == 300 and stats["steps"] == 3


# ---------------------------------------------------------------- top-k


def test_top_k_equals_full_argsort_and_respects_exclusions():
    rng = np.random.default_rng(8)
    users, items = rng.normal(size=(37, 8)), rng.normal(size=(50, 8))
    full = users @ items.T  # float64 reference
    scores, idx = top_k(torch.tensor(users, dtype=torch.float32), torch.tensor(items, dtype=torch.float32), 7, chunk=10)
    np.testing.assert_array_equal(idx.numpy(), np.argsort(-full, axis=1)[:, :7])
    np.testing.assert_allclose(scores.numpy(), np.sort(full, axis=1)[:, ::-1][:, :7], rtol=1e-5, atol=1e-5)
    rows = np.concatenate([np.arange(37), rng.integers(0, 37, 40)])
    cols = np.concatenate([np.argmax(full, axis=1), rng.integers(0, 50, 40)])  # every user's best is excluded
    masked = full.copy()
    masked[rows, cols] = -np.inf
    _, idx_ex = top_k(torch.tensor(users).float(), torch.tensor(items).float(), 7, rows[::-1], cols[::-1], chunk=10)
    np.testing.assert_array_equal(idx_ex.numpy(), np.argsort(-masked, axis=1)[:, :7])
    excluded = set(zip(rows.tolist(), cols.tolist(), strict=True))
    assert not any((r, c) in excluded for r in range(37) for c in idx_ex[r].tolist())


@pytest.mark.parametrize("chunk, cells", [(4096, 1 << 25), (7, 1 << 25), (4096, 120), (1, 1)])
def test_bounded_chunked_top_k_equals_brute_force_with_and_without_candidates(chunk, cells):
    rng = np.random.default_rng(11)
    users, items = rng.normal(size=(53, 6)), rng.normal(size=(40, 6))
    full = users @ items.T  # float64 brute force
    rows, cols = rng.integers(0, 53, 120), rng.integers(0, 40, 120)
    masked = full.copy()
    masked[rows, cols] = -np.inf
    u, v = torch.tensor(users).float(), torch.tensor(items).float()
    scores, idx = top_k(u, v, 9, rows, cols, chunk=chunk, max_chunk_cells=cells)
    np.testing.assert_array_equal(idx.numpy(), np.argsort(-masked, axis=1, kind="stable")[:, :9])
    np.testing.assert_allclose(scores.numpy(), -np.sort(-masked, axis=1)[:, :9], rtol=1e-5, atol=1e-5)
    # candidates: only those columns compete; indices come back as item indices; other exclusions are moot
    cand = np.sort(rng.choice(40, 17, replace=False))
    sub = np.full_like(masked, -np.inf)
    sub[:, cand] = masked[:, cand]
    s_c, i_c = top_k(u, v, 9, rows, cols, chunk=chunk, max_chunk_cells=cells, candidates=cand)
    np.testing.assert_array_equal(i_c.numpy(), np.argsort(-sub, axis=1, kind="stable")[:, :9])
    np.testing.assert_allclose(s_c.numpy(), -np.sort(-sub, axis=1)[:, :9], rtol=1e-5, atol=1e-5)
    assert set(i_c.numpy().ravel()) <= set(cand.tolist())


def test_top_k_candidates_are_checked():
    u, v = torch.ones(2, 3), torch.ones(4, 3)
    with pytest.raises(ValueError, match="strictly increasing"):
        top_k(u, v, 1, candidates=np.array([2, 1]))
    with pytest.raises(ValueError, match=r"in \[0, 4\)"):
        top_k(u, v, 1, candidates=np.array([0, 4]))
    with pytest.raises(ValueError, match="k=3"):
        top_k(u, v, 3, candidates=np.array([0, 1]))  # k larger than the candidates


# ---------------------------------------------------------------- quantized copy


def test_quantized_copy_close_to_float_model(trained):
    model, _, _, query, user_cluster = trained
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization import default_dynamic_qconfig, float_qparams_weight_only_qconfig, quantize_dynamic

        spec = {torch.nn.Linear: default_dynamic_qconfig, torch.nn.Embedding: float_qparams_weight_only_qconfig}
        qmodel = quantize_dynamic(model, spec, inplace=False)
        for converted in (qmodel.history_emb, qmodel.item_id_emb, qmodel.user_mlp[0], qmodel.item_mlp[2]):
            assert type(converted).__module__.startswith("torch.ao.nn.quantized")
        u, v = user_embeddings(model, query, None), item_embeddings(model)
        uq, vq = user_embeddings(qmodel, query, None), item_embeddings(qmodel)
    assert (uq - u).abs().max() < 0.05 and (vq - v).abs().max() < 0.05
    _, idx = top_k(u, v, 5)
    _, idx_q = top_k(uq, vq, 5)
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(idx.tolist(), idx_q.tolist(), strict=True)])
    assert overlap > 0.8
    assert _same_cluster_recall(idx_q, user_cluster) > 0.8


# ---------------------------------------------------------------- refused arguments


def test_invalid_arguments_raise():
    items = _items()
    h, t, w = np.full((4, H), -1), np.array([0, 1, 2, 3]), np.ones(4, np.float32)
    bad_calls = [
        lambda: TwoTowerConfig(temperature=0.0),
        lambda: TwoTowerConfig(batch_size=1),
        lambda: TwoTowerConfig(freq_alpha=1.5),
        lambda: TwoTowerConfig(max_seconds=0),
        lambda: FrequencyEstimator(0),
        lambda: FrequencyEstimator(5, alpha=0.0),
        lambda: corrected_logits(torch.ones(2, 3), torch.ones(2, 3), torch.zeros(2), 0.0),
        lambda: corrected_logits(torch.ones(2, 3), torch.ones(2, 3), torch.zeros(3), 1.0),
        lambda: histories_from_sequences(FLAT, OFFSETS, WEIGHTS, 0),
        lambda: histories_from_sequences(FLAT, np.array([0, 3, 9]), WEIGHTS, 2),
        lambda: histories_from_sequences(FLAT, np.array([0, 5, 3, 8]), WEIGHTS, 2),
        lambda: histories_from_sequences(FLAT, OFFSETS, WEIGHTS[:3], 2),
        lambda: histories_from_sequences(FLAT, OFFSETS, WEIGHTS, 2, max_examples=0),
        lambda: last_histories(FLAT, OFFSETS, -1),
        lambda: ItemFeatures(np.zeros(3, int), np.zeros(2, int), np.zeros(3, int), np.zeros(3, int)),
        lambda: ItemFeatures(np.full(3, -1), np.zeros(3, int), np.zeros(3, int), np.zeros(3, int)),
        lambda: train_two_tower(h, None, np.array([0, 1, 2, N_ITEMS]), w, items, CONFIG),
        lambda: train_two_tower(h, None, t, -w, items, CONFIG),
        lambda: train_two_tower(h, None, t, np.zeros(4, np.float32), items, CONFIG),
        lambda: train_two_tower(h[:, :2], None, t, w, items, CONFIG),
        lambda: train_two_tower(np.full((4, H), N_ITEMS), None, t, w, items, CONFIG),
        lambda: train_two_tower(h, np.ones((3, 2)), t, w, items, CONFIG),
        lambda: top_k(torch.ones(2, 3), torch.ones(4, 3), 0),
        lambda: top_k(torch.ones(2, 3), torch.ones(4, 3), 5),
        lambda: top_k(torch.ones(2, 3), torch.ones(4, 2), 1),
        lambda: top_k(torch.ones(2, 3), torch.ones(4, 3), 1, exclude_rows=[0]),
        lambda: top_k(torch.ones(2, 3), torch.ones(4, 3), 1, exclude_rows=[2], exclude_cols=[0]),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()
    est = FrequencyEstimator(5)
    est.update(torch.tensor([1]), 10)
    with pytest.raises(ValueError, match="must not decrease"):
        est.update(torch.tensor([1]), 9)
    with pytest.raises(ValueError, match="k=0"):
        top_k(torch.ones(2, 3), torch.ones(4, 3), 0)
