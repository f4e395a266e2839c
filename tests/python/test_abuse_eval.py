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
