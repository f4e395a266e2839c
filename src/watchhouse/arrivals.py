"""Late landing data: which event files arrived after their day's batch, and what to redo.

Every run compares the landing folder's event files with the registry of the version readers see
(the ``landing_files`` key of its manifest, published and rolled back with it, watchhouse.publish):

- a file not in the registry *arrived* at the batch of the run that first sees it (the first run
  of a home sees everything as "already there": its files are the baseline and never late);
- its rows of an event day D before that batch B are ``(B - D)`` days late. Within
  ``late_data_days`` (a dbt var) the run re-runs every batch this home has built from D up to B
  (each re-run replaces those batches' incremental partitions: lists, evaluation, exploration,
  data quality), then builds B, and publishes once at the end; later than that, staging marks
  the rows ``late_arrival`` and they are counted in quarantine, never used;
- a registered file whose size or mtime changed was rewritten in place: it keeps its arrival (rows
  accepted before stay accepted), the days within ``late_data_days`` are re-run, and older days
  get a notice naming the backfill that would redo them; a file that disappeared gets a notice.

The runner writes the arrivals of non-baseline files as JSON lines for the on-run-start hook
``create_landing_tables``, which declares them as ``landing.landing_file_arrivals``; the staging
models of the event tables join it on the file each row was read from (``_metadata.file_path``).
Files are named by their path under the table folder (``event_date=2026-11-19/part-0.parquet``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

# event tables (their rows are events of one day) and the timestamp dating a row of an unpartitioned file
EVENT_TABLES = {"watch_events": "started_at", "live_watch_events": "joined_at"}
REGISTRY_KEY = "landing_files"
ARRIVALS_DIR = "landing_arrivals"


@dataclass(frozen=True)
class LandedFile:
    table: str
    name: str  # path under the table folder
    size: int
    mtime_ns: int

    @property
    def key(self) -> str:
        return f"{self.table}/{self.name}"


def scan(root: Path) -> dict[str, LandedFile]:
    """The event tables' Parquet files under the landing root, by "table/path"."""
    found = {}
    for table in EVENT_TABLES:
        folder = root / table
        for path in sorted(folder.rglob("*.parquet")) if folder.is_dir() else []:
            if path.name.startswith((".", "_")):
                continue
            stat = path.stat()
            landed = LandedFile(table, path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns)
            found[landed.key] = landed
    return found


def event_days(root: Path, landed: LandedFile) -> dict[dt.date, int]:
    """Rows per event day of one file: its event_date partition (row count from the footer), else
    the UTC dates of its dating timestamp (rows with a null timestamp have no day: quarantined
    as null_timestamp whatever their arrival)."""
    path = root / landed.table / landed.name
    partition = path.parent.name
    if partition.startswith("event_date="):
        return {dt.date.fromisoformat(partition.split("=", 1)[1]): pq.read_metadata(path).num_rows}
    column = pq.read_table(path, columns=[EVENT_TABLES[landed.table]]).column(0)
    days = pc.value_counts(pc.cast(column, "date32")).to_pylist()
    return {row["values"]: row["counts"] for row in days if row["values"] is not None}


@dataclass
class Registry:
    """file key -> {"size", "mtime_ns", "arrived": batch (ISO) or None for the baseline}, and the
    batches this home has published."""

    files: dict[str, dict] = field(default_factory=dict)
    batches: list[str] = field(default_factory=list)
    baseline: bool = False  # no registry yet: this run's files are the baseline

    @classmethod
    def from_manifest(cls, manifest: dict | None) -> Registry:
        if not manifest or REGISTRY_KEY not in manifest:
            return cls(baseline=True)
        saved = manifest[REGISTRY_KEY]
        return cls({k: dict(v) for k, v in saved["files"].items()}, list(saved["batches"]))

    def published(self, batch: str) -> dict:
        """The manifest keys of a version that publishes `batch`."""
        batches = sorted({*self.batches, batch})
        return {REGISTRY_KEY: {"files": self.files, "batches": batches}}


@dataclass
class Plan:
    """What one run does about late data: the updated registry, the batches to re-run (in order)
    and one line per finding."""

    registry: Registry
    reprocess: list[dt.date]
    lines: list[str]
    quarantined_rows: int

    def write_arrivals(self, build_dir: Path) -> Path:
        """The arrivals of non-baseline files as JSON lines (rewritten every run); returns the folder."""
        folder = build_dir / ARRIVALS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        rows = [
            {
                "table_name": key.split("/", 1)[0],
                "landing_file": key.split("/", 1)[1],
                "arrived_batch": entry["arrived"],
            }
            for key, entry in sorted(self.registry.files.items())
            if entry["arrived"]
        ]
        (folder / "arrivals.json").write_text("".join(json.dumps(row) + "\n" for row in rows))
        return folder


def _days(counts: dict[dt.date, int]) -> str:
    return ", ".join(f"{n} of {day}" for day, n in sorted(counts.items()))


def plan(root: Path, manifest: dict | None, batch: dt.date, late_data_days: int) -> Plan:
    """Compare the landing event files with the published registry for a run of `batch`."""
    registry = Registry.from_manifest(manifest)
    current = scan(root)
    lines: list[str] = []
    redo: set[dt.date] = set()
    quarantined = 0
    for key, landed in current.items():
        entry = registry.files.get(key)
        if entry is not None and (entry["size"], entry["mtime_ns"]) == (landed.size, landed.mtime_ns):
            continue
        arrived = None if registry.baseline else batch.isoformat()
        if entry is not None:
            arrived = entry["arrived"]
        registry.files[key] = {"size": landed.size, "mtime_ns": landed.mtime_ns, "arrived": arrived}
        if registry.baseline:
            continue
        earlier = {d: n for d, n in event_days(root, landed).items() if d < batch}
        within = {d: n for d, n in earlier.items() if (batch - d).days <= late_data_days}
        beyond = {d: n for d, n in earlier.items() if d not in within}
        redo |= set(within)
        if entry is None:
            if within:
                lines.append(
                    f"{key} arrived at batch {batch} with rows of earlier days: {_days(within)} (re-processed)"
                )
            if beyond:
                quarantined += sum(beyond.values())
                lines.append(
                    f"{key} arrived at batch {batch} more than late_data_days={late_data_days} late: "
                    f"{_days(beyond)} quarantined as late_arrival"
                )
        else:
            lines.append(f"{key} was rewritten in place since it arrived (size or mtime changed)")
            if beyond:
                first = min(beyond)
                lines.append(
                    f"{key}: its days {', '.join(str(d) for d in sorted(beyond))} are older than "
                    f"late_data_days={late_data_days} and are not re-processed; the table marts read the new "
                    f"rows, the daily partitions of those batches do not: `watchhouse backfill --from {first}` "
                    f"redoes them"
                )
    for key in sorted(set(registry.files) - set(current)):
        del registry.files[key]
        lines.append(f"{key} disappeared from the landing folder: its rows leave the marts built from now on")
    reprocess = sorted(day for day in map(dt.date.fromisoformat, registry.batches) if redo and min(redo) <= day < batch)
    return Plan(registry, reprocess, lines, quarantined)
