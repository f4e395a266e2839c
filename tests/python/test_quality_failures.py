"""What a failed build prints about its failed checks (watchhouse.quality.failures), on hand-written
build-state tables: the tables over their quarantine bound, with counts and the reasons that took most."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from watchhouse.quality import failures


def _write(warehouse, mart: str, frame: pd.DataFrame) -> None:
    folder = warehouse / "marts.db" / mart
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "part-00000.parquet", index=False)


def test_quarantine_shares_over_bound_names_tables_counts_and_top_reasons(tmp_path):
    day, other = dt.date(2026, 11, 20), dt.date(2026, 11, 19)
    _write(tmp_path, "landing_reconciliation", pd.DataFrame({
        "landing_table": ["vods", "watch_events", "users", "vods"],
        "batch_date": [day, day, day, other],
        "raw_rows": [100, 1000, 10, 50],
        "quarantined_rows": [95, 10, 9, 40],
        "quarantine_share": [0.95, 0.01, 0.9, 0.8],
        "is_quarantine_share_within_bound": [False, True, True, False],
    }))  # fmt: skip
    _write(tmp_path, "quarantine_summary", pd.DataFrame({
        "landing_table": ["vods", "vods", "vods", "watch_events"],
        "batch_date": [day, day, other, day],
        "quarantine_reason": ["duplicate_key", "unknown_streamer", "unknown_streamer", "unknown_vod"],
        "quarantined_rows": [5, 90, 40, 10],
    }))  # fmt: skip
    # only the batch asked for; vods of 11-19 is over its bound too, but not this batch's concern
    assert failures.quarantine_shares_over_bound(tmp_path, "2026-11-20") == [
        "vods: 95 of 100 rows of batch 2026-11-20 quarantined (share 0.95, over var quarantine_share_max); "
        "reasons: unknown_streamer 90, duplicate_key 5; rows in marts.quarantine_vods"
    ]
    assert failures.quarantine_shares_over_bound(tmp_path, "2026-11-18") == []


def test_nothing_to_say_before_the_marts_exist(tmp_path):
    assert failures.quarantine_shares_over_bound(tmp_path, "2026-11-20") == []
    assert failures.failing_quality_checks(tmp_path, "2026-11-20") == []


def test_failed_checks_split_by_severity_with_their_messages(tmp_path):
    day = dt.date(2026, 11, 20)
    run = dt.datetime(2026, 11, 21, 3)
    base = {"run_id": "r2", "run_at": run, "batch_date": day, "check_name": "expect_column_values_to_be_between",
            "observed_value": None, "unexpected_count": 1}  # fmt: skip
    _write(tmp_path, "data_quality_results", pd.DataFrame([
        {**base, "suite": "batch_health", "column_name": "abuse_share", "success": False, "severity": "warn",
         "message": "abuse_share = 0.399, outside [0, 0.15]"},
        {**base, "suite": "vod_quality_scores", "column_name": "quality_score", "success": False,
         "severity": "error", "message": "1 of 9 vod_ids have quality_score outside [0, 1]: v3 1.2"},
        {**base, "suite": "batch_health", "column_name": "reconciliation_gap", "success": True, "severity": "error",
         "message": "ok"},
        # an earlier run of the same batch: not the latest, so not reported
        {**base, "run_at": dt.datetime(2026, 11, 21, 1), "suite": "batch_health", "column_name": "batch_views_ratio",
         "success": False, "severity": "warn", "message": "old"},
    ]))  # fmt: skip
    assert failures.failing_quality_checks(tmp_path, "2026-11-20") == [
        "vod_quality_scores.expect_column_values_to_be_between(quality_score): "
        "1 of 9 vod_ids have quality_score outside [0, 1]: v3 1.2"
    ]
    assert failures.failing_quality_checks(tmp_path, "2026-11-20", severity="warn") == [
        "batch_health.expect_column_values_to_be_between(abuse_share): abuse_share = 0.399, outside [0, 0.15]"
    ]


def test_a_partition_from_before_severities_counts_as_error(tmp_path):
    # written before the severity and message columns were appended: it blocked then, so it reads as error
    old = pd.DataFrame([{"run_id": "r1", "run_at": dt.datetime(2026, 11, 20, 3), "batch_date": dt.date(2026, 11, 19),
                         "suite": "batch_health", "check_name": "expect_x", "column_name": "abuse_share",
                         "success": False, "observed_value": "0.4", "unexpected_count": 1}])  # fmt: skip
    new = old.assign(batch_date=dt.date(2026, 11, 20), success=True, severity="warn", message="ok")
    folder = tmp_path / "marts.db" / "data_quality_results"
    for frame, name in ((old, "batch_date=2026-11-19"), (new, "batch_date=2026-11-20")):
        (folder / name).mkdir(parents=True)
        frame.drop(columns="batch_date").to_parquet(folder / name / "part-0.parquet", index=False)
    assert failures.failing_quality_checks(tmp_path, "2026-11-19") == [
        "batch_health.expect_x(abuse_share) observed=0.4 unexpected=1"
    ]
    assert failures.failing_quality_checks(tmp_path, "2026-11-19", severity="warn") == []


def test_a_partial_build_without_quarantine_summary_still_names_the_tables(tmp_path):
    day = dt.date(2026, 11, 20)
    _write(tmp_path, "landing_reconciliation", pd.DataFrame({
        "landing_table": ["watch_events"], "batch_date": [day], "raw_rows": [1000], "quarantined_rows": [12],
        "quarantine_share": [0.012], "is_quarantine_share_within_bound": [False],
    }))  # fmt: skip
    assert failures.quarantine_shares_over_bound(tmp_path, "2026-11-20") == [
        "watch_events: 12 of 1,000 rows of batch 2026-11-20 quarantined (share 0.01, over var quarantine_share_max); "
        "reasons: see marts.quarantine_summary; rows in marts.quarantine_watch_events"
    ]
