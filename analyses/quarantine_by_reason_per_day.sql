-- What broke the landing contract per day: rows quarantined by table and reason, and their share of the day's rows?
-- vars: none. share_of_rows = quarantined_rows / raw_rows of that landing table and day (landing_reconciliation);
-- null for a table reconciliation does not cover (the optional recommendations_served): its rows still show.
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
        summary.quarantined_rows / nullif(reconciliation.raw_rows, 0) as share_of_rows
    from summary
    left join reconciliation
        on
            summary.landing_table = reconciliation.landing_table
            and summary.batch_date = reconciliation.batch_date
)

select * from shares_computed
order by batch_date desc, quarantined_rows desc, landing_table asc, quarantine_reason asc
