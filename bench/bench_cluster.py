"""One build of a landing on the local target (the baseline) and on the cluster target (this
home's server on loopback, then the server with a standalone master + worker), in this script,
one after the other; prints each time, its ratio to the local build, and whether every published
table equals the local build's (tests/python/e2e.py::assert_same_tables; floats to 12 digits).

Usage: .venv/bin/python bench/bench_cluster.py LANDING [--vars JSON] [--skip-standalone]
e.g.   .venv/bin/python bench/bench_cluster.py /tmp/tiny/landing \
           --vars '{"ml_enabled": false, "quality_abuse_share": [0, 0.4], "quality_abuse_share_change_max": 0.3}'
Homes go to a temporary folder; the server is stopped at the end (also on failure).
Times are of the whole `watchhouse build` command; the cluster ones exclude the server's start
(printed apart): a server is started once and serves many builds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))
from e2e import assert_same_tables, published_tables  # noqa: E402

WATCHHOUSE = str(Path(sys.executable).with_name("watchhouse"))


def run(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run([WATCHHOUSE, *args], env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"watchhouse {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--vars", default=None)
    parser.add_argument("--skip-standalone", action="store_true")
    args = parser.parse_args()
    build = ["build", *(["--vars", args.vars] if args.vars else [])]
    base = dict(os.environ, WATCHHOUSE_LANDING=str(args.landing.resolve()))
    base.setdefault("WATCHHOUSE_DRIVER_MEMORY", "3g")
    base.setdefault("WATCHHOUSE_PSEUDONYM_KEY", "bench-key")
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        local_home = Path(tmp) / "local"
        local = run(build, {**base, "WATCHHOUSE_HOME": str(local_home)})
        print(f"local target: {local:.1f} s (baseline)")
        expected = published_tables(local_home)
        modes = [("cluster", [])] + ([] if args.skip_standalone else [("cluster --standalone", ["--standalone"])])
        for name, flags in modes:
            home = Path(tmp) / name.replace(" --", "-")
            env = {**base, "WATCHHOUSE_HOME": str(home), "WATCHHOUSE_TARGET": "cluster"}
            try:
                started = run(["server", "start", *flags], env)
                took = run(build, env)
            finally:
                subprocess.run([WATCHHOUSE, "server", "stop"], env=env, cwd=REPO, capture_output=True)
            assert_same_tables(expected, published_tables(home), f"{name} vs local", digits=12)
            print(f"{name}: server start {started:.1f} s, build {took:.1f} s, {took / local:.2f}x local; "
                  f"{len(expected)} published tables identical to local")  # fmt: skip


if __name__ == "__main__":
    main()
