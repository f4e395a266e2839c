{#- The rows of the latest Great Expectations run for the batch being built (data_quality_results):
    what the batch's quality tests and quality_exceptions read. -#}
{% macro latest_quality_run() %}
    select results.*
    from {{ ref('data_quality_results') }} as results
    where
        results.batch_date = {{ as_of_date() }}
        and results.run_at = (
            select max(runs.run_at) from {{ ref('data_quality_results') }} as runs
            where runs.batch_date = {{ as_of_date() }}
        )
{% endmacro %}
