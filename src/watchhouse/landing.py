"""Check a landing folder against the contract before any JVM starts.

`inspect_landing()` reads only Parquet footers (pyarrow) and one small
aggregate of the event timestamps (DuckDB), so a missing folder, a corrupt
file, a missing column or a wrong type is reported in one line naming the
table, file and column, in about a second, instead of as a Spark stack trace.

It also works out the batch calendar:
- the *data range* ``first_date .. horizon_date``: days whose watch-event
  count is at least ``DENSE_DAY_SHARE`` of the median daily count, split into
  runs wherever ``MAX_GAP_DAYS`` or more days hold nothing; the run holding the
  most views is the data. So a few stray rows dated 2099 or 2012 do not make
  those days part of the landing data (they are quarantined as impossible
  timestamps instead);
- the default batch (`as_of`): the last complete day, i.e. the horizon if it
  holds a view starting at or after 23:00 UTC, else the day before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from watchhouse import contract as c
from watchhouse.errors import UserError

DENSE_DAY_SHARE = 0.05
MAX_GAP_DAYS = 7
COMPLETE_AFTER_HOUR = 23


def parse_date(text: str, what: str = "WATCHHOUSE_AS_OF") -> dt.date:
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{what}={text!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-20") from None


def _compatible(actual: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(actual) or pa.types.is_date(actual)
    if pa.types.is_floating(expected):
        return pa.types.is_floating(actual) or pa.types.is_integer(actual) or pa.types.is_decimal(actual)
    if pa.types.is_integer(expected):
        return pa.types.is_integer(actual)
    if pa.types.is_string(expected):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual) or pa.types.is_dictionary(actual)
    return actual.equals(expected)


@dataclass
class LandingInfo:
    root: Path
    first_date: dt.date
    horizon_date: dt.date
    as_of: dt.date
    partitioned: dict[str, bool] = field(default_factory=dict)
    optional_present: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def as_vars(self) -> dict:
        """The dbt vars a build of this landing folder runs with."""
        return {
            "landing_root": str(self.root),
            "as_of": self.as_of.isoformat(),
            "landing_first_date": self.first_date.isoformat(),
            "landing_horizon_date": self.horizon_date.isoformat(),
            "landing_partitioned": [t for t, p in self.partitioned.items() if p],
            "landing_optional_tables": self.optional_present,
        }


def _hidden(path: Path, folder: Path) -> bool:
    """Spark skips files and folders whose name starts with '.' or '_' (_SUCCESS, .DS_Store)."""
    return any(part.startswith((".", "_")) for part in path.relative_to(folder).parts)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.parquet") if not _hidden(p, folder))


def _stray_files(folder: Path) -> list[Path]:
    """Files Spark would read as Parquet that are not: anything but *.parquet and hidden names."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".parquet" and not _hidden(p, folder))


def _nanosecond_columns(meta: pq.FileMetaData) -> list[str]:
    """Columns stored as INT64 TIMESTAMP(NANOS): pandas' to_parquet default, which Spark cannot read
    (PARQUET_TYPE_ILLEGAL). INT96 timestamps also read as ns in Arrow, but Spark reads those."""
    schema = meta.schema
    return [
        schema.column(i).path
        for i in range(len(schema))
        if schema.column(i).physical_type == "INT64"
        and schema.column(i).logical_type.type == "TIMESTAMP"
        and '"timeUnit":"nanoseconds"' in schema.column(i).logical_type.to_json()
    ]


def check_table(root: Path, table: c.LandingTable, notices: list[str]) -> bool:
    """Validate one table's files; return whether it is Hive-partitioned by event_date."""
    folder = root / table.name
    if not folder.is_dir():
        raise UserError(
            f"landing table {table.name!r} is missing: expected a folder {folder} of Parquet files "
            f"(see README 'Landing contract')"
        )
    stray = _stray_files(folder)
    if stray:
        shown = ", ".join(str(p.relative_to(root)) for p in stray[:3]) + (" ..." if len(stray) > 3 else "")
        raise UserError(
            f"landing table {table.name!r} holds {len(stray)} file(s) that are not Parquet ({shown}): Spark "
            f"reads every file of {folder}; move them out, or start their names with '_' or '.' so Spark skips them"
        )
    files = _files(folder)
    if not files:
        raise UserError(f"landing table {table.name!r} has no .parquet files under {folder}")
    partitioned = any(p.parent != folder for p in files)
    rows = 0
    for path in files:
        rel = path.relative_to(root)
        if partitioned and not path.parent.name.startswith("event_date="):
            raise UserError(f"{rel}: partition folders must be named event_date=YYYY-MM-DD")
        try:
            meta = pq.read_metadata(path)
            schema = meta.schema.to_arrow_schema()
        except (pa.ArrowInvalid, OSError) as exc:
            raise UserError(f"{rel}: not a readable Parquet file ({exc})") from None
        rows += meta.num_rows
        nanos = _nanosecond_columns(meta)  # an extra column too: Spark reads every footer's schema
        if nanos:
            raise UserError(
                f"{rel}: column(s) {', '.join(f'{table.name}.{n}' for n in nanos)} hold nanosecond timestamps, "
                f"which Spark cannot read; write milli- or microseconds, e.g. pandas "
                f"df.to_parquet(path, coerce_timestamps='us', allow_truncated_timestamps=True)"
            )
        unknown = [f for f in schema if f.name not in table.schema.names]
        for expected in table.schema:
            if expected.name not in schema.names:
                alike = [f.name for f in unknown if _compatible(f.type, expected.type)]
                hint = f"; renamed? the file has {', '.join(alike)} of a compatible type" if alike else ""
                raise UserError(
                    f"{rel}: column {expected.name!r} of table {table.name!r} is missing "
                    f"(found: {', '.join(schema.names)}){hint}"
                )
            actual = schema.field(expected.name).type
            if not _compatible(actual, expected.type):
                raise UserError(
                    f"{rel}: column {table.name}.{expected.name} is {actual}, the contract says {expected.type}"
                )
        extra = sorted(set(schema.names) - set(table.schema.names))
        if extra:
            notices.append(f"{table.name}: ignoring extra column(s) {', '.join(extra)}")
    if rows == 0 and table.required:
        raise UserError(
            f"landing table {table.name!r} is empty: {len(files)} Parquet file(s) under {folder} hold 0 rows; "
            f"a batch cannot be built without it (an export that failed upstream?)"
        )
    return partitioned


def _calendar(root: Path, partitioned: bool) -> list[tuple[dt.date, int, int]]:
    """(day, views, latest start hour) per day of watch events."""
    import duckdb

    day = "event_date" if partitioned else "cast(started_at as date)"
    glob = str(root / "watch_events" / ("*/*.parquet" if partitioned else "**/*.parquet"))
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    rows = con.execute(
        f"""select {day} as day, count(*) as n,
                   max(hour(started_at)) filter (where cast(started_at as date) = {day}) as last_hour
            from read_parquet(?, hive_partitioning = {str(partitioned).lower()})
            where {day} is not null group by 1 order by 1""",
        [glob],
    ).fetchall()
    return [(d, n, -1 if h is None else h) for d, n, h in rows]


def inspect_landing(root: Path, as_of: str | dt.date | None = None) -> LandingInfo:
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise UserError(
            f"WATCHHOUSE_LANDING={root} is not a folder; run `make demo` for demo data, or point "
            f"WATCHHOUSE_LANDING at a folder with one sub-folder per landing table"
        )
    notices: list[str] = []
    partitioned = {t.name: check_table(root, t, notices) for t in c.TABLES}
    optional = []
    for t in c.OPTIONAL_TABLES:
        if (root / t.name).is_dir() and _files(root / t.name):
            partitioned[t.name] = check_table(root, t, notices)
            optional.append(t.name)
    days = _calendar(root, partitioned["watch_events"])
    if not days:
        raise UserError(f"{root / 'watch_events'}: no watch events with a date; nothing to build")
    counts = sorted(n for _, n, _ in days)
    floor = DENSE_DAY_SHARE * counts[len(counts) // 2]
    runs: list[list[tuple[dt.date, int, int]]] = []
    for row in (r for r in days if r[1] >= floor):
        if runs and (row[0] - runs[-1][-1][0]).days < MAX_GAP_DAYS:
            runs[-1].append(row)
        else:
            runs.append([row])
    main = max(runs, key=lambda run: sum(n for _, n, _ in run))
    first, horizon, last_hour = main[0][0], main[-1][0], main[-1][2]
    default = horizon if last_hour >= COMPLETE_AFTER_HOUR else horizon - dt.timedelta(days=1)
    if as_of is None or as_of == "":
        chosen = default
    else:
        chosen = as_of if isinstance(as_of, dt.date) else parse_date(as_of)
        if not first <= chosen <= horizon:
            raise UserError(
                f"WATCHHOUSE_AS_OF={chosen} is outside the landing data, which holds "
                f"{first} .. {horizon}; pick a date in that range"
            )
    if chosen < first:
        raise UserError(f"the landing data holds no complete day (only {first}); add data or set WATCHHOUSE_AS_OF")
    return LandingInfo(root, first, horizon, chosen, partitioned, optional, notices)
