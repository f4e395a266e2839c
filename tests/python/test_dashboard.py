"""The dashboard's numbers on hand-made marts (no Spark), its exposure, and the empty state."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from watchhouse.dashboard import DASHBOARD_MARTS, SECTIONS, build_dashboard
from watchhouse.dashboard.quality import abuse_share, failed_checks_of_batch, latest_failures, row_count_drift
from watchhouse.dashboard.valuation import top_vods_per_category, watch_ratio_histogram
from watchhouse.marts import Marts

REPO = Path(__file__).resolve().parents[2]
D = dt.date(2026, 11, 20)


def write_mart(home: Path, name: str, rows: list[dict], partition_by_batch: bool = False) -> None:
    folder = home / "warehouse" / "marts.db" / name
    frame = pd.DataFrame(rows)
    if partition_by_batch:  # Spark's layout: batch_date=YYYY-MM-DD folders, the column not in the files
        for batch, part in frame.groupby("batch_date"):
            target = folder / f"batch_date={batch}"
            target.mkdir(parents=True)
            pq.write_table(pa.Table.from_pandas(part.drop(columns="batch_date"), preserve_index=False),
                           target / "part-0.parquet")  # fmt: skip
    else:
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / "part-0.parquet")


def day(n: int) -> dt.date:
    return D - dt.timedelta(days=n)


def test_abuse_share_is_flagged_views_over_the_days_accepted_views(tmp_path):
    # day 1: 4 accepted views, 1 bot + 2 view_farm; day 0: 10 accepted views, 1 bot
    write_mart(tmp_path, "landing_reconciliation", [
        {"landing_table": "watch_events", "batch_date": day(1), "raw_rows": 5, "accepted_rows": 4,
         "built_for_batch": D},
        {"landing_table": "watch_events", "batch_date": day(0), "raw_rows": 10, "accepted_rows": 10,
         "built_for_batch": D},
        {"landing_table": "vods", "batch_date": day(0), "raw_rows": 99, "accepted_rows": 99, "built_for_batch": D},
        # an older build's row for the same day must not count
        {"landing_table": "watch_events", "batch_date": day(1), "raw_rows": 8, "accepted_rows": 8,
         "built_for_batch": day(1)},
    ])  # fmt: skip
    kinds = [(day(1), "bot"), (day(1), "view_farm"), (day(1), "view_farm"), (day(0), "bot")]
    write_mart(tmp_path, "abuse_flags", [{"event_id": f"e{i}", "batch_date": d, "abuse_kind": k}
                                         for i, (d, k) in enumerate(kinds)], partition_by_batch=True)  # fmt: skip
    with Marts(tmp_path / "warehouse") as marts:
        got = abuse_share(marts)
    got["batch_date"] = pd.to_datetime(got.batch_date).dt.date
    expected = {(day(1), "bot"): 1 / 4, (day(1), "view_farm"): 2 / 4, (day(0), "bot"): 1 / 10}
    assert {(r.batch_date, r.abuse_kind): r.abuse_share for r in got.itertuples()} == pytest.approx(expected)


def test_row_count_drift_divides_by_the_median_of_the_previous_days(tmp_path):
    counts = [100, 200, 120, 400]  # oldest first
    write_mart(tmp_path, "landing_reconciliation", [
        {"landing_table": "watch_events", "batch_date": day(3 - i), "raw_rows": n, "accepted_rows": n,
         "built_for_batch": D} for i, n in enumerate(counts)
    ])  # fmt: skip
    with Marts(tmp_path / "warehouse") as marts:
        got = row_count_drift(marts, window=2)
    # day 2: 200 / median(100) = 2; day 1: 120 / median(100, 200) = 0.8; day 0: 400 / median(200, 120) = 2.5
    assert got.ratio.tolist() == pytest.approx([2.0, 0.8, 2.5])
    assert got.baseline.tolist() == pytest.approx([100, 150, 160])


def test_watch_ratio_bins_and_shares_per_type(tmp_path):
    ratios = {"clip": [0.0, 0.04, 0.05, 0.99], "replay": [1.0, 1.0, 0.5]}
    write_mart(tmp_path, "view_valuations", [{"event_id": f"{t}{i}", "vod_type": t, "watch_ratio": r}
                                             for t, rs in ratios.items() for i, r in enumerate(rs)])  # fmt: skip
    with Marts(tmp_path / "warehouse") as marts:
        got = watch_ratio_histogram(marts, bins=20)
    shares = {(r.vod_type, int(r.bin)): r.share for r in got.itertuples()}
    assert shares == pytest.approx({("clip", 0): 0.5, ("clip", 1): 0.25, ("clip", 19): 0.25,
                                    ("replay", 10): 1 / 3, ("replay", 20): 2 / 3})  # fmt: skip


def test_latest_failures_lists_only_failed_checks_of_the_latest_failing_runs(tmp_path):
    runs = [("r1", 1, [True, False]), ("r2", 2, [False, True]), ("r3", 3, [True, True])]
    write_mart(tmp_path, "data_quality_results", [
        {"run_id": rid, "run_at": dt.datetime(2026, 11, 20, hour), "batch_date": D, "suite": "batch_health",
         "check_name": "expect_x", "column_name": f"c{j}", "success": ok, "observed_value": str(j),
         "unexpected_count": 0 if ok else 3, "element_count": 10, "severity": "error", "message": f"c{j} = {j}"}
        for rid, hour, oks in runs for j, ok in enumerate(oks)
    ])  # fmt: skip
    with Marts(tmp_path / "warehouse") as marts:
        assert latest_failures(marts, runs=1).column_name.tolist() == ["c0"]  # r2's failure; r3 passed
        both = latest_failures(marts, runs=5)
    assert list(zip(both.run_at.dt.hour, both.column_name, strict=True)) == [(2, "c0"), (1, "c1")]


def test_top_vods_per_category_by_lower_bound_then_viewers(tmp_path):
    vods = [  # (vod, category, lower, viewers)
        ("a", "chess", 0.7, 10),
        ("b", "chess", 0.9, 5),
        ("c", "chess", 0.7, 50),
        ("d", "chess", 0.2, 99),
        ("e", "art", 0.3, 1),
        ("f", "art", 0.9, 0),  # f has no clean viewer: not ranked
    ]
    write_mart(tmp_path, "vod_quality_scores", [
        {"vod_id": v, "streamer_id": "s", "category": c, "vod_type": "clip", "quality_score_lower": low,
         "quality_score": low + 0.05, "clean_viewers": n, "batch_date": D} for v, c, low, n in vods
    ], partition_by_batch=True)  # fmt: skip
    with Marts(tmp_path / "warehouse") as marts:
        got = top_vods_per_category(marts, per_category=3)
    assert list(zip(got.category, got["rank"], got.vod_id, strict=True)) == [
        ("art", 1, "e"), ("chess", 1, "b"), ("chess", 2, "c"), ("chess", 3, "a"),
    ]  # fmt: skip


def test_an_empty_warehouse_gives_a_page_that_says_so_in_every_panel(tmp_path):
    result = build_dashboard(tmp_path)
    assert set(result.panels.values()) == {"empty"}
    page = result.path.read_text()
    assert page.count('class="empty"') == len(result.panels) == sum(len(specs) for *_, specs in SECTIONS)
    assert "No data yet: mart" in page
    assert (tmp_path / "dashboard" / "plotly.min.js").stat().st_size > 1_000_000  # bundled, not a CDN link
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://cdn" not in page


def test_the_dashboard_exposure_declares_exactly_the_marts_the_dashboard_reads():
    exposures = yaml.safe_load((REPO / "models" / "exposures.yml").read_text())["exposures"]
    dashboard = next(e for e in exposures if e["type"] == "dashboard")
    declared = sorted(ref.split("'")[1] for ref in dashboard["depends_on"])
    assert declared == sorted(DASHBOARD_MARTS)


def test_after_a_failed_run_the_quality_panels_show_that_run_under_a_notice(tmp_path):
    def results(root: Path, run_id: str, ok: bool) -> None:
        write_mart(root, "data_quality_results", [
            {"run_id": run_id, "run_at": dt.datetime(2026, 11, 20, 6), "batch_date": D, "suite": "batch_health",
             "check_name": "expect_x", "column_name": "abuse_share", "success": ok, "observed_value": "0.4",
             "unexpected_count": 0, "element_count": 1, "data_docs_path": "", "severity": "error",
             "message": "abuse_share = 0.4, outside [0, 0.15]"}
        ])  # fmt: skip

    results(tmp_path, "published-run", True)
    results(tmp_path / "build", "failed-run", False)  # the unpublished build state of the failed run
    marts_overrides = {"marts.data_quality_results": tmp_path / "build" / "warehouse" / "marts.db" /
                       "data_quality_results"}  # fmt: skip
    with Marts(tmp_path / "warehouse", overrides=marts_overrides) as marts:
        assert latest_failures(marts, runs=1).column_name.tolist() == ["abuse_share"]
    with Marts(tmp_path / "warehouse") as marts:
        assert latest_failures(marts, runs=1).empty

    page = build_dashboard(tmp_path, batch="2026-11-20", failed_run=tmp_path / "build" / "warehouse").path.read_text()
    assert "the run of batch 2026-11-20 FAILED and was not published" in page
    assert "abuse_share" in page
    assert "FAILED" not in build_dashboard(tmp_path, batch="2026-11-20").path.read_text()


def test_a_batch_published_with_warnings_says_so_at_the_top_and_names_the_entities(tmp_path):
    message = "1 of 40 vod_ids have max_account_share outside [0, 0.5]: v7 0.81"
    write_mart(tmp_path, "data_quality_results", [
        {"run_id": "r1", "run_at": dt.datetime(2026, 11, 20, 6), "batch_date": D, "suite": suite,
         "check_name": "expect_column_values_to_be_between", "column_name": column, "success": ok,
         "observed_value": None, "unexpected_count": 0 if ok else 1, "element_count": 40, "data_docs_path": "",
         "severity": severity, "message": text}
        for suite, column, ok, severity, text in [
            ("watch_time_concentration", "max_account_share", False, "warn", message),
            ("batch_health", "abuse_share", False, "warn", "abuse_share = 0.399, outside [0, 0.15]"),
            ("batch_health", "reconciliation_gap", True, "error", "ok: reconciliation_gap within [0, 0]"),
        ]
    ])  # fmt: skip
    with Marts(tmp_path / "warehouse") as marts:
        assert failed_checks_of_batch(marts, "2026-11-20") == {"warn": 2}
        assert failed_checks_of_batch(marts, "2026-11-19") == {}
        failures = latest_failures(marts)
    assert sorted(zip(failures.severity, failures.message, strict=True)) == [
        ("warn", "1 of 40 vod_ids have max_account_share outside [0, 0.5]: v7 0.81"),
        ("warn", "abuse_share = 0.399, outside [0, 0.15]"),
    ]
    page = build_dashboard(tmp_path, batch="2026-11-20").path.read_text()
    assert "WARNING: 2 data-quality check(s) of batch 2026-11-20 failed" in page
    assert "v7 0.81" in page and "FAILED" not in page
