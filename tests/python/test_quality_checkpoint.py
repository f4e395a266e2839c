"""The GE runner (watchhouse.quality.checkpoint) on a pandas frame, without Spark."""

from __future__ import annotations

import datetime as dt
import types

import great_expectations as gx
import pandas as pd

from watchhouse.quality.checkpoint import run_suites


def _suite() -> types.ModuleType:
    suite = types.ModuleType("toy_suite")
    suite.SUITE, suite.FRAME = "toy", "toy"
    suite.expectations = lambda params: [
        gx.expectations.ExpectColumnValuesToBeBetween(column="share", min_value=0, max_value=params["max"]),
        gx.expectations.ExpectColumnValuesToNotBeNull(column="share"),
    ]
    return suite


def test_results_per_expectation_and_no_progress_bars_in_the_log(tmp_path, capfd):
    frame = pd.DataFrame({"share": [0.1, 0.2, 0.9]})
    rows = run_suites({"toy": frame}, [_suite()], {"max": 0.5}, tmp_path / "ge", dt.date(2026, 11, 20))
    by_check = rows.set_index("check_name")
    # 0.9 > 0.5: one unexpected value of three; no nulls
    assert not by_check.loc["expect_column_values_to_be_between", "success"]
    assert by_check.loc["expect_column_values_to_be_between", "unexpected_count"] == 1
    assert by_check.loc["expect_column_values_to_not_be_null", "success"]
    # GE draws a "Calculating Metrics" tqdm bar per validation unless progress bars are off
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err
