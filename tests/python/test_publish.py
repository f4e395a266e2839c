"""watchhouse.publish on a hand-made home (no Spark): the switch, recovery, links, the lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from watchhouse import publish
from watchhouse.errors import UserError


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _fake_run(home: Path, rows: bytes, extra_table: bool = False) -> None:
    """What dbt leaves in the build state: a table rewritten (new file name, old one deleted),
    Hadoop's _SUCCESS/.crc files, and a metastore file changed in place."""
    table = home / "build" / "warehouse" / "marts.db" / "scores"
    table.mkdir(parents=True, exist_ok=True)
    for old in table.iterdir():
        old.unlink()
    (table / f"part-{rows.hex()}.parquet").write_bytes(rows)
    (table / "._SUCCESS.crc").write_bytes(b"crc " + rows)
    if extra_table:
        (home / "build" / "warehouse" / "intermediate.db" / "pool").mkdir(parents=True, exist_ok=True)
        (home / "build" / "warehouse" / "intermediate.db" / "pool" / "part-0.parquet").write_bytes(b"pool")
    (home / "metastore_db").mkdir(exist_ok=True)
    (home / "metastore_db" / "seg0.dat").write_bytes(b"catalog " + rows)
    lists = publish.Layout(home).ml_lists / "two_tower"  # an ML model's lists on their way into Spark
    lists.mkdir(parents=True, exist_ok=True)
    (lists / f"{rows.hex()}.parquet").write_bytes(rows)


def test_publish_switches_the_link_and_later_writes_do_not_reach_published_files(tmp_path):
    home = tmp_path
    assert publish.begin(home, "2026-11-19") is None  # nothing to recover in a new home
    _fake_run(home, b"day19", extra_table=True)
    first = publish.publish(home, "2026-11-19")
    assert (home / "warehouse").resolve() == first and first.name == "v000001-2026-11-19"
    seen = _tree(home / "warehouse")
    assert seen["marts.db/scores/part-6461793139.parquet"] == b"day19"
    assert seen["intermediate.db/pool/part-0.parquet"] == b"pool"
    assert json.loads(seen["_published.json"])["tables"] == ["intermediate.pool", "marts.scores"]
    assert not (home / "build" / "RUNNING").exists()
    assert not (home / "build" / "ml_lists").exists()  # a run's scratch: neither published nor kept
    # the data file is a hard link (no copy); Hadoop's side files are copies
    built = home / "build" / "warehouse" / "marts.db" / "scores"
    linked = first / "marts.db" / "scores"
    assert os.path.samefile(built / "part-6461793139.parquet", linked / "part-6461793139.parquet")
    assert not os.path.samefile(built / "._SUCCESS.crc", linked / "._SUCCESS.crc")

    publish.begin(home, "2026-11-20")
    _fake_run(home, b"day20")  # deletes day19's file from the build state, rewrites the .crc in place
    (built / "._SUCCESS.crc").write_bytes(b"rewritten in place")
    assert _tree(home / "warehouse") == seen  # readers still see the whole of 11-19
    second = publish.publish(home, "2026-11-20")
    assert (home / "warehouse").resolve() == second
    assert _tree(home / "warehouse")["marts.db/scores/part-6461793230.parquet"] == b"day20"


def test_a_run_that_died_is_undone_before_the_next_one(tmp_path, capsys):
    home = tmp_path
    publish.begin(home, "2026-11-19")
    _fake_run(home, b"day19")
    version = publish.publish(home, "2026-11-19")
    published = _tree(version)

    publish.begin(home, "2026-11-20")  # this run dies half way: a table dropped, another half-written
    _fake_run(home, b"half", extra_table=True)
    for f in (home / "build" / "warehouse" / "marts.db" / "scores").iterdir():
        f.unlink()

    note = publish.begin(home, "2026-11-20")
    assert note.startswith("the run of batch 2026-11-20 (pid ")
    assert note.endswith(f"build state reset to published version {version.name}")
    build = home / "build" / "warehouse"
    assert _tree(build) == {k: v for k, v in published.items() if k.endswith((".parquet", ".crc"))}
    assert _tree(home / "metastore_db") == {"seg0.dat": b"catalog day19"}
    assert _tree(version) == published


def test_recovery_before_anything_was_published_starts_from_empty(tmp_path):
    publish.begin(tmp_path, "2026-11-19")
    _fake_run(tmp_path, b"half")
    note = publish.begin(tmp_path, "2026-11-19")
    assert note.endswith("build state reset to empty (nothing published yet)")
    assert not (tmp_path / "build" / "warehouse").exists() and not (tmp_path / "metastore_db").exists()


def test_only_the_newest_versions_are_kept(tmp_path):
    for day in ("17", "18", "19"):
        publish.begin(tmp_path, f"2026-11-{day}")
        _fake_run(tmp_path, day.encode())
        publish.publish(tmp_path, f"2026-11-{day}")
    kept = sorted(p.name for p in (tmp_path / "published").iterdir())
    assert kept == ["v000002-2026-11-18", "v000003-2026-11-19"]
    assert publish.published_info(tmp_path)["batch"] == "2026-11-19"


def test_a_home_from_before_atomic_publish_is_refused(tmp_path):
    (tmp_path / "warehouse" / "marts.db").mkdir(parents=True)
    with pytest.raises(UserError, match=r"built by a watchhouse without atomic publish.*make clean"):
        publish.begin(tmp_path, "2026-11-20")


def test_the_lock_is_exclusive_reentrant_and_held_by_a_child_after_its_parent_died(tmp_path):
    probe = textwrap.dedent(f"""
        import fcntl, os, sys
        fd = os.open({str(tmp_path / "build" / "lock")!r}, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            print("free")
        except BlockingIOError:
            print("held")
    """)

    def state() -> str:
        return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip()

    with publish.HomeLock(tmp_path) as outer:
        with publish.HomeLock(tmp_path) as inner:  # a build holds it around dbt(), which takes it again
            assert inner.fd == outer.fd
        assert state() == "held"
        # a child that inherited the descriptor keeps the lock after this process lets go
        child = subprocess.Popen(["sleep", "30"], pass_fds=(outer.fd,))
    try:
        assert state() == "held"
    finally:
        child.kill()
        child.wait()
    assert state() == "free"
