"""Precision / recall of the abuse filter on a hand-computed case."""

import pandas as pd
import pytest

from watchhouse.quality.abuse_eval import abuse_scores


def test_scores_on_hand_case():
    labels = pd.DataFrame({"event_id": ["b1", "b2", "b3", "f1", "f2"], "abuse_kind": ["bot"] * 3 + ["view_farm"] * 2})
    # flagged: b1, b2 as bot (right), f1 as bot (wrong kind, still abuse), n1 as view_farm (a false alarm)
    flags = pd.DataFrame({"event_id": ["b1", "b2", "f1", "n1"], "abuse_kind": ["bot", "bot", "bot", "view_farm"]})
    s = abuse_scores(flags, labels)
    assert s["overall"]["precision"] == pytest.approx(3 / 4)  # b1 b2 f1 of b1 b2 f1 n1
    assert s["overall"]["recall"] == pytest.approx(3 / 5)  # b1 b2 f1 of five labelled
    assert s["bot"]["precision"] == pytest.approx(2 / 3)  # b1 b2 of b1 b2 f1
    assert s["bot"]["recall"] == pytest.approx(2 / 3)  # b1 b2 of b1 b2 b3
    assert s["view_farm"]["precision"] == 0.0  # n1 only
    assert s["view_farm"]["recall"] == pytest.approx(1 / 2)  # f1 flagged (as bot), f2 missed


def test_nothing_flagged_nothing_labelled_is_perfect_not_a_crash():
    empty = pd.DataFrame({"event_id": [], "abuse_kind": []})
    assert abuse_scores(empty, empty)["overall"] == {"precision": 1.0, "recall": 1.0, "flagged": 0, "labelled": 0}


def _parquet(folder, frame: pd.DataFrame) -> None:
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "part-0.parquet", index=False)


def test_farm_gain_compares_each_farmed_vods_clean_views_with_its_organic_ones(tmp_path):
    from watchhouse.quality.abuse_robustness import farm_gain

    # VOD a: 10 organic views (one an honest view flagged), 5 farm views of which 3 flagged -> 11 clean / 10
    # VOD b: 4 organic views, 4 farm views none flagged -> 8 clean / 4; VOD c: no farm, not counted
    organic_a, farm_a = [f"a{i}" for i in range(10)], [f"fa{i}" for i in range(5)]
    organic_b, farm_b = [f"b{i}" for i in range(4)], [f"fb{i}" for i in range(4)]
    flagged = ["a0", "fa0", "fa1", "fa2"]
    views = [(e, "a") for e in organic_a + farm_a] + [(e, "b") for e in organic_b + farm_b] + [("c0", "c")]
    frame = pd.DataFrame(views, columns=["event_id", "vod_id"])
    landing, marts = tmp_path / "landing", tmp_path / "marts"
    _parquet(landing / "abuse_labels", pd.DataFrame({"event_id": farm_a + farm_b, "abuse_kind": "view_farm"}))
    _parquet(marts / "view_valuations", frame[~frame.event_id.isin(flagged)])
    _parquet(marts / "abuse_flags", frame[frame.event_id.isin(flagged)])
    gain = farm_gain(landing, marts)
    assert gain == {"vods": 2, "max_ratio": pytest.approx(2.0), "within_10pct": pytest.approx(0.5)}
    # a farm whose target no one else watched, all of its views flagged: no ratio to take, nothing gained
    only = frame[frame.vod_id == "b"].assign(vod_id="d")
    only = only[only.event_id.str.startswith("f")]
    landing2, marts2 = tmp_path / "landing2", tmp_path / "marts2"
    _parquet(landing2 / "abuse_labels", pd.DataFrame({"event_id": only.event_id, "abuse_kind": "view_farm"}))
    _parquet(marts2 / "view_valuations", only.iloc[:0])
    _parquet(marts2 / "abuse_flags", only)
    assert farm_gain(landing2, marts2) == {"vods": 1, "max_ratio": None, "within_10pct": 1.0}
