"""Multi-task ranker (watchhouse.ml.ranker): the loss on a hand-computed case, training on planted data (MMoE and
shared bottom), the score formula, the preference re-rank on hand-made lists, refused arguments. Expected numbers
are hand-derived or computed independently of the module (numpy, closed forms)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

from watchhouse.ml.ranker import (
    MultiTaskRanker,
    RankerConfig,
    multitask_loss,
    predict,
    preference_rerank,
    score,
    train_ranker,
)

# ---------------------------------------------------------------- loss


def test_multitask_loss_hand_computed_value_only_on_watched_rows():
    logit = torch.tensor([0.0, 2.0, -1.0])
    value = torch.tensor([0.5, 0.9, 0.2], requires_grad=True)
    y_watch = torch.tensor([1.0, 0.0, 1.0])
    y_value = torch.tensor([0.7, 0.0, 0.6])  # row 1 is not watched: its (0.9 - 0)^2 must not count
    total, parts = multitask_loss(logit, value, y_watch, y_value, value_weight=2.0)
    # BCE: -log σ(0) = log 2; y=0, logit 2: log(1 + e^2); y=1, logit -1: log(1 + e^1)
    watch = (math.log(2) + math.log(1 + math.e**2) + math.log(1 + math.e)) / 3
    value_mse = ((0.5 - 0.7) ** 2 + (0.2 - 0.6) ** 2) / 2  # 0.10
    assert parts["watch"] == pytest.approx(watch, abs=1e-6)
    assert parts["value"] == pytest.approx(0.10, abs=1e-6) and value_mse == pytest.approx(0.10)
    assert parts["watched"] == 2
    assert total.item() == pytest.approx(watch + 2.0 * 0.10, abs=1e-6)
    total.backward()
    # d/dv of 2 * mean over 2 watched rows of (v - y)^2 = 2 * 2 (v - y) / 2; the unwatched row gets 0
    assert value.grad.tolist() == pytest.approx([2 * (0.5 - 0.7), 0.0, 2 * (0.2 - 0.6)], abs=1e-6)


def test_multitask_loss_without_watched_rows_has_zero_value_term():
    total, parts = multitask_loss(
        torch.zeros(2), torch.tensor([0.3, 0.8]), torch.zeros(2), torch.zeros(2), value_weight=5.0
    )
    assert parts["value"] == 0.0 and parts["watched"] == 0
    assert float(total) == pytest.approx(math.log(2), abs=1e-6)


# ---------------------------------------------------------------- planted data

N, CARDS = 3000, (3, 5)
SMALL = RankerConfig(
    n_experts=2, expert_hidden=32, tower_hidden=16, cat_dim=4, epochs=6, batch_size=512, learning_rate=1e-2, seed=3
)


def _planted(seed: int = 0):
    """Watch depends on dense[:, 0] only (P = σ(4 x0)), the value on dense[:, 1] only (σ(2 x1)); dense[:, 2:] and
    the categories are noise. Features are shifted and scaled to check the in-model standardisation."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N, 4))
    dense = (z * np.array([10.0, 0.5, 3.0, 1.0]) + np.array([100.0, -2.0, 0.0, 5.0])).astype(np.float32)
    cats = np.column_stack([rng.integers(0, c, N) for c in CARDS]).astype(np.int64)
    y_watch = (rng.random(N) < 1 / (1 + np.exp(-4 * z[:, 0]))).astype(np.float32)
    value = 1 / (1 + np.exp(-2 * z[:, 1]))
    return dense, cats, y_watch, np.where(y_watch > 0, value, 0).astype(np.float32), z


def _auc(p: np.ndarray, y: np.ndarray) -> float:
    pos, neg = p[y > 0.5], p[y < 0.5]  # all pairs (small N): P(p_pos > p_neg) + ties / 2
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


def _losses(model, dense, cats, y_watch, y_value) -> dict:
    with torch.no_grad():
        logit, value = model(torch.from_numpy(dense), torch.from_numpy(cats))
    return multitask_loss(logit, value, torch.from_numpy(y_watch), torch.from_numpy(y_value), 1.0)[1]


@pytest.fixture(scope="module")
def planted():
    return _planted()


@pytest.fixture(scope="module")
def trained(planted):
    dense, cats, y_watch, y_value, _ = planted
    lines: list[str] = []
    model, stats = train_ranker(dense, cats, y_watch, y_value, CARDS, SMALL, progress=lines.append)
    return model, stats, lines


def test_training_lowers_both_losses_and_learns_the_planted_signals(planted, trained):
    dense, cats, y_watch, y_value, z = planted
    model, stats, _ = trained
    torch.manual_seed(SMALL.seed)
    start = MultiTaskRanker(dense.shape[1], CARDS, SMALL)  # the same seeded initialisation as train_ranker's
    start.fit_normalization(torch.from_numpy(dense))
    before, after = _losses(start, dense, cats, y_watch, y_value), _losses(model, dense, cats, y_watch, y_value)
    assert after["watch"] < before["watch"] - 0.1
    assert after["value"] < 0.5 * before["value"]
    assert stats["epoch_watch_losses"][-1] < stats["epoch_watch_losses"][0]
    assert stats["epoch_value_losses"][-1] < stats["epoch_value_losses"][0]
    p, v = predict(model, dense, cats)
    assert _auc(p, y_watch) > 0.8
    watched = y_watch > 0
    assert np.corrcoef(v[watched], y_value[watched])[0, 1] > 0.9  # the value head follows dense[:, 1]
    assert abs(np.corrcoef(v[watched], z[watched, 0])[0, 1]) < 0.2  # ... and not the watch feature


def test_training_stats_progress_and_normalisation(planted, trained):
    dense, *_ = planted
    model, stats, lines = trained
    assert stats["stopped_by"] == "epochs" and stats["epochs_completed"] == SMALL.epochs
    assert stats["steps"] == SMALL.epochs * math.ceil(N / SMALL.batch_size)
    assert stats["examples"] == N and stats["arch"] == "mmoe"
    assert len(stats["epoch_losses"]) == len(lines) == SMALL.epochs
    assert all(f"epoch {e + 1}/{SMALL.epochs}" in line for e, line in enumerate(lines))
    np.testing.assert_allclose(model.dense_mean.numpy(), dense.astype(np.float64).mean(0), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(model.dense_std.numpy(), dense.astype(np.float64).std(0), rtol=1e-4)
    assert not model.training


def test_shared_bottom_also_trains(planted):
    dense, cats, y_watch, y_value, _ = planted
    config = dataclasses.replace(SMALL, arch="shared_bottom", epochs=4)
    model, stats = train_ranker(dense, cats, y_watch, y_value, CARDS, config)
    assert model.gates is None and len(model.experts) == 1 and stats["arch"] == "shared_bottom"
    assert stats["epoch_losses"][-1] < stats["epoch_losses"][0]
    assert _auc(predict(model, dense, cats)[0], y_watch) > 0.8


def test_time_cap_stops_after_the_first_step_and_training_is_deterministic(planted):
    dense, cats, y_watch, y_value, _ = planted
    config = dataclasses.replace(SMALL, epochs=3, max_seconds=1e-9)
    model, stats = train_ranker(dense, cats, y_watch, y_value, CARDS, config)
    assert stats["stopped_by"] == "time" and stats["steps"] == 1 and stats["epochs_completed"] == 0
    assert len(stats["epoch_losses"]) == 1
    again, _ = train_ranker(dense, cats, y_watch, y_value, CARDS, config)
    np.testing.assert_array_equal(score(model, dense, cats), score(again, dense, cats))


def test_given_model_and_before_step_hook(planted):
    dense, cats, y_watch, y_value, _ = planted
    model = MultiTaskRanker(dense.shape[1], CARDS, SMALL)
    model.fit_normalization(torch.from_numpy(dense))
    mean = model.dense_mean.clone()
    seen: list[int] = []
    config = dataclasses.replace(SMALL, epochs=1)
    out, stats = train_ranker(dense, cats, y_watch, y_value, CARDS, config, model=model,
                              before_step=lambda m, step: seen.append(step))  # fmt: skip
    assert out is model and seen == list(range(stats["steps"]))
    assert torch.equal(out.dense_mean, mean)  # a given model keeps its normalisation
    with pytest.raises(ValueError, match="cardinalities"):
        train_ranker(dense, cats[:, :1], y_watch, y_value, CARDS[:1], config, model=model)


def test_score_is_p_watch_times_expected_value(planted, trained):
    dense, cats, *_ = planted
    model = trained[0]
    with torch.no_grad():
        logit, value = model(torch.from_numpy(dense), torch.from_numpy(cats))
    expected = (1 / (1 + np.exp(-logit.double().numpy()))) * value.double().numpy()
    s = score(model, dense, cats, batch=700)  # chunking must not matter
    np.testing.assert_allclose(s, expected, rtol=1e-5, atol=1e-7)
    assert s.dtype == np.float64 and s.shape == (N,) and ((s >= 0) & (s <= 1)).all()


def test_categorical_only_and_dense_only_models():
    rng = np.random.default_rng(5)
    cats = rng.integers(0, 4, (200, 1))
    y = (cats[:, 0] >= 2).astype(np.float32)
    model, _ = train_ranker(np.zeros((200, 0), np.float32), cats, y, y * 0.5, [4], SMALL)
    assert score(model, np.zeros((3, 0), np.float32), np.array([[0], [1], [3]])).shape == (3,)
    model, _ = train_ranker(rng.normal(size=(200, 2)), np.zeros((200, 0), np.int64), y, y * 0.5, [], SMALL)
    assert score(model, rng.normal(size=(4, 2)), np.zeros((4, 0), np.int64)).shape == (4,)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"arch": "transformer"}, "arch='transformer'"),
        ({"n_experts": 0}, "n_experts=0"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"value_weight": -1.0}, "value_weight=-1.0"),
        ({"learning_rate": 0.0}, "learning_rate=0.0"),
        ({"max_seconds": 0.0}, "max_seconds=0.0"),
    ],
)
def test_invalid_config_raises(change, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        RankerConfig(**change)


def test_invalid_training_inputs_raise(planted):
    dense, cats, y_watch, y_value, _ = planted
    bad_cats = cats.copy()
    bad_cats[5, 1] = CARDS[1]
    nan_dense = dense.copy()
    nan_dense[0, 0] = np.nan
    cases = [
        ((dense, bad_cats, y_watch, y_value), r"cats\[:, 1\] must hold codes in \[0, 5\)"),
        ((dense, cats, y_watch * 2, y_value), "y_watch must hold 0 or 1"),
        ((dense, cats, y_watch, y_value + 1.5), r"y_value must be finite and in \[0, 1\]"),
        ((dense, cats, y_watch[:-1], y_value), "N=3000"),
        ((nan_dense, cats, y_watch, y_value), "dense must be finite"),
        ((dense, cats.astype(np.float32), y_watch, y_value), "integer codes"),
        ((dense[:, 0], cats, y_watch, y_value), r"dense must be \[N, F\]"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            train_ranker(*args, CARDS, SMALL)
    with pytest.raises(ValueError, match="batch=0"):
        score(MultiTaskRanker(4, CARDS, SMALL), dense, cats, batch=0)
    with pytest.raises(ValueError, match=r"dense must be \[N, F=4\]"):
        score(MultiTaskRanker(4, CARDS, SMALL), dense[:, :3], cats)
    with pytest.raises(ValueError, match="value_weight=-1"):
        multitask_loss(torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.zeros(1), -1)
    with pytest.raises(ValueError, match="must all be"):
        multitask_loss(torch.zeros(2), torch.zeros(1), torch.zeros(2), torch.zeros(2), 1)


# ---------------------------------------------------------------- preference re-rank


def _lists() -> pd.DataFrame:
    # (user, item, streamer, score, preference); scores are binary fractions so the adjusted ties are exact
    rows = [
        (1, 6, 9, 0.25, 1.0),  # 0.25 * (1 + 1 * 1/2) = 0.375: ties with item 5, after it by item_id
        (1, 4, 7, 0.4375 + 2**-6, 0.0),  # 0.453125: the 3rd of streamer 7 -> dropped with max_per_streamer=2
        (1, 2, 8, 0.25, 3.0),  # 0.25 * (1 + 3/4) = 0.4375: the bonus lifts it over item 5 (0.375)
        (1, 1, 7, 0.5, 0.0),
        (1, 5, 9, 0.375, 0.0),
        (1, 3, 7, 0.46875, 0.0),
        (2, 1, 7, 0.125, 0.0),  # another user: its streamer 7 does not count toward user 1's cap
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "streamer_id", "score", "preference"])


def test_preference_rerank_bonus_cap_ties_and_k():
    out = preference_rerank(_lists(), k=5, preferred_bonus=1.0, max_per_streamer=2)
    assert list(out.columns) == ["user_id", "item_id", "rank", "score"]
    u1 = out[out.user_id == 1]
    assert u1.item_id.tolist() == [1, 3, 2, 5, 6]
    assert u1["rank"].tolist() == [1, 2, 3, 4, 5]
    assert u1.score.tolist() == [0.5, 0.46875, 0.4375, 0.375, 0.375]
    u2 = out[out.user_id == 2]
    assert u2.item_id.tolist() == [1] and u2["rank"].tolist() == [1] and u2.score.tolist() == [0.125]


def test_preference_rerank_without_bonus_and_truncation():
    out = preference_rerank(_lists(), k=3, preferred_bonus=0.0, max_per_streamer=2)
    # adjusted = score: 1 (0.5), 3 (0.46875), [4 dropped: 3rd of streamer 7], 5 (0.375), 2 / 6 (0.25, by item_id)
    assert out[out.user_id == 1].item_id.tolist() == [1, 3, 5]
    out = preference_rerank(_lists(), k=2, preferred_bonus=1.0, max_per_streamer=1)
    assert out[out.user_id == 1].item_id.tolist() == [1, 2]  # one per streamer: 1 (7), 2 (8), then 5 (9)
    assert (out.groupby("user_id").size() <= 2).all()


def test_preference_rerank_cap_3_keeps_the_third_item():
    out = preference_rerank(_lists(), k=10, preferred_bonus=1.0, max_per_streamer=3)
    assert out[out.user_id == 1].item_id.tolist() == [1, 3, 4, 2, 5, 6]


def _pandas_rerank(frame, k, bonus, cap):
    """The reference: the same rule in pandas (sort, groupby cumcount)."""
    out = frame[["user_id", "item_id", "streamer_id"]].copy()
    pref = frame["preference"]
    out["score"] = frame["score"] * (1.0 + bonus * pref / (1.0 + pref))
    out = out.sort_values(["user_id", "score", "item_id"], ascending=[True, False, True], kind="mergesort")
    out = out[out.groupby(["user_id", "streamer_id"], sort=False).cumcount() < cap]
    out = out.assign(rank=(out.groupby("user_id", sort=False).cumcount() + 1).astype(np.int64))
    return out[out["rank"] <= k][["user_id", "item_id", "rank", "score"]].reset_index(drop=True)


@pytest.mark.parametrize("ids", ["int", "str"])
def test_preference_rerank_equals_the_pandas_reference_on_random_lists_with_ties(ids):
    rng = np.random.default_rng(3)
    pairs = np.unique(np.column_stack([rng.integers(0, 40, 3000), rng.integers(0, 300, 3000)]), axis=0)
    frame = pd.DataFrame(
        {
            "user_id": pairs[:, 0],
            "item_id": pairs[:, 1],
            "streamer_id": pairs[:, 1] % 7,
            "score": rng.integers(0, 6, len(pairs)) / 8,  # coarse: many ties, broken by item_id
            "preference": np.where(rng.random(len(pairs)) < 0.5, 0.0, rng.random(len(pairs))),
        }
    )
    if ids == "str":
        frame = frame.assign(user_id="u" + frame["user_id"].astype(str), item_id="v" + frame["item_id"].astype(str))
    frame = frame.sample(frac=1.0, random_state=1)  # rows in any order
    for k, bonus, cap in ((10, 0.5, 3), (50, 0.0, 1), (5, 2.0, 2)):
        pd.testing.assert_frame_equal(preference_rerank(frame, k, bonus, cap), _pandas_rerank(frame, k, bonus, cap))


def test_preference_rerank_empty_frame():
    out = preference_rerank(_lists().iloc[:0], k=3, preferred_bonus=1.0, max_per_streamer=2)
    assert out.empty and list(out.columns) == ["user_id", "item_id", "rank", "score"]


def test_preference_rerank_invalid_arguments():
    frame = _lists()
    with pytest.raises(ValueError, match="k=0: k must be >= 1"):
        preference_rerank(frame, k=0, preferred_bonus=1.0, max_per_streamer=2)
    with pytest.raises(ValueError, match="max_per_streamer=0"):
        preference_rerank(frame, k=3, preferred_bonus=1.0, max_per_streamer=0)
    with pytest.raises(ValueError, match=r"preferred_bonus=-0\.5"):
        preference_rerank(frame, k=3, preferred_bonus=-0.5, max_per_streamer=2)
    with pytest.raises(ValueError, match=r"lacks columns \['preference'\]"):
        preference_rerank(frame.drop(columns="preference"), k=3, preferred_bonus=1.0, max_per_streamer=2)
    with pytest.raises(ValueError, match="preference must be finite and >= 0"):
        preference_rerank(frame.assign(preference=-1.0), k=3, preferred_bonus=1.0, max_per_streamer=2)
    with pytest.raises(ValueError, match="score must be finite and >= 0"):
        preference_rerank(frame.assign(score=np.nan), k=3, preferred_bonus=1.0, max_per_streamer=2)
    with pytest.raises(ValueError, match="one row per"):
        preference_rerank(pd.concat([frame, frame.iloc[:1]]), k=3, preferred_bonus=1.0, max_per_streamer=2)


@pytest.mark.parametrize("n", [3 * 4096 + 100, 40_000, 2 * 102_400 + 5])
def test_serving_pass_scores_each_candidate_once_and_times_its_own_blocks(planted, trained, monkeypatch, n):
    """A pass with room for 3 chunk-aligned blocks is timed on its own blocks: no candidate is scored
    twice (before, a pass of fewer than 3 blocks of 102,400 rows was scored 3 more times for the latency),
    and the scores equal one pass over all rows."""
    from watchhouse.ml.jobs import ranker_job

    model = trained[0]
    dense, cats, *_ = planted
    rows = np.arange(n) % len(dense)
    dense_n, cats_n = dense[rows], cats[rows]
    scored = []
    real_score = ranker_job.ranker.score

    def counting(m, d, c, batch):
        scored.append(len(d))
        return real_score(m, d, c, batch=batch)

    monkeypatch.setattr(ranker_job.ranker, "score", counting)
    scores, latency = ranker_job.serve(model, dense_n, cats_n)
    block = ranker_job.latency_block(n)
    assert block % ranker_job.SCORE_CHUNK == 0 and n // block >= 3
    assert sum(scored) == n and latency > 0
    np.testing.assert_allclose(scores, real_score(model, dense_n, cats_n, batch=ranker_job.SCORE_CHUNK), rtol=0, atol=0)
