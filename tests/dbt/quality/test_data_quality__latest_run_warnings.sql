{{ config(severity='warn') }}
-- The warn-level checks the latest Great Expectations run for this batch failed:
-- dbt reports them as a warning and the batch is still published (docs/quality.md
-- "Severity"); `watchhouse build` prints each message, the dashboard shows them.
with results as (
    select * from {{ ref('data_quality_results') }}
    where batch_date = {{ as_of_date() }}
),

latest_run as (
    select max(run_at) as run_at from results
),

warnings as (
    select
        results.suite,
        results.check_name,
        results.column_name,
        results.message
    from results
    inner join latest_run on results.run_at = latest_run.run_at
    where not results.success and results.severity = 'warn'
)

select * from warnings
