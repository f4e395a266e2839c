"""The GE runner (watchhouse.quality.checkpoint) on pandas frames, without Spark: severities, messages that
name the entities a check is about, and the suite modules' contract."""

from __future__ import annotations

import datetime as dt
import json
import types
from pathlib import Path

import great_expectations as gx
import pandas as pd
import pytest

from watchhouse.quality.checkpoint import Batch, build_frames, load_suites, run_suites

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 20)


def _suite(entity: str | None = None) -> types.ModuleType:
    suite = types.ModuleType("toy_suite")
    suite.SUITE, suite.READS = "toy", ("toy_mart",)
    suite.frame = lambda marts, batch: marts["toy_mart"]
    if entity:
        suite.ENTITY = entity
    suite.expectations = lambda params: [
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="share", min_value=0, max_value=params["max"], severity="warning"
        ),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="share", severity="critical"),
    ]
    return suite


def _run(frame: pd.DataFrame, suite: types.ModuleType, tmp_path, max_share=0.5) -> pd.DataFrame:
    rows = run_suites({suite.SUITE: frame}, [suite], {"max": max_share}, tmp_path / "ge", DAY)
    return rows.set_index("check_name")


def test_results_per_expectation_and_no_progress_bars_in_the_log(tmp_path, capfd):
    rows = _run(pd.DataFrame({"share": [0.1, 0.2, 0.9]}), _suite(), tmp_path)
    # 0.9 > 0.5: one unexpected value of three; no nulls
    assert not rows.loc["expect_column_values_to_be_between", "success"]
    assert rows.loc["expect_column_values_to_be_between", "unexpected_count"] == 1
    assert rows.loc["expect_column_values_to_not_be_null", "success"]
    # GE draws a "Calculating Metrics" tqdm bar per validation unless progress bars are off
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err


def test_each_result_carries_its_severity_in_dbt_words(tmp_path):
    rows = _run(pd.DataFrame({"share": [0.1]}), _suite(), tmp_path)
    # GE "warning" publishes (warn); GE "critical" blocks the publish (error)
    assert rows.severity.to_dict() == {
        "expect_column_values_to_be_between": "warn",
        "expect_column_values_to_not_be_null": "error",
    }
    assert rows.loc["expect_column_values_to_be_between", "message"] == "ok: share within [0, 0.5]"


def test_a_failing_per_entity_check_names_every_entity_and_its_value(tmp_path):
    frame = pd.DataFrame({"vod_id": ["v1", "v2", "v3", "v4"], "share": [0.1, 0.9, 0.5, 0.75]})
    rows = _run(frame, _suite(entity="vod_id"), tmp_path)
    between = rows.loc["expect_column_values_to_be_between"]
    # by hand: v2 (0.9) and v4 (0.75) are over 0.5, v2 furthest; v3 at exactly 0.5 is inside
    assert json.loads(between.exceptions) == [
        {"entity_id": "v2", "observed_number": 0.9},
        {"entity_id": "v4", "observed_number": 0.75},
    ]
    assert between.message == "2 of 4 vod_ids have share outside [0, 0.5]: v2 0.9, v4 0.75"
    assert rows.loc["expect_column_values_to_not_be_null", "exceptions"] is None


def test_a_long_list_of_entities_is_cut_in_the_message_but_complete_in_exceptions(tmp_path):
    frame = pd.DataFrame({"vod_id": [f"v{i:02d}" for i in range(30)], "share": [0.6 + i / 100 for i in range(30)]})
    between = _run(frame, _suite(entity="vod_id"), tmp_path).loc["expect_column_values_to_be_between"]
    assert len(json.loads(between.exceptions)) == 30
    # worst first: v29 (0.89) furthest over 0.5, then v28 ...
    assert between.message.startswith("30 of 30 vod_ids have share outside [0, 0.5]: v29 0.89, v28 0.88,")
    assert between.message.endswith("v20 0.8 (+20 more in marts.quality_exceptions)")


def test_a_one_row_frame_names_the_value(tmp_path):
    between = _run(pd.DataFrame({"share": [0.399]}), _suite(), tmp_path, max_share=0.15).loc[
        "expect_column_values_to_be_between"
    ]
    assert between.message == "share = 0.399, outside [0, 0.15]"
    assert between.observed_number == pytest.approx(0.399)


def test_a_suite_reading_a_relation_it_was_not_given_is_refused():
    suite = _suite()
    suite.READS = ("toy_mart", "int_secret")
    with pytest.raises(ValueError, match=r"suite toy reads int_secret, which data_quality_results does not ref; "
                       r"add dbt.ref\('int_secret'\)"):  # fmt: skip
        build_frames([suite], {"toy_mart": pd.DataFrame()}, Batch(DAY, {}))
    # a frame sees only what it declares
    seen = {}
    suite.READS = ("toy_mart",)
    suite.frame = lambda marts, batch: seen.update(marts=set(marts), batch=batch) or pd.DataFrame()
    build_frames([suite], {"toy_mart": pd.DataFrame(), "other": pd.DataFrame()}, Batch(DAY, {"abuse_share": 0.1}))
    assert seen == {"marts": {"toy_mart"}, "batch": Batch(DAY, {"abuse_share": 0.1})}


def test_a_suite_module_missing_its_contract_is_refused(tmp_path):
    (tmp_path / "half.py").write_text('SUITE = "half"\nREADS = ()\n')
    with pytest.raises(ValueError, match=r"half.py: a suite module needs .*; frame, expectations missing"):
        load_suites(tmp_path)


# The decision in docs/quality.md "Severity", written out by hand: error = the published numbers would be
# wrong or a view was lost; warn = a distribution moved, an attack was caught, or one entity stands out
PROJECT_SEVERITIES = {
    ("batch_health", "reconciliation_gap"): ["error"],
    ("batch_health", "abuse_share"): ["warn"],
    ("batch_health", "abuse_share_change"): ["warn"],
    ("batch_health", "batch_views_ratio"): ["warn"],
    ("view_valuations", "mean_view_value"): ["warn"],
    ("view_valuations", "mean_watch_ratio"): ["error", "warn"],
    ("view_valuations", "median_watch_ratio"): ["error"],
    ("vod_quality_scores", "quality_score"): ["error", "error", "warn"],
    ("vod_quality_scores", "abuse_share"): ["error"],
    ("watch_time_concentration", "max_account_share"): ["warn"],
    ("watch_time_concentration", "max_ip_share"): ["warn"],
}


def test_the_project_suites_have_the_documented_severities():
    params = {
        "quality_abuse_share": [0, 0.15], "quality_abuse_share_change_max": 0.05,
        "quality_batch_views_ratio": [0.5, 2], "quality_mean_view_value": [0.45, 0.55],
        "quality_mean_quality_score": [0.4, 0.6], "quality_max_account_share": 0.5, "quality_max_ip_share": 0.5,
    }  # fmt: skip
    got: dict[tuple[str, str], list[str]] = {}
    from watchhouse.quality.checkpoint import SEVERITIES

    for module in load_suites(ROOT / "expectations"):
        for expectation in module.expectations(params):
            config = expectation.configuration
            column = config.kwargs.get("column") or config.kwargs.get("column_A")
            got.setdefault((module.SUITE, column), []).append(SEVERITIES[expectation.severity.value])
    assert {k: sorted(v) for k, v in got.items()} == PROJECT_SEVERITIES


def test_entities_below_a_lower_bound_are_ordered_by_how_far_below(tmp_path):
    suite = _suite(entity="vod_type")
    suite.expectations = lambda params: [
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="share", min_value=0.45, max_value=0.55, severity="warning"
        )
    ]
    frame = pd.DataFrame({"vod_type": ["clip", "replay", "upload", "shortform"], "share": [0.40, 0.5, 0.3, 0.57]})
    between = _run(frame, suite, tmp_path).loc["expect_column_values_to_be_between"]
    # distances outside [0.45, 0.55]: upload 0.15, clip 0.05, shortform 0.02; replay is inside
    assert [e["entity_id"] for e in json.loads(between.exceptions)] == ["upload", "clip", "shortform"]


def test_frames_are_in_entity_order_whatever_order_spark_returns():
    suite = _suite(entity="vod_id")
    shuffled = pd.DataFrame({"vod_id": ["v3", "v1", "v2"], "share": [0.3, 0.1, 0.2]})
    frame = build_frames([suite], {"toy_mart": shuffled}, Batch(DAY, {}))["toy"]
    assert frame.vod_id.tolist() == ["v1", "v2", "v3"] and frame.index.tolist() == [0, 1, 2]
