{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by=['batch_date'],
        on_schema_change='append_new_columns',
    )
}}

{#- One row per entity a failed per-entity data-quality check is about (a VOD over the
    concentration bound, a VOD type whose values drifted), for the batch's latest
    Great Expectations run: the analyst's list of what to look at, instead of one
    check failing a whole batch (docs/quality.md "Severity"). One partition per batch;
    a rerun replaces it, as it replaces data_quality_results' partition. -#}

with latest_run as (
    {{ latest_quality_run() }}
),

failed_per_entity as (
    select *
    from latest_run
    where not success and exceptions is not null
),

entities as (
    select
        run_id,
        run_at,
        suite,
        check_name,
        column_name,
        severity,
        message,
        batch_date,
        explode(
            from_json(exceptions, 'array<struct<entity_id: string, observed_number: double>>')
        ) as entity
    from failed_per_entity
)

select
    entities.run_id,
    entities.run_at,
    entities.suite,
    entities.check_name,
    entities.column_name,
    entities.severity,
    entities.entity.entity_id,
    entities.entity.observed_number,
    entities.message,
    entities.batch_date
from entities
