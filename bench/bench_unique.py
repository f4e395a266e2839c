"""The `unique_combination` data test: one exact `group by` of the columns against the hashed two-pass
form of macros/tests/test_unique_combination.sql, on the same Parquet table, in one Spark session.

    .venv/bin/python bench/bench_unique.py PARQUET_DIR --columns a,b,c [--repeat N] [--driver-memory 6g]
    .venv/bin/python bench/bench_unique.py --synthetic ROWS [--columns ...] [--repeat N]

PARQUET_DIR is a built table's folder, e.g. a 10M-event home's
`build/warehouse/marts.db/recommendation_lists` (bench_scale.py --ml --keep). `--synthetic ROWS`
writes a table of that shape instead (5 models x users x 50 ranked VODs, string ids, unique by
construction) to a temporary folder, so the bench needs no 10M build. Both queries run as
dbt runs a data test (`select count(*) ... from (<test sql>)`), alternately, N times each, with the
build's Spark settings (local[*], 8 shuffle partitions, AQE); each prints its failure count, which
must agree, and the ratio of the medians follows. bench/RESULTS.md records the runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import jinja2

REPO = Path(__file__).resolve().parents[1]


def hashed_sql(view: str, columns: list[str]) -> str:
    source = (REPO / "macros" / "tests" / "test_unique_combination.sql").read_text()
    source = source.replace("{% test ", "{% macro test_").replace("{% endtest %}", "{% endmacro %}")
    context = {"exceptions": SimpleNamespace(raise_compiler_error=sys.exit)}
    return (
        jinja2.Environment()
        .from_string(source)
        .make_module(context)
        .test_unique_combination(model=view, columns=columns)
    )


def plain_sql(view: str, columns: list[str]) -> str:
    keys = ", ".join(columns)
    return f"select {keys}, count(*) as copies from {view} group by {keys} having count(*) > 1"


def write_synthetic(spark, rows: int, folder: Path) -> None:
    """recommendation_lists' shape: row n is model n % 5, then user and rank from n // 5."""
    spark.range(rows).selectExpr(
        "element_at(array('als', 'item2vec', 'two_tower', 'ranker', 'popular'), cast(id % 5 + 1 as int)) as model_name",
        "date'2026-11-20' as batch_date",
        "concat('u', lpad(cast(id div 250 as string), 9, '0')) as user_id",
        "cast((id div 5) % 50 + 1 as int) as rank",
        "'vod' as item_type",
        "concat('v', lpad(cast(pmod(xxhash64(id div 5), 2000000) as string), 7, '0'), '-',"
        " cast((id div 5) % 50 as string)) as item_id",
        "rand(7) as score",
    ).write.mode("overwrite").parquet(str(folder))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", type=Path, nargs="?", help="a Parquet table folder")
    parser.add_argument("--synthetic", type=int, metavar="ROWS", help="write and use a table of ROWS rows")
    parser.add_argument(
        "--columns",
        default="model_name,batch_date,user_id,item_type,item_id",
        help="comma-separated columns of the combination (default: recommendation_lists' key)",
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--driver-memory", default="6g")
    args = parser.parse_args(argv)
    if (args.table is None) == (args.synthetic is None):
        parser.error("pass either a Parquet table's folder or --synthetic ROWS, not both or neither")
    if args.table is not None and not args.table.is_dir():
        parser.error(f"{args.table} is not a folder: pass a Parquet table's folder")
    if args.synthetic is not None and args.synthetic < 1000:
        parser.error(f"--synthetic must be at least 1000 rows, got {args.synthetic}")
    columns = [c.strip() for c in args.columns.split(",") if c.strip()]

    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[*]")
        .appName("bench_unique")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    table = args.table
    if args.synthetic is not None:
        table = Path(tempfile.mkdtemp(prefix="bench_unique_")) / "recommendation_lists"
        write_synthetic(spark, args.synthetic, table)
    spark.read.parquet(str(table)).createOrReplaceTempView("bench_table")
    print(f"{table}: {spark.table('bench_table').count():,} rows; columns {columns}", flush=True)
    variants = {"plain": plain_sql("bench_table", columns), "hashed": hashed_sql("bench_table", columns)}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(args.repeat):
        for name, sql in variants.items():
            start = time.perf_counter()
            failures = spark.sql(f"select count(*) as failures from ({sql}) dbt_internal_test").first()[0]
            seconds[name].append(time.perf_counter() - start)
            print(f"round {round_ + 1} {name}: {seconds[name][-1]:.1f} s, failures {failures}", flush=True)
    plain, hashed = (statistics.median(seconds[n]) for n in ("plain", "hashed"))
    print(f"median plain {plain:.1f} s, hashed {hashed:.1f} s: {hashed / plain:.2f}x")
    spark.stop()
    if args.synthetic is not None:
        shutil.rmtree(table.parent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
