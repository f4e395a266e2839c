"""Where a build's time went: `watchhouse profile` on a home's last run (or any dbt target folder).

    .venv/bin/python bench/profile_build.py [TARGET_DIR] [--top N] [--json]

TARGET_DIR defaults to $WATCHHOUSE_HOME/dbt/target. The figures are dbt's own (run_results.json);
bench/RESULTS.md records them before and after each speed change, with the build's command."""

from __future__ import annotations

import sys

from watchhouse.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv and not argv[0].startswith("-"):
        argv = ["--target-dir", argv[0], *argv[1:]]
    sys.exit(main(["profile", *argv]))
