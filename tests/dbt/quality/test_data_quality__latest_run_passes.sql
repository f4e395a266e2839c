-- The latest Great Expectations run for this batch passed every error-level check
-- (docs/quality.md "Severity"; a row written before severities were recorded counts
-- as error). Returns the failing checks with their messages, so dbt names them.
with results as (
    select * from {{ ref('data_quality_results') }}
    where batch_date = {{ as_of_date() }}
),

latest_run as (
    select max(run_at) as run_at from results
),

failing as (
    select
        results.suite,
        results.check_name,
        results.column_name,
        results.observed_value,
        results.unexpected_count,
        results.message
    from results
    inner join latest_run on results.run_at = latest_run.run_at
    where not results.success and coalesce(results.severity, 'error') = 'error'
)

select * from failing
