"""watchhouse.arrivals on hand-made landing folders (no Spark): what arrived late, by how much,
which batches are re-run, and the registry published (and rolled back) with a version."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from watchhouse import arrivals, publish

D = dt.date.fromisoformat


def _events(landing: Path, rel: str, starts: list[str | None], column: str = "started_at") -> Path:
    """A watch/live events file at `rel` under the landing root, one row per start time (None: null)."""
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    ts = pa.array([s and dt.datetime.fromisoformat(s) for s in starts], pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"event_id": [f"e{i}" for i in range(len(starts))], column: ts}), path)
    return path


def _landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    for day, rows in [("2026-11-17", 3), ("2026-11-18", 2)]:
        _events(landing, f"watch_events/event_date={day}/part-0.parquet", [f"{day}T10:00:00+00:00"] * rows)
    _events(landing, "live_watch_events/part-0.parquet", ["2026-11-17T23:00:00+00:00"], "joined_at")
    return landing


def test_the_first_run_of_a_home_takes_every_file_as_on_time(tmp_path):
    landing = _landing(tmp_path)
    plan = arrivals.plan(landing, None, D("2026-11-18"), late_data_days=2)
    assert plan.reprocess == [] and plan.lines == [] and plan.quarantined_rows == 0
    assert sorted(plan.registry.files) == [
        "live_watch_events/part-0.parquet",
        "watch_events/event_date=2026-11-17/part-0.parquet",
        "watch_events/event_date=2026-11-18/part-0.parquet",
    ]
    assert {entry["arrived"] for entry in plan.registry.files.values()} == {None}
    folder = plan.write_arrivals(tmp_path / "build")
    assert (folder / "arrivals.json").read_text() == ""  # nothing late: the table is empty


def test_a_new_file_within_late_data_days_reruns_the_built_batches_from_its_day(tmp_path):
    landing = _landing(tmp_path)
    manifest = arrivals.plan(landing, None, D("2026-11-18"), 2).registry.published("2026-11-16")
    manifest["landing_files"]["batches"] = ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"]
    # batch 11-20 finds 4 rows of 11-18 (2 days late: re-processed) in a new file of an old partition
    _events(landing, "watch_events/event_date=2026-11-18/late.parquet", ["2026-11-18T12:00:00+00:00"] * 4)
    plan = arrivals.plan(landing, manifest, D("2026-11-20"), late_data_days=2)
    assert plan.reprocess == [D("2026-11-18"), D("2026-11-19")]  # built batches from the late day up to 11-20
    assert plan.quarantined_rows == 0
    assert plan.lines == [
        "watch_events/event_date=2026-11-18/late.parquet arrived at batch 2026-11-20 with rows of earlier days: "
        "4 of 2026-11-18 (re-processed)"
    ]
    assert plan.registry.files["watch_events/event_date=2026-11-18/late.parquet"]["arrived"] == "2026-11-20"
    rows = [json.loads(line) for line in (plan.write_arrivals(tmp_path / "build") / "arrivals.json").open()]
    assert rows == [
        {
            "table_name": "watch_events",
            "landing_file": "event_date=2026-11-18/late.parquet",
            "arrived_batch": "2026-11-20",
        }
    ]
    # with late_data_days=1 the same rows are 1 day too late: quarantined, nothing re-run
    plan = arrivals.plan(landing, manifest, D("2026-11-20"), late_data_days=1)
    assert plan.reprocess == [] and plan.quarantined_rows == 4
    assert plan.lines[0].endswith("more than late_data_days=1 late: 4 of 2026-11-18 quarantined as late_arrival")


def test_an_unpartitioned_file_is_dated_by_its_timestamps_and_split_by_lateness(tmp_path):
    landing = _landing(tmp_path)
    manifest = arrivals.plan(landing, None, D("2026-11-18"), 2).registry.published("2026-11-18")
    # one new live file: 2 rows of 11-19 (1 day late), 1 of 11-16 (4 days), 1 of 11-20 (on time), 1 null
    _events(
        landing,
        "live_watch_events/late.parquet",
        ["2026-11-19T01:00:00+00:00", "2026-11-19T23:59:59+00:00", "2026-11-16T05:00:00+00:00",
         "2026-11-20T00:00:00+00:00", None],
        "joined_at",
    )  # fmt: skip
    assert arrivals.event_days(landing, arrivals.scan(landing)["live_watch_events/late.parquet"]) == {
        D("2026-11-19"): 2,
        D("2026-11-16"): 1,
        D("2026-11-20"): 1,
    }
    plan = arrivals.plan(landing, manifest, D("2026-11-20"), late_data_days=2)
    assert plan.quarantined_rows == 1
    assert plan.reprocess == []  # 11-19 was never built by this home: nothing to redo
    assert plan.lines == [
        "live_watch_events/late.parquet arrived at batch 2026-11-20 with rows of earlier days: 2 of 2026-11-19 "
        "(re-processed)",
        "live_watch_events/late.parquet arrived at batch 2026-11-20 more than late_data_days=2 late: "
        "1 of 2026-11-16 quarantined as late_arrival",
    ]


def test_a_rewritten_file_keeps_its_arrival_and_a_vanished_one_is_reported(tmp_path):
    landing = _landing(tmp_path)
    manifest = arrivals.plan(landing, None, D("2026-11-18"), 2).registry.published("2026-11-18")
    late = _events(landing, "watch_events/event_date=2026-11-18/late.parquet", ["2026-11-18T12:00:00+00:00"])
    manifest = arrivals.plan(landing, manifest, D("2026-11-19"), 2).registry.published("2026-11-19")
    assert (
        manifest["landing_files"]["files"]["watch_events/event_date=2026-11-18/late.parquet"]["arrived"] == "2026-11-19"
    )
    assert manifest["landing_files"]["batches"] == ["2026-11-18", "2026-11-19"]
    # unchanged at the next run: nothing to say, nothing to redo
    again = arrivals.plan(landing, manifest, D("2026-11-20"), 2)
    assert (again.lines, again.reprocess) == ([], [])
    # rewritten in place at batch 11-22 (more rows, a new mtime): keeps arrival 11-19, its day is 4 days old
    _events(landing, "watch_events/event_date=2026-11-18/late.parquet", ["2026-11-18T12:00:00+00:00"] * 3)
    os.utime(late, ns=(late.stat().st_atime_ns, late.stat().st_mtime_ns + 10**9))
    (landing / "watch_events/event_date=2026-11-17/part-0.parquet").unlink()
    plan = arrivals.plan(landing, manifest, D("2026-11-22"), 2)
    assert plan.registry.files["watch_events/event_date=2026-11-18/late.parquet"]["arrived"] == "2026-11-19"
    assert plan.quarantined_rows == 0 and plan.reprocess == []
    assert plan.lines == [
        "watch_events/event_date=2026-11-18/late.parquet was rewritten in place since it arrived "
        "(size or mtime changed)",
        "watch_events/event_date=2026-11-18/late.parquet: its days 2026-11-18 are older than late_data_days=2 and "
        "are not re-processed; the table marts read the new rows, the daily partitions of those batches do not: "
        "`watchhouse backfill --from 2026-11-18` redoes them",
        "watch_events/event_date=2026-11-17/part-0.parquet disappeared from the landing folder: its rows leave the "
        "marts built from now on",
    ]
    assert "watch_events/event_date=2026-11-17/part-0.parquet" not in plan.registry.files


def test_the_registry_is_published_with_its_version_and_rolled_back_with_it(tmp_path):
    landing, home = _landing(tmp_path), tmp_path / "home"
    (home / "metastore_db").mkdir(parents=True)
    publish.begin(home, "2026-11-18")
    first = arrivals.plan(landing, publish.published_info(home), D("2026-11-18"), 2)
    publish.publish(home, "2026-11-18", meta=first.registry.published("2026-11-18"))
    # a run of 11-19 sees a late file and dies before publishing: the next run sees it again, still new
    _events(landing, "watch_events/event_date=2026-11-18/late.parquet", ["2026-11-18T12:00:00+00:00"] * 2)
    publish.begin(home, "2026-11-19")
    killed = arrivals.plan(landing, publish.published_info(home), D("2026-11-19"), 2)
    assert killed.reprocess == [D("2026-11-18")]
    assert publish.begin(home, "2026-11-19")  # recovery: the killed run did not publish
    rerun = arrivals.plan(landing, publish.published_info(home), D("2026-11-19"), 2)
    assert (rerun.reprocess, rerun.lines) == (killed.reprocess, killed.lines)
