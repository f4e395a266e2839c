"""Cost of an atomic publish (watchhouse.publish) vs. copying the same build state.

Usage: .venv/bin/python bench/bench_publish.py HOME
HOME: a built WATCHHOUSE_HOME (e.g. .watchhouse/home after `make demo`). Works on a copy of its
build state in a temporary folder beside it (same filesystem, so links work), never on HOME.
Prints the publish time (links + metastore copy + fsync + switch), the baseline (a plain
`shutil.copytree` of the same tables and metastore) and their ratio, and the recovery time.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from watchhouse import publish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    home = parser.parse_args().home.resolve()
    source = publish.Layout(home)
    tables = source.build_warehouse
    if not tables.is_dir() and source.link.is_dir() and not source.link.is_symlink():
        tables = source.link  # a home built before atomic publish: its warehouse/ is the build state
    if not tables.is_dir():
        raise SystemExit(f"{source.build_warehouse} missing: build {home} first")
    with tempfile.TemporaryDirectory(dir=home.parent, prefix="bench-publish-") as tmp:
        work = Path(tmp) / "home"
        layout = publish.Layout(work)
        shutil.copytree(tables, layout.build_warehouse)
        shutil.copytree(source.metastore, layout.metastore)
        files = sum(1 for p in layout.build_warehouse.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in layout.build_warehouse.rglob("*") if p.is_file())

        start = time.perf_counter()
        shutil.copytree(layout.build_warehouse, Path(tmp) / "copy" / "warehouse")
        shutil.copytree(layout.metastore, Path(tmp) / "copy" / "metastore_db")
        baseline = time.perf_counter() - start

        publish.begin(work, "2026-01-01")
        start = time.perf_counter()
        publish.publish(work, "2026-01-01")
        published = time.perf_counter() - start

        publish.begin(work, "2026-01-02")  # a run that dies: the next begin() restores
        start = time.perf_counter()
        publish.begin(work, "2026-01-02")
        restored = time.perf_counter() - start

    print(f"build state: {files} files, {size / 1e6:.0f} MB")
    print(f"copy (baseline): {baseline:.2f} s")
    print(f"publish:         {published:.2f} s  ({published / baseline:.3f}x the copy)")
    print(f"recovery:        {restored:.2f} s  ({restored / baseline:.3f}x the copy)")


if __name__ == "__main__":
    main()
