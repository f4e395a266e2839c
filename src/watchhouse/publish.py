"""Atomic publish of a batch, and recovery from a run that died (docs/reliability.md).

Parquet has no transactions and dbt-spark's table materialization drops a table before it
rewrites it, so readers never read the tables dbt writes. The layout under WATCHHOUSE_HOME:

- ``build/warehouse/``: ``spark.sql.warehouse.dir``; dbt's tables (the *build state*) with the
  Derby metastore ``metastore_db/`` describing them. Half-written while a run is under way;
- ``published/<version>/``: a finished batch: every table folder of the build state as hard
  links (Spark never rewrites a file in place: it writes new files and deletes old ones, so a
  link keeps the old bytes), plus ``_metastore_db/``, a copy of the metastore that matches them;
- ``warehouse``: a symlink to the current version, switched with one ``rename(2)`` when a run
  has built and tested its whole batch. Every reader path ``warehouse/marts.db/<mart>/`` goes
  through it, so a reader sees one whole batch or the one before, never a mix or half a table.

A run writes ``build/RUNNING`` before dbt starts and removes it once published. A run that finds
it (the last one was killed, or failed) first puts the build state back to the published
version, so nothing a dead or failed run half-wrote feeds the next batch. One run at a time per
home: an exclusive ``flock`` on ``build/lock``, inherited by the dbt child so that a killed parent
with a live orphan still holds it.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from watchhouse.errors import UserError

KEEP_VERSIONS = 2  # the current one and the one before (a reader may still be listing it)
METASTORE_COPY = "_metastore_db"
MANIFEST = "_published.json"


@dataclass(frozen=True)
class Layout:
    home: Path

    @property
    def build(self) -> Path:
        return self.home / "build"

    @property
    def build_warehouse(self) -> Path:
        return self.build / "warehouse"

    @property
    def ml_lists(self) -> Path:
        """Scratch of a run: the ML models' lists on their way into Spark (removed at publish)."""
        return self.build / "ml_lists"

    @property
    def metastore(self) -> Path:
        return self.home / "metastore_db"

    @property
    def link(self) -> Path:
        return self.home / "warehouse"

    @property
    def versions(self) -> Path:
        return self.home / "published"

    @property
    def marker(self) -> Path:
        return self.build / "RUNNING"

    def current(self) -> Path | None:
        """The published version readers see, or None before the first publish."""
        return self.link.resolve() if self.link.is_symlink() and self.link.resolve().is_dir() else None

    def check(self) -> None:
        if self.link.exists() and not self.link.is_symlink():
            raise UserError(
                f"{self.link} is a folder, not a link to a published version: this home was built by a "
                f"watchhouse without atomic publish. Delete {self.home} (make clean) and build again"
            )


def published_info(home: Path) -> dict | None:
    """The manifest of the version readers see: batch, published_at, tables."""
    current = Layout(Path(home)).current()
    if current is None or not (current / MANIFEST).is_file():
        return None
    return json.loads((current / MANIFEST).read_text())


class HomeLock:
    """An exclusive lock on one home for a whole run; waits (saying so) while another run holds
    it. Re-entrant within a process (a build holds it around the dbt() call that holds it too)."""

    _held: ClassVar[dict[Path, list[int]]] = {}  # home -> [fd, depth]

    def __init__(self, home: Path):
        self.layout = Layout(Path(home).resolve())
        self.fd = -1

    def __enter__(self) -> HomeLock:
        held = self._held.get(self.layout.home)
        if held:
            held[1] += 1
            self.fd = held[0]
            return self
        self.layout.build.mkdir(parents=True, exist_ok=True)
        path = self.layout.build / "lock"
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 200, 0).decode(errors="replace").strip() or "?"
            print(f"watchhouse: waiting for the run that holds {path} ({holder}) to finish", file=sys.stderr)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"pid {os.getpid()}".encode(), 0)
        self._held[self.layout.home] = [self.fd, 1]
        return self

    def __exit__(self, *exc) -> None:
        held = self._held[self.layout.home]
        held[1] -= 1
        if held[1] == 0:
            del self._held[self.layout.home]
            os.close(self.fd)  # releases the flock once no child holds the descriptor too


def die_with_parent() -> None:
    """preexec_fn of the dbt child: SIGKILL it when the watchhouse process dies (Linux), so a
    killed run leaves no orphan writing into the build state."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def begin(home: Path, batch: str) -> str | None:
    """Before dbt runs: recover from a dead or failed run, then mark this one as running.
    Returns what was recovered, in words (None when the last run finished)."""
    layout = Layout(Path(home))
    layout.check()
    note = None
    if layout.marker.is_file():
        last = json.loads(layout.marker.read_text() or "{}")
        version = layout.current()
        note = (
            f"the run of batch {last.get('batch', '?')} (pid {last.get('pid', '?')}, started "
            f"{last.get('started_at', '?')}) did not publish; build state reset to "
            + (f"published version {version.name}" if version else "empty (nothing published yet)")
        )
        restore(layout)
    layout.build.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _write_atomic(layout.marker, json.dumps({"batch": batch, "pid": os.getpid(), "started_at": started}))
    return note


def restore(layout: Layout) -> None:
    """Put the build state (tables + metastore) back to the published version, or to empty."""
    version = layout.current()
    _remove(layout.build_warehouse)
    _remove(layout.metastore)
    if version is None:
        return
    layout.build_warehouse.mkdir(parents=True)
    for child in version.iterdir():
        if child.name.endswith(".db"):
            shutil.copytree(child, layout.build_warehouse / child.name, copy_function=_link_or_copy)
    shutil.copytree(version / METASTORE_COPY, layout.metastore)


def publish(home: Path, batch: str, meta: dict | None = None) -> Path:
    """After a run built and tested its batch: snapshot the build state as a new version,
    switch the `warehouse` link to it, drop versions beyond KEEP_VERSIONS, clear the marker.
    `meta`: more keys for the version's manifest (they are published, and rolled back, with it)."""
    layout = Layout(Path(home))
    layout.versions.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name.split("-")[0][1:]) for p in layout.versions.glob("v*-*") if p.name[1:7].isdigit()]
    version = layout.versions / f"v{max(numbers, default=0) + 1:06d}-{batch}"
    staging = layout.versions / f".{version.name}.partial"
    _remove(staging)
    staging.mkdir()
    tables = []
    for schema in sorted(layout.build_warehouse.glob("*.db")):
        shutil.copytree(schema, staging / schema.name, copy_function=_link_or_copy)
        tables += [f"{schema.name[:-3]}.{t.name}" for t in sorted(schema.iterdir()) if t.is_dir()]
    shutil.copytree(layout.metastore, staging / METASTORE_COPY)
    published_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    manifest = {**(meta or {}), "version": version.name, "batch": batch, "published_at": published_at, "tables": tables}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1))
    _fsync_tree(staging)
    staging.rename(version)
    tmp_link = layout.home / ".warehouse.link"
    _remove(tmp_link)
    tmp_link.symlink_to(Path("published") / version.name)
    tmp_link.replace(layout.link)  # the switch: one rename, atomic for every reader
    _fsync_dir(layout.home)
    layout.marker.unlink(missing_ok=True)
    _remove(layout.ml_lists)  # the lists are in the published tables now
    _fsync_dir(layout.build)
    for old in sorted(layout.versions.glob("v*-*"))[:-KEEP_VERSIONS]:
        if old != version:
            shutil.rmtree(old, ignore_errors=True)
    for partial in layout.versions.glob(".v*.partial"):  # left by a run killed while publishing
        shutil.rmtree(partial, ignore_errors=True)
    return version


def _link_or_copy(src: str, dst: str) -> None:
    """Parquet data files are linked (Spark names each one uniquely and never reopens it); the
    rest (_SUCCESS, .crc) is copied: Hadoop rewrites those in place, through any link."""
    if src.endswith(".parquet"):
        os.link(src, dst)
    else:
        shutil.copy2(src, dst)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Directories only: the files are links to data Spark already closed (and the metastore copy
    is small); syncing the directory entries makes the new version durable before the switch."""
    for folder, _, _ in os.walk(root):
        _fsync_dir(Path(folder))
