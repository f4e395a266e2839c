"""One build with and without extra environment settings, alternating, in one script.

    .venv/bin/python bench/bench_build_env.py LANDING --env WATCHHOUSE_JAVA_OPTIONS="-XX:TieredStopAtLevel=1" \
        [--vars JSON] [--ml] [--as-of DATE] [--repeat N]

Each run is `watchhouse build` into a fresh home (ML off unless --ml), timed as a whole child process
(JVM start-up included), with the CPU seconds of its process tree (python, dbt, the JVM: what one
build takes from the others where builds share the cores, as the test suite's do); the baseline
(the environment as it is) and the variant (plus every --env setting) alternate, N times each, so
a drift of the machine's speed falls on both. Prints each run, the medians and the ratios variant /
baseline. A setting that changes what a build computes would
need its tables compared too: this measures only time. bench/RESULTS.md records the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench_floor import BIN
from bench_scale import measured


def settings(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            sys.exit(f"--env {pair!r}: give NAME=VALUE, e.g. --env WATCHHOUSE_DBT_THREADS=1")
        out[name] = value
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("landing", type=Path)
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="the variant's extra settings")
    ap.add_argument("--vars", default="{}", help="extra dbt vars (JSON) for both builds")
    ap.add_argument("--ml", action="store_true", help="build with the ML models (default: ml_enabled false)")
    ap.add_argument("--as-of", default=None, help="the batch (default: the landing's)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each, alternating (default 2)")
    args = ap.parse_args()
    variant = settings(args.env)
    if not variant:
        sys.exit("give at least one --env NAME=VALUE: the setting to compare with the environment as it is")
    build_vars = {**json.loads(args.vars), **({} if args.ml else {"ml_enabled": False})}
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", WATCHHOUSE_LANDING=str(args.landing.resolve()))
    env.setdefault("WATCHHOUSE_PSEUDONYM_KEY", "bench")
    if args.as_of:
        env["WATCHHOUSE_AS_OF"] = args.as_of
    cmd = [str(BIN / "watchhouse"), "build", "--vars", json.dumps(build_vars)]
    runs: dict[str, list[dict]] = {"baseline": [], "variant": []}
    with tempfile.TemporaryDirectory(prefix="wh-env-") as tmp:
        for i in range(args.repeat):
            for name, extra in (("baseline", {}), ("variant", variant)):
                home = Path(tmp) / f"{name}{i}"
                log = Path(tmp) / f"{name}{i}.log"
                run = measured(cmd, {**env, **extra, "WATCHHOUSE_HOME": str(home)}, log)
                if run["rc"] != 0:
                    sys.exit(f"{name} build failed ({run['rc']}):\n{log.read_text()[-3000:]}")
                runs[name].append(run)
                print(f"run {i + 1} {name}: {run['seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU", flush=True)
    for what, key in (("wall", "seconds"), ("CPU", "cpu_seconds")):
        base = statistics.median(r[key] for r in runs["baseline"])
        var = statistics.median(r[key] for r in runs["variant"])
        print(f"{what}: baseline {base:.1f} s   variant {var:.1f} s   ratio {var / base:.2f}x")
    print(f"(medians of {args.repeat}; variant: {variant})")


if __name__ == "__main__":
    main()
