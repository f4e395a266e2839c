"""Landing checks: one clear error per malformed input class, and the batch calendar."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import handmade
from watchhouse.errors import UserError
from watchhouse.landing import inspect_landing


@pytest.fixture
def landing(tmp_path):
    root = tmp_path / "landing"
    handmade.write(root)
    return root


def test_handmade_landing_calendar(landing):
    info = inspect_landing(landing)
    # data days are 11-01..11-03; 2015 and 2031 rows are strays, not days of data
    assert (info.first_date, info.horizon_date) == (dt.date(2026, 11, 1), dt.date(2026, 11, 3))
    # 11-03 has no view at/after 23:00 -> not complete -> default batch is 11-02
    assert info.as_of == dt.date(2026, 11, 2)
    assert info.partitioned["watch_events"] is False


def test_complete_last_day_is_the_default_batch(landing):
    table = pq.read_table(landing / "watch_events" / "part-0.parquet")
    late = table.slice(0, 1).set_column(
        3, "started_at", pa.array([handmade.t("2026-11-03 23:10")], type=table.schema.field("started_at").type)
    )
    pq.write_table(late, landing / "watch_events" / "part-1.parquet")
    assert inspect_landing(landing).as_of == dt.date(2026, 11, 3)


def test_as_of_inside_range_is_taken_and_outside_refused(landing):
    assert inspect_landing(landing, "2026-11-01").as_of == dt.date(2026, 11, 1)
    with pytest.raises(UserError, match=r"outside the landing data, which holds 2026-11-01 \.\. 2026-11-03"):
        inspect_landing(landing, "2026-12-01")


@pytest.mark.parametrize("bad", ["20261102", "2026-13-01", "yesterday", "2026-11-02'; drop table x"])
def test_malformed_as_of_is_refused(landing, bad):
    with pytest.raises(UserError, match="is not a date; use YYYY-MM-DD"):
        inspect_landing(landing, bad)


def test_missing_root(tmp_path):
    with pytest.raises(UserError, match="is not a folder; run `make demo`"):
        inspect_landing(tmp_path / "nope")


def test_missing_table(landing):
    shutil.rmtree(landing / "follows")
    with pytest.raises(UserError, match="landing table 'follows' is missing"):
        inspect_landing(landing)


def test_empty_table_folder(landing):
    (landing / "vods" / "part-0.parquet").unlink()
    with pytest.raises(UserError, match=r"landing table 'vods' has no \.parquet files"):
        inspect_landing(landing)


def test_corrupt_file_is_named(landing):
    (landing / "users" / "part-0.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(UserError, match=r"users/part-0.parquet: not a readable Parquet file"):
        inspect_landing(landing)


def test_missing_column_is_named(landing):
    path = landing / "broadcasts" / "part-0.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["ended_at"]), path)
    message = r"broadcasts/part-0\.parquet: column 'ended_at' of table 'broadcasts' is missing"
    with pytest.raises(UserError, match=message):
        inspect_landing(landing)


def test_renamed_column_is_reported_as_missing(landing):
    path = landing / "watch_events" / "part-0.parquet"
    table = pq.read_table(path)
    pq.write_table(table.rename_columns(["event_id", "user_id", "video_id", *table.column_names[3:]]), path)
    message = (
        r"column 'vod_id' of table 'watch_events' is missing \(found: .*video_id.*\); "
        r"renamed\? the file has video_id"
    )
    with pytest.raises(UserError, match=message):
        inspect_landing(landing)


def test_a_table_with_files_but_no_rows_is_refused(landing):
    path = landing / "follows" / "part-0.parquet"
    pq.write_table(pq.read_table(path).slice(0, 0), path)
    with pytest.raises(UserError, match=r"landing table 'follows' is empty: 1 Parquet file\(s\) under .* hold 0 rows"):
        inspect_landing(landing)


def test_type_change_is_named(landing):
    path = landing / "vods" / "part-0.parquet"
    table = pq.read_table(path)
    table = table.set_column(5, "duration_seconds", pa.array(["x"] * table.num_rows))
    pq.write_table(table, path)
    with pytest.raises(UserError, match=r"column vods.duration_seconds is string, the contract says double"):
        inspect_landing(landing)


def test_extra_columns_are_a_notice_not_an_error(landing):
    path = landing / "users" / "part-0.parquet"
    table = pq.read_table(path)
    pq.write_table(table.append_column("favourite_colour", pa.array(["red"] * table.num_rows)), path)
    info = inspect_landing(landing)
    assert info.notices == ["users: ignoring extra column(s) favourite_colour"]


def test_as_vars_carry_everything_dbt_needs(landing):
    got = inspect_landing(landing).as_vars()
    assert got["as_of"] == "2026-11-02"
    assert got["landing_horizon_date"] == "2026-11-03"
    assert got["landing_partitioned"] == []
    assert got["landing_root"] == str(landing.resolve())


def test_nanosecond_timestamps_are_refused_before_spark_with_the_fix(landing):
    # pandas' to_parquet writes INT64 TIMESTAMP(NANOS) by default; Spark stops on it with
    # PARQUET_TYPE_ILLEGAL and a Java stack trace, so the check names file, column and the fix
    path = landing / "watch_events" / "part-0.parquet"
    frame = pq.read_table(path).to_pandas()
    frame["started_at"] = pd.to_datetime(frame.started_at, utc=True).astype("datetime64[ns, UTC]")
    frame.to_parquet(path)
    assert str(pq.read_schema(path).field("started_at").type) == "timestamp[ns, tz=UTC]"
    message = (
        r"watch_events/part-0\.parquet: column\(s\) watch_events\.started_at hold nanosecond timestamps, "
        r"which Spark cannot read; .*coerce_timestamps='us'"
    )
    with pytest.raises(UserError, match=message):
        inspect_landing(landing)
    # the fix the message gives is accepted
    frame.to_parquet(path, coerce_timestamps="us", allow_truncated_timestamps=True)
    assert inspect_landing(landing).as_of == dt.date(2026, 11, 2)


def test_int96_timestamps_which_spark_reads_are_accepted(landing):
    # Arrow reports INT96 as timestamp[ns] too; only the Parquet logical type tells them apart
    path = landing / "users" / "part-0.parquet"
    pq.write_table(pq.read_table(path), path, use_deprecated_int96_timestamps=True)
    schema = pq.read_metadata(path).schema
    assert schema.column(schema.names.index("created_at")).physical_type == "INT96"
    assert inspect_landing(landing).notices == []


def test_a_stray_non_parquet_file_is_named_before_spark(landing):
    (landing / "vods" / "export.csv").write_text("vod_id\nv1\n")
    (landing / "vods" / "_SUCCESS").write_text("")  # hidden names are skipped, by Spark and by the check
    (landing / "vods" / ".DS_Store").write_text("")
    message = (
        r"landing table 'vods' holds 1 file\(s\) that are not Parquet \(vods/export\.csv\): Spark reads every "
        r"file of .*; move them out, or start their names with '_' or '\.'"
    )
    with pytest.raises(UserError, match=message):
        inspect_landing(landing)
    (landing / "vods" / "export.csv").rename(landing / "vods" / "_export.csv")
    assert inspect_landing(landing).as_of == dt.date(2026, 11, 2)
