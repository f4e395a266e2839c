-- The latest Great Expectations run for this batch passed every error-level check
-- (docs/quality.md "Severity"; a row written before severities were recorded counts
-- as error). Returns the failing checks with their messages, so dbt names them.
with latest_run as (
    {{ latest_quality_run() }}
),

failing as (
    select
        suite,
        check_name,
        column_name,
        observed_value,
        unexpected_count,
        message
    from latest_run
    where not success and coalesce(severity, 'error') = 'error'
)

select * from failing
