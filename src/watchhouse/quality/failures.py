"""What a build's checks found, so its output names the tables, entities and values instead of a failing
test's row count: read from the build state after a failed build (a failed run is not published), and
from the published warehouse after a build that published with warnings."""

from __future__ import annotations

from pathlib import Path


def _table(warehouse: Path, mart: str) -> str | None:
    folder = warehouse / "marts.db" / mart
    if not any(folder.rglob("*.parquet")):
        return None
    # union_by_name: partitions written before a column was appended (on_schema_change) lack it
    return f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true, union_by_name = true)"


def failing_quality_checks(warehouse: Path, batch: str, severity: str = "error") -> list[str]:
    """The failed checks of `severity` (error: they blocked the publish; warn: published, and worth a look)
    of the last data-quality run for `batch` (data_quality_results), each with its message."""
    import duckdb

    source = _table(warehouse, "data_quality_results")
    if source is None:
        return []
    rows = duckdb.execute(
        f"""with runs as (select * from {source} where cast(batch_date as varchar) = ?)
            select suite, check_name, column_name, observed_value, unexpected_count, message from runs
            where run_at = (select max(run_at) from runs) and not success
              and coalesce(severity, 'error') = ?  -- rows from before severities were recorded blocked
            order by suite, column_name, check_name""",
        [batch, severity],
    ).fetchall()
    return [
        f"{suite}.{check}({column}): {message}"
        if message
        else f"{suite}.{check}({column}) observed={observed} unexpected={unexpected}"
        for suite, check, column, observed, unexpected, message in rows
    ]


def quarantine_shares_over_bound(build_warehouse: Path, batch: str) -> list[str]:
    """Per landing table whose quarantine share in `batch` is over its bound (landing_reconciliation), the
    counts and the reasons that took most rows (quarantine_summary, when the run built it)."""
    import duckdb

    recon, summary = _table(build_warehouse, "landing_reconciliation"), _table(build_warehouse, "quarantine_summary")
    if recon is None:
        return []
    # a partial build (--select) may stop before quarantine_summary: the counts alone, then
    reasons = (
        f"""select landing_table, quarantine_reason, sum(quarantined_rows) as n from {summary}
            where cast(batch_date as varchar) = $batch group by all"""
        if summary
        else "select null::varchar as landing_table, null::varchar as quarantine_reason, null::bigint as n"
    )
    rows = duckdb.execute(
        f"""with over as (select landing_table, raw_rows, quarantined_rows, quarantine_share from {recon}
                          where cast(batch_date as varchar) = $batch and not is_quarantine_share_within_bound),
                 reasons as ({reasons})
            select over.*, string_agg(reasons.quarantine_reason || ' ' || reasons.n, ', '
                                      order by reasons.n desc, reasons.quarantine_reason)
            from over left join reasons using (landing_table)
            group by all order by landing_table""",
        {"batch": batch},
    ).fetchall()
    return [
        f"{table}: {quarantined:,} of {raw:,} rows of batch {batch} quarantined (share {share:.2f}, over var "
        f"quarantine_share_max); reasons: {reasons or 'see marts.quarantine_summary'}; rows in marts.quarantine_{table}"
        for table, raw, quarantined, share, reasons in rows
    ]
