"""Spark's plan of every model that took more than --min-seconds in a home's last build (issue 17:
read the plan of every model over 5 s at 10M events before optimising it).

    WATCHHOUSE_PSEUDONYM_KEY=<the home's key> .venv/bin/python bench/explain_slow.py HOME \
        [--min-seconds 5] [--out FILE]

Reads HOME/dbt/target/run_results.json and manifest.json (the models' times and compiled SQL),
opens a local Spark session on the home's metastore with the local target's settings
(profiles.yml, as `watchhouse server` reads them; nothing else may hold that metastore: no build
of the home may run meanwhile), and writes `EXPLAIN FORMATTED` of each slow SQL model's select to
FILE (default HOME/explain.md). On stdout, per model: seconds, and what the physical plan does -
joins by strategy, shuffles, windows, aggregates, Parquet scans - with the operators that send
every row through one task (an `Exchange SinglePartition`: a global sort, window or limit) or
pair every row with every row (nested-loop or cartesian joins) called out. Python models are
listed with their time: their Spark work is DataFrame calls, not one select.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

OPERATORS = {  # label -> pattern of a physical plan line (EXPLAIN FORMATTED's numbered operator list)
    "broadcast hash join": r"BroadcastHashJoin",
    "sort-merge join": r"SortMergeJoin",
    "shuffled hash join": r"ShuffledHashJoin",
    "nested-loop join": r"BroadcastNestedLoopJoin",
    "cartesian": r"CartesianProduct",
    "shuffle": r"Exchange hashpartitioning|Exchange rangepartitioning|Exchange RoundRobinPartitioning",
    "single-partition exchange": r"Exchange SinglePartition",
    "window": r"\bWindow\b",
    "aggregate": r"HashAggregate|ObjectHashAggregate|SortAggregate",
    "parquet scan": r"Scan parquet",
}
ATTENTION = ("nested-loop join", "cartesian", "single-partition exchange")


def operators(plan: str) -> dict[str, int]:
    """Counts of each OPERATORS label among the plan's operator lines ("(n) Name ...")."""
    lines = [line for line in plan.splitlines() if re.match(r"^\(\d+\) ", line)]
    return {label: sum(bool(re.search(pattern, line)) for line in lines) for label, pattern in OPERATORS.items()}


def slow_models(target: Path, min_seconds: float) -> list[tuple[str, float, dict]]:
    """(model name, seconds, manifest node) of every model over min_seconds, slowest first."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    slow = [
        (r["unique_id"].split(".")[-1], r["execution_time"], nodes[r["unique_id"]])
        for r in results
        if r["unique_id"].startswith("model.") and r["execution_time"] >= min_seconds
    ]
    return sorted(slow, key=lambda m: -m[1])


def spark_for(home: Path):
    from pyspark.sql import SparkSession

    from watchhouse import privacy, server

    env = privacy.with_pads(
        {**os.environ, "WATCHHOUSE_HOME": str(home), "WATCHHOUSE_PROJECT_DIR": str(REPO)}
    )  # the pads the models' pseudonym SQL substitutes
    os.environ.update({k: v for k, v in env.items() if k.startswith("WATCHHOUSE_")})
    builder = SparkSession.builder.master("local[*]").appName("watchhouse-explain")
    for key, value in server.profile_settings(REPO, env).items():
        builder = builder.config(key, value)
    return builder.config("spark.driver.memory", os.environ.get("WATCHHOUSE_DRIVER_MEMORY", "6g")).getOrCreate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--min-seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    home = args.home.resolve()
    slow = slow_models(home / "dbt" / "target", args.min_seconds)
    if not slow:
        print(f"explain_slow: no model of {home}'s last build took {args.min_seconds} s or more")
        return 0
    spark = spark_for(home)
    out = args.out or home / "explain.md"
    sections = [f"# Plans of the models over {args.min_seconds} s in {home}'s last build\n"]
    for name, seconds, node in slow:
        if node.get("language") == "python":
            print(f"{seconds:8.1f} s  {name}: Python model (DataFrame calls, no single plan)")
            continue
        try:
            plan = spark.sql(f"explain formatted {node['compiled_code']}").collect()[0][0]
        except Exception as exc:  # a model whose select cannot be planned alone is reported, not fatal
            print(f"{seconds:8.1f} s  {name}: could not plan: {str(exc).splitlines()[0][:200]}")
            continue
        counts = operators(plan)
        found = ", ".join(f"{n} {label}" for label, n in counts.items() if n)
        flags = [label for label in ATTENTION if counts[label]]
        print(f"{seconds:8.1f} s  {name}: {found}" + (f"  <-- {', '.join(flags)}" if flags else ""))
        sections.append(f"## {name} ({seconds:.1f} s)\n\n{found}\n\n```\n{plan}\n```\n")
    out.write_text("\n".join(sections))
    print(f"explain_slow: plans written to {out}")
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
