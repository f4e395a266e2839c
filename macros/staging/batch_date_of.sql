{#- The batch a landing row belongs to: its event_date partition when the table
    is partitioned, else the date of its timestamp when that timestamp is
    plausible, else (null or impossible timestamp) the batch being built. -#}
{% macro batch_date_of(timestamp_column, table_name) %}
    {%- if table_name not in landing_tables() + optional_landing_tables() -%}
        {{ exceptions.raise_compiler_error("batch_date_of: unknown landing table " ~ table_name) }}
    {%- endif -%}
    coalesce(
        {%- if table_name in var('landing_partitioned') %}
        cast(event_date as date),
        {%- endif %}
        case when {{ timestamp_reason(timestamp_column) }} is null then to_date({{ timestamp_column }}) end,
        {{ as_of_date() }}
    )
{%- endmacro %}
