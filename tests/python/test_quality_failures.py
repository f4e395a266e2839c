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
