{#- Declare every landing folder as an external Parquet table in schema
    `landing` (the sources of models/staging/platform). Re-created each run so
    the catalogue always points at the current WATCHHOUSE_LANDING; Spark infers
    the schema and discovers event_date partitions from the files. -#}
{% macro create_landing_tables() %}
    {% if execute %}
        {% set root = var('landing_root') %}
        {% set tables = landing_tables() + var('landing_optional_tables') %}
        {% do run_query('create schema if not exists landing') %}
        {% for table in tables %}
            {% do run_query('drop table if exists landing.' ~ table) %}
            {% do run_query("create table landing." ~ table ~ " using parquet location '" ~ root ~ "/" ~ table ~ "'") %}
        {% endfor %}
        {% for table in var('landing_partitioned') %}
            {% do run_query('msck repair table landing.' ~ table) %}
        {% endfor %}
    {% endif %}
{% endmacro %}
