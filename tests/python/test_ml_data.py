"""The data side of the trained models on hand-made cases: Spark -> Arrow batches, the watch
log and its sessions, leave-last-out validation, the ranker's features (nothing at or after
the cut-off is read) and training pairs, and the list helpers."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pytest

from watchhouse.ml import ranker_data, validation
from watchhouse.ml.data import (
    UNKNOWN_ENTITY,
    Catalogue,
    WatchLog,
    arrow_batches,
    collect_arrays,
    duration_bucket,
    load_catalogue,
    load_vocab,
)
from watchhouse.ml.jobs.common import _position_from_end, history_weights, rerank, seen_pairs
from watchhouse.ml.params import MLParams

DAY = 86_400
D = dt.date(2026, 11, 20)


def log_of(rows) -> WatchLog:
    """rows: (user, item, ts, value), any order -> a WatchLog sorted by user, time."""
    arr = np.array(rows, dtype=np.float64)
    order = np.lexsort((arr[:, 1], arr[:, 2], arr[:, 0]))
    arr = arr[order]
    return WatchLog(
        arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2].astype(np.int64),
        arr[:, 3].astype(np.float32), D, D,
    )  # fmt: skip


def test_arrow_batches_split_without_loss_or_duplicates(spark):
    df = spark.range(0, 1003).selectExpr("id", "id * 2 as twice")
    batches = list(arrow_batches(df, rows_per_batch=250))
    assert len(batches) == 5  # ceil(1003 / 250)
    ids = np.concatenate([b.column("id").to_numpy() for b in batches])
    assert sorted(ids.tolist()) == list(range(1003))
    cols = collect_arrays(df, 10_000)
    assert (cols["twice"] == cols["id"] * 2).all()
    with pytest.raises(ValueError, match="rows_per_batch=0"):
        list(arrow_batches(df, 0))


def test_sessions_break_at_users_and_long_gaps():
    log = log_of([(0, 5, 0, 1), (0, 6, 100, 1), (0, 7, 100 + 1801, 1), (1, 5, 50, 1), (1, 8, 60, 1)])
    flat, offsets = log.sessions(gap_seconds=1800)
    assert flat.tolist() == [5, 6, 7, 5, 8]
    assert offsets.tolist() == [0, 2, 3, 5]  # [5, 6] | [7] (gap 1801 s) | user 1: [5, 8]
    users, _, offsets_u = log.user_sequences()
    assert users.tolist() == [0, 1] and offsets_u.tolist() == [0, 3, 5]


def test_holdout_takes_each_chosen_users_last_view_only():
    log = log_of([(0, 1, 10, 1), (0, 2, 20, 1), (1, 3, 5, 1), (2, 4, 1, 1), (2, 5, 2, 1), (2, 6, 3, 1)])
    train, users, items = validation.holdout_last(log, users=10, seed=1)
    assert users.tolist() == [0, 2] and items.tolist() == [2, 6]  # user 1 has one view: never held out
    assert len(train) == 4 and 2 not in train.item.tolist() and 6 not in train.item.tolist()


def test_ndcg_at_10_one_relevant_item():
    top = np.array([[5, 6, 7] + [0] * 7, [1, 2, 3] + [0] * 7, [9] * 10])
    got = validation.ndcg_at_10(top, np.array([5, 3, 4]))
    assert got == pytest.approx((1.0 + 1.0 / math.log2(4) + 0.0) / 3)


def catalogue() -> Catalogue:
    # items 0..3: streamers 0, 0, 1, 1; categories 0, 1, 0, 1; types 0, 0, 1, 1; created at 0 except item 3 (day 5)
    return Catalogue(
        streamer=np.array([0, 0, 1, 1]), category=np.array([0, 1, 0, 1]), vod_type=np.array([0, 0, 1, 1]),
        duration_bucket=np.array([0, 1, 2, 3]), created_ts=np.array([0, 0, 0, 5 * DAY]),
    )  # fmt: skip


def test_ranker_features_read_nothing_at_or_after_the_cutoff():
    cutoff = 10 * DAY
    log = log_of([
        (0, 0, 9 * DAY, 0.8), (0, 2, 9 * DAY + 10, 0.4),  # before the cut-off
        (0, 1, cutoff, 1.0), (1, 3, cutoff + 50, 1.0),  # at / after it: must not count
    ])  # fmt: skip
    hist = ranker_data.history_at(log, catalogue(), cutoff, n_users=2)
    dense, cats, pref = ranker_data.pair_features(hist, catalogue(), np.array([0, 0, 1]), np.array([1, 3, 3]))
    f = {name: dense[:, i] for i, name in enumerate(ranker_data.FEATURES)}
    # user 0 x item 1 (streamer 0): one earlier view of streamer 0 (value 0.8) one day before
    assert f["user_views"][0] == pytest.approx(math.log1p(2))
    assert f["user_streamer_views"][0] == pytest.approx(math.log1p(1))
    assert f["user_streamer_value"][0] == pytest.approx(math.log1p(0.8))
    assert f["user_streamer_days_since"][0] == pytest.approx(1.0)
    assert f["user_category_share"][0] == pytest.approx(0.0)  # item 1 is category 1; user 0 saw categories 0, 0
    assert f["user_type_share"][0] == pytest.approx(0.5)
    assert f["user_seen_item"][0] == 0  # the view of item 1 is at the cut-off: not before it
    # item 3: its only view is after the cut-off, created 5 days before it
    assert f["item_viewers_7d"][1] == 0 and f["item_age_days"][1] == pytest.approx(5.0)
    assert f["item_mean_value"][1] == pytest.approx((0.8 + 0.4) / 2)  # no views: the prior (mean value)
    assert f["user_views"][2] == 0 and f["user_streamer_days_since"][2] == 30.0  # user 1: nothing before
    assert cats.tolist() == [[0, 1], [1, 3], [1, 3]]
    assert pref[0] == pytest.approx(math.log1p(0.8)) and pref[2] == 0


def test_training_pairs_label_the_label_window_and_sample_unwatched_negatives():
    start = 10 * DAY
    log = log_of([(0, 0, 9 * DAY, 0.5), (0, 1, start + 5, 0.3), (0, 1, start + 9, 0.9), (1, 2, start + 1, 0.2)])
    users, items, y_watch, y_value = ranker_data.training_pairs(log, catalogue(), start, start + DAY, 3, seed=4)
    pos = {(u, i): v for u, i, w, v in zip(users, items, y_watch, y_value, strict=True) if w == 1}
    assert pos == {(0, 1): pytest.approx(0.9), (1, 2): pytest.approx(0.2)}  # best value of the day
    neg = {(u, i) for u, i, w in zip(users, items, y_watch, strict=True) if w == 0}
    assert neg and not neg & set(pos)
    assert all(catalogue().created_ts[i] < start + DAY for _, i in neg)
    assert not np.any((y_watch == 0) & (y_value != 0))
    with pytest.raises(ValueError, match="negatives=0"):
        ranker_data.training_pairs(log, catalogue(), start, start + DAY, 0, seed=4)


def test_list_helpers():
    users = np.array([3, 3, 3, 7, 9, 9])
    assert rerank(users).tolist() == [1, 2, 3, 1, 1, 2]
    assert _position_from_end(users).tolist() == [2, 1, 0, 0, 1, 0]
    log = log_of([(0, 4, 1, 1.0), (0, 5, 2, 0.0), (1, 4, 1, 0.5), (1, 4, 3, 0.5)])
    u, i = seen_pairs(log)
    assert sorted(zip(u.tolist(), i.tolist(), strict=True)) == [(0, 4), (0, 5), (1, 4)]
    hu, hi, hw = history_weights(log, history_items=1)  # each user's latest view only, at full weight
    assert hu.tolist() == [0, 1] and hi.tolist() == [5, 4]
    assert hw.tolist() == pytest.approx([0.05, 0.55])


def test_list_ids_are_taken_from_the_vocabulary():
    from watchhouse.ml.data import _repeated, id_strings

    ids = np.array(["u10", "u2", "u7"], dtype=object)
    assert id_strings(ids, np.array([2, 0, 2, 1])).to_pylist() == ["u7", "u10", "u7", "u2"]
    assert id_strings(ids, np.array([], dtype=np.int64)).to_pylist() == []
    assert _repeated("two_tower", 3, pa.string()).to_pylist() == ["two_tower"] * 3
    assert _repeated(D, 0, pa.date32()).to_pylist() == []


def test_torch_threads_never_exceed_the_cores_left_by_dbt_threads():
    assert MLParams().torch_threads(cores=2) == 1  # the default: one thread
    assert MLParams(threads=2).torch_threads(cores=2) == 2  # dbt runs one model at a time: both cores
    assert MLParams(threads=2, dbt_threads=2).torch_threads(cores=2) == 1  # two models side by side: one each
    assert MLParams(threads=4, dbt_threads=2).torch_threads(cores=8) == 4
    assert MLParams(threads=2, dbt_threads=4).torch_threads(cores=2) == 1  # never below one
    p = MLParams.from_config({"threads": "2", "dbt_threads": "2"})
    assert (p.threads, p.dbt_threads) == (2, 2)


def test_duration_buckets_and_params():
    assert duration_bucket(np.array([10, 30, 59, 60, 3600, 10**7, np.nan])).tolist() == [0, 0, 0, 1, 6, 9, 0]
    p = MLParams.from_config({"window_days": "7", "fusion_inputs": '{"als": 2}', "quant_low_fraction": "0.25"})
    assert p.window_days == 7 and dict(p.fusion_inputs) == {"als": 2.0} and p.quant_low_fraction == 0.25
    with pytest.raises(ValueError, match="unknown ml params"):
        MLParams.from_config({"windows": "7"})
    with pytest.raises(ValueError, match="window_days"):
        MLParams.from_config({"window_days": "seven"})
    with pytest.raises(ValueError, match="quant bits"):
        MLParams.from_config({"quant_low_bits": "8"})


# ---------------------------------------------------------------- one read of the training window per run


def _window_tables(spark, root, shift: float = 0.0):
    """Parquet-backed views, vods and id map of a tiny batch (files, as dbt's tables are)."""
    ts = dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC)
    views = [
        (f"u{u}", f"v{(u * 3 + j) % 6}", ts + dt.timedelta(hours=j + u), 0.1 * j + shift)
        for u in range(5)
        for j in range(4)
    ]
    vods = [(f"v{i}", f"s{i % 2}", f"c{i % 3}", "replay", 60.0 * (i + 1), ts - dt.timedelta(days=3)) for i in range(6)]
    ids = [("user", f"u{u}", u) for u in range(5)] + [("vod", f"v{i}", i) for i in range(6)]
    ids += [("streamer", f"s{i}", i) for i in range(2)] + [("category", f"c{i}", i) for i in range(3)]
    ids += [("vod_type", "replay", 0)]
    frames = {
        "views": spark.createDataFrame(views, "user_id string, vod_id string, started_at timestamp, view_value double"),
        "vods": spark.createDataFrame(
            vods,
            "vod_id string, streamer_id string, category string, vod_type string, duration_seconds double, "
            "created_at timestamp",
        ),
        "id_map": spark.createDataFrame(ids, "entity_type string, entity_id string, idx int"),
    }
    out = []
    for name, frame in frames.items():
        frame.write.mode("overwrite").parquet(str(root / name))
        out.append(spark.read.parquet(str(root / name)))
    return out


def _same_window(a, b):
    for part in ("log", "train"):
        for col in ("user", "item", "ts", "value"):
            assert np.array_equal(getattr(getattr(a, part), col), getattr(getattr(b, part), col)), (part, col)
    for col in ("streamer", "category", "vod_type", "duration_bucket", "created_ts"):
        assert np.array_equal(getattr(a.catalogue, col), getattr(b.catalogue, col)), col
    assert all(np.array_equal(a.vocab.ids[k], b.vocab.ids[k]) for k in a.vocab.ids)
    assert np.array_equal(a.val_users, b.val_users) and np.array_equal(a.val_items, b.val_items)


def test_the_window_is_read_once_per_run_and_equals_a_fresh_read(spark, tmp_path):
    from watchhouse.ml.jobs.common import WindowCache, load_batch, read_window, window_key

    views, vods, id_map = _window_tables(spark, tmp_path)
    params = MLParams(validation_users=2)
    cache = WindowCache()
    first = load_batch(spark, views, vods, id_map, D - dt.timedelta(days=1), params, tmp_path, cache=cache)
    again = load_batch(spark, views, vods, id_map, D - dt.timedelta(days=1), params, tmp_path, cache=cache)
    assert cache.reads == 1 and again.log is first.log  # the second model reuses the first one's arrays
    assert len(first.log) == 20 and len(first.val_users) == 2
    _same_window(first, read_window(views, vods, id_map, D - dt.timedelta(days=1), params))  # = a per-model read
    with pytest.raises(ValueError, match="read-only"):
        first.log.item[0] = 99  # one model cannot change what the next reads

    # another batch, other params, a rebuilt input table: another key; frames without files: no key
    key = window_key(views, vods, id_map, D - dt.timedelta(days=1), params)
    views2, _, _ = _window_tables(spark, tmp_path / "rebuilt", shift=0.5)
    assert key == window_key(
        spark.read.parquet(str(tmp_path / "views")), vods, id_map, D - dt.timedelta(days=1), params
    )
    assert key != window_key(views, vods, id_map, D, params)
    assert key != window_key(views, vods, id_map, D - dt.timedelta(days=1), MLParams(validation_users=3))
    assert key != window_key(views2, vods, id_map, D - dt.timedelta(days=1), params)
    assert window_key(spark.createDataFrame(views.collect(), views.schema), vods, id_map, D, params) is None
    rebuilt = load_batch(spark, views2, vods, id_map, D - dt.timedelta(days=1), params, tmp_path, cache=cache)
    assert cache.reads == 2 and rebuilt.log.value.min() == pytest.approx(0.5)
    uncached = WindowCache()
    assert uncached.get(None, lambda: first_window(first)) and uncached.get(None, lambda: first_window(first))
    assert uncached.reads == 2  # no key: read every time


def first_window(batch):
    from watchhouse.ml.jobs.common import Window

    return Window(batch.vocab, batch.catalogue, batch.log, batch.train, batch.val_users, batch.val_items)


def test_lists_through_parquet_equal_lists_through_arrow(spark, tmp_path):
    """The file hand-off (what the jobs use: Spark reads the rows in tasks instead of holding one
    Arrow table on the driver's heap) gives the same rows and types as the in-memory one; a second
    list of the same name replaces the first's file, while another name keeps its own."""
    from watchhouse.ml.data import lists_frame

    users, items = np.array(["u1", "u1", "u2"]), np.array(["v9", "v3", "v9"])
    ranks, scores = np.array([1, 2, 1]), np.array([0.75, 0.5, 0.25])
    direct = lists_frame(spark, "m", D, users, items, ranks, scores)
    on_disk = lists_frame(spark, "m", D, users, items, ranks, scores, folder=tmp_path)
    assert on_disk.schema == direct.schema
    assert sorted(on_disk.collect()) == sorted(direct.collect())
    assert sorted(r.item_id for r in on_disk.collect()) == ["v3", "v9", "v9"]
    lists_frame(spark, "other", D, users[:1], items[:1], ranks[:1], scores[:1], folder=tmp_path)
    again = lists_frame(spark, "m", D, users[:2], items[:2], ranks[:2], scores[:2], folder=tmp_path)
    assert len(list((tmp_path / "m").glob("*.parquet"))) == 1
    assert len(list((tmp_path / "other").glob("*.parquet"))) == 1
    assert again.count() == 2


def test_catalogue_keeps_vods_of_no_category_and_of_unknown_age(spark):
    """A null category (the contract allows it) is the id map's '(unknown)' member, not a dropped VOD
    (the catalogue would disagree with ml_id_map); a nulled created_at counts as the oldest known."""
    vods = spark.createDataFrame(
        [
            ("v1", "s1", "music", "clip", 30.0, dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
            ("v2", "s1", None, "clip", 30.0, dt.datetime(2026, 11, 5, tzinfo=dt.UTC)),
            ("v3", "s1", "music", "replay", None, None),
        ],
        "vod_id string, streamer_id string, category string, vod_type string, duration_seconds double,"
        " created_at timestamp",
    )
    entities = {"vod": ["v1", "v2", "v3"], "streamer": ["s1"], "category": [UNKNOWN_ENTITY, "music"],
                "vod_type": ["clip", "replay"], "user": ["u1"]}  # fmt: skip
    id_map = spark.createDataFrame(
        [(t, e, i) for t, ids in entities.items() for i, e in enumerate(sorted(ids))],
        "entity_type string, entity_id string, idx int",
    )
    vocab = load_vocab(id_map)
    catalogue = load_catalogue(vods, id_map, vocab)
    items = vocab.index("vod", ["v1", "v2", "v3"])
    assert catalogue.category[items].tolist() == vocab.index("category", ["music", UNKNOWN_ENTITY, "music"]).tolist()
    oldest = int(dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())
    assert catalogue.created_ts[items].tolist() == [oldest, oldest + 4 * DAY, oldest]
