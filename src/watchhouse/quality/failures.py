"""What a failed build's checks found, read from the build state (a failed run is not published), so the
build's output names the tables, entities and values instead of a failing test's row count."""

from __future__ import annotations

from pathlib import Path


def _table(build_warehouse: Path, mart: str) -> str | None:
    folder = build_warehouse / "marts.db" / mart
    if not any(folder.rglob("*.parquet")):
        return None
    return f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"


def failing_quality_checks(build_warehouse: Path, batch: str) -> list[str]:
    """The failed checks of the last data-quality run for `batch` (data_quality_results)."""
    import duckdb

    source = _table(build_warehouse, "data_quality_results")
    if source is None:
        return []
    rows = duckdb.execute(
        f"""with runs as (select * from {source} where cast(batch_date as varchar) = ?)
            select suite, check_name, column_name, observed_value, unexpected_count from runs
            where run_at = (select max(run_at) from runs) and not success order by suite, column_name""",
        [batch],
    ).fetchall()
    return [
        f"{suite}.{check}({column}) observed={observed} unexpected={unexpected}"
        for suite, check, column, observed, unexpected in rows
    ]


def quarantine_shares_over_bound(build_warehouse: Path, batch: str) -> list[str]:
    """Per landing table whose quarantine share in `batch` is over its bound (landing_reconciliation), the
    counts and the reasons that took most rows (quarantine_summary)."""
    import duckdb

    recon, summary = _table(build_warehouse, "landing_reconciliation"), _table(build_warehouse, "quarantine_summary")
    if recon is None or summary is None:
        return []
    rows = duckdb.execute(
        f"""with over as (select landing_table, raw_rows, quarantined_rows, quarantine_share from {recon}
                          where cast(batch_date as varchar) = ? and not is_quarantine_share_within_bound),
                 reasons as (select landing_table, quarantine_reason, sum(quarantined_rows) as n from {summary}
                             where cast(batch_date as varchar) = ? group by all)
            select over.*, string_agg(reasons.quarantine_reason || ' ' || reasons.n, ', '
                                      order by reasons.n desc, reasons.quarantine_reason)
            from over left join reasons using (landing_table)
            group by all order by landing_table""",
        [batch, batch],
    ).fetchall()
    return [
        f"{table}: {quarantined:,} of {raw:,} rows of batch {batch} quarantined (share {share:.2f}, over var "
        f"quarantine_share_max); reasons: {reasons}; rows in marts.quarantine_{table}"
        for table, raw, quarantined, share, reasons in rows
    ]
