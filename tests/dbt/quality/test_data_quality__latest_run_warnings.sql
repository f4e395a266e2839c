{{ config(severity='warn') }}
-- The warn-level checks the latest Great Expectations run for this batch failed:
-- dbt reports them as a warning and the batch is still published (docs/quality.md
-- "Severity"); `watchhouse build` prints each message, the dashboard shows them.
with latest_run as (
    {{ latest_quality_run() }}
),

warnings as (
    select
        suite,
        check_name,
        column_name,
        message
    from latest_run
    where not success and severity = 'warn'
)

select * from warnings
