"""Warm start (watchhouse.ml.warm): rows carried over by entity id, the run it starts from, and that a
warm-started model begins where the earlier one ended."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import numpy as np
import pytest
import torch

from watchhouse.ml import registry, warm
from watchhouse.ml.two_tower import (
    ItemFeatures,
    TwoTowerConfig,
    histories_from_sequences,
    new_model,
    train_two_tower,
)

TABLES = {"item_id_emb.weight": "vod", "history_emb.weight": "vod", "streamer_emb.weight": "streamer"}
CONFIG = TwoTowerConfig(dim=8, hidden=16, history_len=4, batch_size=64, epochs=1, seed=5)


def _items(n: int, streamers: int = 3) -> ItemFeatures:
    codes = np.arange(n) % streamers
    return ItemFeatures(streamer=codes, category=codes % 2, vod_type=codes % 2, duration_bucket=codes % 4)


def test_rows_follow_their_ids_new_ids_keep_the_fresh_init_and_other_weights_are_copied():
    old = new_model(_items(4), 0, dataclasses.replace(CONFIG, seed=1))
    old_ids = {"vod": np.array(["v1", "v2", "v3", "v4"], dtype=object), "streamer": np.array(["s1", "s2", "s3"])}
    saved = warm.artifact(old, TABLES, old_ids)
    assert saved["ids"]["item_id_emb.weight"] == ["v1", "v2", "v3", "v4"]

    # today: v2 is gone, v9 is new, the order moved (idx follows the ids' order in today's id map)
    new_ids = {"vod": np.array(["v1", "v3", "v4", "v9", "v5"], dtype=object), "streamer": np.array(["s1", "s2", "s3"])}
    fresh = new_model(_items(5), 0, CONFIG)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    counts = warm.transfer(fresh, saved, new_ids)
    after, was = fresh.state_dict(), old.state_dict()
    for new_row, old_row in ((0, 0), (1, 2), (2, 3)):  # v1, v3, v4
        assert torch.equal(after["item_id_emb.weight"][new_row], was["item_id_emb.weight"][old_row])
        assert torch.equal(after["history_emb.weight"][new_row], was["history_emb.weight"][old_row])
    for new_row in (3, 4):  # v9 and v5 were never seen: today's seeded init
        assert torch.equal(after["item_id_emb.weight"][new_row], before["item_id_emb.weight"][new_row])
    assert torch.equal(after["user_mlp.0.weight"], was["user_mlp.0.weight"])  # same shape: copied
    assert counts["rows"]["item_id_emb.weight"] == (3, 5)


def test_a_new_embedding_width_keeps_the_fresh_init_and_is_counted_as_kept():
    """dim 8 -> 12: no entity row can be copied; the table keeps today's init and counts as kept, not copied."""
    ids = {"vod": np.array(["v1", "v2", "v3", "v4"], dtype=object), "streamer": np.array(["s1", "s2", "s3"])}
    saved = warm.artifact(new_model(_items(4), 0, dataclasses.replace(CONFIG, seed=1)), TABLES, ids)
    fresh = new_model(_items(4), 0, dataclasses.replace(CONFIG, dim=12))
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    counts = warm.transfer(fresh, saved, ids)
    for key in TABLES:
        assert torch.equal(fresh.state_dict()[key], before[key])
        assert key not in counts["rows"]
    unchanged = sum(1 for k, v in saved["state_dict"].items() if k in before and v.shape == before[k].shape)
    assert counts["copied"] == unchanged
    assert counts["copied"] + counts["kept"] == len(before)


def test_artifact_and_transfer_refuse_what_they_cannot_map():
    model = new_model(_items(4), 0, CONFIG)
    with pytest.raises(ValueError, match="has 4 rows but the id map has only 2 vod ids"):
        warm.artifact(model, TABLES, {"vod": np.array(["a", "b"]), "streamer": np.array(["s1", "s2", "s3"])})
    with pytest.raises(ValueError, match="not in the model's state dict"):
        warm.artifact(model, {"nope.weight": "vod"}, {"vod": np.array(["a"])})
    with pytest.raises(ValueError, match=re.escape("warm start reads 'watchhouse.model/2' artifacts")):
        warm.transfer(model, {"state_dict": model.state_dict()}, {})


def _examples(n_items: int = 24, users: int = 300, seed: int = 2):
    rng = np.random.default_rng(seed)
    group = np.arange(n_items) % 3  # users watch within one of 3 groups
    flat = np.concatenate([rng.choice(np.flatnonzero(group == rng.integers(3)), 8) for _ in range(users)])
    offsets = np.arange(users + 1, dtype=np.int64) * 8
    return histories_from_sequences(flat.astype(np.int64), offsets, np.ones(flat.size, np.float32), 4)


def test_a_warm_started_model_begins_where_the_earlier_one_ended():
    hist, targets, weights = _examples()
    items, ids = _items(24), {"vod": np.array([f"v{i}" for i in range(24)]), "streamer": np.array(["a", "b", "c"])}
    trained, _ = train_two_tower(hist, None, targets, weights, items, dataclasses.replace(CONFIG, epochs=6))
    start = new_model(items, 0, CONFIG)
    warm.transfer(start, warm.artifact(trained, TABLES, ids), ids)
    _, cold = train_two_tower(hist, None, targets, weights, items, CONFIG)
    _, warmed = train_two_tower(hist, None, targets, weights, items, CONFIG, model=start)
    assert warmed["loss_first"] < cold["loss_first"] - 0.1  # it starts from what 6 epochs learned


def test_previous_is_the_latest_run_of_the_latest_earlier_batch(tmp_path):
    home, scratch = tmp_path / "home", tmp_path / "scratch"
    scratch.mkdir()
    model = new_model(_items(4), 0, CONFIG)
    ids = {"vod": np.array(["v1", "v2", "v3", "v4"]), "streamer": np.array(["s1", "s2", "s3"])}
    runs = {}
    for label, day, fmt in (("18", 18, "new"), ("19a", 19, "new"), ("19b", 19, "new"), ("20", 20, "new"),
                            ("old_17", 17, "old")):  # fmt: skip
        path = scratch / f"{label}" / "two_tower.pt"
        path.parent.mkdir()
        torch.save(warm.artifact(model, TABLES, ids) if fmt == "new" else model.state_dict(), path)
        runs[label] = registry.log_training_run(
            home, "two_tower", dt.date(2026, 11, day), params={}, metrics={},
            data_window=(dt.date(2026, 11, 1), dt.date(2026, 11, day)), artifacts={"model": path},
        )  # fmt: skip
    registry.log_training_run(  # another model's run of 11-19 is never picked
        home, "ranker", dt.date(2026, 11, 19), params={}, metrics={}, data_window=(dt.date(2026, 11, 1),) * 2
    )
    assert warm.previous(home, "two_tower", dt.date(2026, 11, 20))[0] == runs["19b"]  # not 11-20 itself
    assert warm.previous(home, "two_tower", dt.date(2026, 11, 21))[0] == runs["20"]
    assert warm.previous(home, "two_tower", dt.date(2026, 11, 19))[0] == runs["18"]
    assert warm.previous(home, "two_tower", dt.date(2026, 11, 18)) is None  # 11-17's artifact has no ids
    assert warm.previous(home, "ranker", dt.date(2026, 11, 20)) is None  # no artifact
    assert warm.previous(tmp_path / "empty", "two_tower", dt.date(2026, 11, 20)) is None


def test_a_warm_started_ranker_begins_where_the_earlier_one_ended_with_todays_normalisation():
    from test_ml_ranker import CARDS, SMALL, _planted
    from watchhouse.ml import ranker

    dense, cats, y_watch, y_value, _ = _planted()
    ids = {"vod_type": np.array([f"t{i}" for i in range(CARDS[0])])}
    tables = {"embeddings.0.weight": "vod_type"}
    trained, _ = ranker.train_ranker(dense, cats, y_watch, y_value, CARDS, SMALL)
    start = ranker.new_model(dense.shape[1], CARDS, SMALL)
    warm.transfer(start, warm.artifact(trained, tables, ids), ids)
    shifted = dense + 3.0  # today's features moved: the normalisation is refitted, not carried over
    start.fit_normalization(torch.as_tensor(shifted))
    assert torch.allclose(start.dense_mean, trained.dense_mean + 3.0, atol=1e-5)
    one = dataclasses.replace(SMALL, epochs=1)
    _, cold = ranker.train_ranker(shifted, cats, y_watch, y_value, CARDS, one)
    _, warmed = ranker.train_ranker(shifted, cats, y_watch, y_value, CARDS, one, model=start)
    assert warmed["epoch_losses"][0] < cold["epoch_losses"][0] - 0.05
