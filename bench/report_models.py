"""The trained models of a built home, from the model_runs mart (read with DuckDB, no
metastore): training time per model and batch, and the quantized-vs-float table (size on
disk, CPU scoring latency, validation NDCG@10, each as a ratio to its float model).

    .venv/bin/python bench/report_models.py [--home .watchhouse/home] [--batch YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

BASE = {"two_tower_int8": "two_tower", "ranker_int8": "ranker", "ranker_qat": "ranker", "ranker_fst": "ranker"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=".watchhouse/home")
    parser.add_argument("--batch", default=None, help="default: the latest batch")
    args = parser.parse_args()
    folder = Path(args.home) / "warehouse" / "marts.db" / "model_runs"
    runs = duckdb.sql(f"select * from read_parquet('{folder}/**/*.parquet', hive_partitioning = true)").df()
    runs["batch_date"] = runs["batch_date"].astype(str)
    batch = args.batch or runs["batch_date"].max()

    print("training seconds per model and batch (model_runs.training_seconds; epochs run, what stopped it)")
    table = runs.pivot_table(index="model_name", columns="batch_date", values="training_seconds", aggfunc="first")
    print("| model | " + " | ".join(table.columns) + " |")
    print("|---|" + "---|" * len(table.columns))
    for name, row in table.iterrows():
        print(f"| {name} | " + " | ".join(f"{v:.1f}" for v in row) + " |")

    last = runs[runs["batch_date"] == batch].set_index("model_name")
    print(f"\nquantized vs float, batch {batch}")
    print("| model | size (KB) | size vs fp32 | latency (ms) | speed-up vs fp32 | NDCG@10 | NDCG change vs fp32 |")
    print("|---|---|---|---|---|---|---|")
    for name in ("two_tower", "two_tower_int8", "ranker", "ranker_int8", "ranker_qat", "ranker_fst"):
        if name not in last.index:
            continue
        row, base = last.loc[name], last.loc[BASE.get(name, name)]
        print(
            f"| {name} | {row.size_bytes / 1024:.0f} | {base.size_bytes / row.size_bytes:.2f}x | "
            f"{row.scoring_latency_ms:.1f} | {base.scoring_latency_ms / row.scoring_latency_ms:.2f}x | "
            f"{row.ndcg_at_10:.4f} | {(row.ndcg_at_10 / base.ndcg_at_10 - 1) * 100:+.2f}% |"
        )


if __name__ == "__main__":
    main()
