{#- Declare every landing folder as an external Parquet table in schema
    `landing` (the sources of models/staging/platform). Re-created each run so
    the catalogue always points at the current WATCHHOUSE_LANDING; Spark infers
    the schema and discovers event_date partitions from the files. Also declares
    landing.landing_file_arrivals (docs/reliability.md "Late data"). -#}
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
        {#- the arrivals of late landing files, written by the runner (watchhouse.arrivals);
            without it (a bare dbt run) an empty table: every file is on time -#}
        {% set arrivals = var('landing_arrivals') | string %}
        {% set columns = '(table_name string, landing_file string, arrived_batch date)' %}
        {% do run_query('drop table if exists landing.landing_file_arrivals') %}
        {% if arrivals %}
            {% if not arrivals.startswith('/') or modules.re.search("['`\\\\;]", arrivals) %}
                {{ exceptions.raise_compiler_error(
                    "var landing_arrivals=" ~ (arrivals | tojson) ~ " must be an absolute path without quotes, "
                    ~ "backticks, backslashes or semicolons (the runner sets it)"
                ) }}
            {% endif %}
            {% do run_query("create table landing.landing_file_arrivals " ~ columns
                ~ " using json location '" ~ arrivals ~ "'") %}
        {% else %}
            {% do run_query('create table landing.landing_file_arrivals ' ~ columns ~ ' using parquet') %}
        {% endif %}
    {% endif %}
{% endmacro %}
