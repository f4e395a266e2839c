{#- The file a landing row was read from, as its path under the table folder
    (`event_date=2026-11-19/part-0.parquet`), the key of landing_file_arrivals.
    Spark's _metadata.file_path is a URI: percent-encoded, with '+' left as it is,
    so '+' is protected before url_decode; the last `/<table>/` is the table folder. -#}
{% macro landing_file(table_name) %}
    regexp_extract(url_decode(replace(_metadata.file_path, '+', '%2B')), '^.*/{{ table_name }}/(.*)$', 1)
{%- endmacro %}

{#- The batch at which each landing file of `table_name` arrived, for files that
    came after this home's first run (watchhouse.arrivals); other files are on time. -#}
{% macro landing_arrivals(table_name) %}
    select
        landing_file,
        arrived_batch
    from {{ source('platform', 'landing_file_arrivals') }}
    where table_name = '{{ table_name }}'
{%- endmacro %}

{#- late_arrival: the row's file arrived more than late_data_days after the row's batch. -#}
{% macro late_arrival_reason() %}
    case when datediff(arrived_batch, batch_date) > {{ var('late_data_days') }} then 'late_arrival' end
{%- endmacro %}
