-- What broke the landing contract, per day: rows quarantined by table and reason, with their
-- share of the table's in-scope rows that day. Compile with `dbt compile`, or run the same
-- query with DuckDB over warehouse/marts.db (README "Reading the marts").
with summary as (
    select * from {{ ref('quarantine_summary') }}
),

reconciliation as (
    select * from {{ ref('landing_reconciliation') }}
),

shares_computed as (
    select
        summary.batch_date,
        summary.landing_table,
        summary.quarantine_reason,
        summary.quarantined_rows,
        reconciliation.raw_rows,
        summary.quarantined_rows / reconciliation.raw_rows as share_of_rows
    from summary
    inner join reconciliation
        on
            summary.landing_table = reconciliation.landing_table
            and summary.batch_date = reconciliation.batch_date
)

select * from shares_computed
order by batch_date desc, quarantined_rows desc
