"""What a change costs the valuation build, like for like: the same landing built by two commits, one
after the other in this script, and the dbt node times of each side by side with their ratio.

Each commit is checked out in a git worktree (the current checkout is not touched) and runs
`watchhouse abuse-robustness --profiles default` there (one generated landing, the same for both
commits: the default profile is byte-identical across them; a build of `+abuse_flags +view_valuations
+quarantine_watch_events` with ML off), with this checkout's virtual environment.

    .venv/bin/python bench/bench_commits.py --base 8484922 [--head HEAD] [--users 20000] [--days 14]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build(commit: str, users: int, days: int, scratch: Path) -> tuple[float, dict[str, float]]:
    tree, work = scratch / f"tree-{commit}", scratch / f"work-{commit}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(tree), commit], check=True)
    try:
        env = {**os.environ, "WATCHHOUSE_PROJECT_DIR": str(tree), "PYTHONPATH": str(tree / "src")}
        args = ["--profiles", "default", "--users", str(users), "--days", str(days), "--seed", "7"]
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "watchhouse", "abuse-robustness", *args, "--work", str(work)],
            cwd=tree, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
        results = json.loads((work / "default" / "home" / "dbt" / "target" / "run_results.json").read_text())
        return wall, {r["unique_id"].split(".", 2)[-1]: r["execution_time"] for r in results["results"]}
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--head", default="HEAD")
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--top", type=int, default=10, help="nodes to list (the slowest of either side)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-commits-") as scratch:
        base_wall, base = build(args.base, args.users, args.days, Path(scratch))
        head_wall, head = build(args.head, args.users, args.days, Path(scratch))
    nodes = sorted(set(base) | set(head), key=lambda n: -max(base.get(n, 0), head.get(n, 0)))[: args.top]
    print(f"{'node':<55} {args.base:>10} {args.head:>10} {'ratio':>7}")
    for node in nodes:
        b, h = base.get(node), head.get(node)
        ratio = f"{h / b:.2f}x" if b and h else "-"
        print(f"{node:<55} {b or 0:>9.1f}s {h or 0:>9.1f}s {ratio:>7}")
    print(f"{'every node':<55} {sum(base.values()):>9.1f}s {sum(head.values()):>9.1f}s "
          f"{sum(head.values()) / sum(base.values()):>6.2f}x")  # fmt: skip
    wall = "wall (generate + build + score)"
    print(f"{wall:<55} {base_wall:>9.1f}s {head_wall:>9.1f}s {head_wall / base_wall:>6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
