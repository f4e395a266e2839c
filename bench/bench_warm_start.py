"""Warm start against training from scratch: the same daily batches built in two homes, one script.

    .venv/bin/python bench/bench_warm_start.py LANDING [--last 3] [--vars JSON] [--work DIR]

Both arms build the last N batches of LANDING in order (`watchhouse build --as-of D`, as
`watchhouse backfill --last N` does), cold (the default) and with `ml_warm_start: true`, arm after
arm. Prints per batch the wall time and the seconds of rec_two_tower and rec_ranker (dbt's
run_results, `watchhouse profile --json`), then per model and scored batch HR@10 and NDCG@10 of both
arms with the cold arm's 95% bootstrap interval (offline_eval_intervals), flagging a warm figure
below the cold interval: the issue's bar is that speed must not come from weaker models
(docs/ml.md "Warm start", docs/evaluation.md). bench/RESULTS.md records the runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_floor import BIN, REPO
from report_evaluation import read

WATCHED = ("model.watchhouse.rec_two_tower", "model.watchhouse.rec_ranker")


def build_arm(landing: Path, home: Path, days: list[str], extra: dict) -> list[dict]:
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", WATCHHOUSE_LANDING=str(landing), WATCHHOUSE_HOME=str(home))
    env.setdefault("WATCHHOUSE_PSEUDONYM_KEY", "bench")
    out = []
    for day in days:
        start = time.perf_counter()
        cmd = [str(BIN / "watchhouse"), "build", "--as-of", day, "--vars", json.dumps(extra)]
        done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(
                f"build of {day} in {home} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
            )
        profile = subprocess.run(
            [str(BIN / "watchhouse"), "profile", "--json", "--top", "1000"], env=env, capture_output=True, text=True,
            check=True,
        )  # fmt: skip
        nodes = {n["node"]: round(n["seconds"], 1) for n in json.loads(profile.stdout)["slowest"]}
        out.append({"day": day, "seconds": seconds, **{u.rsplit(".", 1)[1]: nodes.get(u) for u in WATCHED}})
        print(
            f"{home.name} {day}: {seconds:.1f} s, "
            + ", ".join(f"{k} {out[-1][k]}" for k in out[-1] if k.startswith("rec_"))
        )
    return out


def quality(home: Path, k: int = 10):
    metrics = read(home, "offline_eval_metrics")
    metrics = metrics[metrics["k"] == k].set_index(["model_name", "batch_date"])
    ci = read(home, "offline_eval_intervals")
    ci = ci[ci["k"] == k].set_index(["model_name", "batch_date", "metric"])
    return metrics, ci


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("landing", type=Path)
    ap.add_argument("--last", type=int, default=3, help="batches, ending at the landing's default batch")
    ap.add_argument("--as-of", default=None, help="the last batch (default: the landing's)")
    ap.add_argument("--vars", default="{}", help="extra dbt vars (JSON) for both arms")
    ap.add_argument("--work", type=Path, default=None, help="folder for the two homes (default: a temp dir, removed)")
    args = ap.parse_args()
    from watchhouse.landing import inspect_landing

    landing = args.landing.resolve()
    end = inspect_landing(landing, as_of=args.as_of).as_of
    days = [(end - dt.timedelta(days=args.last - 1 - i)).isoformat() for i in range(args.last)]
    base = json.loads(args.vars)
    with tempfile.TemporaryDirectory(prefix="wh-warm-") as tmp:
        work = args.work or Path(tmp)
        timing = {
            arm: build_arm(landing, work / arm, days, {**base, "ml_warm_start": arm == "warm"})
            for arm in ("cold", "warm")
        }
        (cold_m, cold_ci), (warm_m, _) = quality(work / "cold"), quality(work / "warm")
    print("\n| batch | cold s | warm s | two-tower cold / warm s | ranker cold / warm s |")
    print("|---|---|---|---|---|")
    for c, w in zip(timing["cold"], timing["warm"], strict=True):
        print(f"| {c['day']} | {c['seconds']:.1f} | {w['seconds']:.1f} | {c['rec_two_tower']} / {w['rec_two_tower']}"
              f" | {c['rec_ranker']} / {w['rec_ranker']} |")  # fmt: skip
    print("\n| model | batch | HR@10 cold [95% CI] | HR@10 warm | NDCG@10 cold [95% CI] | NDCG@10 warm |")
    print("|---|---|---|---|---|---|")
    below = 0
    for (model, batch), row in cold_m.iterrows():
        if (model, batch) not in warm_m.index:
            continue
        cells = []
        for metric, column in (("hit_rate", "hit_rate"), ("ndcg", "ndcg")):
            low, high = (cold_ci.loc[(model, batch, metric), ["ci_low", "ci_high"]] if (model, batch, metric)
                         in cold_ci.index else (float("nan"), float("nan")))  # fmt: skip
            warm_value = warm_m.loc[(model, batch), column]
            flag = " **below**" if warm_value < low else ""
            below += bool(flag)
            cells += [f"{row[column]:.3f} [{low:.3f}, {high:.3f}]", f"{warm_value:.3f}{flag}"]
        print(f"| {model} | {batch} | " + " | ".join(cells) + " |")
    print(f"\n{below} warm figure(s) below the cold arm's 95% interval")


if __name__ == "__main__":
    main()
