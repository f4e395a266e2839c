"""The offline comparison of every model in a built home (default: the demo's), from the
offline_eval_metrics / offline_eval_intervals / offline_eval_live marts (DuckDB, no
metastore): the markdown tables of docs/evaluation.md "Results after make demo".

    .venv/bin/python bench/report_evaluation.py [--home .watchhouse/home] [--k 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb


def read(home: Path, name: str):
    folder = home / "warehouse" / "marts.db" / name
    df = duckdb.sql(f"select * from read_parquet('{folder}/**/*.parquet', hive_partitioning = true)").df()
    df["batch_date"] = df["batch_date"].astype(str)
    return df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=".watchhouse/home")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    home = Path(args.home)
    m = read(home, "offline_eval_metrics")
    m = m[m["k"] == args.k]
    ci = read(home, "offline_eval_intervals")
    ci = ci[(ci["k"] == args.k) & (ci["metric"] == "hit_rate")] if "metric" in ci else ci.iloc[0:0]
    batches = sorted(m["batch_date"].unique())
    k = args.k
    head = " | ".join(f"HR@{k} {b[5:]} [95% CI]" for b in batches)
    print(f"| model | type | {head} | NDCG@{k} | MRR@{k} | cov@{k} | novelty | new HR | repeat HR | users |")
    print("|---|---|" + "---|" * len(batches) + "---|---|---|---|---|---|---|")
    for name, part in m.groupby("model_name"):
        cells = []
        for b in batches:
            row = part[part["batch_date"] == b]
            if row.empty:
                cells.append("n/a")
                continue
            hr = row["hit_rate"].iloc[0]
            band = ci[(ci["model_name"] == name) & (ci["batch_date"] == b)]
            cells.append(
                f"{hr:.3f} [{band['ci_low'].iloc[0]:.3f}, {band['ci_high'].iloc[0]:.3f}]" if len(band) else f"{hr:.3f}"
            )
        mean = part.mean(numeric_only=True)
        repeat = f"{mean['repeat_hit_rate']:.3f}" if mean.notna().get("repeat_hit_rate", False) else "n/a"
        print(
            f"| {name} | {part['item_type'].iloc[0]} | " + " | ".join(cells)
            + f" | {mean['ndcg']:.3f} | {mean['mrr']:.3f} | {mean['coverage']:.3f} | {mean['novelty']:.2f}"
            + f" | {mean['new_hit_rate']:.3f} | {repeat} | {int(mean['users_evaluated'])} |"
        )  # fmt: skip

    live = read(home, "offline_eval_live")
    print("\nLive protocol (offline_eval_live), means over the list batches:")
    print("| model | interactions / batch | H@1 | H@10 | NDCG@10 | H@10 new | H@10 repeat |")
    print("|---|---|---|---|---|---|---|")
    wide = live.groupby(["model_name", "segment"])[["interactions", "h1", "h10", "ndcg10"]].mean().unstack("segment")
    for name, row in wide.sort_values(("h10", "all"), ascending=False).iterrows():
        print(
            f"| {name} | {row[('interactions', 'all')]:.0f} | {row[('h1', 'all')]:.3f} | {row[('h10', 'all')]:.3f}"
            f" | {row[('ndcg10', 'all')]:.3f} | {row.get(('h10', 'new'), float('nan')):.3f}"
            f" | {row.get(('h10', 'repeat'), float('nan')):.3f} |"
        )


if __name__ == "__main__":
    main()
